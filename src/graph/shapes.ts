/** Shape inference, one rule per op: every value's dtype and shape are known when its node is built. */
import type { DType, Tensor } from '../tensor.js';
import { type Attrs, type Dim, type ValueInfo, intAttr, intsAttr } from './ir.js';

export interface ShapeContext {
  inputs: (ValueInfo | undefined)[];
  attrs: Attrs;
  /** The value of a constant input, where the input is a constant. */
  constant(i: number): Tensor | undefined;
  op: string;
  /** Channel block size of ORT's NCHWc kernels on this CPU, where a graph uses them. */
  nchwcBlock?: number;
}

type OutInfo = { dtype: DType; shape: Dim[] };
type Rule = (c: ShapeContext) => OutInfo[];

const rules = new Map<string, Rule>();

export function inferShapes(c: ShapeContext): OutInfo[] {
  const rule = rules.get(c.op);
  if (!rule) throw new Error(`shape inference: no rule for op '${c.op}'`);
  return rule(c);
}

export function hasShapeRule(op: string): boolean {
  return rules.has(op);
}

function need(c: ShapeContext, i: number): ValueInfo {
  const v = c.inputs[i];
  if (!v) throw new Error(`${c.op}: input ${i} is required`);
  return v;
}

function fail(c: ShapeContext, msg: string): never {
  const shapes = c.inputs.map((v) => (v ? `[${v.shape.join(', ')}]` : '-')).join(', ');
  throw new Error(`${c.op}: ${msg} (input shapes ${shapes})`);
}

function constInts(c: ShapeContext, i: number): number[] {
  const t = c.constant(i);
  if (!t) fail(c, `input ${i} must be a constant`);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function broadcastShapes(a: Dim[], b: Dim[], op = 'broadcast'): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else throw new Error(`${op}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast`);
  }
  return out;
}

function num(c: ShapeContext, d: Dim, what: string): number {
  if (typeof d !== 'number') fail(c, `${what} must be a known size, got '${d}'`);
  return d;
}

/** A dim as a number times symbols: 'N' → 1·[N], '3*N' → 3·[N]. */
function factors(d: Dim): { n: number; syms: string[] } {
  if (typeof d === 'number') return { n: d, syms: [] };
  let n = 1;
  const syms: string[] = [];
  for (const f of d.split('*')) /^\d+$/.test(f) ? (n *= Number(f)) : syms.push(f);
  return { n, syms };
}

function fromFactors(n: number, syms: string[]): Dim {
  if (syms.length === 0) return n;
  const s = [...syms].sort();
  return n === 1 ? s.join('*') : [String(n), ...s].join('*');
}

/** Product of dims; symbolic factors are kept in a canonical '*'-joined symbol. */
export function dimProduct(dims: Dim[]): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    const f = factors(d);
    n *= f.n;
    syms.push(...f.syms);
  }
  return fromFactors(n, syms);
}

const same: Rule = (c) => [{ dtype: need(c, 0).dtype, shape: [...need(c, 0).shape] }];
for (const op of ['Relu', 'Clip', 'HardSwish', 'HardSigmoid', 'Sigmoid', 'Neg', 'Sqrt', 'Exp', 'Log', 'Abs',
  'Reciprocal', 'Identity', 'Softmax', 'LogSoftmax', 'Tanh', 'Sign', 'Floor', 'Ceil', 'Round', 'Not']) {
  rules.set(op, same);
}

const broadcast: Rule = (c) => {
  let shape = need(c, 0).shape;
  for (let i = 1; i < c.inputs.length; i++) shape = broadcastShapes(shape, need(c, i).shape, c.op);
  return [{ dtype: need(c, 0).dtype, shape }];
};
for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sum', 'Max', 'Min', 'Mean']) rules.set(op, broadcast);

