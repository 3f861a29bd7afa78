/**
 * One gradient rule per op: given the node and d loss / d outputs, the d loss / d inputs as graph ops.
 * These are the standard ONNX ops, for every backend; the rules of a runtime's own kernels (ORT's NCHWc
 * convolutions) live beside the lowering that emits them (nchwc.ts).
 */
import type { GraphBuilder } from '../graph/builder.js';
import { type Dim, type Node, attr, intAttr, intsAttr } from '../graph/ir.js';
import { normAxis } from '../graph/shapes.js';
import { Tensor } from '../tensor.js';

export type GradRule = (g: GraphBuilder, n: Node, dys: (string | undefined)[]) => (string | undefined)[];

export const gradRules = new Map<string, GradRule>();

const FLOAT = 1;

/** Sum a broadcast gradient back down to the shape of the operand it came from. */
export function unbroadcast(g: GraphBuilder, dx: string, target: Dim[]): string {
  const shape = g.shape(dx);
  if (shape.length === target.length && shape.every((d, i) => d === target[i])) return dx;
  const offset = shape.length - target.length;
  const axes: number[] = [];
  shape.forEach((d, i) => {
    const t = i < offset ? undefined : target[i - offset];
    if (t === undefined || (t === 1 && d !== 1)) axes.push(i);
  });
  let y = axes.length ? g.op1('ReduceSum', [dx, g.ints(axes, 'axes')], { keepdims: attr.i(1) }) : dx;
  if (offset > 0) y = g.reshape(y, target.map((d) => (typeof d === 'number' ? d : 0)));
  return y;
}

/** A Reshape target for a shape whose one symbolic dim (the batch) is inferred as -1. */
export function reshapeTarget(shape: Dim[]): number[] {
  const symbolic = shape.filter((d) => typeof d !== 'number').length;
  if (symbolic > 1) throw new Error(`autodiff: cannot reshape to [${shape.join(', ')}] with more than one symbolic dim`);
  return shape.map((d) => (typeof d === 'number' ? d : -1));
}

const mask = (g: GraphBuilder, cond: string) => g.op1('Cast', [cond], { to: attr.i(FLOAT) });
const shapeOf = (g: GraphBuilder, v: string | undefined) => (v ? g.shape(v) : []);

gradRules.set('Identity', (_g, _n, [dy]) => [dy]);
gradRules.set('Neg', (g, _n, [dy]) => [g.op1('Neg', [dy!])]);

gradRules.set('Add', (g, n, [dy]) => [unbroadcast(g, dy!, shapeOf(g, n.inputs[0])), unbroadcast(g, dy!, shapeOf(g, n.inputs[1]))]);
gradRules.set('Sum', (g, n, [dy]) => n.inputs.map((i) => unbroadcast(g, dy!, g.shape(i))));
gradRules.set('Sub', (g, n, [dy]) => [
  unbroadcast(g, dy!, g.shape(n.inputs[0]!)),
  unbroadcast(g, g.op1('Neg', [dy!]), g.shape(n.inputs[1]!)),
]);
gradRules.set('Mul', (g, n, [dy]) => {
  const [a, b] = n.inputs as [string, string];
  return [unbroadcast(g, g.mul(dy!, b), g.shape(a)), unbroadcast(g, g.mul(dy!, a), g.shape(b))];
});
gradRules.set('Div', (g, n, [dy]) => {
  const [a, b] = n.inputs as [string, string];
  const da = g.div(dy!, b);
  const db = g.op1('Neg', [g.div(g.mul(da, a), b)]);
  return [unbroadcast(g, da, g.shape(a)), unbroadcast(g, db, g.shape(b))];
});

// ReLU passes the gradient where the output y ≥ 0 is positive: the 0/1 mask is Ceil(Clip(y, 0, 1)).
// ORT's Sign is a scalar loop and its Min broadcasts the 1 through its general (slower) path
// (bench/ops.ts: Sign, Cast(y > 0), Ceil(Min(y, 1)) and this).
gradRules.set('Relu', (g, n, [dy]) => {
  const y = n.outputs[0]!;
  return [g.mul(dy!, g.op1('Ceil', [g.op1('Clip', [y, g.scalar(0, 'zero'), g.scalar(1, 'one')])]))];
});

// Clip (ReLU6): the gradient passes where the output equals the input (inside the clipping range).
gradRules.set('Clip', (g, n, [dy]) => [g.mul(dy!, mask(g, g.op1('Equal', [n.inputs[0]!, n.outputs[0]!])))]);

