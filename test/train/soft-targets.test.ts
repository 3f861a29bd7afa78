/**
 * Cross-entropy against class probabilities (what mixup and cutmix train on) against PyTorch 1.13's
 * (test/fixtures/soft-cross-entropy.json, from dev/soft-loss-reference.py), and a Trainer with soft targets:
 * one-hot targets give the label graph's loss and gradients, mixed targets the mixture of both labels' losses.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { backward } from '../../src/autodiff/backward.js';
import { mixTargets } from '../../src/data/transforms-mix.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { createModel } from '../../src/models/registry.js';
import { createSession, ort } from '../../src/runtime/session.js';
import { crossEntropy } from '../../src/train/composites.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';

interface Fixture {
  logits: number[][];
  targets: Record<string, number[][]>;
  cases: { targets: string; label_smoothing: number; loss: number; grad: number[][] }[];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/soft-cross-entropy.json', import.meta.url), 'utf8')) as Fixture;

for (const c of fx.cases) {
  test(`cross-entropy against ${c.targets} targets, label smoothing ${c.label_smoothing}, matches PyTorch (value and gradient)`, async () => {
    const [n, k] = [fx.logits.length, fx.logits[0]!.length];
    const g = new GraphBuilder();
    const logits = g.input('logits', 'float32', [n, k]);
    const targets = g.input('targets', 'float32', [n, k]);
    const loss = crossEntropy(g, logits, targets, k, c.label_smoothing, 'distribution');
    const grad = backward(g, loss, [logits]).get(logits)!;
    g.output(loss, 'loss');
    g.output(grad, 'grad');
    const session = await createSession(g.graph, { threads: 1 });
    const out = await session.run({
      logits: new ort.Tensor('float32', Float32Array.from(fx.logits.flat()), [n, k]),
      targets: new ort.Tensor('float32', Float32Array.from(fx.targets[c.targets]!.flat()), [n, k]),
    });
    const value = (out.loss!.data as Float32Array)[0]!;
    assert.ok(Math.abs(value - c.loss) < 1e-5 * Math.abs(c.loss), `loss ${value} vs ${c.loss}`);
    const ours = out.grad!.data as Float32Array;
    c.grad.flat().forEach((v, i) => assert.ok(Math.abs(ours[i]! - v) < 1e-6, `grad[${i}]: ${ours[i]} vs ${v}`));
    await session.release();
  });
}

const SIZE = 16;
const model = () => createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 4, stem: 'cifar', seed: 5, dropout: 0 });
const options: TrainerOptions = { optimizer: { type: 'sgd', momentum: 0.9 }, lr: 0.05, threads: 2, seed: 1, inputSize: [3, SIZE, SIZE], labelSmoothing: 0.1 };

function batch(n: number): { images: Float32Array; labels: Int32Array } {
  const images = Float32Array.from({ length: n * 3 * SIZE * SIZE }, (_, i) => Math.sin(i * 0.37) * 0.8);
  return { images, labels: Int32Array.from({ length: n }, (_, i) => (i * 3) % 4) };
}

test('a Trainer with soft targets: one-hot targets reproduce the label loss and gradients; a mix is the mix of the two losses', async () => {
  const { images, labels } = batch(6);
  const hard = await Trainer.create(model(), options);
  const soft = await Trainer.create(model(), { ...options, softTargets: true });
  const byLabel = await hard.lossAndGradients(images, labels);
  const oneHot = await soft.lossAndGradients(images, labels, mixTargets(labels, 4, 1));
  assert.ok(Math.abs(oneHot.loss - byLabel.loss) < 1e-6 * byLabel.loss, `${oneHot.loss} vs ${byLabel.loss}`);
  // Gradients that are zero in exact arithmetic (a BatchNorm bias before another train-mode BatchNorm) are float noise in both.
  const largest = Math.max(...[...byLabel.grads.values()].map((g) => Math.max(...g.map(Math.abs))));
  for (const [name, g] of byLabel.grads) {
    const s = oneHot.grads.get(name)!;
    const scale = Math.max(...g.map(Math.abs));
    g.forEach((v, i) => assert.ok(Math.abs(s[i]! - v) <= 1e-5 * scale + 1e-6 * largest, `${name}[${i}]: ${s[i]} vs ${v}`));
  }
  // Cross-entropy is linear in the target: λ·CE(y) + (1 − λ)·CE(y reversed).
  const reversed = Int32Array.from(labels).reverse();
  const lossOf = async (l: Int32Array) => (await hard.lossAndGradients(images, l)).loss;
  const lam = 0.3;
  const mixed = await soft.lossAndGradients(images, labels, mixTargets(labels, 4, lam));
  const expected = lam * (await lossOf(labels)) + (1 - lam) * (await lossOf(reversed));
  assert.ok(Math.abs(mixed.loss - expected) < 1e-5 * expected, `${mixed.loss} vs ${expected}`);
  await assert.rejects(soft.trainStep(images, labels), /softTargets needs targets of 6 x 4/);
  await hard.dispose();
  await soft.dispose();
});
