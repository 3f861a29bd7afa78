/** `mobilezoo predict`. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { predictImages } from '../../workflow/index.js';
import { predictText } from '../format.js';
import { UsageError, addModelFlags, modelName, numberList, positiveInt, threadCount, threadsCap } from '../parse.js';
import { type CommandEnv, modelSource } from '../context.js';

/** Class names from a text file (one per line) or a JSON array of strings. */
async function readLabels(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--labels: cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (text.trimStart().startsWith('[')) {
    const names: unknown = JSON.parse(text);
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new UsageError(`--labels: ${file} is not a JSON array of strings`);
    return names as string[];
  }
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
}

export function addPredictCommand(program: Command, { io, out }: CommandEnv): void {
  addModelFlags(
    program
      .command('predict')
      .description('classify image files: top-k labels with probabilities')
      .argument('<images...>', 'image files (png, jpeg, webp, ...) or folders of them')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train (its preprocessing and class names are used)')
      .option('--weights <file|name>', 'a state dict (.pth / .safetensors), or published weights by name (mobilezoo weights); needs --model unless it is a name (1000 classes: ImageNet preprocessing and names)')
      .option('--no-check-hash', 'load --weights whose file name\'s sha256 prefix does not match its content (torch.hub\'s check_hash, on by default)')
      .option('--onnx <file>', 'an ONNX model written by export or quantize (its metadata gives preprocessing and class names)')
      .option('--model <name>', 'model for --weights', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: use the raw weights')
    .option('--top <k>', 'labels per image (default 5)', positiveInt('--top'))
    .option('--labels <file>', 'class names for --weights without them: a text file with one name per line, or a JSON array')
    .option('--mean <m>', 'normalization mean per channel for --weights, e.g. 0.286,0.286,0.286 (default ImageNet\'s)', numberList('--mean'))
    .option('--std <s>', 'normalization std per channel for --weights, e.g. 0.353,0.353,0.353 (default ImageNet\'s)', numberList('--std'))
    .option('--input <size>', 'input size (default: the checkpoint\'s; 224 for ImageNet models)', positiveInt('--input'))
    .option('--threads <n>', `ONNX Runtime threads (${threadsCap()})`, threadCount('--threads'))
    .option('--json', 'print JSON')
    .action(async (images: string[], o: Record<string, unknown>) => {
      const src = await modelSource(o, true, io);
      if (!src.checkpoint && !src.weights && !src.onnx) throw new UsageError('--checkpoint, --weights or --onnx: predict needs trained weights');
      const classNames = o.labels ? await readLabels(o.labels as string) : undefined;
      const r = await predictImages(images, {
        ...src, top: o.top as number | undefined, input: o.input as number | undefined, threads: o.threads as number | undefined, ema: o.emaOff ? false : undefined,
        ...(classNames ? { classNames } : {}), ...(o.mean ? { mean: o.mean as number[] } : {}), ...(o.std ? { std: o.std as number[] } : {}),
      });
      out(o.json ? JSON.stringify(r, null, 2) : predictText(r));
    });
}