gradRules.set('Sigmoid', (g, n, [dy]) => {
  const y = n.outputs[0]!;
  return [g.mul(dy!, g.mul(y, g.sub(g.scalar(1, 'one'), y)))];
});

// PyTorch: 0 for x < -3, x/3 + 1/2 for -3 <= x <= 3, 1 for x > 3.
gradRules.set('HardSwish', (g, n, [dy]) => {
  const x = n.inputs[0]!;
  const inner = g.op1('Clip', [g.op1('Add', [g.mul(x, g.scalar(1 / 3)), g.scalar(0.5)]), g.scalar(-0.5), g.scalar(1.5)]);
  const low = mask(g, g.op1('Less', [x, g.scalar(-3)]));
  const high = mask(g, g.op1('Greater', [x, g.scalar(3)]));
  // inside: inner; below: inner is -0.5 → add 0.5·low to zero it; above: inner is 1.5 → subtract 0.5·high.
  const d = g.sub(g.add(inner, g.mul(low, g.scalar(0.5))), g.mul(high, g.scalar(0.5)));
  return [g.mul(dy!, d)];
});

// PyTorch: alpha inside -3 < x < 3, else 0. Inside the range the output equals alpha·x + beta unclipped.
gradRules.set('HardSigmoid', (g, n, [dy]) => {
  const x = n.inputs[0]!;
  const alpha = n.attrs.alpha && 'f' in n.attrs.alpha ? n.attrs.alpha.f : 0.2;
  const inside = g.op1('And', [g.op1('Greater', [x, g.scalar(-0.5 / alpha)]), g.op1('Less', [x, g.scalar(0.5 / alpha)])]);
  return [g.mul(g.mul(dy!, mask(g, inside)), g.scalar(alpha))];
});

gradRules.set('Reshape', (g, n, [dy]) => [g.reshape(dy!, reshapeTarget(g.shape(n.inputs[0]!))), undefined]);
gradRules.set('Flatten', (g, n, [dy]) => [g.reshape(dy!, reshapeTarget(g.shape(n.inputs[0]!)))]);
gradRules.set('Squeeze', (g, n, [dy]) => [g.reshape(dy!, reshapeTarget(g.shape(n.inputs[0]!))), undefined]);
gradRules.set('Unsqueeze', (g, n, [dy]) => [g.reshape(dy!, reshapeTarget(g.shape(n.inputs[0]!))), undefined]);

gradRules.set('Transpose', (g, n, [dy]) => {
  const perm = intsAttr(n.attrs, 'perm');
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return [g.transpose(dy!, inverse)];
});

gradRules.set('Concat', (g, n, [dy]) => {
  const axis = normAxis(intAttr(n.attrs, 'axis'), g.shape(dy!).length);
  return g.split(dy!, axis, n.inputs.map((i) => g.shape(i)[axis] as number));
});

gradRules.set('Split', (g, n, dys) => {
  const axis = normAxis(intAttr(n.attrs, 'axis', 0), g.shape(n.inputs[0]!).length);
  const parts = n.outputs.map((o, i) => dys[i] ?? g.mul(o, g.scalar(0, 'zero')));
  return [g.concat(parts, axis), undefined];
});

// Constant padding with non-negative pads: the gradient is the unpadded window of dy.
gradRules.set('Pad', (g, n, [dy]) => {
  const pads = g.graph.initializers.get(n.inputs[1]!);
  const mode = n.attrs.mode && 's' in n.attrs.mode ? n.attrs.mode.s : 'constant';
  if (!pads || mode !== 'constant' || n.inputs[3]) throw new Error(`autodiff: the Pad rule covers constant padding by constant pads on all axes (node ${n.name})`);
  const p = Array.from(pads.data as BigInt64Array, Number);
  const rank = p.length / 2;
  if (p.some((v) => v < 0)) throw new Error(`autodiff: the Pad rule needs non-negative pads (node ${n.name})`);
  const shape = g.shape(dy!);
  const axes = [...Array(rank).keys()].filter((i) => p[i]! > 0 || p[i + rank]! > 0);
  if (!axes.length) return [dy, undefined];
  const big = 2 ** 62;
  const ends = axes.map((i) => {
    if (p[i + rank]! === 0) return big;
    if (typeof shape[i] !== 'number') throw new Error(`autodiff: the Pad rule needs a known size on padded axis ${i} (node ${n.name})`);
    return shape[i] - p[i + rank]!;
  });
  return [g.op1('Slice', [dy!, g.ints(axes.map((i) => p[i]!)), g.ints(ends), g.ints(axes)]), undefined];
});

