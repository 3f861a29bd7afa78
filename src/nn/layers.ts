/** PyTorch's layers, with its parameter names, defaults and semantics. */
import type { GraphBuilder } from '../graph/builder.js';
import { type Attrs, attr } from '../graph/ir.js';
import { Tensor } from '../tensor.js';
import { Rng, constant, defaultUniform, fans } from './init.js';
import { Module } from './module.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Layers draw default initial values from one shared generator unless a model re-initialises them. */
const defaultRng = new Rng(0);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly kernel: [number, number];

  constructor(readonly inChannels: number, readonly outChannels: number, kernel: Pair, o: Conv2dOptions = {}) {
    super();
    this.kernel = pair(kernel);
    this.stride = pair(o.stride ?? 1);
    this.padding = pair(o.padding ?? 0);
    this.dilation = pair(o.dilation ?? 1);
    this.groups = o.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new Error(`Conv2d: in (${inChannels}) and out (${outChannels}) channels must be divisible by groups (${this.groups})`);
    }
    const shape = [outChannels, inChannels / this.groups, ...this.kernel];
    const { fanIn } = fans(shape);
    this.addParameter('weight', defaultUniform(defaultRng, shape, fanIn));
    if (o.bias ?? true) this.addParameter('bias', defaultUniform(defaultRng, [outChannels], fanIn));
  }

  protected forward(g: GraphBuilder, x: string): string {
    const inputs = [x, this.tensor(g, 'weight')];
    if (this.parameters.has('bias')) inputs.push(this.tensor(g, 'bias'));
    const [ph, pw] = this.padding;
    const attrs = {
      kernel_shape: attr.ints(this.kernel),
      strides: attr.ints(this.stride),
      pads: attr.ints([ph, pw, ph, pw]),
      dilations: attr.ints(this.dilation),
      group: attr.i(this.groups),
    };
    const depthwise = this.groups === this.inChannels && this.groups === this.outChannels && inputs.length === 2;
    if (this.training && depthwise && g.depthwiseConvTrain) return g.depthwiseConvTrain(x, inputs[1]!, attrs);
    return g.op1('Conv', inputs, attrs);
  }
}

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

export class BatchNorm2d extends Module {
  readonly eps: number;
  readonly momentum: number;

  constructor(readonly numFeatures: number, o: BatchNormOptions = {}) {
    super();
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    if (o.affine ?? true) {
      this.addParameter('weight', constant([numFeatures], 1));
      this.addParameter('bias', constant([numFeatures], 0));
    }
    this.addBuffer('running_mean', constant([numFeatures], 0));
    this.addBuffer('running_var', constant([numFeatures], 1));
    this.addBuffer('num_batches_tracked', Tensor.int64([], [0]));
  }

  protected forward(g: GraphBuilder, x: string): string {
    const scale = this.parameters.has('weight') ? this.tensor(g, 'weight') : g.constant(constant([this.numFeatures], 1), 'ones');
    const bias = this.parameters.has('bias') ? this.tensor(g, 'bias') : g.constant(constant([this.numFeatures], 0), 'zeros');
    if (this.training && g.batchNormTrain) {
      return g.batchNormTrain({
        x, scale, bias,
        runningMean: this.tensor(g, 'running_mean'),
        runningVar: this.tensor(g, 'running_var'),
        numBatchesTracked: this.tensor(g, 'num_batches_tracked'),
        eps: this.eps, momentum: this.momentum,
      });
    }
    return g.op1('BatchNormalization', [x, scale, bias, this.tensor(g, 'running_mean'), this.tensor(g, 'running_var')], {
      epsilon: attr.f(this.eps),
    });
  }
}

export class Linear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.addParameter('weight', defaultUniform(defaultRng, [outFeatures, inFeatures], inFeatures));
    if (bias) this.addParameter('bias', defaultUniform(defaultRng, [outFeatures], inFeatures));
  }

  protected forward(g: GraphBuilder, x: string): string {
    const inputs = [x, this.tensor(g, 'weight')];
    if (this.parameters.has('bias')) inputs.push(this.tensor(g, 'bias'));
    return g.op1('Gemm', inputs, { transB: attr.i(1) });
  }
}

export class ReLU extends Module {
  protected forward(g: GraphBuilder, x: string): string { return g.relu(x); }
}

export class ReLU6 extends Module {
  protected forward(g: GraphBuilder, x: string): string { return g.relu6(x); }
}

export class Hardswish extends Module {
  protected forward(g: GraphBuilder, x: string): string { return g.hardSwish(x); }
}

export class Hardsigmoid extends Module {
  protected forward(g: GraphBuilder, x: string): string { return g.hardSigmoid(x); }
}

export class Sigmoid extends Module {
  protected forward(g: GraphBuilder, x: string): string { return g.sigmoid(x); }
}

export class Identity extends Module {
  protected forward(_g: GraphBuilder, x: string): string { return x; }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (p < 0 || p >= 1) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  protected forward(g: GraphBuilder, x: string): string {
    if (!this.training || this.p === 0 || !g.dropout) return x;
    return g.dropout(x, this.p);
  }
}

export class Flatten extends Module {
  protected forward(g: GraphBuilder, x: string): string { return g.flatten(x, 1); }
}

/** AdaptiveAvgPool2d to 1x1 (the only output size these networks use). */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize = 1) {
    super();
    if (outputSize !== 1) throw new Error('AdaptiveAvgPool2d: only output size 1 is supported');
  }
  protected forward(g: GraphBuilder, x: string): string { return g.globalAveragePool(x); }
}

/** Kernel, stride (defaulting to the kernel) and symmetric padding, as PyTorch's pooling layers take them. */
abstract class Pool2d extends Module {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  constructor(kernel: Pair, stride?: Pair, padding: Pair = 0) {
    super();
    this.kernel = pair(kernel);
    this.stride = pair(stride ?? kernel);
    this.padding = pair(padding);
  }
  protected poolAttrs(): Attrs {
    const [ph, pw] = this.padding;
    return { kernel_shape: attr.ints(this.kernel), strides: attr.ints(this.stride), pads: attr.ints([ph, pw, ph, pw]) };
  }
}

export class AvgPool2d extends Pool2d {
  protected forward(g: GraphBuilder, x: string): string {
    // PyTorch's count_include_pad defaults to True.
    return g.op1('AveragePool', [x], { ...this.poolAttrs(), count_include_pad: attr.i(1) });
  }
}

export class MaxPool2d extends Pool2d {
  constructor(kernel: Pair, stride?: Pair, padding: Pair = 0, readonly ceilMode = false) {
    super(kernel, stride, padding);
  }
  protected forward(g: GraphBuilder, x: string): string {
    return g.op1('MaxPool', [x], { ...this.poolAttrs(), ceil_mode: attr.i(this.ceilMode ? 1 : 0) });
  }
}

export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => this.addModule(String(i), m));
  }

  append(m: Module): this {
    this.addModule(String(this.children.size), m);
    return this;
  }

  get length(): number {
    return this.children.size;
  }

  at(i: number): Module {
    const m = this.children.get(String(i));
    if (!m) throw new Error(`Sequential: no layer ${i}`);
    return m;
  }

  protected forward(g: GraphBuilder, x: string): string {
    let y = x;
    for (const m of this.children.values()) y = m.call(g, y);
    return y;
  }
}
