/** `mobilezoo test`. */
import type { Command } from 'commander';
import { DATASET_NAMES } from '../../data/index.js';
import { testModel } from '../../workflow/index.js';
import { TTA_MODES, type TtaMode } from '../../workflow/tta.js';
import { testJson, testText } from '../format.js';
import { UsageError, addModelFlags, modelName, nonNegativeInt, oneOf, positiveInt, shellQuote, threadCount, threadsCap, workerCount, workersCap } from '../parse.js';
import { type CommandEnv, modelSource } from '../context.js';

export function addTestCommand(program: Command, { ctx, io, out }: CommandEnv): void {
  addModelFlags(
    program
      .command('test')
      .description('evaluate a checkpoint (or weights) on a test split: loss, top-1/5, per-class accuracy, confusion matrix')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train, or its run folder (its checkpoint-best.json, else checkpoint-last.json)')
      .option('--weights <file|name>', 'a state dict (.pth / .safetensors), or published weights by name (mobilezoo weights); needs --model unless it is a name')
      .option('--no-check-hash', 'load --weights whose file name\'s sha256 prefix does not match its content (torch.hub\'s check_hash, on by default)')
      .option('--onnx <file>', 'an ONNX model written by export or quantize (its metadata gives preprocessing and class names); needs --dataset')
      .option('--model <name>', 'model for --weights (or to override the checkpoint\'s)', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: use the raw weights, not the EMA ones')
    .option('--by-index', 'map the dataset\'s classes to the model\'s by position, not by name')
    .option('--dataset <name>', `${DATASET_NAMES.join(' | ')} (default: the checkpoint's)`, oneOf('--dataset', DATASET_NAMES))
    .option('--data <dir>', 'directory searched first for the dataset')
    .option('--download', 'download the dataset if it is not found')
    .option('--input <size>', 'input size (default: the checkpoint\'s or the model\'s)', positiveInt('--input'))
    .option('--limit <n>', 'evaluate only the first N test images', positiveInt('--limit'))
    .option('--tta <mode>', `test-time augmentation: ${TTA_MODES.join(' | ')} (default none; flip averages the softmax of each image and its mirror image, flip-shift also of both shifted by one pixel in 4 directions: 10 views)`, oneOf('--tta', TTA_MODES))
    .option('--batch-size <n>', 'batch size (default 100)', positiveInt('--batch-size'))
    .option('--threads <n>', `ONNX Runtime threads (${threadsCap()})`, threadCount('--threads'))
    .option('--workers <n>', `data-loading worker threads (default 1) (${workersCap()})`, workerCount('--workers'))
    .option('--out <dir>', 'also write confusion.png / confusion.svg / test.json there')
    .option('--json', 'print JSON')
    .action(async (o: Record<string, unknown>) => {
      const src = await modelSource(o, true, io);
      if (!src.checkpoint && !src.weights && !src.onnx) throw new UsageError('--checkpoint, --weights or --onnx: test needs trained weights');
      const r = await testModel({
        ...src,
        dataset: o.dataset as string | undefined,
        dataDir: o.data as string | undefined,
        download: o.download as boolean | undefined,
        input: o.input as number | undefined,
        limit: o.limit as number | undefined,
        batchSize: o.batchSize as number | undefined,
        threads: o.threads as number | undefined,
        workers: o.workers as number | undefined,
        ema: o.emaOff ? false : undefined,
        tta: o.tta as TtaMode | undefined,
        byIndex: o.byIndex as boolean | undefined,
        out: o.out as string | undefined,
        command: shellQuote(['mobilezoo', ...ctx.argv]),
        log: (m) => io.stderr.write(`${m}\n`),
      });
      if (r.written && !o.json) io.stderr.write(`wrote ${r.written.join(', ')}\n`);
      out(o.json ? JSON.stringify(testJson(r), null, 2) : testText(r));
    });
}