const compare: Rule = (c) => [{ dtype: 'bool', shape: broadcast(c)[0]!.shape }];
for (const op of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or']) rules.set(op, compare);

rules.set('Where', (c) => [{
  dtype: need(c, 1).dtype,
  shape: broadcastShapes(broadcastShapes(need(c, 0).shape, need(c, 1).shape, c.op), need(c, 2).shape, c.op),
}]);

const onnxDTypes: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' };
rules.set('Cast', (c) => {
  const to = onnxDTypes[intAttr(c.attrs, 'to')];
  if (!to) fail(c, `unsupported target type ${intAttr(c.attrs, 'to')}`);
  return [{ dtype: to, shape: [...need(c, 0).shape] }];
});

function spatialOut(c: ShapeContext, size: number, k: number, s: number, padBegin: number, padEnd: number, d: number, ceil = false): number {
  const span = size + padBegin + padEnd - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // With ceil_mode the last window must start inside the input or its begin padding (PyTorch, ORT).
  if (ceil && (out - 1) * s >= size + padBegin) out--;
  if (out < 1) fail(c, `spatial size ${size} is too small for kernel ${k} (stride ${s}, padding ${padBegin}+${padEnd})`);
  return out;
}

rules.set('Conv', (c) => {
  const x = need(c, 0).shape;
  const w = need(c, 1).shape;
  if (x.length !== 4 || w.length !== 4) fail(c, 'expects NCHW input and OIHW weight');
  const group = intAttr(c.attrs, 'group', 1);
  // Weight-gradient convs fold the batch into channels, so a channel count may be symbolic.
  if (typeof x[1] === 'number' && typeof w[1] === 'number' && x[1] !== w[1] * group) {
    fail(c, `input has ${x[1]} channels, weight expects ${w[1]} x ${group} groups`);
  }
  const k = [num(c, w[2]!, 'kernel'), num(c, w[3]!, 'kernel')];
  const s = intsAttr(c.attrs, 'strides', [1, 1]);
  const p = intsAttr(c.attrs, 'pads', [0, 0, 0, 0]);
  const d = intsAttr(c.attrs, 'dilations', [1, 1]);
  const h = spatialOut(c, num(c, x[2]!, 'height'), k[0]!, s[0]!, p[0]!, p[2]!, d[0]!);
  const wd = spatialOut(c, num(c, x[3]!, 'width'), k[1]!, s[1]!, p[1]!, p[3]!, d[1]!);
  return [{ dtype: need(c, 0).dtype, shape: [x[0]!, w[0]!, h, wd] }];
});

// ORT's NCHWc layout: the logical shape stays NCHW with channels padded to the block; the memory is
// [N, C/block, H, W, block].
rules.set('nchwc.Conv', (c) => rules.get('Conv')!(c));
rules.set('nchwc.ReorderInput', (c) => {
  const x = need(c, 0).shape;
  if (x.length !== 4 || typeof x[1] !== 'number' || x[1] % 4) fail(c, 'expects NCHW input with a known channel count divisible by 4');
  if (!c.nchwcBlock) fail(c, 'the NCHWc block size is not set on this graph');
  return [{ dtype: need(c, 0).dtype, shape: [x[0]!, Math.ceil(x[1] / c.nchwcBlock) * c.nchwcBlock, x[2]!, x[3]!] }];
});
rules.set('nchwc.ReorderOutput', (c) => {
  const x = need(c, 0).shape;
  return [{ dtype: need(c, 0).dtype, shape: [x[0]!, intAttr(c.attrs, 'channels'), x[2]!, x[3]!] }];
});

rules.set('ConvTranspose', (c) => {
  const x = need(c, 0).shape;
  const w = need(c, 1).shape;
  const group = intAttr(c.attrs, 'group', 1);
  const k = [num(c, w[2]!, 'kernel'), num(c, w[3]!, 'kernel')];
  const s = intsAttr(c.attrs, 'strides', [1, 1]);
  const p = intsAttr(c.attrs, 'pads', [0, 0, 0, 0]);
  const d = intsAttr(c.attrs, 'dilations', [1, 1]);
  const op = intsAttr(c.attrs, 'output_padding', [0, 0]);
  const size = (i: number) =>
    s[i]! * (num(c, x[2 + i]!, 'spatial size') - 1) + op[i]! + d[i]! * (k[i]! - 1) + 1 - p[i]! - p[i + 2]!;
  return [{ dtype: need(c, 0).dtype, shape: [x[0]!, num(c, w[1]!, 'weight out-channels') * group, size(0), size(1)] }];
});

function poolRule(c: ShapeContext): OutInfo[] {
  const x = need(c, 0).shape;
  const k = intsAttr(c.attrs, 'kernel_shape');
  const s = intsAttr(c.attrs, 'strides', [1, 1]);
  const p = intsAttr(c.attrs, 'pads', [0, 0, 0, 0]);
  const ceil = intAttr(c.attrs, 'ceil_mode', 0) === 1;
  const h = spatialOut(c, num(c, x[2]!, 'height'), k[0]!, s[0]!, p[0]!, p[2]!, 1, ceil);
  const w = spatialOut(c, num(c, x[3]!, 'width'), k[1]!, s[1]!, p[1]!, p[3]!, 1, ceil);
  const out: OutInfo[] = [{ dtype: need(c, 0).dtype, shape: [x[0]!, x[1]!, h, w] }];
  if (c.op === 'MaxPool') out.push({ dtype: 'int64', shape: [x[0]!, x[1]!, h, w] });
  return out;
}
rules.set('AveragePool', poolRule);
rules.set('MaxPool', poolRule);
rules.set('GlobalAveragePool', (c) => {
  const x = need(c, 0).shape;
  return [{ dtype: need(c, 0).dtype, shape: [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] }];
});

rules.set('BatchNormalization', (c) => {
  const x = need(c, 0);
  const outs: OutInfo[] = [{ dtype: x.dtype, shape: [...x.shape] }];
  if (intAttr(c.attrs, 'training_mode', 0) === 1) {
    outs.push({ dtype: x.dtype, shape: [x.shape[1]!] }, { dtype: x.dtype, shape: [x.shape[1]!] });
  }
  return outs;
});

rules.set('Gemm', (c) => {
  const a = need(c, 0).shape;
  const b = need(c, 1).shape;
  const m = intAttr(c.attrs, 'transA', 0) ? a[1]! : a[0]!;
  const ka = intAttr(c.attrs, 'transA', 0) ? a[0]! : a[1]!;
  const kb = intAttr(c.attrs, 'transB', 0) ? b[1]! : b[0]!;
  const n = intAttr(c.attrs, 'transB', 0) ? b[0]! : b[1]!;
  if (ka !== kb) fail(c, `inner dimensions ${ka} and ${kb} differ`);
  return [{ dtype: need(c, 0).dtype, shape: [m, n] }];
});

rules.set('MatMul', (c) => {
  const a = need(c, 0).shape;
  const b = need(c, 1).shape;
  if (a.length < 2 || b.length < 2) fail(c, 'expects rank >= 2');
  if (a[a.length - 1] !== b[b.length - 2]) fail(c, 'inner dimensions differ');
  const batch = broadcastShapes(a.slice(0, -2), b.slice(0, -2), c.op);
  return [{ dtype: need(c, 0).dtype, shape: [...batch, a[a.length - 2]!, b[b.length - 1]!] }];
});

rules.set('Reshape', (c) => {
  const x = need(c, 0).shape;
  const target = constInts(c, 1);
  const out: Dim[] = target.map((d, i) => (d === 0 ? x[i]! : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const known = out.filter((_, i) => i !== minus);
    out[minus] = divideDims(c, x, known);
  }
  const total = dimProduct(x);
  if (String(dimProduct(out)) !== String(total)) fail(c, `cannot reshape to [${target.join(', ')}]`);
  return [{ dtype: need(c, 0).dtype, shape: out }];
});

/** The dim d such that product(known) * d = product(all), with symbols cancelling by name. */
function divideDims(c: ShapeContext, all: Dim[], known: Dim[]): Dim {
  const total = factors(dimProduct(all));
  const part = factors(dimProduct(known));
  if (total.n % part.n !== 0) fail(c, `cannot infer -1: ${total.n} is not divisible by ${part.n}`);
  const syms = [...total.syms];
  for (const s of part.syms) {
    const i = syms.indexOf(s);
    if (i < 0) fail(c, `cannot infer -1 with symbol '${s}'`);
    syms.splice(i, 1);
  }
  return fromFactors(total.n / part.n, syms);
}

rules.set('Flatten', (c) => {
  const x = need(c, 0).shape;
  const axis = normAxis(intAttr(c.attrs, 'axis', 1), x.length);
  return [{ dtype: need(c, 0).dtype, shape: [dimProduct(x.slice(0, axis)), dimProduct(x.slice(axis))] }];
});

rules.set('Transpose', (c) => {
  const x = need(c, 0).shape;
  const perm = intsAttr(c.attrs, 'perm', x.map((_, i) => x.length - 1 - i));
  return [{ dtype: need(c, 0).dtype, shape: perm.map((p) => x[p]!) }];
});

rules.set('Concat', (c) => {
  const first = need(c, 0);
  const axis = normAxis(intAttr(c.attrs, 'axis'), first.shape.length);
  const shape = [...first.shape];
  let total = 0;
  c.inputs.forEach((_, i) => {
    const s = need(c, i).shape;
    s.forEach((d, j) => {
      if (j !== axis && d !== first.shape[j]) fail(c, `input ${i} differs outside axis ${axis}`);
    });
    total += num(c, s[axis]!, 'concat axis size');
  });
  shape[axis] = total;
  return [{ dtype: first.dtype, shape }];
});

rules.set('Split', (c) => {
  const x = need(c, 0);
  const axis = normAxis(intAttr(c.attrs, 'axis', 0), x.shape.length);
  const sizes = constInts(c, 1);
  if (sizes.reduce((a, b) => a + b, 0) !== x.shape[axis]) fail(c, `split sizes ${sizes.join('+')} != ${x.shape[axis]}`);
  return sizes.map((s) => {
    const shape = [...x.shape];
    shape[axis] = s;
    return { dtype: x.dtype, shape };
  });
});

rules.set('Slice', (c) => {
  const x = need(c, 0);
  const starts = constInts(c, 1);
  const ends = constInts(c, 2);
  const axes = c.inputs[3] ? constInts(c, 3) : starts.map((_, i) => i);
  const steps = c.inputs[4] ? constInts(c, 4) : starts.map(() => 1);
  const shape = [...x.shape];
  axes.forEach((a0, i) => {
    const a = normAxis(a0, shape.length);
    const size = num(c, shape[a]!, 'sliced dim');
    const step = steps[i]!;
    if (step === 0) fail(c, 'step 0');
    // ONNX clamps starts/ends to [0, size] for positive steps and [-1, size-1] for negative ones.
    const clamp = (v: number) => {
      const w = v < 0 ? v + size : v;
      return step > 0 ? Math.min(Math.max(w, 0), size) : Math.min(Math.max(w, -1), size - 1);
    };
    const span = step > 0 ? clamp(ends[i]!) - clamp(starts[i]!) : clamp(starts[i]!) - clamp(ends[i]!);
    shape[a] = Math.max(0, Math.ceil(span / Math.abs(step)));
  });
  return [{ dtype: x.dtype, shape }];
});

function reduceRule(axesFromInput: boolean): Rule {
  return (c) => {
    const x = need(c, 0);
    const axes = axesFromInput ? (c.inputs[1] ? constInts(c, 1) : x.shape.map((_, i) => i)) : intsAttr(c.attrs, 'axes', x.shape.map((_, i) => i));
    const keep = intAttr(c.attrs, 'keepdims', 1) === 1;
    const norm = axes.map((a) => normAxis(a, x.shape.length));
    const shape: Dim[] = [];
    x.shape.forEach((d, i) => {
      if (!norm.includes(i)) shape.push(d);
      else if (keep) shape.push(1);
    });
    return [{ dtype: x.dtype, shape }];
  };
}
// Opset 17: ReduceSum takes axes as an input (since 13), the others as an attribute (until 18).
rules.set('ReduceSum', reduceRule(true));
for (const op of ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSumSquare', 'ReduceLogSumExp']) rules.set(op, reduceRule(false));

rules.set('ArgMax', (c) => {
  const x = need(c, 0);
  const axis = normAxis(intAttr(c.attrs, 'axis', 0), x.shape.length);
  const keep = intAttr(c.attrs, 'keepdims', 1) === 1;
  const shape = x.shape.flatMap((d, i) => (i === axis ? (keep ? [1] : []) : [d]));
  return [{ dtype: 'int64', shape }];
});

rules.set('Unsqueeze', (c) => {
  const x = need(c, 0);
  const axes = constInts(c, 1);
  const rank = x.shape.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank));
  const rest = [...x.shape];
  const shape: Dim[] = [];
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : rest.shift()!);
  return [{ dtype: x.dtype, shape }];
});

