/**
 * Every gradient rule against central finite differences of the forward graph run in ORT, on small
 * random shapes. The forward value checked is sum(out · r) for a random r, so each test checks a full
 * vector-Jacobian product. Inputs are kept away from kinks (ReLU at 0, ReLU6 at 6, hardswish at ±3).
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { backward } from '../../src/autodiff/backward.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { attr, type Attrs } from '../../src/graph/ir.js';
import { depthwiseConvNchwc } from '../../src/graph/nchwc.js';
import { Rng } from '../../src/nn/init.js';
import { createSession, nchwcBlockSize, ort } from '../../src/runtime/node-backend.js';
import { Tensor, numel } from '../../src/tensor.js';
import { batchNormTrain, crossEntropy } from '../../src/train/composites.js';

type Build = (g: GraphBuilder, xs: string[]) => string;

interface Case {
  name: string;
  inputs: number[][];
  build: Build;
  /** Shift values away from non-differentiable points. */
  avoid?: number[];
  scale?: number;
  /** Declare the first input's batch dim symbolic ('N'). */
  symbolicBatch?: boolean;
  /** Values spaced 0.1 apart in random order (no near-ties for max-pooling). */
  distinct?: boolean;
  /** Integer inputs fed as-is (not differentiated), e.g. labels. */
  extra?: { name: string; tensor: Tensor }[];
  /** Build with this machine's NCHWc block size (the case is skipped where ORT has no NCHWc kernels). */
  nchwc?: boolean;
}

async function checkCase(c: Case, t: TestContext): Promise<void> {
  const nchwcBlock = c.nchwc ? await nchwcBlockSize() : undefined;
  if (c.nchwc && !nchwcBlock) return t.skip('ORT has no NCHWc kernels on this CPU');
  const rng = new Rng(numel(c.inputs.flat()) + c.name.length);
  const values = c.inputs.map((shape) => {
    const d = new Float32Array(numel(shape));
    for (let i = 0; i < d.length; i++) {
      let v = (rng.uniform() * 2 - 1) * (c.scale ?? 2);
      for (const k of c.avoid ?? []) if (Math.abs(v - k) < 0.05) v = k + (v >= k ? 0.05 : -0.05);
      d[i] = v;
    }
    if (c.distinct) {
      const order = Array.from(d.keys()).sort(() => rng.uniform() - 0.5);
      order.forEach((j, i) => (d[j] = (i - d.length / 2) * 0.1));
    }
    return d;
  });
  const g = new GraphBuilder({ nchwcBlock });
  const xs = c.inputs.map((shape, i) => g.input(`x${i}`, 'float32', c.symbolicBatch && i === 0 ? ['N', ...shape.slice(1)] : shape));
  for (const e of c.extra ?? []) g.input(e.name, e.tensor.dtype, [...e.tensor.shape]);
  const out = c.build(g, xs);
  if (c.nchwc) assert.ok(g.graph.nodes.some((n) => n.op === 'nchwc.Conv'), `${c.name}: built with NCHWc convs`);
  const symbolic = g.shape(out);
  const outShape = symbolic.map((d) => (typeof d === 'number' ? d : c.inputs[0]![0]!));
  const seed = g.input('seed', 'float32', symbolic);
  const grads = backward(g, out, xs, seed);
  g.output(out, 'out');
  xs.forEach((x, i) => g.output(grads.get(x)!, `grad${i}`));
  const session = await createSession(g.graph, { threads: 1 });

  const r = new Float32Array(numel(outShape)).map(() => rng.uniform() * 2 - 1);
  const feeds = (vals: Float32Array[]) => {
    const f: Record<string, ort.Tensor> = { seed: new ort.Tensor('float32', r, outShape) };
    vals.forEach((v, i) => (f[`x${i}`] = new ort.Tensor('float32', v, c.inputs[i]!)));
    for (const e of c.extra ?? []) f[e.name] = new ort.Tensor(e.tensor.dtype as 'int64', e.tensor.data as BigInt64Array, [...e.tensor.shape]);
    return f;
  };
  const objective = async (vals: Float32Array[]) => {
    const o = (await session.run(feeds(vals))).out!.data as Float32Array;
    let s = 0;
    for (let i = 0; i < o.length; i++) s += o[i]! * r[i]!;
    return s;
  };
  const analytic = await session.run(feeds(values));
  const eps = 1e-2;
  for (let k = 0; k < values.length; k++) {
    const ours = analytic[`grad${k}`]!.data as Float32Array;
    const numeric = new Float32Array(ours.length);
    for (let i = 0; i < ours.length; i++) {
      const plus = values.map((v) => v.slice());
      const minus = values.map((v) => v.slice());
      plus[k]![i]! += eps;
      minus[k]![i]! -= eps;
      numeric[i] = ((await objective(plus)) - (await objective(minus))) / (2 * eps);
    }
    const scale = Math.max(...Array.from(numeric, Math.abs), 1e-3);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - numeric[i]!) / scale);
    assert.ok(worst < 2e-3, `${c.name}: input ${k} max relative error ${worst.toExponential(2)}`);
  }
  await session.release();
}

