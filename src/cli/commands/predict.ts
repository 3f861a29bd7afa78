/** `mobilezoo predict`. */
import type { Command } from 'commander';
import { predictImages } from '../../workflow/index.js';
import { predictText } from '../format.js';
import { UsageError, addModelFlags, modelName, positiveInt, threadCount, threadsCap } from '../parse.js';
import { type CommandEnv, modelSource } from '../context.js';

export function addPredictCommand(program: Command, { io, out }: CommandEnv): void {
  addModelFlags(
    program
      .command('predict')
      .description('classify image files: top-k labels with probabilities')
      .argument('<images...>', 'image files (png, jpeg, webp, ...)')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train (its preprocessing and class names are used)')
      .option('--weights <file|name>', 'a state dict (.pth / .safetensors), or published weights by name (mobilezoo weights); needs --model unless it is a name (1000 classes: ImageNet preprocessing and names)')
      .option('--onnx <file>', 'an ONNX model written by export or quantize (its metadata gives preprocessing and class names)')
      .option('--model <name>', 'model for --weights', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: use the raw weights')
    .option('--top <k>', 'labels per image (default 5)', positiveInt('--top'))
    .option('--input <size>', 'input size (default: the checkpoint\'s; 224 for ImageNet models)', positiveInt('--input'))
    .option('--threads <n>', `ONNX Runtime threads (${threadsCap()})`, threadCount('--threads'))
    .option('--json', 'print JSON')
    .action(async (images: string[], o: Record<string, unknown>) => {
      const src = await modelSource(o, true, io);
      if (!src.checkpoint && !src.weights && !src.onnx) throw new UsageError('--checkpoint, --weights or --onnx: predict needs trained weights');
      const r = await predictImages(images, { ...src, top: o.top as number | undefined, input: o.input as number | undefined, threads: o.threads as number | undefined, ema: o.emaOff ? false : undefined });
      out(o.json ? JSON.stringify(r, null, 2) : predictText(r));
    });
}