rules.set('Squeeze', (c) => {
  const x = need(c, 0);
  const axes = c.inputs[1] ? constInts(c, 1).map((a) => normAxis(a, x.shape.length)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
});

rules.set('Expand', (c) => [{ dtype: need(c, 0).dtype, shape: broadcastShapes(need(c, 0).shape, constInts(c, 1), c.op) }]);

rules.set('Dropout', (c) => {
  const x = need(c, 0);
  return [{ dtype: x.dtype, shape: [...x.shape] }, { dtype: 'bool', shape: [...x.shape] }];
});

rules.set('ScatterElements', (c) => [{ dtype: need(c, 0).dtype, shape: [...need(c, 0).shape] }]);

rules.set('GatherElements', (c) => [{ dtype: need(c, 0).dtype, shape: [...need(c, 1).shape] }]);

rules.set('OneHot', (c) => {
  const depth = constInts(c, 1)[0]!;
  return [{ dtype: need(c, 2).dtype, shape: [...need(c, 0).shape, depth] }];
});

rules.set('SoftmaxCrossEntropyLoss', (c) => {
  const x = need(c, 0);
  const reduction = c.attrs.reduction && 's' in c.attrs.reduction ? c.attrs.reduction.s : 'mean';
  return [{ dtype: x.dtype, shape: reduction === 'none' ? [x.shape[0]!] : [] }, { dtype: x.dtype, shape: [...x.shape] }];
});

rules.set('Pad', (c) => {
  const x = need(c, 0);
  const pads = constInts(c, 1);
  const r = x.shape.length;
  return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i]! + pads[i + r]! : d)) }];
});

rules.set('Shape', (c) => [{ dtype: 'int64', shape: [need(c, 0).shape.length] }]);

rules.set('RandomUniformLike', (c) => [{ dtype: need(c, 0).dtype, shape: [...need(c, 0).shape] }]);


// QuantizeLinear's output type is its zero point's (uint8 or int8); DequantizeLinear gives float32 here.
rules.set('QuantizeLinear', (c) => [{ dtype: c.inputs[2]?.dtype ?? 'uint8', shape: [...need(c, 0).shape] }]);
rules.set('DequantizeLinear', (c) => [{ dtype: 'float32', shape: [...need(c, 0).shape] }]);
