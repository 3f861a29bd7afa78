// Fashion-MNIST in a time budget: the `fashion-mnist` recipe (SGD 0.1 Nesterov, wd 5e-4 not on BN/bias,
// label smoothing 0.1, warmup + cosine, pad+crop+flip; see src/train/config.ts) on the full 60000 / 10000
// split, for as long as the budget allows. It measures the train step and evaluation speed first to
// estimate the epochs that fit (the schedule's shape: warmup is 1 of them), then trains with the schedule
// on the clock (mobilezoo train --minutes): the cosine decay ends when the budget is spent, however the
// machine's speed drifts, and prints the final test accuracy.
//
//   node --import tsx bench/fashion-mnist.ts [--minutes 55] [--model shufflenet_v2_x1_0] [--width W (MobileNets)]
//        [--batch-size 128] [--lr 0.1] [--input 32] [--ema DECAY] [--threads N] [--workers 1] [--random-erasing P]
//        [--data DIR] [--out DIR]
//
// When the budget does not fit one full epoch (e.g. --minutes 1, a smoke test), it trains one epoch on
// the first N training images that fit and still evaluates on the whole test split. After training it
// also evaluates the last checkpoint with test-time augmentation: flip (2 views, about 20 s after the
// budget) and flip-shift (10 views, about a minute).
//
// Default model: ShuffleNetV2 1.0x with the CIFAR stem (overall stride 8). Measured on 2 cores it
// trains about 3x faster than MobileNetV2 0.5x with the CIFAR stem (about 200 vs 70 img/s at batch 128),
// so the budget buys about three times the epochs, which matter more than the architecture here. A
// safety deadline at 105% of the budget (or Ctrl-C) stops training with a checkpoint.
import { join } from 'node:path';
import { DataLoader } from '../src/data/index.js';
import { createModel } from '../src/models/registry.js';
import { resolveTrainConfig, type TrainSettings } from '../src/workflow/config.js';
import { Trainer } from '../src/train/trainer.js';
import { testModel } from '../src/workflow/index.js';
import { openTrainingData, planModel, trainFromConfig, trainTransforms } from '../src/workflow/index.js';
import { epochLine } from '../src/cli/progress.js';
import { nodeBackend } from '../src/runtime/node-backend.js';

