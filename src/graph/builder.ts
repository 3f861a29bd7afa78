/** Builds a Graph op by op, inferring shapes as it goes; modules trace their forward pass through it. */
import { Tensor } from '../tensor.js';
import type { DType } from '../tensor.js';
import { type Attrs, type Dim, Graph, type Node, type ValueInfo, attr } from './ir.js';
import { inferShapes } from './shapes.js';

/** How parameters enter the graph: folded in as constants (inference) or fed as inputs (training). */
export type ParamMode = 'constant' | 'input';

export interface ModuleCall {
  path: string;
  type: string;
  leaf: boolean;
  input: ValueInfo;
  output: ValueInfo;
  /** Nodes emitted inside this call (all descendants). */
  nodes: Node[];
  params: number;
}

export interface BuilderOptions {
  paramMode?: ParamMode;
  bufferMode?: ParamMode;
  /** Called with each module call as it completes (for summaries). */
  onModuleCall?: (call: ModuleCall) => void;
  /** Channel block of ORT's NCHWc kernels, for graphs that use them (BackendCapabilities.nchwcBlock in src/runtime/backend.ts). */
  nchwcBlock?: number;
  /** Parameters and buffers that enter as constants whatever the mode (frozen layers of a train step). */
  constants?: ReadonlySet<string>;
}

export interface BatchNormTrainArgs {
  x: string;
  scale: string;
  bias: string;
  runningMean: string;
  runningVar: string;
  numBatchesTracked: string;
  eps: number;
  momentum: number;
}

export class GraphBuilder {
  /** Set by training graphs: train-mode BatchNorm (batch statistics, running-stat updates). */
  batchNormTrain?: (a: BatchNormTrainArgs) => string;
  /** Set by training graphs: ReLU6 that keeps a 1-byte mask for its gradient instead of its input. */
  relu6Train?: (x: string) => string;
  /** Set by training graphs: a random dropout mask per step. */
  dropout?: (x: string, p: number) => string;
  /** Set by training graphs: a depthwise convolution (no bias) computed another way, e.g. in NCHWc. */
  depthwiseConvTrain?: (x: string, w: string, attrs: Attrs) => string;
  /** New values of buffers a train-mode graph updates (running statistics), by buffer name. */
  readonly bufferUpdates = new Map<string, string>();
  /** This batch's statistics in a train-mode graph, by running-statistics buffer name: the mean, the unbiased variance. */
  readonly batchStatistics = new Map<string, string>();

  readonly graph: Graph;
  readonly paramMode: ParamMode;
  readonly nchwcBlock?: number;
  /** Buffers (BatchNorm running statistics) may enter differently from parameters. */
  readonly bufferMode: ParamMode;
  /** Parameter and buffer tensors referenced by name, in first-use order. */
  readonly params = new Map<string, Tensor>();
  private readonly scopes: string[] = [];
  private counter = 0;
  private readonly onModuleCall?: (call: ModuleCall) => void;
  private readonly constants?: ReadonlySet<string>;

  constructor(options: BuilderOptions = {}, name = 'mobilezoo') {
    this.graph = new Graph(name);
    this.paramMode = options.paramMode ?? 'constant';
    this.bufferMode = options.bufferMode ?? this.paramMode;
    this.onModuleCall = options.onModuleCall;
    this.nchwcBlock = options.nchwcBlock;
    this.constants = options.constants;
  }

  get scope(): string {
    return this.scopes.join('.');
  }

  info(name: string): ValueInfo {
    return this.graph.info(name);
  }

  shape(name: string): Dim[] {
    return this.info(name).shape;
  }

  /** A shape whose dims must all be known numbers. */
  dims(name: string): number[] {
    return this.shape(name).map((d) => {
      if (typeof d !== 'number') throw new Error(`value '${name}' has symbolic dim '${d}' where a size is needed`);
      return d;
    });
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    const v = { name, dtype, shape };
    this.graph.inputs.push(v);
    this.graph.values.set(name, v);
    return name;
  }

  output(name: string, as?: string): string {
    let out = name;
    if (as && as !== name) out = this.op('Identity', [name], {}, 1, as)[0]!;
    this.graph.outputs.push(this.info(out));
    return out;
  }

  /** A named parameter or buffer: an initializer or a graph input, depending on paramMode. */
  param(name: string, value: Tensor, mode: ParamMode = this.paramMode): string {
    if (this.graph.values.has(name)) return name;
    if (this.constants?.has(name)) mode = 'constant';
    this.params.set(name, value);
    const v = { name, dtype: value.dtype, shape: [...value.shape] };
    if (mode === 'constant') this.graph.initializers.set(name, value);
    else this.graph.inputs.push(v);
    this.graph.values.set(name, v);
    return name;
  }

