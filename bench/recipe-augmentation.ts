/**
 * Which augmentation a recipe should have: the same recipe, model, seed and epochs with each augmentation
 * added, scored on the validation split (the test split chooses nothing). Each run is a `mobilezoo train`
 * command (printed); `--parallel N` runs N at a time (give each `--threads` so that N × threads fits the
 * cores). Prints one JSON line per run and then a Markdown table: validation accuracy and loss at the last
 * epoch and at the best (by validation loss), the training accuracy of the last epoch, images/s.
 *
 *   node --import tsx bench/recipe-augmentation.ts [--recipe fashion-mnist] [--model shufflenet_v2_x0_5]
 *        [--width W] [--input 28] [--epochs 12] [--limit 30000] [--val-split 0.2] [--batch-size 128]
 *        [--threads 1] [--parallel 2] [--out runs/recipe-augmentation] [--only base,trivial]
 *        [--extra "--lr 0.05"]
 *
 * A run whose folder already holds checkpoint-last.json is read, not trained again (delete the folder to redo it).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MetricsCsv } from '../src/report/csv.js';

const { values } = parseArgs({
  options: {
    recipe: { type: 'string', default: 'fashion-mnist' },
    model: { type: 'string', default: 'shufflenet_v2_x0_5' },
    width: { type: 'string' },
    input: { type: 'string', default: '28' },
    epochs: { type: 'string', default: '12' },
    limit: { type: 'string', default: '30000' },
    'val-split': { type: 'string', default: '0.2' },
    'batch-size': { type: 'string', default: '128' },
    threads: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '2' },
    out: { type: 'string', default: 'runs/recipe-augmentation' },
    only: { type: 'string' },
    extra: { type: 'string', default: '' },
  },
});

/** The augmentations compared, as the flags a user adds to the recipe. */
const VARIANTS: Record<string, string[]> = {
  base: [],
  'random-erasing': ['--random-erasing', '0.5'],
  trivial: ['--trivial-augment'],
  'rand-augment': ['--rand-augment', '2,9'],
  'auto-augment': ['--auto-augment', 'cifar10'],
  cutmix: ['--cutmix', '1.0', '--mix-prob', '0.5'],
  'mixup-cutmix': ['--mixup', '0.2', '--cutmix', '1.0'],
  'trivial+erasing': ['--trivial-augment', '--random-erasing', '0.5'],
  'trivial+cutmix': ['--trivial-augment', '--cutmix', '1.0', '--mix-prob', '0.5'],
};

const out = resolve(values.out!);
const names = values.only ? values.only.split(',') : ['base', 'random-erasing', 'trivial', 'rand-augment', 'cutmix'];
for (const n of names) if (!VARIANTS[n]) throw new Error(`--only: unknown variant '${n}'; known: ${Object.keys(VARIANTS).join(', ')}`);
const common = [
  '--recipe', values.recipe!, '--model', values.model!, ...(values.width ? ['--width', values.width] : []), '--input', values.input!,
  '--epochs', values.epochs!, '--limit', values.limit!, '--val-split', values['val-split']!, '--batch-size', values['batch-size']!,
  '--threads', values.threads!, '--save-every', '1000', '--seed', '0', ...values.extra!.split(' ').filter(Boolean),
];

function train(name: string): Promise<void> {
  const dir = join(out, name);
  if (existsSync(join(dir, 'checkpoint-last.json'))) return Promise.resolve();
  rmSync(dir, { recursive: true, force: true });
  const args = ['train', ...common, ...VARIANTS[name]!, '--out', dir];
  console.error(`$ mobilezoo ${args.join(' ')}`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['bin/mobilezoo.js', ...args], { stdio: ['ignore', 'ignore', 'inherit'], cwd: resolve(import.meta.dirname, '..') });
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`${name}: mobilezoo train exited with ${code}`))));
  });
}

const queue = [...names];
await Promise.all(Array.from({ length: Number(values.parallel) }, async () => {
  for (let n = queue.shift(); n !== undefined; n = queue.shift()) await train(n);
}));

const pct = (x: number) => (x * 100).toFixed(2);
const rows: string[] = [];
for (const name of names) {
  const dir = join(out, name);
  const m = (await new MetricsCsv(join(dir, 'metrics.csv')).read()).map((e) => ({ ...e, valAcc: e.valAcc ?? Number.NaN, valLoss: e.valLoss ?? Number.NaN }));
  const last = m[m.length - 1]!;
  const best = m.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
  const imagesPerSec = m.reduce((a, b) => a + b.imagesPerSec, 0) / m.length;
  const r = {
    variant: name, flags: VARIANTS[name]!.join(' '), epochs: m.length,
    val_acc_last: last.valAcc, val_loss_last: last.valLoss, best_epoch: best.epoch, val_acc_best: best.valAcc, train_acc_last: last.trainAcc,
    val_acc_curve: m.map((e) => Number(pct(e.valAcc))), images_per_sec: Math.round(imagesPerSec),
    test_top1_not_for_choices: (JSON.parse(readFileSync(join(dir, 'checkpoint-last.json'), 'utf8')) as { test?: { top1: number } }).test?.top1,
  };
  console.log(JSON.stringify(r));
  rows.push(`| ${name} | \`${r.flags || '(recipe)'}\` | ${pct(r.val_acc_last)}% | ${r.val_loss_last.toFixed(4)} | ${pct(r.val_acc_best)}% (${r.best_epoch}) | ${pct(r.train_acc_last)}% | ${r.images_per_sec} |`);
}
console.log(`\n\`mobilezoo train ${common.join(' ')}\` plus:\n`);
console.log('| variant | flags | val top-1, last epoch | val loss, last | val top-1 at best val loss (epoch) | train top-1, last | img/s |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
