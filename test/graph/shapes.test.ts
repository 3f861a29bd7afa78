// Shape inference, one rule at a time: each case is checked against hand-computed shapes and then
// against the shapes ONNX Runtime actually produces for the same one-op graph (symbolic dims bound).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/graph/builder.js';
import { type Attrs, type Dim, attr } from '../../src/graph/ir.js';
import { broadcastShapes, dimProduct, hasShapeRule } from '../../src/graph/shapes.js';
import { serializeModel } from '../../src/onnx/serialize.js';
import { ort, ortSessionOptions } from '../../src/runtime/node-backend.js';
import { Tensor } from '../../src/tensor.js';

type Shape = Dim[];
const BIND: Record<string, number> = { N: 2 };

/** A symbolic dim such as 'N' or '6*N' evaluated with BIND. */
function evalDim(d: Dim): number {
  if (typeof d === 'number') return d;
  return d.split('*').reduce((n, f) => n * (/^\d+$/.test(f) ? Number(f) : BIND[f]!), 1);
}

interface Case {
  inputs: Shape[];
  build(g: GraphBuilder, xs: string[]): string[];
  expect: Shape[];
}

/** Build the graph, check inferred shapes, then run it in ORT and check the real ones. */
async function check(name: string, c: Case): Promise<void> {
  const g = new GraphBuilder();
  const xs = c.inputs.map((s, i) => g.input(`x${i}`, 'float32', s));
  const ys = c.build(g, xs);
  assert.deepEqual(ys.map((y) => g.shape(y)), c.expect, `${name}: inferred shapes`);
  ys.forEach((y, i) => g.output(y, `y${i}`));
  const session = await ort.InferenceSession.create(serializeModel(g.graph), { ...ortSessionOptions({ threads: 1 }), logSeverityLevel: 3 });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    c.inputs.forEach((s, i) => {
      const dims = s.map(evalDim);
      feeds[`x${i}`] = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, j) => j % 7), dims);
    });
    const out = await session.run(feeds);
    ys.forEach((_, i) => assert.deepEqual(out[`y${i}`]!.dims, c.expect[i]!.map(evalDim), `${name}: ORT output ${i}`));
  } finally {
    await session.release();
  }
}

const op = (o: string, attrs: Attrs = {}, extra: (g: GraphBuilder) => string[] = () => []) =>
  (g: GraphBuilder, xs: string[]) => [g.op1(o, [...xs, ...extra(g)], attrs)];

test('Conv: pads, strides, dilations, groups, bias, symbolic batch', async () => {
  const w = (g: GraphBuilder, shape: number[]) => g.constant(Tensor.float32(shape), 'w');
  const conv = (wShape: number[], attrs: Attrs, bias = false) => (g: GraphBuilder, xs: string[]) =>
    [g.op1('Conv', [xs[0]!, w(g, wShape), ...(bias ? [g.constant(Tensor.float32([wShape[0]!]), 'b')] : [])], attrs)];
  await check('conv 3x3 same', { inputs: [['N', 3, 9, 9]], build: conv([8, 3, 3, 3], { pads: attr.ints([1, 1, 1, 1]) }, true), expect: [['N', 8, 9, 9]] });
  await check('conv stride 2, odd size', {
    inputs: [['N', 3, 9, 8]], build: conv([4, 3, 3, 3], { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }), expect: [['N', 4, 5, 4]],
  });
  await check('conv asymmetric pads and strides', {
    inputs: [[1, 2, 10, 7]], build: conv([2, 2, 3, 2], { strides: attr.ints([3, 2]), pads: attr.ints([0, 1, 2, 0]) }), expect: [[1, 2, 4, 4]],
  });
  await check('conv dilation 2', {
    inputs: [['N', 4, 11, 11]], build: conv([4, 4, 3, 3], { dilations: attr.ints([2, 2]), pads: attr.ints([2, 2, 2, 2]) }), expect: [['N', 4, 11, 11]],
  });
  await check('conv dilation without padding', {
    inputs: [['N', 4, 11, 11]], build: conv([4, 4, 3, 3], { dilations: attr.ints([2, 3]) }), expect: [['N', 4, 7, 5]],
  });
  await check('grouped conv', { inputs: [['N', 6, 5, 5]], build: conv([9, 2, 1, 1], { group: attr.i(3) }), expect: [['N', 9, 5, 5]] });
  await check('depthwise conv', {
    inputs: [['N', 6, 8, 8]], build: conv([6, 1, 5, 5], { group: attr.i(6), strides: attr.ints([2, 2]), pads: attr.ints([2, 2, 2, 2]) }), expect: [['N', 6, 4, 4]],
  });
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [1, 6, 4, 4]);
  assert.throws(() => g.op1('Conv', [x, w(g, [4, 4, 1, 1])], {}), /Conv: input has 6 channels, weight expects 4 x 1 groups \(input shapes \[1, 6, 4, 4\], \[4, 4, 1, 1\]\)/);
  assert.throws(() => g.op1('Conv', [x, w(g, [4, 6, 5, 5])], {}), /spatial size 4 is too small for kernel 5/);
  // Weight-gradient convolutions fold the batch into channels: a symbolic channel count is accepted.
  const y = g.input('y', 'float32', [1, 'C', 4, 4]);
  assert.deepEqual(g.shape(g.op1('Conv', [y, w(g, [4, 6, 3, 3])], {})), [1, 4, 2, 2]);
  assert.throws(() => g.op1('Conv', [y, g.input('k', 'float32', [4, 6, 'K', 3])], {}), /kernel must be a known size, got 'K'/);
});

