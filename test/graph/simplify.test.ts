// Graph clean-ups: only what the outputs depend on stays, outputs lose their Identity copies, and the
// graph computes the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/graph/builder.js';
import { elideOutputIdentities, pruneDeadNodes } from '../../src/graph/simplify.js';
import { createSession, ort } from '../../src/runtime/node-backend.js';
import { Tensor } from '../../src/tensor.js';
import { createModel } from '../../src/models/registry.js';
import { buildStepGraph } from '../../src/train/step-graph.js';

test('pruneDeadNodes removes the nodes and initializers no output needs, and keeps the results', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [2, 3]);
  const live = g.mul(x, g.constant(Tensor.float32([3], [1, 2, 3]), 'k'));
  const dead = g.op1('Exp', [g.add(x, g.constant(Tensor.float32([3], [4, 5, 6]), 'unused'))]);
  g.output(g.op1('Relu', [live]), 'y');
  const before = await runAll(g);
  const removed = pruneDeadNodes(g.graph);
  assert.equal(removed, 2);
  assert.deepEqual(g.graph.nodes.map((n) => n.op), ['Mul', 'Relu', 'Identity']);
  assert.ok(![...g.graph.initializers.keys()].some((k) => k.includes('unused')), 'the dead Add constant is gone');
  assert.ok(!g.graph.values.has(dead));
  assert.deepEqual(await runAll(g), before);
});

test('every node of the train step graph feeds an output: no gradient for the input image', () => {
  const model = createModel('shufflenet_v2_x0_5', { numClasses: 10, stem: 'cifar' });
  const step = buildStepGraph(model, { inputSize: [3, 16, 16], numClasses: 10, batch: 2 });
  const consumers = new Set(step.graph.nodes.flatMap((n) => n.inputs));
  const outputs = new Set(step.graph.outputs.map((v) => v.name));
  for (const n of step.graph.nodes) {
    assert.ok(n.outputs.some((o) => consumers.has(o) || outputs.has(o)), `node ${n.name} (${n.op}) feeds nothing`);
  }
  const imageShaped = step.graph.nodes.filter((n) => n.scope.startsWith('grad:') && n.outputs.some((o) => step.graph.values.get(o)?.shape.join() === '2,3,16,16'));
  assert.deepEqual(imageShaped.map((n) => n.name), []);
});

test('elideOutputIdentities names values after their outputs, except inputs and values output twice', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [2, 3]);
  const y = g.op1('Relu', [x]);
  g.output(g.mul(y, y), 'square');
  g.output(y, 'relu');
  g.output(y, 'relu_again');
  g.output(x, 'x_copy');
  const before = await runAll(g);
  assert.equal(elideOutputIdentities(g.graph), 2);
  assert.deepEqual(g.graph.nodes.map((n) => `${n.op}:${n.inputs.join('+')}->${n.outputs.join('+')}`).filter((s) => s.startsWith('Identity')), ['Identity:relu->relu_again', 'Identity:x->x_copy']);
  assert.ok(g.graph.nodes.some((n) => n.op === 'Relu' && n.outputs[0] === 'relu'));
  assert.ok(g.graph.nodes.some((n) => n.op === 'Mul' && n.inputs.join() === 'relu,relu' && n.outputs[0] === 'square'));
  assert.deepEqual(await runAll(g), before);
});

async function runAll(g: GraphBuilder): Promise<Record<string, number[]>> {
  const session = await createSession(g.graph);
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 0.5, 2, 3, -4, 1]), [2, 3]) });
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...(v.data as Float32Array)]]));
}