// dy/(H·W) spread over the map as an outer product [N·C, 1] x [1, H·W]: ORT's Expand (and a
// broadcasting Mul) copy such a shape element by element, several times slower than this MatMul
// (bench/ops.ts).
gradRules.set('GlobalAveragePool', (g, n, [dy]) => {
  const [, c, h, w] = g.shape(n.inputs[0]!) as [Dim, number, number, number];
  const spread = g.constant(Tensor.float32([1, h * w], new Float32Array(h * w).fill(1 / (h * w))), 'spread');
  return [g.reshape(g.op1('MatMul', [g.reshape(dy!, [-1, 1]), spread]), [-1, c, h, w])];
});

/** Output padding that makes a transposed conv reproduce the forward input's size exactly. */
function outputPadding(inSize: number, outSize: number, k: number, s: number, d: number, pBegin: number, pEnd: number): number {
  return inSize - ((outSize - 1) * s + d * (k - 1) + 1 - pBegin - pEnd);
}

gradRules.set('AveragePool', (g, n, [dy]) => {
  // count_include_pad=1: every window divides by kh·kw, so the adjoint is a depthwise transposed conv of ones.
  const x = n.inputs[0]!;
  const [, c, h, w] = g.shape(x) as [Dim, number, number, number];
  const [kh, kw] = intsAttr(n.attrs, 'kernel_shape') as [number, number];
  const s = intsAttr(n.attrs, 'strides', [1, 1]);
  const p = intsAttr(n.attrs, 'pads', [0, 0, 0, 0]);
  const [, , oh, ow] = g.shape(dy!) as number[];
  const kernel = g.constant(Tensor.float32([c, 1, kh, kw], new Float32Array(c * kh * kw).fill(1 / (kh * kw))), 'avgpool_adjoint');
  return [g.op1('ConvTranspose', [dy!, kernel], {
    strides: attr.ints(s), pads: attr.ints(p), group: attr.i(c),
    output_padding: attr.ints([outputPadding(h, oh!, kh, s[0]!, 1, p[0]!, p[2]!), outputPadding(w, ow!, kw, s[1]!, 1, p[1]!, p[3]!)]),
  })];
});

gradRules.set('MaxPool', (g, n, [dy]) => {
  // Recompute with indices (flat over N·C·H·W) and scatter-add the gradient to the chosen inputs.
  const x = n.inputs[0]!;
  const [, indices] = g.op('MaxPool', [x], n.attrs, 2);
  const flat = (v: string) => g.reshape(v, [-1]);
  const zeros = g.mul(flat(x), g.scalar(0, 'zero'));
  const dx = g.op1('ScatterElements', [zeros, flat(indices!), flat(dy!)], { axis: attr.i(0), reduction: attr.s('add') });
  return [g.reshape(dx, reshapeTarget(g.shape(x)))];
});

gradRules.set('Gemm', (g, n, [dy]) => {
  if (intAttr(n.attrs, 'transA', 0) !== 0 || intAttr(n.attrs, 'transB', 0) !== 1) throw new Error('autodiff: Gemm rule expects transA=0, transB=1 (Linear)');
  const [x, w, b] = n.inputs as [string, string, string | undefined];
  const dx = g.op1('MatMul', [dy!, w]);
  const dw = g.op1('Gemm', [dy!, x], { transA: attr.i(1) });
  const db = b ? g.op1('ReduceSum', [dy!, g.ints([0], 'axes')], { keepdims: attr.i(0) }) : undefined;
  return [dx, dw, db];
});

gradRules.set('MatMul', (g, n, [dy]) => {
  const [a, b] = n.inputs as [string, string];
  const t = (v: string) => {
    const r = g.shape(v).length;
    return g.transpose(v, [...Array(r - 2).keys(), r - 1, r - 2]);
  };
  return [unbroadcast(g, g.op1('MatMul', [dy!, t(b)]), g.shape(a)), unbroadcast(g, g.op1('MatMul', [t(a), dy!]), g.shape(b))];
});

gradRules.set('Conv', (g, n, [dy]) => {
  const [x, w, b] = n.inputs as [string, string, string | undefined];
  const p = convParams(g, n);
  return [convInputGrad(g, dy!, w, p), convWeightGrad(g, dy!, x, p), b ? g.op1('ReduceSum', [dy!, g.ints([0, 2, 3], 'axes')], { keepdims: attr.i(0) }) : undefined];
});

export interface ConvParams {
  groups: number;
  k: [number, number];
  s: number[];
  d: number[];
  p: number[];
  inShape: [Dim, number, number, number];
  outShape: [Dim, number, number, number];
  wShape: [number, number, number, number];
}

