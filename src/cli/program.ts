/**
 * The `mobilezoo` command line (commander): parses flags, calls the library, prints. Exit codes: 0 ok,
 * 1 runtime error, 2 bad usage (unknown flag, bad value: the message names the flag; a value, from a flag
 * or a file, that asks for more than the machine has), 130 interrupted.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config-error.js';
import { RefusedError } from '../io/refused.js';
import { escapingStream } from './format.js';
import { UsageError } from './parse.js';
import type { Streams } from './progress.js';
import { type CommandEnv, type Context, EXIT, configErrorText, packageVersion, settingsAsFlags } from './context.js';
import { addListCommand } from './commands/list.js';
import { addSummaryCommand } from './commands/summary.js';
import { addTrainCommand } from './commands/train.js';
import { addTestCommand } from './commands/test.js';
import { addPredictCommand } from './commands/predict.js';
import { addEmbedCommand } from './commands/embed.js';
import { addExportCommand } from './commands/export.js';
import { addQuantizeCommand } from './commands/quantize.js';
import { addDemoCommand } from './commands/demo.js';
import { addWeightsCommand } from './commands/weights.js';

export { EXIT };

export function buildProgram(ctx: Context): Command {
  const { io } = ctx;
  const out = (s: string): void => {
    io.stdout.write(s.endsWith('\n') ? s : s + '\n');
  };
  const program = new Command('mobilezoo');
  const env: CommandEnv = { ctx, io, out };
  program
    .description('MobileNetV1/V2/V3 and ShuffleNetV1/V2 on ONNX Runtime: summaries, training and fine-tuning, evaluation, prediction, embeddings, ONNX export, int8 quantization, a web page')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  addListCommand(program, env);
  addSummaryCommand(program, env);
  addTrainCommand(program, env);
  addTestCommand(program, env);
  addPredictCommand(program, env);
  addEmbedCommand(program, env);
  addExportCommand(program, env);
  addQuantizeCommand(program, env);
  addDemoCommand(program, env);
  addWeightsCommand(program, env);
  return program;
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], io: Streams = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  // Names from files and folders reach the terminal through here: control characters escaped.
  const ctx: Context = { io: { stdout: escapingStream(io.stdout), stderr: escapingStream(io.stderr) }, argv, code: EXIT.ok };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage; // commander has printed the message (it names the flag)
    }
    const stderr = ctx.io.stderr;
    const cmd = argv.find((a) => !a.startsWith('-')) ?? '';
    const prefix = `mobilezoo${cmd ? ` ${cmd}` : ''}: `;
    if (e instanceof UsageError || e instanceof ConfigError) {
      stderr.write(`${prefix}${e instanceof ConfigError ? configErrorText(e) : e.message}\n(add --help for usage)\n`);
      return EXIT.usage;
    }
    if (e instanceof RefusedError) {
      stderr.write(`${prefix}${settingsAsFlags(e.message)}\n`);
      return EXIT.usage;
    }
    const err = e as Error;
    stderr.write(`${prefix}error: ${settingsAsFlags(err?.message ?? String(e))}\n`);
    if (process.env.MOBILEZOO_DEBUG) stderr.write(`${err?.stack ?? ''}\n`);
    return EXIT.error;
  }
}

