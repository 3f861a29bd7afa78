/** `mobilezoo quantize`: a checkpoint or weights as an int8 ONNX model (QDQ, calibrated). */
import type { Command } from 'commander';
import { DATASET_NAMES } from '../../data/index.js';
import { DEFAULT_CALIBRATION_IMAGES, quantizeToOnnx } from '../../workflow/index.js';
import { quantizeText } from '../format.js';
import { UsageError, addModelFlags, modelName, numberIn, oneOf, positiveInt, threadCount, threadsCap } from '../parse.js';
import { type CommandEnv, modelSource } from '../context.js';

export function addQuantizeCommand(program: Command, { io, out }: CommandEnv): void {
  addModelFlags(
    program
      .command('quantize')
      .description('post-training static int8 quantization: an ONNX model in QDQ form (BatchNorm folded, int8 per-channel weights, uint8 activations calibrated on training images) that ONNX Runtime runs on its int8 kernels')
      .requiredOption('--out <file>', 'output .onnx file (test --onnx, predict --onnx and export --web --from-onnx take it)')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train')
      .option('--weights <file|name>', 'a state dict (.pth / .safetensors), or published weights by name (mobilezoo weights); needs --model unless it is a name (and --dataset to calibrate on)')
      .option('--no-check-hash', 'load --weights whose file name\'s sha256 prefix does not match its content (torch.hub\'s check_hash, on by default)')
      .option('--model <name>', 'model for --weights', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: quantize the raw weights')
    .option('--calibration <n>', `training images to calibrate the activation ranges on (default ${DEFAULT_CALIBRATION_IMAGES}; a seeded sample, un-augmented)`, positiveInt('--calibration'))
    .option('--method <m>', 'activation ranges: minmax (default) or percentile', oneOf('--method', ['minmax', 'percentile']))
    .option('--percentile <p>', 'with --method percentile: the percentage of values the range keeps (default 99.99)', numberIn('--percentile', 50, 100.000001))
    .option('--keep-float <what>', 'comma-separated module types, module paths, op types or DepthwiseConv to keep in float (default: the family\'s, see README)')
    .option('--dataset <name>', `calibration dataset: ${DATASET_NAMES.join(' | ')} (default: the checkpoint's)`, oneOf('--dataset', DATASET_NAMES))
    .option('--data <dir>', 'directory searched first for the dataset (the image root for folder)')
    .option('--download', 'download the dataset if it is not found')
    .option('--input <size>', 'input size (default: the checkpoint\'s or the model\'s)', positiveInt('--input'))
    .option('--threads <n>', `ONNX Runtime threads (${threadsCap()})`, threadCount('--threads'))
    .option('--json', 'print JSON')
    .action(async (o: Record<string, unknown>) => {
      const src = await modelSource(o, false, io);
      if (!src.checkpoint && !src.weights) throw new UsageError('--checkpoint or --weights: quantize needs trained weights');
      if (o.percentile !== undefined && o.method !== 'percentile') throw new UsageError('--percentile: only with --method percentile');
      const keepFloat = o.keepFloat === undefined ? undefined : (o.keepFloat as string).split(',').map((s) => s.trim()).filter(Boolean);
      const r = await quantizeToOnnx({
        ...src, out: o.out as string, calibration: o.calibration as number | undefined, method: o.method as 'minmax' | 'percentile' | undefined,
        percentile: o.percentile as number | undefined, keepFloat, dataset: o.dataset as string | undefined, dataDir: o.data as string | undefined,
        download: o.download as boolean | undefined, input: o.input as number | undefined, threads: o.threads as number | undefined, ema: o.emaOff ? false : undefined,
      });
      out(o.json ? JSON.stringify(r, null, 2) : quantizeText(r));
    });
}