export function convParams(g: GraphBuilder, n: Node): ConvParams {
  const wShape = g.dims(n.inputs[1]!) as ConvParams['wShape'];
  return {
    groups: intAttr(n.attrs, 'group', 1),
    k: [wShape[2], wShape[3]],
    s: intsAttr(n.attrs, 'strides', [1, 1]),
    d: intsAttr(n.attrs, 'dilations', [1, 1]),
    p: intsAttr(n.attrs, 'pads', [0, 0, 0, 0]),
    inShape: g.shape(n.inputs[0]!) as ConvParams['inShape'],
    outShape: g.shape(n.outputs[0]!) as ConvParams['outShape'],
    wShape,
  };
}

/** d/dx: stride 1 is a conv with the flipped, group-transposed kernel; otherwise a transposed conv. */
export function convInputGrad(g: GraphBuilder, dy: string, w: string, c: ConvParams): string {
  const [cout, ci, kh, kw] = c.wShape;
  const G = c.groups;
  const co = cout / G;
  const stride1 = c.s[0] === 1 && c.s[1] === 1;
  if (stride1) {
    // w [G·co, ci, kh, kw] → [G·ci, co, kh, kw], flipped spatially.
    let wt = w;
    if (co > 1 || ci > 1) wt = g.reshape(g.transpose(g.reshape(w, [G, co, ci, kh, kw]), [0, 2, 1, 3, 4]), [G * ci, co, kh, kw]);
    if (kh > 1 || kw > 1) wt = g.flip(wt, [2, 3]);
    const pads = [0, 1, 2, 3].map((i) => c.d[i % 2]! * (c.k[i % 2]! - 1) - c.p[i]!);
    return g.op1('Conv', [dy, wt], { group: attr.i(G), pads: attr.ints(pads), dilations: attr.ints(c.d), strides: attr.ints([1, 1]) });
  }
  const [, , h, wd] = c.inShape;
  const [, , oh, ow] = c.outShape;
  return g.op1('ConvTranspose', [dy, w], {
    group: attr.i(G), strides: attr.ints(c.s), dilations: attr.ints(c.d), pads: attr.ints(c.p),
    output_padding: attr.ints([
      outputPadding(h, oh, kh, c.s[0]!, c.d[0]!, c.p[0]!, c.p[2]!),
      outputPadding(wd, ow, kw, c.s[1]!, c.d[1]!, c.p[1]!, c.p[3]!),
    ]),
  });
}


/** Above this many unfolded channels (ci·kh·kw) a dense conv's weight gradient is not unfolded. */
const UNFOLD_MAX_CHANNELS = 64;

/** Depthwise one-hot filters [C·kh·kw, 1, kh, kw] that copy each of a channel's kh·kw taps into a channel of its own. */
function oneHotTaps(g: GraphBuilder, channels: number, kh: number, kw: number): string {
  const taps = kh * kw;
  const onehot = new Float32Array(channels * taps * taps);
  for (let ch = 0; ch < channels; ch++) for (let t = 0; t < taps; t++) onehot[(ch * taps + t) * taps + t] = 1;
  return g.constant(Tensor.float32([channels * taps, 1, kh, kw], onehot), 'unfold');
}

/** d/dw [Cout, Cin] of a pointwise product: the sum over images and positions of dy [N, Cout, P] times x [N, Cin, P]. */
function pointwiseWeightGrad(g: GraphBuilder, dy: string, x: string, cout: number, ci: number, positions: number): string {
  if (cout * ci <= positions * (cout + ci)) {
    // Per-image products [N, Cout, Cin] then a batch sum: cheap while the weight is small next to
    // the activations.
    const dy3 = g.reshape(dy, [0, cout, positions]);
    const xT = g.transpose(g.reshape(x, [0, ci, positions]), [0, 2, 1]);
    const per = g.op1('MatMul', [dy3, xT]);
    return g.op1('ReduceSum', [per, g.ints([0], 'axes')], { keepdims: attr.i(0) });
  }
  // Otherwise one GEMM over N·P: dy as [Cout, N·P] times x as [Cin, N·P] transposed.
  const flat = (v: string, ch: number) => g.reshape(g.transpose(g.reshape(v, [0, ch, positions]), [1, 0, 2]), [ch, -1]);
  return g.op1('Gemm', [flat(dy, cout), flat(x, ci)], { transB: attr.i(1) });
}