  constant(value: Tensor, hint = 'const'): string {
    const name = this.fresh(hint);
    this.graph.initializers.set(name, value);
    this.graph.values.set(name, { name, dtype: value.dtype, shape: [...value.shape] });
    return name;
  }

  scalar(v: number, hint = 'c'): string {
    return this.constant(Tensor.float32([], [v]), hint);
  }

  ints(v: number[], hint = 'ints'): string {
    return this.constant(Tensor.int64([v.length], v), hint);
  }

  fresh(hint: string): string {
    const base = this.scope ? `${this.scope}/${hint}` : hint;
    return `${base}_${this.counter++}`;
  }

  /** Emit one node; returns its output names. An input name '' stands for an omitted optional input. */
  op(op: string, inputs: string[], attrs: Attrs = {}, outputs = 1, outName?: string): string[] {
    const g = this.graph;
    const infos = inputs.map((n) => (n === '' ? undefined : this.info(n)));
    const inferred = inferShapes({
      op,
      attrs,
      inputs: infos,
      constant: (i) => (inputs[i] ? g.initializers.get(inputs[i]!) : undefined),
      nchwcBlock: this.nchwcBlock,
    });
    const names = inferred.slice(0, outputs).map((_, i) => (i === 0 && outName ? outName : this.fresh(op)));
    names.forEach((n, i) => g.values.set(n, { name: n, ...inferred[i]! }));
    g.nodes.push({ name: this.fresh(`${op}_node`), op, inputs, outputs: names, attrs, scope: this.scope });
    return names;
  }

  op1(op: string, inputs: string[], attrs: Attrs = {}): string {
    return this.op(op, inputs, attrs, 1)[0]!;
  }

  /** Run fn with the scope set to `path` (e.g. gradient nodes under the forward node's scope). */
  inScope<T>(path: string, fn: () => T): T {
    const saved = this.scopes.splice(0, this.scopes.length, ...(path ? [path] : []));
    try {
      return fn();
    } finally {
      this.scopes.splice(0, this.scopes.length, ...saved);
    }
  }

  /** Run fn inside a module scope named `name`, reporting the call for summaries. */
  call(name: string, type: string, leaf: boolean, params: number, x: string, fn: () => string): string {
    if (name) this.scopes.push(name);
    const start = this.graph.nodes.length;
    try {
      const y = fn();
      this.onModuleCall?.({
        path: this.scope, type, leaf, params,
        input: this.info(x), output: this.info(y), nodes: this.graph.nodes.slice(start),
      });
      return y;
    } finally {
      if (name) this.scopes.pop();
    }
  }

  // Typed helpers for the ops models use.
  add(a: string, b: string): string { return this.op1('Add', [a, b]); }
  sub(a: string, b: string): string { return this.op1('Sub', [a, b]); }
  mul(a: string, b: string): string { return this.op1('Mul', [a, b]); }
  div(a: string, b: string): string { return this.op1('Div', [a, b]); }
  relu(x: string): string { return this.op1('Relu', [x]); }
  relu6(x: string): string {
    return this.relu6Train ? this.relu6Train(x) : this.op1('Clip', [x, this.scalar(0, 'zero'), this.scalar(6, 'six')]);
  }
  sigmoid(x: string): string { return this.op1('Sigmoid', [x]); }
  hardSwish(x: string): string { return this.op1('HardSwish', [x]); }
  /** PyTorch's hardsigmoid is relu6(x + 3) / 6: ONNX HardSigmoid with alpha 1/6, beta 0.5. */
  hardSigmoid(x: string): string {
    return this.op1('HardSigmoid', [x], { alpha: attr.f(1 / 6), beta: attr.f(0.5) });
  }
  reshape(x: string, shape: number[]): string { return this.op1('Reshape', [x, this.ints(shape, 'shape')]); }
  transpose(x: string, perm: number[]): string { return this.op1('Transpose', [x], { perm: attr.ints(perm) }); }
  /** x reversed along `axes` (a Slice with step -1). */
  flip(x: string, axes: number[]): string {
    const first = axes.map(() => -1);
    const pastStart = axes.map(() => -(2 ** 62));
    return this.op1('Slice', [x, this.ints(first), this.ints(pastStart), this.ints(axes), this.ints(first)]);
  }
  concat(xs: string[], axis: number): string { return this.op1('Concat', xs, { axis: attr.i(axis) }); }
  split(x: string, axis: number, sizes: number[]): string[] {
    return this.op('Split', [x, this.ints(sizes, 'split')], { axis: attr.i(axis) }, sizes.length);
  }
  flatten(x: string, axis = 1): string { return this.op1('Flatten', [x], { axis: attr.i(axis) }); }
  globalAveragePool(x: string): string { return this.op1('GlobalAveragePool', [x]); }
}
