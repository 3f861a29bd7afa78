/** The building blocks these families share, as torchvision and megvii define them. */
import type { GraphBuilder } from '../graph/builder.js';
import { AdaptiveAvgPool2d, BatchNorm2d, type BatchNormOptions, Conv2d, Hardsigmoid, ReLU, Sequential, Sigmoid } from './layers.js';
import { Module } from './module.js';

export type ActivationFactory = (() => Module) | null;

/** torchvision's _make_divisible: round to the nearest multiple of divisor, never dropping below 90%. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let n = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

export interface ConvNormActOptions {
  stride?: number;
  groups?: number;
  dilation?: number;
  activation?: ActivationFactory;
  norm?: BatchNormOptions;
}

/** torchvision's Conv2dNormActivation: Sequential(Conv2d, BatchNorm2d[, activation]), "same" padding. */
export class ConvNormActivation extends Sequential {
  constructor(inChannels: number, outChannels: number, kernel = 3, o: ConvNormActOptions = {}) {
    const dilation = o.dilation ?? 1;
    const layers: Module[] = [
      new Conv2d(inChannels, outChannels, kernel, {
        stride: o.stride ?? 1, padding: Math.floor((kernel - 1) / 2) * dilation, dilation, groups: o.groups ?? 1, bias: false,
      }),
      new BatchNorm2d(outChannels, o.norm),
    ];
    const act = o.activation === undefined ? () => new ReLU() : o.activation;
    if (act) layers.push(act());
    super(...layers);
  }

  override get typeName(): string {
    return 'Conv2dNormActivation';
  }
}

/** torchvision.ops.SqueezeExcitation: x * scale(fc2(act(fc1(avgpool(x))))). */
export class SqueezeExcitation extends Module {
  readonly avgpool = this.addModule('avgpool', new AdaptiveAvgPool2d(1));
  readonly fc1: Conv2d;
  readonly activation: Module;
  readonly fc2: Conv2d;
  readonly scaleActivation: Module;

  constructor(inputChannels: number, squeezeChannels: number, scale: 'hardsigmoid' | 'sigmoid' = 'sigmoid') {
    super();
    this.fc1 = this.addModule('fc1', new Conv2d(inputChannels, squeezeChannels, 1));
    this.fc2 = this.addModule('fc2', new Conv2d(squeezeChannels, inputChannels, 1));
    this.activation = this.addModule('activation', new ReLU());
    this.scaleActivation = this.addModule('scale_activation', scale === 'hardsigmoid' ? new Hardsigmoid() : new Sigmoid());
  }

  protected forward(g: GraphBuilder, x: string): string {
    let s = this.avgpool.call(g, x);
    s = this.activation.call(g, this.fc1.call(g, s));
    s = this.scaleActivation.call(g, this.fc2.call(g, s));
    return g.mul(s, x);
  }
}

/**
 * Channel shuffle. 'torchvision' (ShuffleNetV2, and the paper): view(b, g, c/g, h, w).transpose(1, 2);
 * 'megvii' (their ShuffleNetV1 code): reshape(b, c/g, g, h, w).permute(0, 2, 1, 3, 4). The two orders
 * are inverse permutations of each other; checkpoints are only correct with the order they were trained with.
 */
export function channelShuffle(g: GraphBuilder, x: string, groups: number, order: 'torchvision' | 'megvii'): string {
  const [, c, h, w] = g.shape(x);
  if (typeof c !== 'number' || c % groups !== 0) throw new Error(`channel shuffle: ${c} channels not divisible by ${groups} groups`);
  const split = order === 'torchvision' ? [groups, c / groups] : [c / groups, groups];
  const y = g.transpose(g.reshape(x, [0, ...split, h as number, w as number]), [0, 2, 1, 3, 4]);
  return g.reshape(y, [0, c, h as number, w as number]);
}
