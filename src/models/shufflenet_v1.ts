/**
 * ShuffleNetV1 (Zhang et al., 2018) exactly as megvii's ShuffleNet-Series code builds it, so their
 * checkpoints load: stage repeats [4, 8, 4]; each unit is pointwise group conv → BN → ReLU → depthwise
 * 3x3 → BN → channel shuffle (megvii's order, after the depthwise conv) → pointwise group conv → BN;
 * stride-1 units add the input then ReLU, stride-2 units concatenate a 3x3 average-pooled shortcut.
 * The first unit of stage 2 does not group its first pointwise conv. The classifier has no bias.
 *
 * Channels: megvii's tables for groups 3 and 8 at 0.5x-2.0x; otherwise the paper's Table 1 channels
 * for 1.0x times the size, rounded to a multiple of 4·groups (so the bottleneck, a quarter of the
 * output, divides into groups), with the paper's 24-channel stem.
 *
 * CIFAR stem: first_conv has stride 1 and the max-pool is left out. The head is global average
 * pooling, which is megvii's AvgPool2d(7) at 224x224 and works at any input size.
 */
import type { GraphBuilder } from '../graph/builder.js';
import { channelShuffle } from '../nn/blocks.js';
import { AvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU, Sequential } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { megviiShuffleNetInit } from './init.js';
import { Network, type Stem } from './network.js';

export const SHUFFLENET_V1_GROUPS = [1, 2, 3, 4, 8] as const;
export const SHUFFLENET_V1_SIZES = ['0.25x', '0.5x', '1.0x', '1.5x', '2.0x'] as const;
export type ShuffleNetV1Groups = (typeof SHUFFLENET_V1_GROUPS)[number];
export type ShuffleNetV1Size = (typeof SHUFFLENET_V1_SIZES)[number];

/** megvii's stage_out_channels: [stem, stage2, stage3, stage4]. */
const MEGVII_CHANNELS: Partial<Record<ShuffleNetV1Groups, Partial<Record<ShuffleNetV1Size, number[]>>>> = {
  3: { '0.5x': [12, 120, 240, 480], '1.0x': [24, 240, 480, 960], '1.5x': [24, 360, 720, 1440], '2.0x': [48, 480, 960, 1920] },
  8: { '0.5x': [16, 192, 384, 768], '1.0x': [24, 384, 768, 1536], '1.5x': [24, 576, 1152, 2304], '2.0x': [48, 768, 1536, 3072] },
};

/** Paper Table 1, 1x: output channels of stages 2-4 per group count. */
const PAPER_CHANNELS: Record<ShuffleNetV1Groups, number[]> = {
  1: [144, 288, 576], 2: [200, 400, 800], 3: [240, 480, 960], 4: [272, 544, 1088], 8: [384, 768, 1536],
};

const STAGE_REPEATS = [4, 8, 4];

export function shuffleNetV1Channels(groups: ShuffleNetV1Groups, size: ShuffleNetV1Size): number[] {
  const megvii = MEGVII_CHANNELS[groups]?.[size];
  if (megvii) return megvii;
  const scale = Number.parseFloat(size);
  const q = 4 * groups;
  return [24, ...PAPER_CHANNELS[groups].map((c) => Math.max(q, Math.round((c * scale) / q) * q))];
}

export class ShuffleV1Block extends Module {
  readonly branchMain1: Sequential;
  readonly branchMain2: Sequential;
  readonly branchProj: AvgPool2d | null;

  constructor(inp: number, oup: number, readonly group: number, firstGroup: boolean, midChannels: number, readonly stride: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new Error(`ShuffleV1Block: stride must be 1 or 2, got ${stride}`);
    const outputs = stride === 2 ? oup - inp : oup;
    this.branchMain1 = this.addModule('branch_main_1', new Sequential(
      new Conv2d(inp, midChannels, 1, { groups: firstGroup ? 1 : group, bias: false }), new BatchNorm2d(midChannels), new ReLU(),
      new Conv2d(midChannels, midChannels, 3, { stride, padding: 1, groups: midChannels, bias: false }), new BatchNorm2d(midChannels),
    ));
    this.branchMain2 = this.addModule('branch_main_2', new Sequential(
      new Conv2d(midChannels, outputs, 1, { groups: group, bias: false }), new BatchNorm2d(outputs),
    ));
    this.branchProj = stride === 2 ? this.addModule('branch_proj', new AvgPool2d(3, 2, 1)) : null;
  }

  protected forward(g: GraphBuilder, x: string): string {
    let y = this.branchMain1.call(g, x);
    if (this.group > 1) y = channelShuffle(g, y, this.group, 'megvii');
    y = this.branchMain2.call(g, y);
    if (this.branchProj) return g.concat([this.branchProj.call(g, x), g.relu(y)], 1);
    return g.relu(g.add(y, x));
  }
}

export interface ShuffleNetV1Options {
  groups?: ShuffleNetV1Groups;
  size?: ShuffleNetV1Size;
  numClasses?: number;
  stem?: Stem;
  seed?: number;
}

export class ShuffleNetV1 extends Network {
  readonly modelName = 'shufflenet_v1';
  readonly firstConv: Sequential;
  readonly maxpool: MaxPool2d | null;
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(readonly options: ShuffleNetV1Options = {}) {
    super(options);
    const groups = options.groups ?? 3;
    const size = options.size ?? '1.0x';
    if (!SHUFFLENET_V1_GROUPS.includes(groups)) throw new Error(`shufflenet_v1: groups must be one of ${SHUFFLENET_V1_GROUPS.join(', ')}, got ${groups}`);
    if (!SHUFFLENET_V1_SIZES.includes(size)) throw new Error(`shufflenet_v1: size must be one of ${SHUFFLENET_V1_SIZES.join(', ')}, got ${size}`);
    const cifar = options.stem === 'cifar';
    const [stem, ...stages] = shuffleNetV1Channels(groups, size) as [number, ...number[]];
    const first = new Conv2d(3, stem, 3, { stride: cifar ? 1 : 2, padding: 1, bias: false });
    this.firstConv = this.addModule('first_conv', new Sequential(first, new BatchNorm2d(stem), new ReLU()));
    this.maxpool = cifar ? null : this.addModule('maxpool', new MaxPool2d(3, 2, 1));
    const features = new Sequential();
    let inp = stem;
    STAGE_REPEATS.forEach((repeats, s) => {
      const oup = stages[s]!;
      for (let i = 0; i < repeats; i++) {
        features.append(new ShuffleV1Block(inp, oup, groups, s === 0 && i === 0, oup / 4, i === 0 ? 2 : 1));
        inp = oup;
      }
    });
    this.features = this.addModule('features', features);
    this.classifier = this.addModule('classifier', new Sequential(new Linear(inp, this.numClasses, false)));
    megviiShuffleNetInit(this, options.seed ?? 0, first);
  }

  protected forward(g: GraphBuilder, x: string): string {
    let y = this.firstConv.call(g, x);
    if (this.maxpool) y = this.maxpool.call(g, y);
    y = this.features.call(g, y);
    return this.classifier.call(g, g.flatten(g.globalAveragePool(y), 1));
  }
}
