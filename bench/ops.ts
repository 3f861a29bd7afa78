/**
 * Single-op measurements behind choices in the train step (see bench/README.md):
 * - a scalar multiplied into a 1x1 conv weight [1280, 320, 1, 1]: rank-0 vs rank-matched scalar;
 * - the ReLU6 gradient on 32×144×32×32: Cast(mask) · dy vs Where(mask, dy, 0);
 * - the ReLU gradient from its output: Sign(y), Cast(y > 0), Ceil(Min(y, 1)) or Ceil(Clip(y, 0, 1)) as the mask;
 * - the GlobalAveragePool gradient: Expand, a broadcasting Mul or an outer-product MatMul.
 *   node --import tsx bench/ops.ts [--threads 1]
 */
import { parseArgs } from 'node:util';
import { GraphBuilder } from '../src/graph/builder.js';
import { attr } from '../src/graph/ir.js';
import { createSession, ort } from '../src/runtime/node-backend.js';
import { Tensor } from '../src/tensor.js';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1' } } });
const threads = Number(values.threads);

async function timeGraph(build: (g: GraphBuilder) => void, feeds: Record<string, Float32Array>, shape: number[]): Promise<number> {
  const g = new GraphBuilder();
  for (const name of Object.keys(feeds)) g.input(name, 'float32', shape);
  build(g);
  const session = await createSession(g.graph, { threads, memPattern: false });
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float32', v, shape)]));
  for (let i = 0; i < 3; i++) await session.run(tensors);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await session.run(tensors);
  await session.release();
  return (performance.now() - t0) / 20;
}

const w = [1280, 320, 1, 1];
const wv = new Float32Array(1280 * 320).map((_, i) => Math.sin(i));
for (const scalarShape of [[], [1, 1, 1, 1]]) {
  const ms = await timeGraph((g) => g.output(g.mul('w', g.constant(Tensor.float32(scalarShape, [0.9]))), 'y'), { w: wv }, w);
  console.log(`Mul [${w}] by a scalar of shape [${scalarShape}]: ${ms.toFixed(3)} ms per run`);
}

const a = [32, 144, 32, 32];
const n = a.reduce((p, q) => p * q);
const feeds = { x: new Float32Array(n).map((_, i) => Math.sin(i) * 8), dy: new Float32Array(n).map((_, i) => Math.cos(i)) };
const relu6Grad: Record<string, (g: GraphBuilder, mask: string) => string> = {
  'Cast + Mul': (g, mask) => g.mul('dy', g.op1('Cast', [mask], { to: attr.i(1) })),
  'Where(mask, dy, 0)': (g, mask) => g.op1('Where', [mask, 'dy', g.constant(Tensor.float32([1, 1, 1, 1], [0]))]),
};
for (const [name, grad] of Object.entries(relu6Grad)) {
  const ms = await timeGraph((g) => {
    const mask = g.op1('Equal', ['x', g.op1('Clip', ['x', g.scalar(0), g.scalar(6)])]);
    g.output(g.op1('ReduceSum', [grad(g, mask), g.ints([0, 2, 3])], { keepdims: attr.i(0) }), 'out');
  }, feeds, a);
  console.log(`ReLU6 gradient on [${a}] (with the mask and a channel sum), ${name}: ${ms.toFixed(2)} ms per run`);
}

// The ReLU gradient on 64×58×16×16 (a ShuffleNetV2 1.0x stage-2 activation at batch 64), from the output y ≥ 0.
const r = [64, 58, 16, 16];
const rn = r.reduce((p, q) => p * q);
const reluFeeds = { y: new Float32Array(rn).map((_, i) => Math.max(0, Math.sin(i) * 8)), dy: new Float32Array(rn).map((_, i) => Math.cos(i)) };
const reluGrad: Record<string, (g: GraphBuilder) => string> = {
  'Sign(y) · dy': (g) => g.mul('dy', g.op1('Sign', ['y'])),
  'Cast(y > 0) · dy': (g) => g.mul('dy', g.op1('Cast', [g.op1('Greater', ['y', g.scalar(0)])], { to: attr.i(1) })),
  'Ceil(Min(y, 1)) · dy': (g) => g.mul('dy', g.op1('Ceil', [g.op1('Min', ['y', g.constant(Tensor.float32([1, 1, 1, 1], [1]))])])),
  'Ceil(Clip(y, 0, 1)) · dy': (g) => g.mul('dy', g.op1('Ceil', [g.op1('Clip', ['y', g.scalar(0), g.scalar(1)])])),
};
for (const [name, grad] of Object.entries(reluGrad)) {
  const ms = await timeGraph((g) => g.output(grad(g), 'out'), reluFeeds, r);
  console.log(`ReLU gradient on [${r}], ${name}: ${ms.toFixed(2)} ms per run`);
}

// The GlobalAveragePool gradient: dy [N, C, 1, 1] / (H·W) spread over [N, C, H, W] (ShuffleNetV2 1.0x's
// conv5 at 4x4, batch 128), with a channel sum after it so that the output copied back is small.
const p = [128, 1024, 1, 1];
const poolFeeds = { dy: new Float32Array(p.reduce((a, b) => a * b)).map((_, i) => Math.sin(i)) };
const spreadShape = [1, 1, 4, 4];
const poolGrad: Record<string, (g: GraphBuilder) => string> = {
  'Expand(dy / 16)': (g) => g.op1('Expand', [g.mul('dy', g.scalar(1 / 16)), g.ints(spreadShape)]),
  'dy · [1, 1, 4, 4] of 1/16 (broadcasting Mul)': (g) => g.mul('dy', g.constant(Tensor.float32(spreadShape, new Float32Array(16).fill(1 / 16)))),
  'MatMul([N·C, 1], [1, 16] of 1/16)': (g) =>
    g.reshape(g.op1('MatMul', [g.reshape('dy', [-1, 1]), g.constant(Tensor.float32([1, 16], new Float32Array(16).fill(1 / 16)))]), [-1, 1024, 4, 4]),
};
for (const [name, grad] of Object.entries(poolGrad)) {
  const ms = await timeGraph((g) => g.output(g.op1('ReduceSum', [grad(g), g.ints([0, 2, 3])], { keepdims: attr.i(0) }), 'out'), poolFeeds, p);
  console.log(`GlobalAveragePool gradient to [128,1024,4,4], ${name} (and a channel sum): ${ms.toFixed(2)} ms per run`);
}
