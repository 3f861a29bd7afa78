/** The in-graph optimizer updates against PyTorch 1.13's optimizers (test/fixtures/optimizers.json, from dev/optimizer-reference.py). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { GraphBuilder } from '../../src/graph/builder.js';
import { createSession, ort } from '../../src/runtime/node-backend.js';
import { backward } from '../../src/autodiff/backward.js';
import { crossEntropy } from '../../src/train/composites.js';
import { type OptimizerSpec, STEP_INPUTS, emitUpdate, optimizerSlots, stepScalars } from '../../src/train/optimizers.js';

interface Fixture {
  p0: number[];
  grads: number[][];
  cases: { optimizer: string; options: Record<string, number | boolean>; trajectory: number[][] }[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/optimizers.json', import.meta.url), 'utf8')) as Fixture;

function spec(name: string, o: Record<string, number | boolean>): OptimizerSpec {
  const weightDecay = (o.weight_decay as number) ?? 0;
  if (name === 'sgd') return { type: 'sgd', momentum: (o.momentum as number) ?? 0, nesterov: Boolean(o.nesterov), weightDecay };
  if (name === 'adam' || name === 'adamw') return { type: name, weightDecay: name === 'adamw' && o.weight_decay === undefined ? 0.01 : weightDecay };
  return { type: 'rmsprop', alpha: o.alpha as number, eps: o.eps as number, momentum: (o.momentum as number) ?? 0, weightDecay };
}

for (const c of fixture.cases) {
  test(`${c.optimizer} ${JSON.stringify(c.options)} follows PyTorch for 4 steps`, async () => {
    const s = spec(c.optimizer, c.options);
    const n = fixture.p0.length;
    const g = new GraphBuilder();
    const p = g.input('p', 'float32', [n]);
    const grad = g.input('grad', 'float32', [n]);
    const scalars = Object.fromEntries(STEP_INPUTS.map((k) => [k, g.input(k, 'float32', [])])) as Record<(typeof STEP_INPUTS)[number], string>;
    const slots = optimizerSlots(s);
    for (const k of slots) g.input(k, 'float32', [n]);
    const u = emitUpdate(g, s, p, grad, (k) => k, s.weightDecay ?? 0, scalars);
    g.output(u.param, 'new_p');
    for (const k of slots) g.output(u.slots.get(k)!, `new_${k}`);
    const session = await createSession(g.graph, { threads: 1 });

    let param: Float32Array = Float32Array.from(fixture.p0);
    const state = new Map<string, Float32Array>(slots.map((k) => [k, new Float32Array(n)]));
    for (let t = 0; t < fixture.grads.length; t++) {
      const feeds: Record<string, ort.Tensor> = {
        p: new ort.Tensor('float32', param, [n]),
        grad: new ort.Tensor('float32', Float32Array.from(fixture.grads[t]!), [n]),
      };
      const sc = stepScalars(s, c.options.lr as number, t + 1);
      for (const k of STEP_INPUTS) feeds[k] = new ort.Tensor('float32', Float32Array.of(sc[k]), []);
      for (const [k, v] of state) feeds[k] = new ort.Tensor('float32', v, [n]);
      const out = await session.run(feeds);
      param = out.new_p!.data as Float32Array;
      for (const k of slots) state.set(k, out[`new_${k}`]!.data as Float32Array);
      c.trajectory[t]!.forEach((expected, i) => {
        assert.ok(Math.abs(param[i]! - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `step ${t + 1}, element ${i}: ${param[i]} vs ${expected}`);
      });
    }
    await session.release();
  });
}

interface LossFixture {
  logits: number[][];
  labels: number[];
  cases: { label_smoothing: number; loss: number; grad: number[][] }[];
}

const lossFixture = JSON.parse(readFileSync(new URL('../fixtures/cross-entropy.json', import.meta.url), 'utf8')) as LossFixture;

for (const c of lossFixture.cases) {
  test(`cross-entropy with label smoothing ${c.label_smoothing} matches PyTorch (value and gradient)`, async () => {
    const [n, k] = [lossFixture.logits.length, lossFixture.logits[0]!.length];
    const g = new GraphBuilder();
    const logits = g.input('logits', 'float32', [n, k]);
    const labels = g.input('labels', 'int64', [n]);
    const loss = crossEntropy(g, logits, labels, k, c.label_smoothing);
    const grad = backward(g, loss, [logits]).get(logits)!;
    g.output(loss, 'loss');
    g.output(grad, 'grad');
    const session = await createSession(g.graph, { threads: 1 });
    const out = await session.run({
      logits: new ort.Tensor('float32', Float32Array.from(lossFixture.logits.flat()), [n, k]),
      labels: new ort.Tensor('int64', BigInt64Array.from(lossFixture.labels.map(BigInt)), [n]),
    });
    assert.ok(Math.abs((out.loss!.data as Float32Array)[0]! - c.loss) < 1e-5 * Math.abs(c.loss));
    const ours = out.grad!.data as Float32Array;
    c.grad.flat().forEach((v, i) => assert.ok(Math.abs(ours[i]! - v) < 1e-6, `grad[${i}]: ${ours[i]} vs ${v}`));
    await session.release();
  });
}