test('MaxPool/AveragePool: floor and ceil_mode (last window must start inside the input)', async () => {
  const pool = (o: string, k: number, s: number, p: number, ceil: number) =>
    op(o, { kernel_shape: attr.ints([k, k]), strides: attr.ints([s, s]), pads: attr.ints([p, p, p, p]), ceil_mode: attr.i(ceil) });
  const cases: [size: number, k: number, s: number, p: number, floor: number, ceil: number][] = [
    [112, 3, 2, 1, 56, 57], // the ShuffleNet/ResNet stem pool
    [7, 3, 2, 0, 3, 3],
    [8, 2, 2, 0, 4, 4],
    [9, 2, 2, 0, 4, 5], // ceil keeps a partial window
    [5, 2, 2, 1, 3, 3], // ceil would start a window in the end padding: dropped
    [5, 3, 3, 1, 2, 2],
    [6, 3, 2, 1, 3, 4],
  ];
  for (const o of ['MaxPool', 'AveragePool']) {
    for (const [size, k, s, p, floor, ceil] of cases) {
      for (const [mode, out] of [[0, floor], [1, ceil]] as const) {
        await check(`${o} ${size} k${k} s${s} p${p} ceil ${mode}`, { inputs: [['N', 2, size, size]], build: pool(o, k, s, p, mode), expect: [['N', 2, out, out]] });
      }
    }
  }
  await check('GlobalAveragePool', { inputs: [['N', 5, 7, 3]], build: op('GlobalAveragePool'), expect: [['N', 5, 1, 1]] });
});

test('Reshape: 0 copies a dim, -1 is inferred, symbolic batch survives', async () => {
  const reshape = (target: number[]) => (g: GraphBuilder, xs: string[]) => [g.reshape(xs[0]!, target)];
  await check('reshape [0, -1]', { inputs: [['N', 6, 4, 4]], build: reshape([0, -1]), expect: [['N', 96]] });
  await check('reshape [0, 2, 3, 4, 4]', { inputs: [['N', 6, 4, 4]], build: reshape([0, 2, 3, 4, 4]), expect: [['N', 2, 3, 4, 4]] });
  await check('reshape [-1, 16]', { inputs: [['N', 6, 4, 4]], build: reshape([-1, 16]), expect: [['6*N', 16]] });
  await check('reshape [0, 0, -1]', { inputs: [['N', 6, 4, 4]], build: reshape([0, 0, -1]), expect: [['N', 6, 16]] });
  await check('reshape static', { inputs: [[2, 3, 4]], build: reshape([4, -1, 2]), expect: [[4, 3, 2]] });
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['N', 6, 4]);
  assert.throws(() => g.reshape(x, [0, 5, -1]), /cannot infer -1: 24 is not divisible by 5/);
  assert.throws(() => g.reshape(x, [0, 5, 5]), /Reshape: cannot reshape to \[0, 5, 5\]/);
  assert.throws(() => g.op1('Reshape', [x, g.input('s', 'int64', [2])]), /Reshape: input 1 must be a constant/);
  await check('Flatten axis 1', { inputs: [['N', 3, 2, 2]], build: (g2, xs) => [g2.flatten(xs[0]!, 1)], expect: [['N', 12]] });
  await check('Flatten axis 2', { inputs: [['N', 3, 2, 2]], build: (g2, xs) => [g2.flatten(xs[0]!, 2)], expect: [['3*N', 4]] });
  await check('Flatten axis 0', { inputs: [[2, 3, 2]], build: (g2, xs) => [g2.flatten(xs[0]!, 0)], expect: [[1, 12]] });
});

