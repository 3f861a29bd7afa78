/**
 * ShuffleNetV2 (Ma et al., 2018), Table 5, as torchvision builds it: stage repeats [4, 8, 4] and the
 * output channels of each size; units split channels in half (stride 1) or run two branches (stride 2),
 * concatenate, and shuffle with 2 groups in torchvision's order.
 *
 * CIFAR stem: conv1 has stride 1 and the max-pool is left out (the stem's two downsamplings), so a 32x32
 * input ends at 4x4 like the MobileNets' CIFAR stem.
 */
import type { GraphBuilder } from '../graph/builder.js';
import { channelShuffle } from '../nn/blocks.js';
import { BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { pytorchDefaultInit } from './init.js';
import { Network, type Stem } from './network.js';

export const SHUFFLENET_V2_SIZES = {
  x0_5: [24, 48, 96, 192, 1024],
  x1_0: [24, 116, 232, 464, 1024],
  x1_5: [24, 176, 352, 704, 1024],
  x2_0: [24, 244, 488, 976, 2048],
} as const;
export type ShuffleNetV2Size = keyof typeof SHUFFLENET_V2_SIZES;
const STAGE_REPEATS = [4, 8, 4];

const depthwise = (c: number, stride: number) => new Conv2d(c, c, 3, { stride, padding: 1, groups: c, bias: false });
const pointwise = (i: number, o: number) => new Conv2d(i, o, 1, { bias: false });

export class ShuffleNetV2Unit extends Module {
  readonly branch1: Sequential;
  readonly branch2: Sequential;

  constructor(inp: number, oup: number, readonly stride: number) {
    super();
    if (stride < 1 || stride > 3) throw new Error(`ShuffleNetV2 unit: illegal stride ${stride}`);
    const branch = oup / 2;
    if (stride === 1 && inp !== branch * 2) throw new Error(`ShuffleNetV2 unit: stride 1 needs inp (${inp}) == oup (${oup})`);
    this.branch1 = this.addModule('branch1', stride > 1
      ? new Sequential(depthwise(inp, stride), new BatchNorm2d(inp), pointwise(inp, branch), new BatchNorm2d(branch), new ReLU())
      : new Sequential());
    this.branch2 = this.addModule('branch2', new Sequential(
      pointwise(stride > 1 ? inp : branch, branch), new BatchNorm2d(branch), new ReLU(),
      depthwise(branch, stride), new BatchNorm2d(branch),
      pointwise(branch, branch), new BatchNorm2d(branch), new ReLU(),
    ));
  }

  override get typeName(): string {
    return 'InvertedResidual';
  }

  protected forward(g: GraphBuilder, x: string): string {
    let out: string;
    if (this.stride === 1) {
      // Only the channel count must be known; the batch may be symbolic.
      const c = g.shape(x)[1];
      if (typeof c !== 'number') throw new Error(`ShuffleNetV2 unit: channel count of '${x}' must be known, got '${c}'`);
      const [x1, x2] = g.split(x, 1, [c / 2, c / 2]);
      out = g.concat([x1!, this.branch2.call(g, x2!)], 1);
    } else {
      out = g.concat([this.branch1.call(g, x), this.branch2.call(g, x)], 1);
    }
    return channelShuffle(g, out, 2, 'torchvision');
  }
}

export interface ShuffleNetV2Options {
  numClasses?: number;
  stem?: Stem;
  seed?: number;
}

export class ShuffleNetV2 extends Network {
  readonly modelName: string;
  readonly conv1: Sequential;
  readonly maxpool: MaxPool2d | null;
  readonly stages: Sequential[] = [];
  readonly conv5: Sequential;
  readonly fc: Linear;

  constructor(readonly size: ShuffleNetV2Size, readonly options: ShuffleNetV2Options = {}) {
    super(options);
    const channels = SHUFFLENET_V2_SIZES[size];
    if (!channels) throw new Error(`shufflenet_v2: unknown size '${size}' (expected one of ${Object.keys(SHUFFLENET_V2_SIZES).join(', ')})`);
    this.modelName = `shufflenet_v2_${size}`;
    const cifar = options.stem === 'cifar';
    this.conv1 = this.addModule('conv1', new Sequential(
      new Conv2d(3, channels[0], 3, { stride: cifar ? 1 : 2, padding: 1, bias: false }), new BatchNorm2d(channels[0]), new ReLU(),
    ));
    this.maxpool = cifar ? null : this.addModule('maxpool', new MaxPool2d(3, 2, 1));
    let inp: number = channels[0];
    STAGE_REPEATS.forEach((repeats, i) => {
      const oup = channels[i + 1]!;
      const stage = new Sequential(new ShuffleNetV2Unit(inp, oup, 2));
      for (let r = 1; r < repeats; r++) stage.append(new ShuffleNetV2Unit(oup, oup, 1));
      this.stages.push(this.addModule(`stage${i + 2}`, stage));
      inp = oup;
    });
    const last = channels[4];
    this.conv5 = this.addModule('conv5', new Sequential(pointwise(inp, last), new BatchNorm2d(last), new ReLU()));
    this.fc = this.addModule('fc', new Linear(last, this.numClasses));
    pytorchDefaultInit(this, options.seed ?? 0);
  }

  protected forward(g: GraphBuilder, x: string): string {
    let y = this.conv1.call(g, x);
    if (this.maxpool) y = this.maxpool.call(g, y);
    for (const s of this.stages) y = s.call(g, y);
    y = this.conv5.call(g, y);
    return this.fc.call(g, g.flatten(g.globalAveragePool(y), 1));
  }
}
