/** What the command modules share: the run's context, exit codes, the model-source flags, training with its progress UI. */
import { readFileSync } from 'node:fs';
import type { ConfigError } from '../config-error.js';
import { type ClassifierSource, type TrainOptions, type TrainResult, defaultRunFolder, resolveWeightsFile, train } from '../workflow/index.js';
import { MODEL_FLAGS, UsageError, modelOptionsFrom, shellQuote } from './parse.js';
import { type Streams, trainProgress } from './progress.js';

export const EXIT = { ok: 0, error: 1, usage: 2, interrupted: 130 } as const;

export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

export { defaultRunFolder };

export interface Context {
  io: Streams;
  argv: string[];
  code: number;
}

/** Runs training with the progress UI and Ctrl-C handling; returns the exit code. */
export async function runTraining(ctx: Context, options: TrainOptions): Promise<{ code: number; result?: TrainResult }> {
  const { io } = ctx;
  const progress = trainProgress(io);
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    progress.stop();
    if (signals === 1) {
      io.stderr.write(`\n${sig}: finishing the current step and saving a resumable checkpoint (press Ctrl-C again to quit without saving)\n`);
      ac.abort();
    } else {
      io.stderr.write(`${sig} again: quitting without saving\n`);
      process.exit(sig === 'SIGINT' ? EXIT.interrupted : 143);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await train({ ...options, command: shellQuote(['mobilezoo', ...ctx.argv]), signal: ac.signal, events: progress.events });
    progress.stop();
    if (result.interrupted) {
      io.stderr.write(`interrupted: saved ${result.checkpoint}\ncontinue with: mobilezoo train --resume ${shellQuote([result.checkpoint!])}\n`);
      if (result.reportPath) io.stderr.write(`report so far: ${result.reportPath}\n`);
      return { code: EXIT.interrupted, result };
    }
    if (result.nothingToDo) return { code: EXIT.ok, result };
    const ev = result.evaluation;
    if (result.stopped) io.stdout.write(`stopped early at epoch ${result.stopped.epoch}: ${result.stopped.reason}\n`);
    const of = result.best && result.tested ? ` (checkpoint-best, epoch ${result.tested.epoch})` : '';
    if (ev) io.stdout.write(`final test accuracy${of} ${(ev.top1 * 100).toFixed(2)}%${Number.isFinite(ev.top5) ? ` (top-5 ${(ev.top5 * 100).toFixed(2)}%)` : ''}, loss ${ev.loss.toFixed(4)}\n`);
    if (result.best) io.stdout.write(`best checkpoint: ${result.best.checkpoint}\n`);
    io.stdout.write(`checkpoint: ${result.checkpoint}\n`);
    if (result.reportPath) io.stdout.write(`report: ${result.reportPath}\n`);
    return { code: EXIT.ok, result };
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Settings `mobilezoo train` may change when resuming. */
export const RESUMABLE = new Set(['resume', 'epochs', 'out', 'threads', 'workers', 'saveEvery', 'data', 'download']);

/** Settings whose flag is not their name in kebab case. */
const FLAG_OF: Record<string, string> = { augment: '--no-augment', dataDir: '--data', widthMult: '--width', numClasses: '--classes', classNames: '--labels' };

/** The flag of a setting (or commander attribute): `batchSize` → `--batch-size`. */
export const flagOf = (setting: string): string =>
  setting.startsWith('-') ? setting : FLAG_OF[setting] ?? `--${setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Settings a lower layer writes in backticks (`batchSize`, `checkHash: false`), as flags (--batch-size, --no-check-hash). */
export const settingsAsFlags = (text: string): string =>
  text.replace(/`([A-Za-z]+)(: false)?`/g, (_m, s: string, off?: string) => (off ? `--no-${flagOf(s).slice(2)}` : flagOf(s)));

/** A ConfigError's message with its setting names as flags. */
export function configErrorText(e: ConfigError): string {
  return `${flagOf(e.setting)}: ${settingsAsFlags(e.detail)}`;
}

/** A `--weights` / `--pretrained` value as a file: itself, or published weights by name, downloaded once into the cache (progress on stderr). */
export function weightsFile(value: string, flag: string, io: Streams): Promise<string> {
  return resolveWeightsFile(value, flag, { log: (m) => io.stderr.write(`${m}\n`) });
}

export async function modelSource(o: Record<string, unknown>, onnxFlag: boolean, io: Streams): Promise<ClassifierSource> {
  const checkpoint = o.checkpoint as string | undefined;
  const given = o.weights as string | undefined;
  const onnx = onnxFlag ? (o.onnx as string | undefined) : undefined;
  const model = o.model as string | undefined;
  if ([checkpoint, given, onnx].filter(Boolean).length > 1) throw new UsageError(`${given ? '--weights' : '--onnx'}: give one of --checkpoint, --weights${onnxFlag ? ', --onnx' : ''}`);
  if (onnx && model) throw new UsageError('--model: an ONNX file records its own model');
  if (!model) {
    const stray = MODEL_FLAGS.find((f) => o[f.attr] !== undefined);
    if (stray) throw new UsageError(`${stray.flag}: model options need --model${checkpoint ? ' (a checkpoint records its own)' : ''}`);
  }
  const modelOptions = model ? modelOptionsFrom(model, o) : {};
  const weights = given ? await weightsFile(given, '--weights', io) : undefined;
  return { checkpoint, weights, onnx, model, modelOptions, ...(o.checkHash === false ? { checkHash: false } : {}) };
}


/** What each command module gets: the context, its streams, and `out` (a line on stdout). */
export interface CommandEnv {
  ctx: Context;
  io: Streams;
  out: (s: string) => void;
}