const t0 = performance.now();
const elapsed = () => (performance.now() - t0) / 1000;
const args = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
function num(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name}: expected a positive number, got '${v}'`);
    process.exit(2);
  }
  return n;
}

const minutes = num('--minutes', 55);
const budget = minutes * 60;
const model = flag('--model') ?? 'shufflenet_v2_x1_0';
const modelOptions: Record<string, unknown> = { stem: 'cifar' };
if (model.startsWith('mobilenet')) modelOptions.widthMult = num('--width', 0.5);
const batchSize = num('--batch-size', 128);
const threads = flag('--threads') ? num('--threads', 1) : undefined;
const workers = flag('--workers') ? Number(flag('--workers')) : 1;
const outDir = flag('--out') ?? join('runs', `bench-fashion-mnist-${Date.now()}`);
const erasing = flag('--random-erasing') ? Number(flag('--random-erasing')) : undefined;
const optional = (name: string) => (flag(name) !== undefined ? num(name, 1) : undefined);
const base: TrainSettings = {
  recipe: 'fashion-mnist', model, modelOptions, dataset: 'fashion-mnist', dataDir: flag('--data'), batchSize, randomErasing: erasing,
  lr: optional('--lr'), input: optional('--input'), ema: optional('--ema'),
  // The benchmark's protocol: all 60,000 training images, scored on the 10,000 test images.
  valSplit: 0,
};

// 1. data and a step-time measurement with the recipe's own settings.
const probe = resolveTrainConfig({ ...base, epochs: 30 });
const data = await openTrainingData(probe);
const plan = planModel(probe, { height: data.train.height, width: data.train.width, numClasses: data.train.numClasses, title: data.title });
const net = createModel(probe.model, plan.options);
const trainer = await Trainer.create(net, {
  optimizer: probe.optimizer, lr: probe.lr, schedule: probe.schedule, epochs: probe.epochs, warmupEpochs: probe.warmupEpochs,
  stepsPerEpoch: Math.ceil(data.train.length / batchSize), labelSmoothing: probe.labelSmoothing, seed: probe.seed,
  inputSize: plan.inputSize, backend: nodeBackend({ threads }), batchSize, emaDecay: probe.emaDecay,
});
const tf = trainTransforms(data.train, plan.inputSize, probe.augment, probe.randomErasing);
const loader = new DataLoader(data.train, { batchSize, shuffle: true, seed: 1, transform: tf.train, workers });
// Long enough for the loader's worker to reach its steady state: its augmentation shares the two cores
// with the step, and a 5-step window (filled from the loader's prefetched batches) read 18% fast.
const WARMUP = 3;
const TIMED = 30;
let measured = 0;
let n = 0;
let last: Float32Array | undefined;
for await (const b of loader) {
  const s = performance.now();
  await trainer.trainStep(b.images, b.labels);
  if (n >= WARMUP) measured += (performance.now() - s) / 1000;
  last = b.images;
  if (++n === WARMUP + TIMED) break;
}
await loader.close();
const stepSeconds = measured / TIMED;
await trainer.predict(last!);
const e0 = performance.now();
await trainer.predict(last!);
const evalBatchSeconds = (performance.now() - e0) / 1000;
await trainer.dispose();

const steps = Math.ceil(data.train.length / batchSize);
const evalSeconds = Math.ceil(data.test.length / batchSize) * evalBatchSeconds;
const perEpoch = steps * stepSeconds + evalSeconds + 3; // + compile of the eval session, metrics, charts
const reserve = 20 + 0.02 * budget; // final checkpoint, charts, report
const available = budget - elapsed() - reserve;
let epochs = Math.floor(available / perEpoch);
let limit: number | undefined;
console.log(
  `${model} ${JSON.stringify(modelOptions)} at ${plan.inputSize.join('x')}, batch ${batchSize}: ` +
    `${(stepSeconds * 1000).toFixed(0)} ms/step (${(batchSize / stepSeconds).toFixed(0)} img/s), ` +
    `${perEpoch.toFixed(0)} s/epoch with evaluation; ${available.toFixed(0)} s of the ${minutes}-minute budget left`,
);
if (epochs < 1) {
  epochs = 1;
  const fit = Math.floor(Math.max(0, available - evalSeconds - 3) / stepSeconds);
  limit = Math.max(batchSize, Math.min(data.train.length, fit * batchSize));
  console.log(`the budget does not fit a full epoch: 1 epoch on the first ${limit} training images (test: all ${data.test.length})`);
} else {
  console.log(`training for the rest of the budget: about ${epochs} epochs, the schedule following the clock`);
}

// 2. train with the recipe for that many epochs.
// The schedule runs on the clock (--minutes): on this shared 2-core machine the step time drifts by ±20%
// within a run, and an epoch count planned from the first 30 steps overran the budget by 2 epochs.
const trainMinutes = limit === undefined ? (budget - elapsed() - reserve) / 60 : undefined;
const config = resolveTrainConfig({ ...base, epochs, limit, testLimit: limit !== undefined ? data.test.length : undefined, minutes: trainMinutes });
const deadline = new AbortController();
const timer = setTimeout(() => deadline.abort(), Math.max(0, budget * 1.05 - elapsed()) * 1000);
timer.unref();
process.on('SIGINT', () => deadline.abort());
const r = await trainFromConfig(config, {
  outDir, threads, workers, saveEvery: 5, command: `node --import tsx bench/fashion-mnist.ts ${args.join(' ')}`.trim(), signal: deadline.signal,
  events: {
    log: (m) => console.error(m),
    epochEnd: (e) => console.log(epochLine(e)),
  },
});
clearTimeout(timer);
const ev = r.evaluation;
console.log(
  r.interrupted ? `stopped at the deadline; last evaluated epoch: ${r.history.length}` : `done: ${r.history.length} epochs`,
  `in ${(elapsed() / 60).toFixed(1)} min`,
);
if (ev) console.log(`final test accuracy: ${(ev.top1 * 100).toFixed(2)}% (top-5 ${(ev.top5 * 100).toFixed(2)}%, loss ${ev.loss.toFixed(4)}) on ${ev.count} test images`);
console.log(`report: ${r.reportPath ?? '(none)'}; checkpoint: ${r.checkpoint}`);

// 3. the same checkpoint with test-time augmentation (mobilezoo test --tta flip / flip-shift), reported beside the plain figure.
if (r.checkpoint && !limit) {
  for (const tta of ['flip', 'flip-shift'] as const) {
    const t = await testModel({ checkpoint: r.checkpoint, dataDir: flag('--data'), threads, tta });
    console.log(`with --tta ${tta}: ${(t.top1 * 100).toFixed(2)}% (top-5 ${(t.top5 * 100).toFixed(2)}%, loss ${t.loss.toFixed(4)}) on ${t.count} test images; ${(elapsed() / 60).toFixed(1)} min in all`);
  }
}
