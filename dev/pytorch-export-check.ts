/**
 * The mobilezoo half of the export --pytorch exactness check (the PyTorch half: dev/pytorch-export-check.py).
 * For every family and optimizer it trains 2 epochs (synthetic data, batch 8, no augmentation, no dropout)
 * with `train`, exports the epoch-1 checkpoint twice (--resume and --checkpoint), and writes what PyTorch
 * is compared with. Epochs are 5 steps, 20 in the long cases (every family with SGD Nesterov, and the two
 * recipe cases; PyTorch continues four of them for a whole epoch, see LONG in the .py):
 *   batches.safetensors   the 40 training batches of the run (rebuilt as train() builds its loader)
 *   init.safetensors      the initial weights
 *   ours.safetensors      our weights after step 21 (first step after the resume) and the fresh run's first
 *                         step from the exported weights, with the losses
 *   run/                  the run (checkpoint-epoch-1 after 20 steps, checkpoint-last after 40)
 *   resume/, fresh/       the two exports
 * A replay of the 40 steps from the initial weights on those batches must give the run's weights exactly,
 * which shows the batches are the run's.
 *
 *   node --import tsx dev/pytorch-export-check.ts /tmp/pytorch-export-check [case ...]
 *   /usr/bin/python3 dev/pytorch-export-check.py /tmp/pytorch-export-check
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataLoader } from '../src/data/index.js';
import { loadStateDictFile } from '../src/io/index.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { createModel } from '../src/models/registry.js';
import { type StateDict, Tensor } from '../src/tensor.js';
import { backboneParameters, resolveFreeze } from '../src/train/freeze.js';
import { Trainer } from '../src/train/trainer.js';
import { type TrainConfig, type TrainSettings, exportPytorch, openTrainingData, readCheckpointRecord, resolveTrainConfig, sourcePreprocessing, trainFromConfig, trainTransforms } from '../src/workflow/index.js';

const FAMILIES: Record<string, { model: string; modelOptions: Record<string, unknown> }> = {
  mobilenet_v1: { model: 'mobilenet_v1', modelOptions: { widthMult: 0.25, dropout: 0 } },
  mobilenet_v2: { model: 'mobilenet_v2', modelOptions: { widthMult: 0.25, dropout: 0 } },
  mobilenet_v3_large: { model: 'mobilenet_v3_large', modelOptions: { widthMult: 0.25, dropout: 0 } },
  mobilenet_v3_small: { model: 'mobilenet_v3_small', modelOptions: { widthMult: 0.25, dropout: 0 } },
  shufflenet_v1: { model: 'shufflenet_v1', modelOptions: { groups: 3, size: '0.5x' } },
  shufflenet_v2: { model: 'shufflenet_v2_x0_5', modelOptions: {} },
};

const OPTIMIZERS: Record<string, TrainSettings> = {
  sgd: { optimizer: 'sgd', lr: 0.02, momentum: 0.9, weightDecay: 5e-4 },
  'sgd-nesterov': { optimizer: 'sgd', lr: 0.02, momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayBnBias: true },
  adam: { optimizer: 'adam', lr: 1e-3, weightDecay: 1e-4 },
  adamw: { optimizer: 'adamw', lr: 1e-3, weightDecay: 1e-2 },
  rmsprop: { optimizer: 'rmsprop', lr: 5e-4, momentum: 0.9, weightDecay: 1e-5 },
  // The MobileNetV2 paper's recipe: TensorFlow's RMSprop (eps 1e-3 inside the square root), exponential decay.
  'rmsprop-tf': { recipe: 'mobilenet-v2-paper', lr: 2e-3 },
};

/** Recipe features beyond the optimizer, on one family each: warmup into cosine with EMA; freezing, unfreezing and a backbone rate. */
const EXTRAS: Record<string, TrainSettings & { family: string }> = {
  'warmup-ema': { family: 'mobilenet_v2', optimizer: 'sgd', lr: 0.02, momentum: 0.9, nesterov: true, weightDecay: 5e-4, warmup: 1.5, ema: 0.9 },
  'freeze-unfreeze': { family: 'mobilenet_v2', optimizer: 'adam', lr: 1e-3, weightDecay: 1e-4, freeze: 'features.5', unfreezeAt: 2, backboneLrMult: 0.3 },
};

const [out, ...only] = process.argv.slice(2);
if (!out) throw new Error('usage: dev/pytorch-export-check.ts OUT_DIR [case ...]');

const cases: [string, TrainSettings & { family: string }][] = [
  ...Object.keys(FAMILIES).flatMap((f) => Object.entries(OPTIMIZERS).map(([o, s]) => [`${f}.${o}`, { family: f, ...s }] as [string, TrainSettings & { family: string }])),
  ...Object.entries(EXTRAS),
];

/** Epochs of 20 steps: every family with SGD Nesterov, and the recipe cases (dev/pytorch-export-check.py continues four of them). */
const isLong = (id: string) => id.endsWith('.sgd-nesterov') || id in EXTRAS;

function settingsOf(id: string, c: TrainSettings & { family: string }): TrainConfig {
  const { family, ...rest } = c;
  return resolveTrainConfig({
    ...FAMILIES[family]!, dataset: 'synthetic', limit: isLong(id) ? 160 : 40, epochs: 2, batchSize: 8, augment: false, seed: 0,
    schedule: c.recipe ? undefined : 'cosine', labelSmoothing: 0.1, valSplit: 0, ...rest,
  });
}

