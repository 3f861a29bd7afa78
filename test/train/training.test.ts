/** Training end to end on small data: the loss falls, and a state-dict round trip resumes exactly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeSynthetic } from '../../src/data/synthetic.js';
import { createModel } from '../../src/models/registry.js';
import { Trainer, type TrainerOptions, emaDecayAt } from '../../src/train/trainer.js';
import { learningRate } from '../../src/train/schedules.js';
import { noDecayParams } from '../../src/train/step-graph.js';
import { nodeBackend } from '../../src/runtime/node-backend.js';

const SIZE = 16;

function batches(count: number, batch: number) {
  const ds = makeSynthetic('train', { length: count * batch, numClasses: 4, channels: 3, size: SIZE, seed: 3 });
  const out: { images: Float32Array; labels: Int32Array }[] = [];
  for (let b = 0; b < count; b++) {
    const images = new Float32Array(batch * 3 * SIZE * SIZE);
    const labels = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const { image, label } = ds.get(b * batch + i);
      labels[i] = label;
      // HWC uint8 → CHW float
      for (let c = 0; c < 3; c++) for (let p = 0; p < SIZE * SIZE; p++) images[i * 3 * SIZE * SIZE + c * SIZE * SIZE + p] = image[p * 3 + c]! / 255 - 0.5;
    }
    out.push({ images, labels });
  }
  return out;
}

const small = () => createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 4, stem: 'cifar', dropout: 0.2, seed: 1 });
const options: TrainerOptions = {
  optimizer: { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayBnBias: true },
  lr: 0.05, schedule: { type: 'cosine' }, epochs: 2, stepsPerEpoch: 6, backend: nodeBackend({ threads: 2 }), seed: 7, inputSize: [3, SIZE, SIZE],
};

test('a small network learns a synthetic task: the loss falls by at least half over 24 steps', async () => {
  const data = batches(6, 16);
  const trainer = await Trainer.create(small(), { ...options, epochs: 4 });
  const losses: number[] = [];
  for (let e = 0; e < 4; e++) for (const b of data) losses.push((await trainer.trainStep(b.images, b.labels)).loss);
  const first = (losses[0]! + losses[1]!) / 2;
  const last = (losses.at(-1)! + losses.at(-2)!) / 2;
  assert.ok(last < 0.5 * first, `loss went from ${first.toFixed(4)} to ${last.toFixed(4)}`);
  await trainer.dispose();
});

test('resuming from a state dict mid-training continues with identical losses', async () => {
  const data = batches(4, 8);
  const steps = (t: Trainer, from: number, to: number) =>
    (async () => {
      const out: number[] = [];
      for (let s = from; s < to; s++) out.push((await t.trainStep(data[s % data.length]!.images, data[s % data.length]!.labels)).loss);
      return out;
    })();

  const straight = await Trainer.create(small(), options);
  const uninterrupted = await steps(straight, 0, 8);

  const first = await Trainer.create(small(), options);
  await steps(first, 0, 4);
  const weights = first.model.stateDict();
  const optimizer = first.optimizerStateDict();
  await first.dispose();

  const model = small();
  model.loadStateDict(weights);
  const resumed = await Trainer.create(model, options);
  resumed.loadOptimizerStateDict(optimizer);
  const after = await steps(resumed, 4, 8);
  assert.deepEqual(after, uninterrupted.slice(4));
  await straight.dispose();
  await resumed.dispose();
});

test('the last smaller batch of an epoch runs through the same compiled step', async () => {
  const [b] = batches(1, 8);
  const trainer = await Trainer.create(small(), options);
  const full = await trainer.trainStep(b!.images, b!.labels);
  const part = await trainer.trainStep(b!.images.subarray(0, 3 * 3 * SIZE * SIZE), b!.labels.subarray(0, 3));
  assert.ok(Number.isFinite(full.loss) && Number.isFinite(part.loss));
  await trainer.dispose();
});

test('evaluation uses the trained weights', async () => {
  const [b] = batches(1, 8);
  const trainer = await Trainer.create(small(), options);
  const before = await trainer.predict(b!.images);
  await trainer.trainStep(b!.images, b!.labels);
  const after = await trainer.predict(b!.images);
  assert.notDeepEqual(Array.from(after), Array.from(before));
  const ev = await trainer.evaluate(b!.images, b!.labels);
  assert.ok(Number.isFinite(ev.loss) && ev.logits.length === 8 * 4);
  await trainer.dispose();
});

test('learning-rate schedules follow their definitions', () => {
  const o = { baseLr: 0.1, epochs: 10 };
  assert.equal(learningRate({ type: 'cosine' }, o, 0), 0.1);
  assert.ok(Math.abs(learningRate({ type: 'cosine' }, o, 5) - 0.05) < 1e-12);
  assert.ok(Math.abs(learningRate({ type: 'cosine' }, o, 10)) < 1e-12);
  assert.ok(Math.abs(learningRate({ type: 'step', stepSize: 3 }, o, 7) - 0.001) < 1e-12);
  assert.ok(Math.abs(learningRate({ type: 'exponential' }, o, 2.5) - 0.1 * 0.98 ** 2) < 1e-12);
  assert.ok(Math.abs(learningRate({ type: 'linear' }, o, 7.5) - 0.025) < 1e-12);
  assert.ok(Math.abs(learningRate({ type: 'constant' }, { ...o, warmupEpochs: 2 }, 1) - 0.05) < 1e-12);
});

test('weight decay exclusion covers BatchNorm parameters and biases, not conv or linear weights', () => {
  const model = small();
  const excluded = noDecayParams(model);
  assert.ok(excluded.has('features.0.1.weight') && excluded.has('features.0.1.bias'), 'stem BatchNorm');
  assert.ok(excluded.has('classifier.1.bias'), 'classifier bias');
  assert.ok(!excluded.has('features.0.0.weight') && !excluded.has('classifier.1.weight'), 'conv and linear weights decay');
});

test('EMA of weights: each step, ema = d·ema + (1−d)·trained with d = min(decay, (1 + k) / (10 + k)) after k steps', async () => {
  assert.equal(emaDecayAt(0.9995, 0), 0.1);
  assert.equal(emaDecayAt(0.9995, 8), 0.5);
  assert.equal(emaDecayAt(0.5, 100), 0.5);
  const [b1, b2] = batches(2, 8);
  for (const decay of [0.05, 0.75]) {
    const model = small();
    let expected = new Map(model.namedParameters().map(([n, t]) => [n, Float64Array.from(t.toFloat32())]));
    const trainer = await Trainer.create(model, { ...options, emaDecay: decay });
    for (const [k, b] of [b1!, b2!].entries()) {
      await trainer.trainStep(b.images, b.labels);
      const d = Math.min(decay, (1 + k) / (10 + k));
      expected = new Map(
        model.namedParameters().map(([n, t]) => {
          const now = t.toFloat32();
          return [n, expected.get(n)!.map((e, i) => d * e + (1 - d) * now[i]!)];
        }),
      );
    }
    const ema = trainer.emaStateDict()!;
    for (const [n] of model.namedParameters()) {
      const e = ema.get(n)!.toFloat32();
      const want = expected.get(n)!;
      for (let i = 0; i < e.length; i += 97) assert.ok(Math.abs(e[i]! - want[i]!) < 1e-6, `${n} (decay ${decay})`);
    }
    await trainer.dispose();
  }
});

test('BatchNorm statistics of the EMA weights: the average of per-batch mean and unbiased variance (update_bn)', async () => {
  const [b1, b2, b3] = batches(3, 8);
  const model = small();
  const trainer = await Trainer.create(model, { ...options, emaDecay: 0.5 });
  for (const b of [b1!, b2!]) await trainer.trainStep(b.images, b.labels);
  const trained = trainer.emaStateDict()!;

  // Reference: the train step's own running-statistics update, run on a copy holding the EMA weights:
  // new = (1 − m)·old + m·batch, so batch = (new − (1 − m)·old) / m, averaged over the two batches.
  const copy = small();
  copy.loadStateDict(trained);
  const plain = await Trainer.create(copy, { ...options });
  const expected = new Map<string, Float64Array>();
  for (const b of [b1!, b3!]) {
    const { buffersAfter } = await plain.lossAndGradients(b.images, b.labels);
    for (const [name, after] of buffersAfter) {
      if (name.endsWith('num_batches_tracked')) continue;
      const old = trained.get(name)!.toFloat32();
      const now = after.toFloat32();
      const e = expected.get(name) ?? new Float64Array(now.length);
      for (let i = 0; i < now.length; i++) e[i] += (now[i]! - 0.9 * old[i]!) / 0.1 / 2;
      expected.set(name, e);
    }
  }
  await plain.dispose();

  assert.equal(await trainer.measureEmaBatchNorm([b1!.images, b3!.images]), 2);
  const measured = trainer.emaStateDict()!;
  assert.ok(expected.size > 10, 'every BatchNorm has a mean and a variance');
  for (const [name, want] of expected) {
    const got = measured.get(name)!.toFloat32();
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-4 * (1 + Math.abs(want[i]!)), `${name}[${i}]: ${got[i]} vs ${want[i]}`);
    }
    assert.notDeepEqual(Array.from(got), Array.from(trained.get(name)!.toFloat32()), `${name} changed`);
    assert.equal(Number(measured.get(name.replace(/running_(mean|var)$/, 'num_batches_tracked'))!.data[0]), 2);
  }
  for (const [n] of model.namedParameters()) assert.deepEqual(measured.get(n)!.toFloat32(), trained.get(n)!.toFloat32(), `${n}: the EMA parameters stay`);

  // A training step makes the measurement stale: the buffers are the trained ones again.
  await trainer.trainStep(b3!.images, b3!.labels);
  const after = trainer.emaStateDict()!;
  for (const [n, t] of model.namedBuffers()) assert.deepEqual(after.get(n)!.data, t.data, `${n} after a step`);
  await trainer.dispose();
});

test('schedulePosition drives the learning rate (the clock-based schedule of --minutes)', async () => {
  let position = 0;
  const trainer = await Trainer.create(small(), { ...options, warmupEpochs: 0.5, schedulePosition: () => position });
  const [b] = batches(1, 8);
  for (const p of [0.25, 1, 1.9, 2]) {
    position = p;
    assert.equal(trainer.currentLr(), learningRate({ type: 'cosine' }, { baseLr: options.lr, epochs: 2, warmupEpochs: 0.5 }, p));
  }
  // Steps do not move a clock-driven position.
  position = 1;
  await trainer.trainStep(b!.images, b!.labels);
  assert.equal(trainer.currentLr(), learningRate({ type: 'cosine' }, { baseLr: options.lr, epochs: 2, warmupEpochs: 0.5 }, 1));
  await trainer.dispose();
});
