/**
 * The fine-tune recipe at 224 against the same run without its new augmentations (RandomResizedCrop and
 * TrivialAugmentWide; the random crop and flip stay), each step a `mobilezoo` command (printed):
 *   1. a base model trained in Node on Fashion-MNIST's train split with the ImageNet stem at --base-input (or --base);
 *      the weights do not depend on the input size, so a base trained at 64 fine-tunes at 224;
 *   2. a folder of Fashion-MNIST *test* PNGs with 4 new classes (tops, trousers+dresses, footwear, bags):
 *      --train-per-class images per class in train/, --val-per-class in val/ (what chooses checkpoint-best)
 *      and --test-per-class in test/, disjoint;
 *   3. `train --recipe fine-tune --pretrained BASE --input 224` on the folder, for each --seeds, with the
 *      recipe's augmentations and with `--no-random-resized-crop --no-trivial-augment`;
 * then prints one JSON line per run and a Markdown table (test top-1 of checkpoint-best, best epoch).
 *
 * The base's own test accuracy is printed first: a base that scores at chance in eval mode (as
 * MobileNetV3-Small did after 2 epochs at 224 with lr 0.1: 70.7% train, 9.63% test, one class) makes the
 * comparison meaningless, and the script stops.
 *
 *   node --import tsx bench/fine-tune-recipe.ts [--out runs/fine-tune-recipe] [--base CHECKPOINT]
 *        [--model mobilenet_v2] [--width 0.5] [--base-input 64] [--base-limit 10000] [--base-epochs 2] [--epochs (the recipe's)]
 *        [--train-per-class 50] [--val-per-class 50] [--test-per-class 250] [--seeds 0,1] [--threads 2]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MetricsCsv } from '../src/report/csv.js';
import { makeFashionFolder } from './fashion-folder.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'runs/fine-tune-recipe' },
    base: { type: 'string' },
    model: { type: 'string', default: 'mobilenet_v2' },
    width: { type: 'string', default: '0.5' },
    'base-input': { type: 'string', default: '64' },
    'base-limit': { type: 'string', default: '10000' },
    'base-epochs': { type: 'string', default: '2' },
    epochs: { type: 'string' },
    'train-per-class': { type: 'string', default: '50' },
    'val-per-class': { type: 'string', default: '50' },
    'test-per-class': { type: 'string', default: '250' },
    seeds: { type: 'string', default: '0,1' },
    threads: { type: 'string', default: '2' },
  },
});
const out = resolve(values.out!);
const threads = values.threads!;

function mobilezoo(args: string[]): void {
  console.error(`\n$ mobilezoo ${args.join(' ')}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['bin/mobilezoo.js', ...args], { stdio: ['ignore', 'inherit', 'inherit'], cwd: resolve(import.meta.dirname, '..') });
  if (r.status !== 0) throw new Error(`mobilezoo ${args[0]} exited with ${r.status}`);
  console.error(`(${((performance.now() - t0) / 60000).toFixed(1)} min)`);
}

let base = values.base;
if (!base) {
  const dir = join(out, 'base');
  if (!existsSync(join(dir, 'checkpoint-last.json'))) {
    rmSync(dir, { recursive: true, force: true });
    mobilezoo([
      'train', '--recipe', 'fashion-mnist', '--model', values.model!, ...(values.model!.startsWith('mobilenet') ? ['--width', values.width!] : []),
      '--stem', 'imagenet', '--input', values['base-input']!, '--epochs', values['base-epochs']!,
      '--limit', values['base-limit']!, '--batch-size', '64', '--val-split', '0', '--threads', threads, '--out', dir,
    ]);
  }
  base = join(dir, 'checkpoint-last.json');
}
const baseTest = (JSON.parse(readFileSync(base, 'utf8')) as { test?: { top1: number; count: number } }).test;
if (baseTest) {
  console.log(JSON.stringify({ base, base_test_top1: baseTest.top1, base_test_images: baseTest.count }));
  if (baseTest.top1 < 0.3) throw new Error(`the base scores ${(baseTest.top1 * 100).toFixed(2)}% on its test split: near chance, no base to fine-tune from`);
}
const folder = join(out, 'folder');
rmSync(folder, { recursive: true, force: true });
await makeFashionFolder(folder, { train: Number(values['train-per-class']), val: Number(values['val-per-class']), test: Number(values['test-per-class']) });

const variants: Record<string, string[]> = { 'fine-tune': [], 'fine-tune without RandomResizedCrop and TrivialAugment': ['--no-random-resized-crop', '--no-trivial-augment'] };
const rows: string[] = [];
for (const seed of values.seeds!.split(',')) {
  for (const [name, flags] of Object.entries(variants)) {
    const dir = join(out, `${name.split(' ').length > 1 ? 'plain' : 'recipe'}-seed${seed}`);
    rmSync(dir, { recursive: true, force: true });
    mobilezoo([
      'train', '--recipe', 'fine-tune', '--pretrained', base, '--input', '224', '--data', folder, ...(values.epochs ? ['--epochs', values.epochs] : []),
      '--seed', seed, '--threads', threads, '--save-every', '1000', ...flags, '--out', dir,
    ]);
    const last = JSON.parse(readFileSync(join(dir, 'checkpoint-last.json'), 'utf8')) as { test: { top1: number; count: number; epoch?: number } };
    const m = await new MetricsCsv(join(dir, 'metrics.csv')).read();
    const best = m.reduce((a, b) => ((b.valLoss ?? Infinity) < (a.valLoss ?? Infinity) ? b : a));
    const r = {
      variant: name, seed: Number(seed), flags: flags.join(' '), test_top1: last.test.top1, test_images: last.test.count, best_epoch: best.epoch,
      val_acc_curve: m.map((e) => Number(((e.valAcc ?? Number.NaN) * 100).toFixed(1))), train_acc_last: m[m.length - 1]!.trainAcc,
      minutes: Number((m.reduce((a, e) => a + e.seconds, 0) / 60).toFixed(1)),
    };
    console.log(JSON.stringify(r));
    rows.push(`| ${name} | ${seed} | **${(r.test_top1 * 100).toFixed(2)}%** | ${r.best_epoch} of ${m.length} | ${(r.train_acc_last * 100).toFixed(1)}% | ${r.minutes} |`);
  }
}
console.log(`\nbase: ${base}; folder: ${folder}\n`);
console.log('| run | seed | test top-1 (checkpoint-best) | best epoch (val loss) | train top-1, last epoch | minutes |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