function maxAbsDiff(a: StateDict, b: StateDict): number {
  let m = 0;
  for (const [k, t] of a) {
    const u = b.get(k)!;
    const x = t.toFloat32();
    const y = u.toFloat32();
    for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  }
  return m;
}

for (const [id, c] of cases) {
  if (only.length && !only.some((o) => id === o || id.startsWith(`${o}.`) || id.endsWith(`.${o}`))) continue;
  const dir = join(out, id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const config = settingsOf(id, c);
  const t0 = performance.now();
  await trainFromConfig(config, { outDir: join(dir, 'run'), saveEvery: 1, threads: 2, workers: 0 });
  const { record } = await readCheckpointRecord(join(dir, 'run', 'checkpoint-epoch-1.json'));

  // The run's batches, as train() builds its loader (src/workflow/train.ts openLoaders).
  const data = await openTrainingData(config);
  const tf = trainTransforms(data.train, record.model.inputSize, config.augment, config.randomErasing, sourcePreprocessing(config));
  const loader = new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed: config.seed, dropLast: data.train.length % config.batchSize === 1, transform: tf.train, workers: 0 });
  const batches: { images: Float32Array; labels: Int32Array }[] = [];
  for (const e of [0, 1]) {
    loader.setEpoch(e);
    for await (const b of loader.iterate(e)) batches.push({ images: b.images.slice(), labels: b.labels.slice() });
  }
  await loader.close();
  const steps = batches.length / 2;
  const [C, H, W] = record.model.inputSize;
  const B = config.batchSize;
  writeFileSync(join(dir, 'batches.safetensors'), writeSafetensors(new Map([
    ['images', Tensor.float32([batches.length, B, C, H, W], Float32Array.from(batches.flatMap((b) => Array.from(b.images))))],
    ['labels', Tensor.int64([batches.length, B], batches.flatMap((b) => Array.from(b.labels)))],
  ])));

  // Replay from the initial weights (seeded init), checked against the run's checkpoints.
  const model = createModel(record.model.name, record.model.options);
  const init = model.stateDict();
  writeFileSync(join(dir, 'init.safetensors'), writeSafetensors(init));
  const frozenAt = (e: number) => resolveFreeze(model, config.unfreezeAt !== undefined && e + 1 >= config.unfreezeAt ? 'none' : config.freeze);
  const backbone = config.backboneLrMult !== 1 ? backboneParameters(model) : undefined;
  const trainerOptions = (m = model, frozen = frozenAt(0)) => ({
    optimizer: config.optimizer, lr: config.lr, schedule: config.schedule, epochs: config.epochs, warmupEpochs: config.warmupEpochs,
    stepsPerEpoch: steps, labelSmoothing: config.labelSmoothing, seed: config.seed, emaDecay: config.emaDecay,
    inputSize: record.model.inputSize, threads: 2, batchSize: B, frozen,
    lrMultiplier: backbone ? (p: string) => (backbone.has(p) ? config.backboneLrMult : 1) : undefined,
  });
  const trainer = await Trainer.create(model, trainerOptions());
  const losses: number[] = [];
  const ours: StateDict = new Map();
  for (let s = 0; s < batches.length; s++) {
    if (s % steps === 0) await trainer.setFrozen(frozenAt(s / steps));
    const r = await trainer.trainStep(batches[s]!.images, batches[s]!.labels);
    losses.push(r.loss);
    if (s === steps - 1) {
      const d = maxAbsDiff(model.stateDict(), await loadStateDictFile(join(dir, 'run', 'checkpoint-epoch-1.safetensors')));
      if (d !== 0) console.log(`${id}: replay after ${steps} steps differs from the run by ${d}`);
    }
    if (s === steps) for (const [k, t] of model.stateDict()) ours.set(`resume_step/${k}`, t.clone());
  }
  const d40 = maxAbsDiff(model.stateDict(), await loadStateDictFile(join(dir, 'run', 'checkpoint-last.safetensors')));
  if (d40 !== 0) console.log(`${id}: replay after ${2 * steps} steps differs from the run by ${d40}`);
  await trainer.dispose();

  await exportPytorch({ resume: join(dir, 'run', 'checkpoint-epoch-1.json'), dir: join(dir, 'resume') });
  await exportPytorch({ checkpoint: join(dir, 'run', 'checkpoint-epoch-1.json'), dir: join(dir, 'fresh') });

  // The fresh export's first step: its weights, zero optimizer state, the schedule at position 0.
  const freshModel = createModel(record.model.name, record.model.options);
  freshModel.loadStateDict(await loadStateDictFile(join(dir, 'fresh', 'weights.pth')));
  const fresh = await Trainer.create(freshModel, trainerOptions(freshModel, resolveFreeze(freshModel, config.freeze)));
  const freshLoss = (await fresh.trainStep(batches[steps]!.images, batches[steps]!.labels)).loss;
  for (const [k, t] of freshModel.stateDict()) ours.set(`fresh_step/${k}`, t.clone());
  await fresh.dispose();
  ours.set('losses', Tensor.float32([losses.length], losses));
  ours.set('fresh_loss', Tensor.float32([1], [freshLoss]));
  writeFileSync(join(dir, 'ours.safetensors'), writeSafetensors(ours));
  console.log(`${id}: ${((performance.now() - t0) / 1000).toFixed(1)} s, losses ${losses[0]!.toFixed(4)} → ${losses.at(-1)!.toFixed(4)}`);
}
