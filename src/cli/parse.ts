/** Flag value parsers and model-option flags. Every bad value throws a UsageError naming its flag. */
import type { Command } from 'commander';
import { listModels, modelOptionNames } from '../models/registry.js';
import { SHUFFLENET_V1_GROUPS, SHUFFLENET_V1_SIZES } from '../models/shufflenet_v1.js';
import { maxThreads, maxWorkers } from '../workflow/resources.js';

/** A bad command line: printed without a stack, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const got = (v: string) => `got '${v}'`;

export function positiveNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected a positive number, ${got(v)}`);
    return n;
  };
}

export function nonNegativeNumber(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${flag}: expected a non-negative number, ${got(v)}`);
    return n;
  };
}

/** A number in [lo, hi) (or (lo, hi) with openLow). */
export function numberIn(flag: string, lo: number, hi: number, openLow = false) {
  return (v: string): number => {
    const n = Number(v);
    const ok = v.trim() !== '' && Number.isFinite(n) && (openLow ? n > lo : n >= lo) && n < hi;
    if (!ok) throw new UsageError(`${flag}: expected a number in ${openLow ? '(' : '['}${lo}, ${hi}), ${got(v)}`);
    return n;
  };
}

export function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\+?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag}: expected a positive integer, ${got(v)}`);
    return n;
  };
}

export function nonNegativeInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*\+?\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new UsageError(`${flag}: expected a non-negative integer, ${got(v)}`);
    return n;
  };
}

export function integer(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\s*[-+]?\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new UsageError(`${flag}: expected an integer, ${got(v)}`);
    return n;
  };
}

/** ONNX Runtime threads: a positive integer up to maxThreads() (see workflow/resources.ts). */
export function threadCount(flag: string) {
  return (v: string): number => {
    const n = positiveInt(flag)(v);
    if (n > maxThreads()) throw new UsageError(`${flag}: ${threadsCap()}; ${got(v)}`);
    return n;
  };
}

/** Data-loading workers: a non-negative integer up to maxWorkers(). */
export function workerCount(flag: string) {
  return (v: string): number => {
    const n = nonNegativeInt(flag)(v);
    if (n > maxWorkers()) throw new UsageError(`${flag}: ${workersCap()}; ${got(v)}`);
    return n;
  };
}

/** The caps, for help texts. */
export const threadsCap = (): string => `at most ${maxThreads()} here: 4 per core, never below 64`;
export const workersCap = (): string => `at most ${maxWorkers()} here: 2 per core, never below 8`;

/** Comma-separated numbers, e.g. '0.4' or '0.4,0.4,0.4,0.1' (the count and ranges are checked by the settings). */
export function numberList(flag: string) {
  return (v: string): number[] => {
    const parts = v.split(',').map((p) => p.trim());
    const nums = parts.map(Number);
    if (parts.some((p) => p === '') || nums.some((n) => !Number.isFinite(n))) throw new UsageError(`${flag}: expected comma-separated numbers, ${got(v)}`);
    return nums;
  };
}

export function oneOf<T extends string>(flag: string, values: readonly T[]) {
  return (v: string): T => {
    if (!(values as readonly string[]).includes(v)) throw new UsageError(`${flag}: expected one of ${values.join(', ')}, ${got(v)}`);
    return v as T;
  };
}

export function modelName(flag: string) {
  return (v: string): string => {
    const names = listModels().map((m) => m.name);
    if (!names.includes(v)) throw new UsageError(`${flag}: unknown model '${v}'; available: ${names.join(', ')} (see mobilezoo list)`);
    return v;
  };
}

/** ShuffleNetV1 size: '0.5x' or '0.5'. */
function shuffleSize(v: string): string {
  const s = /x$/i.test(v) ? v.toLowerCase() : `${Number(v).toFixed(Number(v) === 0.25 ? 2 : 1)}x`;
  if (!(SHUFFLENET_V1_SIZES as readonly string[]).includes(s)) throw new UsageError(`--size: expected one of ${SHUFFLENET_V1_SIZES.join(', ')}, ${got(v)}`);
  return s;
}

/** Model option flags: flag, commander attribute, createModel option. */
export const MODEL_FLAGS = [
  { flag: '--width', attr: 'width', option: 'widthMult' },
  { flag: '--groups', attr: 'groups', option: 'groups' },
  { flag: '--size', attr: 'size', option: 'size' },
  { flag: '--classes', attr: 'classes', option: 'numClasses' },
  { flag: '--stem', attr: 'stem', option: 'stem' },
  { flag: '--dropout', attr: 'dropout', option: 'dropout' },
  { flag: '--reduced-tail', attr: 'reducedTail', option: 'reducedTail' },
  { flag: '--dilated', attr: 'dilated', option: 'dilated' },
] as const;

/** Adds the model-option flags to a command (`--classes` only where asked). */
export function addModelFlags(cmd: Command, o: { classes?: boolean } = {}): Command {
  cmd
    .option('--width <w>', 'width multiplier (MobileNetV1/V2/V3), e.g. 0.5', positiveNumber('--width'))
    .option('--groups <g>', `ShuffleNetV1 groups: ${SHUFFLENET_V1_GROUPS.join(', ')}`, (v: string) => Number(oneOf('--groups', SHUFFLENET_V1_GROUPS.map(String))(v)))
    .option('--size <s>', `ShuffleNetV1 size: ${SHUFFLENET_V1_SIZES.join(', ')}`, shuffleSize);
  if (o.classes) cmd.option('--classes <k>', 'number of classes (default: 1000, or the dataset\'s)', positiveInt('--classes'));
  return cmd
    .option('--stem <stem>', 'imagenet, or cifar (stride-8 stem for 32x32 inputs)', oneOf('--stem', ['imagenet', 'cifar'] as const))
    .option('--dropout <p>', 'classifier dropout (MobileNets)', numberIn('--dropout', 0, 1))
    .option('--reduced-tail', 'MobileNetV3: halve the channels of the last stage')
    .option('--dilated', 'MobileNetV3: dilate the last stage');
}

/** createModel options from parsed flags, checking that `model` accepts each given flag. */
export function modelOptionsFrom(model: string, opts: Record<string, unknown>): Record<string, unknown> {
  const accepted = modelOptionNames(model);
  const out: Record<string, unknown> = {};
  for (const f of MODEL_FLAGS) {
    const v = opts[f.attr];
    if (v === undefined) continue;
    if (!accepted.includes(f.option)) {
      const usable = MODEL_FLAGS.filter((g) => accepted.includes(g.option)).map((g) => g.flag);
      throw new UsageError(`${f.flag}: not an option of ${model} (its options: ${usable.join(', ') || 'none'})`);
    }
    out[f.option] = v;
  }
  return out;
}

/** The flags of a model's options, for listings. */
export function modelFlagsOf(model: string): string[] {
  const accepted = modelOptionNames(model);
  return MODEL_FLAGS.filter((g) => accepted.includes(g.option)).map((g) => g.flag);
}

/** Values that were given on the command line (not commander defaults). */
export function explicit(cmd: Command): Record<string, unknown> {
  const opts = cmd.opts();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    const src = cmd.getOptionValueSource(k);
    if (src === 'cli' || src === 'env') out[k] = v;
  }
  return out;
}

/** A command line as a copy-pasteable shell string. */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