const conv = (o: { stride?: number; pad?: number; dilation?: number; group?: number }, bias = false): Build => (g, [x, w, b]) => {
  const p = o.pad ?? 0;
  const attrs: Attrs = {
    strides: attr.ints([o.stride ?? 1, o.stride ?? 1]), pads: attr.ints([p, p, p, p]),
    dilations: attr.ints([o.dilation ?? 1, o.dilation ?? 1]), group: attr.i(o.group ?? 1),
  };
  return g.op1('Conv', bias ? [x!, w!, b!] : [x!, w!], attrs);
};

const dwNchwc = (o: { stride?: number; pad?: number; dilation?: number }): Build => (g, [x, w]) => {
  const p = o.pad ?? 0;
  const [c, , kh, kw] = g.dims(w!);
  return depthwiseConvNchwc(g, x!, w!, {
    kernel_shape: attr.ints([kh!, kw!]), strides: attr.ints([o.stride ?? 1, o.stride ?? 1]), pads: attr.ints([p, p, p, p]),
    dilations: attr.ints([o.dilation ?? 1, o.dilation ?? 1]), group: attr.i(c!),
  });
};

const cases: Case[] = [
  { name: 'Conv 3x3 pad 1 with bias', inputs: [[2, 3, 5, 5], [4, 3, 3, 3], [4]], build: conv({ pad: 1 }, true) },
  { name: 'Conv 3x3 stride 2 pad 1', inputs: [[2, 3, 6, 6], [4, 3, 3, 3]], build: conv({ stride: 2, pad: 1 }) },
  { name: 'Conv 3x3 stride 2 odd size', inputs: [[1, 2, 7, 7], [3, 2, 3, 3]], build: conv({ stride: 2, pad: 1 }) },
  { name: 'Conv 3x3 with 8 input channels (weight gradient not unfolded)', inputs: [[2, 8, 5, 5], [3, 8, 3, 3]], build: conv({ pad: 1 }) },
  { name: 'Conv 1x1 (matmul weight gradient)', inputs: [[2, 4, 3, 3], [5, 4, 1, 1]], build: conv({}) },
  { name: 'Conv 1x1 wide (GEMM weight gradient)', inputs: [[2, 12, 2, 2], [16, 12, 1, 1]], build: conv({}) },
  { name: 'Conv grouped 1x1 (ShuffleNetV1)', inputs: [[2, 6, 3, 3], [9, 2, 1, 1]], build: conv({ group: 3 }) },
  { name: 'Conv depthwise 3x3', inputs: [[2, 4, 5, 5], [4, 1, 3, 3]], build: conv({ group: 4, pad: 1 }) },
  { name: 'Conv depthwise 3x3 on 16x16 (unfold + MatMul weight gradient)', inputs: [[1, 2, 16, 16], [2, 1, 3, 3]], build: conv({ group: 2, pad: 1 }) },
  { name: 'Conv depthwise 3x3 stride 2 on 33x33, symbolic batch', inputs: [[1, 2, 33, 33], [2, 1, 3, 3]], build: conv({ group: 2, pad: 1, stride: 2 }), symbolicBatch: true },
  { name: 'Conv depthwise 5x5 stride 2', inputs: [[2, 3, 7, 7], [3, 1, 5, 5]], build: conv({ group: 3, pad: 2, stride: 2 }) },
  { name: 'Conv depthwise 3x3, symbolic batch', inputs: [[2, 4, 5, 5], [4, 1, 3, 3]], build: conv({ group: 4, pad: 1 }), symbolicBatch: true },
  { name: 'Conv 3x3 stride 2, symbolic batch', inputs: [[2, 3, 6, 6], [4, 3, 3, 3]], build: conv({ stride: 2, pad: 1 }), symbolicBatch: true },
  { name: 'Conv grouped 1x1, symbolic batch', inputs: [[2, 6, 3, 3], [9, 2, 1, 1]], build: conv({ group: 3 }), symbolicBatch: true },
  { name: 'NCHWc depthwise 3x3, one whole block', inputs: [[2, 16, 6, 6], [16, 1, 3, 3]], build: dwNchwc({ pad: 1 }), nchwc: true },
  { name: 'NCHWc depthwise 3x3 stride 2, channels padded to the block', inputs: [[2, 12, 7, 7], [12, 1, 3, 3]], build: dwNchwc({ pad: 1, stride: 2 }), nchwc: true },
  { name: 'NCHWc depthwise 5x5 stride 2 on 9x9', inputs: [[1, 20, 9, 9], [20, 1, 5, 5]], build: dwNchwc({ pad: 2, stride: 2 }), nchwc: true },
  { name: 'NCHWc depthwise 3x3, 6 channels (padded to 8, then to the block)', inputs: [[2, 6, 5, 5], [6, 1, 3, 3]], build: dwNchwc({ pad: 1 }), nchwc: true },
  { name: 'NCHWc depthwise 3x3 dilated 2', inputs: [[1, 8, 7, 7], [8, 1, 3, 3]], build: dwNchwc({ pad: 2, dilation: 2 }), nchwc: true },
  { name: 'Pad (constant, begin and end)', inputs: [[2, 3, 4, 5]], build: (g, [x]) => g.op1('Pad', [x!, g.ints([0, 1, 2, 0, 0, 2, 0, 1])]) },
  { name: 'Conv depthwise dilated 2', inputs: [[1, 3, 7, 7], [3, 1, 3, 3]], build: conv({ group: 3, pad: 2, dilation: 2 }) },
  {
    name: 'BatchNorm train mode', inputs: [[3, 4, 3, 3], [4], [4]],
    build: (g, [x, w, b]) => batchNormTrain(g, {
      x: x!, scale: w!, bias: b!, runningMean: g.constant(Tensor.float32([4])), runningVar: g.constant(Tensor.float32([4], [1, 1, 1, 1])),
      numBatchesTracked: g.constant(Tensor.int64([], [0])), eps: 1e-5, momentum: 0.1,
    }),
  },
  { name: 'Relu', inputs: [[2, 3, 4]], build: (g, [x]) => g.relu(x!), avoid: [0] },
  { name: 'ReLU6 (Clip)', inputs: [[2, 3, 4]], build: (g, [x]) => g.relu6(g.mul(x!, g.scalar(4))), avoid: [0, 1.5] },
  { name: 'Hardswish', inputs: [[2, 3, 5]], build: (g, [x]) => g.hardSwish(g.mul(x!, g.scalar(3))), avoid: [-1, 1], scale: 2 },
  { name: 'Hardsigmoid', inputs: [[2, 3, 5]], build: (g, [x]) => g.hardSigmoid(g.mul(x!, g.scalar(3))), avoid: [-1, 1] },
  { name: 'Sigmoid', inputs: [[2, 3, 4]], build: (g, [x]) => g.sigmoid(x!) },
  { name: 'Add with broadcast', inputs: [[2, 3, 4, 4], [1, 3, 1, 1]], build: (g, [a, b]) => g.add(a!, b!) },
  { name: 'Sub', inputs: [[2, 3], [2, 3]], build: (g, [a, b]) => g.sub(a!, b!) },
  { name: 'Mul (squeeze-excitation scale)', inputs: [[2, 3, 1, 1], [2, 3, 4, 4]], build: (g, [a, b]) => g.mul(a!, b!) },
  { name: 'Div', inputs: [[2, 3], [2, 3]], build: (g, [a, b]) => g.div(a!, g.add(g.mul(b!, b!), g.scalar(1))) },
  { name: 'Concat', inputs: [[2, 2, 3, 3], [2, 3, 3, 3]], build: (g, [a, b]) => g.mul(g.concat([a!, b!], 1), g.concat([b!, a!], 1)) },
  { name: 'Split (ShuffleNetV2 halves)', inputs: [[2, 4, 3, 3]], build: (g, [x]) => { const [a, b] = g.split(x!, 1, [2, 2]); return g.mul(a!, b!); } },
  { name: 'Reshape + Transpose (channel shuffle)', inputs: [[2, 6, 2, 2]], build: (g, [x]) => g.reshape(g.transpose(g.reshape(x!, [0, 3, 2, 2, 2]), [0, 2, 1, 3, 4]), [0, 6, 2, 2]) },
  { name: 'Flatten', inputs: [[2, 3, 2, 2]], build: (g, [x]) => g.flatten(x!, 1) },
  { name: 'GlobalAveragePool', inputs: [[2, 3, 4, 5]], build: (g, [x]) => g.globalAveragePool(x!) },
  {
    name: 'AveragePool 3x3 stride 2 pad 1', inputs: [[2, 3, 6, 6]],
    build: (g, [x]) => g.op1('AveragePool', [x!], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.i(1) }),
  },
  {
    name: 'MaxPool 3x3 stride 2 pad 1', inputs: [[2, 3, 6, 6]], distinct: true,
    build: (g, [x]) => g.op1('MaxPool', [x!], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }),
  },
  { name: 'Gemm (Linear)', inputs: [[3, 5], [4, 5], [4]], build: (g, [x, w, b]) => g.op1('Gemm', [x!, w!, b!], { transB: attr.i(1) }) },
  { name: 'Dropout (mask input)', inputs: [[2, 6]], build: (g, [x]) => g.mul(x!, g.constant(Tensor.float32([2, 6], [2, 0, 2, 2, 0, 2, 0, 2, 2, 2, 0, 0]))) },
  {
    name: 'cross-entropy with label smoothing', inputs: [[3, 5]],
    extra: [{ name: 'labels', tensor: Tensor.int64([3], [1, 4, 0]) }],
    build: (g, [x]) => g.reshape(crossEntropy(g, x!, 'labels', 5, 0.1), [1]),
  },
];

for (const c of cases) test(`gradient: ${c.name}`, (t) => checkCase(c, t));
