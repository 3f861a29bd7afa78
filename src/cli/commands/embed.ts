/** `mobilezoo embed`. */
import type { Command } from 'commander';
import { extname } from 'node:path';
import { EMBEDDING_FORMATS, embedImages, embeddingsJson, writeEmbeddings } from '../../workflow/index.js';
import { embedText } from '../format.js';
import { UsageError, addModelFlags, modelName, positiveInt, threadCount, threadsCap } from '../parse.js';
import { type CommandEnv, modelSource } from '../context.js';

export function addEmbedCommand(program: Command, { io, out }: CommandEnv): void {
  addModelFlags(
    program
      .command('embed')
      .description('the embedding of each image (the pooled features before the classifier), with the model\'s preprocessing')
      .argument('<images...>', 'image files (png, jpeg, webp, ...) or folders of them')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train')
      .option('--weights <file|name>', 'a state dict (.pth / .safetensors), or published weights by name (mobilezoo weights); needs --model unless it is a name')
      .option('--no-check-hash', 'load --weights whose file name\'s sha256 prefix does not match its content (torch.hub\'s check_hash, on by default)')
      .option('--model <name>', 'model for --weights', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: use the raw weights')
    .option('--out <file>', `write the embeddings: ${EMBEDDING_FORMATS.join(', ')} (by extension)`)
    .option('--input <size>', 'input size (default: the checkpoint\'s; 224 for ImageNet models)', positiveInt('--input'))
    .option('--threads <n>', `ONNX Runtime threads (${threadsCap()})`, threadCount('--threads'))
    .option('--json', 'print the embeddings as JSON')
    .action(async (images: string[], o: Record<string, unknown>) => {
      const src = await modelSource(o, false, io);
      if (!src.checkpoint && !src.weights) throw new UsageError('--checkpoint or --weights: embed needs trained weights');
      const file = o.out as string | undefined;
      if (file && !(EMBEDDING_FORMATS as readonly string[]).includes(extname(file).toLowerCase())) {
        throw new UsageError(`--out: ${file}: use a ${EMBEDDING_FORMATS.join(', ')} file`);
      }
      const r = await embedImages(images, { ...src, input: o.input as number | undefined, threads: o.threads as number | undefined, ema: o.emaOff ? false : undefined });
      if (file) {
        const path = await writeEmbeddings(file, r);
        if (!o.json) out(`wrote ${path}: ${r.files.length} embeddings of ${r.dim} values (${r.model}, weights ${r.weights})`);
      }
      if (o.json) out(JSON.stringify(embeddingsJson(r), null, 2));
      else if (!file) out(embedText(r));
    });
}