test('Split, Slice, Concat, Transpose', async () => {
  await check('split channels', { inputs: [['N', 6, 3, 3]], build: (g, xs) => g.split(xs[0]!, 1, [2, 4]), expect: [['N', 2, 3, 3], ['N', 4, 3, 3]] });
  await check('split negative axis', { inputs: [['N', 6, 5]], build: (g, xs) => g.split(xs[0]!, -1, [1, 1, 3]), expect: [['N', 6, 1], ['N', 6, 1], ['N', 6, 3]] });
  const g0 = new GraphBuilder();
  assert.throws(() => g0.split(g0.input('x', 'float32', [1, 6]), 1, [2, 3]), /split sizes 2\+3 != 6/);

  const slice = (starts: number[], ends: number[], axes?: number[]) => (g: GraphBuilder, xs: string[]) =>
    [g.op1('Slice', [xs[0]!, g.ints(starts), g.ints(ends), ...(axes ? [g.ints(axes)] : [])])];
  await check('slice channels', { inputs: [['N', 8, 4, 4]], build: slice([2], [6], [1]), expect: [['N', 4, 4, 4]] });
  await check('slice negative start, clamped end', { inputs: [['N', 8, 4, 4]], build: slice([-3, 1], [1000, 3], [1, -1]), expect: [['N', 3, 4, 2]] });
  await check('slice without axes', { inputs: [[5, 6]], build: slice([1, 0], [4, -2]), expect: [[3, 4]] });
  await check('slice empty', { inputs: [[5, 6]], build: slice([4], [2], [0]), expect: [[0, 6]] });
  const stepped = (starts: number[], ends: number[], axes: number[], steps: number[]) => (g: GraphBuilder, xs: string[]) =>
    [g.op1('Slice', [xs[0]!, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])];
  await check('slice step 2', { inputs: [['N', 7, 4]], build: stepped([0], [1000], [1], [2]), expect: [['N', 4, 4]] });
  await check('slice step 3 from 1', { inputs: [['N', 7, 4]], build: stepped([1], [7], [1], [3]), expect: [['N', 2, 4]] });
  await check('slice reverse', { inputs: [['N', 7, 4]], build: stepped([-1], [-1000], [1], [-1]), expect: [['N', 7, 4]] });
  await check('slice reverse step 2', { inputs: [['N', 7, 4]], build: stepped([5, 3], [0, 0], [1, 2], [-2, -1]), expect: [['N', 3, 3]] });

  await check('concat channels', { inputs: [['N', 2, 3, 3], ['N', 5, 3, 3]], build: (g, xs) => [g.concat(xs, 1)], expect: [['N', 7, 3, 3]] });
  await check('concat negative axis', { inputs: [[2, 3], [2, 4], [2, 1]], build: (g, xs) => [g.concat(xs, -1)], expect: [[2, 8]] });
  const g1 = new GraphBuilder();
  assert.throws(() => g1.concat([g1.input('a', 'float32', [1, 2, 3]), g1.input('b', 'float32', [1, 2, 4])], 1), /Concat: input 1 differs outside axis 1/);

  await check('transpose perm', { inputs: [['N', 2, 3, 4, 5]], build: (g, xs) => [g.transpose(xs[0]!, [0, 2, 1, 3, 4])], expect: [['N', 3, 2, 4, 5]] });
  await check('transpose default reverses', { inputs: [[2, 3, 4]], build: op('Transpose'), expect: [[4, 3, 2]] });
});

