/**
 * Transfer learning, end to end, as a user runs it (each step is a `mobilezoo` command, printed):
 *   1. a base model trained on Fashion-MNIST's train split (or --base CHECKPOINT);
 *   2. an image folder made from Fashion-MNIST *test* images (PNG files), with 4 new classes grouping
 *      the 10 (tops, footwear, bags, trousers+dresses): --train-per-class images per class in train/,
 *      --test-per-class in test/, disjoint;
 *   3. fine-tuning the base on the folder with --pretrained --freeze backbone;
 *   4. the same model trained from scratch on the folder with the same epochs;
 * then prints both test accuracies as one JSON line.
 *
 *   node --import tsx bench/transfer.ts [--out runs/transfer] [--base runs/transfer/base/checkpoint-last.json] [--epochs 10] [--threads 2]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { openDataset } from '../src/data/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'runs/transfer' },
    base: { type: 'string' },
    epochs: { type: 'string', default: '10' },
    'train-per-class': { type: 'string', default: '25' },
    'test-per-class': { type: 'string', default: '100' },
    'batch-size': { type: 'string', default: '20' },
    threads: { type: 'string', default: '2' },
  },
});
const out = resolve(values.out!);
const threads = values.threads!;

/** The 4 groups, by Fashion-MNIST label. */
const GROUPS: Record<string, number[]> = {
  tops: [0, 2, 4, 6], // T-shirt/top, Pullover, Coat, Shirt
  trousers_dresses: [1, 3], // Trouser, Dress
  footwear: [5, 7, 9], // Sandal, Sneaker, Ankle boot
  bags: [8],
};

function mobilezoo(args: string[]): void {
  const command = ['bin/mobilezoo.js', ...args];
  console.error(`\n$ mobilezoo ${args.join(' ')}`);
  const r = spawnSync(process.execPath, command, { stdio: ['ignore', 'inherit', 'inherit'], cwd: resolve(import.meta.dirname, '..') });
  if (r.status !== 0) throw new Error(`mobilezoo ${args[0]} exited with ${r.status}`);
}

async function makeFolder(dir: string, trainPer: number, testPer: number): Promise<void> {
  const ds = await openDataset('fashion-mnist', 'test', {});
  const taken = new Map<string, number>();
  for (let i = 0; i < ds.length; i++) {
    const { image, label } = ds.get(i);
    const group = Object.keys(GROUPS).find((g) => GROUPS[g]!.includes(label))!;
    const n = taken.get(group) ?? 0;
    if (n >= trainPer + testPer) continue;
    taken.set(group, n + 1);
    const split = n < trainPer ? 'train' : 'test';
    mkdirSync(join(dir, split, group), { recursive: true });
    await sharp(Buffer.from(image), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, split, group, `${i}.png`));
  }
}

const testJson = (run: string) => JSON.parse(readFileSync(join(run, 'checkpoint-last.json'), 'utf8')).test as { top1: number; count: number };

mkdirSync(out, { recursive: true });
let base = values.base;
if (!base) {
  const dir = join(out, 'base');
  if (!existsSync(join(dir, 'checkpoint-last.json'))) {
    rmSync(dir, { recursive: true, force: true });
    mobilezoo(['train', '--recipe', 'fashion-mnist', '--model', 'mobilenet_v2', '--width', '0.5', '--epochs', '2', '--limit', '10000', '--threads', threads, '--out', dir]);
  }
  base = join(dir, 'checkpoint-last.json');
}
const folder = join(out, 'folder');
rmSync(folder, { recursive: true, force: true });
await makeFolder(folder, Number(values['train-per-class']), Number(values['test-per-class']));
const common = ['--dataset', 'folder', '--data', folder, '--epochs', values.epochs!, '--batch-size', values['batch-size']!, '--threads', threads, '--save-every', '1000'];
const fine = join(out, 'fine-tuned');
const scratch = join(out, 'scratch');
for (const d of [fine, scratch]) rmSync(d, { recursive: true, force: true });
mobilezoo(['train', '--pretrained', base, '--freeze', 'backbone', ...common, '--out', fine]);
const { modelOptions } = JSON.parse(readFileSync(base, 'utf8')).config as { modelOptions: Record<string, unknown> };
mobilezoo(['train', '--model', 'mobilenet_v2', '--width', String(modelOptions.widthMult ?? 1), ...common, '--out', scratch]);
const f = testJson(fine);
const s = testJson(scratch);
console.log(JSON.stringify({ base, folder, epochs: Number(values.epochs), test_images: f.count, fine_tuned_top1: f.top1, scratch_top1: s.top1, gain_points: Number(((f.top1 - s.top1) * 100).toFixed(2)) }));