/**
 * d/dw as a convolution whose batch is the weight's input channels and whose kernel is dy:
 * x [N, G·ci, H, W] → [ci, G·N, H, W], dy [N, G·co, Ho, Wo] → [G·co, N, Ho, Wo], conv with `group` G,
 * stride = forward dilation, dilation = forward stride → [ci, G·co, kh', kw'] → [G·co, ci, kh, kw].
 * Pointwise stride-1 convs without groups are a matrix product instead, and dense convs with few input
 * channels (the stems) that product over x unfolded into its kernel taps.
 */
function convWeightGrad(g: GraphBuilder, dy: string, x: string, c: ConvParams): string {
  const [cout, ci, kh, kw] = c.wShape;
  const G = c.groups;
  const co = cout / G;
  const [, , h, w] = c.inShape;
  const [, , oh, ow] = c.outShape;
  if (G === 1 && kh === 1 && kw === 1 && c.s.every((v) => v === 1) && c.p.every((v) => v === 0)) {
    return g.reshape(pointwiseWeightGrad(g, dy, x, cout, ci, h * w), [cout, ci, 1, 1]);
  }
  const taps = kh * kw;
  if (G === 1 && ci * taps <= UNFOLD_MAX_CHANNELS) {
    // A dense conv with few input channels (the stems: 3 in, 3x3): x unfolded into its ci·kh·kw
    // shifted copies by a one-hot conv, then the pointwise case. Against one conv with dy as the
    // kernel (the general case below), ShuffleNetV2's CIFAR stem at batch 128 (bench/profile.ts):
    // 20.0 → 4.9 + 4.3 ms.
    const cols = g.op1('Conv', [x, oneHotTaps(g, ci, kh, kw)], { group: attr.i(ci), strides: attr.ints(c.s), dilations: attr.ints(c.d), pads: attr.ints(c.p) });
    return g.reshape(pointwiseWeightGrad(g, dy, cols, cout, ci * taps, oh * ow), [cout, ci, kh, kw]);
  }
  const [n] = c.inShape;
  if (ci === 1 && co === 1 && kh * kw <= 9 && oh * ow >= 256) {
    // Depthwise, small kernel: unfold x into its kh·kw shifted copies with a one-hot depthwise conv
    // (forward-conv speed), then one batched matrix-vector product per image and channel with dy:
    // 30% faster than a conv with dy as the kernel at 16x16 and larger (slower on small maps, where
    // the many tiny products dominate), for a transient kh·kw-times copy of x.
    const cols = g.op1('Conv', [x, oneHotTaps(g, G, kh, kw)], { group: attr.i(G), strides: attr.ints(c.s), dilations: attr.ints(c.d), pads: attr.ints(c.p) });
    const per = g.op1('MatMul', [g.reshape(cols, [-1, G, taps, oh * ow]), g.reshape(dy, [-1, G, oh * ow, 1])]);
    return g.reshape(g.op1('ReduceSum', [per, g.ints([0], 'axes')], { keepdims: attr.i(0) }), [G, 1, kh, kw]);
  }
  if (typeof n === 'number' && ci === 1 && co === 1) {
    // Depthwise with a known batch: one group per image and channel needs no transposes
    // (x [1, N·C, H, W], dy [N·C, 1, Ho, Wo]), then a batch sum.
    const xr = g.reshape(x, [1, n * G, h, w]);
    const k = g.reshape(dy, [n * G, 1, oh, ow]);
    let per = g.op1('Conv', [xr, k], { group: attr.i(n * G), strides: attr.ints(c.d), dilations: attr.ints(c.s), pads: attr.ints(c.p) });
    const [, , rh, rw] = g.dims(per);
    if (rh !== kh || rw !== kw) per = g.op1('Slice', [per, g.ints([0, 0]), g.ints([kh, kw]), g.ints([2, 3])]);
    return g.reshape(g.op1('ReduceSum', [g.reshape(per, [n, G, kh, kw]), g.ints([0], 'axes')], { keepdims: attr.i(0) }), [G, 1, kh, kw]);
  }
  const xr = g.reshape(g.transpose(g.reshape(x, [0, G, ci, h, w]), [2, 1, 0, 3, 4]), [ci, -1, h, w]);
  const k = g.reshape(g.transpose(g.reshape(dy, [0, G, co, oh, ow]), [1, 2, 0, 3, 4]), [G * co, -1, oh, ow]);
  let dw = g.op1('Conv', [xr, k], { group: attr.i(G), strides: attr.ints(c.d), dilations: attr.ints(c.s), pads: attr.ints(c.p) });
  const [, , rh, rw] = g.dims(dw);
  if (rh !== kh || rw !== kw) dw = g.op1('Slice', [dw, g.ints([0, 0]), g.ints([kh, kw]), g.ints([2, 3])]);
  return g.transpose(dw, [1, 0, 2, 3]);
}