test('reduce ops: axes as input (ReduceSum) or attribute, keepdims, negative axes', async () => {
  const sum = (axes: number[] | null, keep: number) => (g: GraphBuilder, xs: string[]) =>
    [g.op1('ReduceSum', [xs[0]!, ...(axes ? [g.ints(axes)] : [])], { keepdims: attr.i(keep) })];
  await check('ReduceSum keep', { inputs: [['N', 3, 4, 5]], build: sum([2, 3], 1), expect: [['N', 3, 1, 1]] });
  await check('ReduceSum drop', { inputs: [['N', 3, 4, 5]], build: sum([-1, 1], 0), expect: [['N', 4]] });
  await check('ReduceSum all', { inputs: [['N', 3, 4]], build: sum(null, 0), expect: [[]] });
  await check('ReduceSum all keep', { inputs: [[2, 3, 4]], build: sum(null, 1), expect: [[1, 1, 1]] });
  for (const o of ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSumSquare', 'ReduceLogSumExp']) {
    await check(`${o} keep`, { inputs: [['N', 3, 4, 5]], build: op(o, { axes: attr.ints([2, 3]) }), expect: [['N', 3, 1, 1]] });
    await check(`${o} drop`, { inputs: [['N', 3, 4, 5]], build: op(o, { axes: attr.ints([-3]), keepdims: attr.i(0) }), expect: [['N', 4, 5]] });
  }
  await check('ReduceMean default axes', { inputs: [[2, 3]], build: op('ReduceMean', { keepdims: attr.i(0) }), expect: [[]] });
});

test('elementwise, broadcasting, Gemm, MatMul, Squeeze/Unsqueeze', async () => {
  await check('Add broadcast', { inputs: [['N', 1, 4], [3, 1]], build: op('Add'), expect: [['N', 3, 4]] });
  await check('Mul scalar', { inputs: [['N', 2]], build: (g, xs) => [g.mul(xs[0]!, g.scalar(2))], expect: [['N', 2]] });
  await check('Clip keeps shape', { inputs: [['N', 2, 3]], build: (g, xs) => [g.relu6(xs[0]!)], expect: [['N', 2, 3]] });
  await check('HardSigmoid', { inputs: [['N', 2]], build: (g, xs) => [g.hardSigmoid(xs[0]!)], expect: [['N', 2]] });
  assert.throws(() => broadcastShapes([2, 3], [4, 3], 'Add'), /Add: shapes \[2, 3\] and \[4, 3\] do not broadcast/);
  assert.deepEqual(broadcastShapes(['N', 1], [1, 5]), ['N', 5]);

  const gemm = (wShape: number[], attrs: Attrs) => (g: GraphBuilder, xs: string[]) =>
    [g.op1('Gemm', [xs[0]!, g.constant(Tensor.float32(wShape)), g.constant(Tensor.float32([wShape[attrs.transB ? 0 : 1]!]))], attrs)];
  await check('Gemm transB', { inputs: [['N', 6]], build: gemm([4, 6], { transB: attr.i(1) }), expect: [['N', 4]] });
  await check('Gemm', { inputs: [['N', 6]], build: gemm([6, 4], {}), expect: [['N', 4]] });
  await check('MatMul batched', { inputs: [['N', 1, 2, 3], [4, 3, 5]], build: op('MatMul'), expect: [['N', 4, 2, 5]] });

  await check('Unsqueeze', { inputs: [['N', 3]], build: (g, xs) => [g.op1('Unsqueeze', [xs[0]!, g.ints([1, -1])])], expect: [['N', 1, 3, 1]] });
  await check('Squeeze axes', { inputs: [['N', 1, 3, 1]], build: (g, xs) => [g.op1('Squeeze', [xs[0]!, g.ints([-1])])], expect: [['N', 1, 3]] });
});

test('symbolic products and rule lookup', () => {
  assert.equal(dimProduct([2, 'N', 3]), '6*N');
  assert.equal(dimProduct(['N', 'M']), 'M*N', 'symbols are sorted: one spelling per product');
  assert.equal(dimProduct(['3*N', 2]), '6*N');
  assert.equal(dimProduct([4, 5]), 20);
  assert.equal(dimProduct([]), 1);
  assert.ok(hasShapeRule('Conv') && hasShapeRule('SoftmaxCrossEntropyLoss'));
  assert.ok(!hasShapeRule('Resize'));
  const g = new GraphBuilder();
  assert.throws(() => g.op1('Resize', [g.input('x', 'float32', [1])]), /shape inference: no rule for op 'Resize'/);
  assert.throws(() => g.op1('Relu', ['nope']), /graph: unknown value 'nope'/);
});
