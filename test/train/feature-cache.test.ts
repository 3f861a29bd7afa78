/**
 * The frozen-backbone cache (src/train/feature-cache.ts): the classifier trained on embeddings computed
 * once gives the loss curve, weights, optimizer state and evaluation of the whole network trained with
 * its backbone frozen, same seed and batches; in every family whose classifier has a dropout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BatchLoader } from '../../src/data/batch-loader.js';
import { makeSynthetic } from '../../src/data/synthetic.js';
import { standardTransform } from '../../src/data/transforms.js';
import { createModel } from '../../src/models/registry.js';
import { nodeBackend } from '../../src/runtime/node-backend.js';
import { ClassifierHead, EmbeddingCache, featureCacheApplies, freezesBackbone, onNetwork } from '../../src/train/feature-cache.js';
import { resolveFreeze } from '../../src/train/freeze.js';
import { Trainer } from '../../src/train/trainer.js';
import { trainingCheckpointFiles } from '../../src/workflow/checkpoint-record.js';
import { readSafetensors } from '../../src/io/safetensors.js';

const backend = nodeBackend({ threads: 1 });

async function batchesOf(size: number, epochs: number) {
  const data = makeSynthetic('train', { length: 40, size, numClasses: 4 });
  const loader = new BatchLoader(data, { batchSize: 16, shuffle: true, seed: 5, transform: standardTransform(data, { train: false, size, channels: 3 }) });
  const out: { images: Float32Array; labels: Int32Array }[][] = [];
  for (let e = 0; e < epochs; e++) {
    const epoch = [];
    for await (const b of loader.iterate(e)) epoch.push({ images: b.images.slice(), labels: b.labels.slice() });
    out.push(epoch);
  }
  return out;
}

const relDiff = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    n = Math.max(n, Math.abs(b[i]!));
  }
  return d / (n || 1);
};

describe('the frozen-backbone cache', () => {
  for (const [name, options] of [
    ['mobilenet_v2', { widthMult: 0.25, stem: 'cifar', dropout: 0.2 }],
    ['mobilenet_v3_small', { stem: 'cifar', dropout: 0.2, widthMult: 0.5 }],
    ['shufflenet_v2_x0_5', { stem: 'cifar' }],
  ] as const) {
    test(`${name}: the same losses, weights, optimizer state and evaluation as the whole network with its backbone frozen`, async (t) => {
      const epochs = await batchesOf(32, 3);
      const trainerOptions = { backend, optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 } as const, lr: 0.05, seed: 7, inputSize: [3, 32, 32] as [number, number, number] };
      const make = () => createModel(name, { ...options, numClasses: 4, seed: 3 });

      const full = make();
      const frozen = resolveFreeze(full, 'backbone');
      const plain = await Trainer.create(full, { ...trainerOptions, frozen });
      const plainLosses: number[] = [];
      for (const epoch of epochs) for (const b of epoch) plainLosses.push((await plain.trainStep(b.images, b.labels)).loss);

      const network = make();
      assert.ok(freezesBackbone(network, frozen));
      const cache = await EmbeddingCache.create(network, { backend, inputSize: [3, 32, 32] });
      const embedded: { dim: number; data: Float32Array }[] = [];
      for (const b of epochs[0]!) embedded.push((await cache.embed(b.images.slice())));
      const dim = embedded[0]!.dim;
      const head = await Trainer.create(new ClassifierHead(network, dim), { ...trainerOptions, inputSize: [dim, 1, 1] });
      // Every epoch's batches are the first epoch's images reordered: embed by image, here by batch of epoch 0 then look up.
      const byImage = new Map<string, Float32Array>();
      const per = 3 * 32 * 32;
      epochs[0]!.forEach((b, k) => {
        for (let i = 0; i < b.labels.length; i++) byImage.set(b.images.subarray(i * per, (i + 1) * per).join(','), embedded[k]!.data.subarray(i * dim, (i + 1) * dim));
      });
      const cachedLosses: number[] = [];
      for (const epoch of epochs) {
        for (const b of epoch) {
          const features = new Float32Array(b.labels.length * dim);
          for (let i = 0; i < b.labels.length; i++) features.set(byImage.get(b.images.subarray(i * per, (i + 1) * per).join(','))!, i * dim);
          cachedLosses.push((await head.trainStep(features, b.labels)).loss);
        }
      }
      t.diagnostic(`losses ${plainLosses.map((l) => l.toFixed(5)).join(' ')} | cached ${cachedLosses.map((l) => l.toFixed(5)).join(' ')}`);
      assert.equal(cachedLosses.length, plainLosses.length);
      for (let i = 0; i < plainLosses.length; i++) assert.ok(Math.abs(cachedLosses[i]! - plainLosses[i]!) <= 1e-4 * Math.max(1, Math.abs(plainLosses[i]!)), `step ${i}: ${cachedLosses[i]} vs ${plainLosses[i]}`);
      assert.ok(plainLosses[plainLosses.length - 1]! < plainLosses[0]!, 'the loss fell');

      // The weights are the network's own: the checkpoint of the head trainer holds the whole network.
      const a = full.stateDict();
      const b = network.stateDict();
      for (const [k, v] of a) if (v.dtype === 'float32') assert.ok(relDiff(b.get(k)!.toFloat32(), v.toFloat32()) < 1e-4, k);
      const fa = trainingCheckpointFilesOf(plain);
      const fb = trainingCheckpointFilesOf(onNetwork(head, network));
      assert.deepEqual([...fb.optimizer.keys()].sort(), [...fa.optimizer.keys()].sort());
      assert.deepEqual([...fb.weights.keys()].sort(), [...fa.weights.keys()].sort());

      const images = epochs[0]![0]!.images;
      const evalFull = await plain.predict(images.slice());
      const evalHead = await head.predict(embedded[0]!.data.slice());
      assert.ok(relDiff(evalHead, evalFull) < 1e-4, `eval logits ${relDiff(evalHead, evalFull)}`);
      await plain.dispose();
      await head.dispose();
      await cache.dispose();
    });
  }

  test('applies only with the backbone frozen, no augmentation, no mixing and no EMA, and says why not', () => {
    const model = createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 3, stem: 'cifar' });
    const backbone = resolveFreeze(model, 'backbone');
    const base = { model, frozen: backbone, augment: false, mix: false, ema: false };
    assert.deepEqual(featureCacheApplies(base), { applies: true, why: '' });
    assert.match(featureCacheApplies({ ...base, frozen: resolveFreeze(model, 'features.10') }).why, /layers of the backbone train/);
    assert.match(featureCacheApplies({ ...base, augment: true }).why, /augmentation/);
    assert.match(featureCacheApplies({ ...base, mix: true }).why, /mixup/);
    assert.match(featureCacheApplies({ ...base, ema: true }).why, /EMA/);
    assert.match(featureCacheApplies({ ...base, unfreezeLater: true }).why, /unfrozen later/);
  });
});

function trainingCheckpointFilesOf(trainer: Parameters<typeof trainingCheckpointFiles>[0]) {
  const c = trainingCheckpointFiles(trainer, {
    tag: 'last', config: { model: trainer.model.modelName, epochs: 3 } as never, modelOptions: {}, inputSize: [3, 32, 32],
    dataset: { name: 'synthetic', title: 'synthetic', classNames: ['a', 'b', 'c', 'd'], trainSize: 40, testSize: 0, options: {} },
    preprocessing: { source: { channels: 3, height: 32, width: 32 }, inputSize: [3, 32, 32], transform: [{ op: 'normalize', mean: [0, 0, 0], std: [1, 1, 1] }], mean: [0, 0, 0], std: [1, 1, 1], grayscale: false },
    epoch: 3, progress: { stepInEpoch: 0, stepsPerEpoch: 3 }, history: [], seconds: 0,
  });
  return { weights: readSafetensors(c[0]!.bytes, 'weights'), optimizer: readSafetensors(c[1]!.bytes, 'optimizer') };
}
