/**
 * MobileNetV3 Large and Small (Howard et al., 2019), exactly as torchvision builds them: the tables
 * are the paper's Tables 1 and 2 (kernel, expansion, output channels, SE, activation, stride), with
 * torchvision's options reducedTail (halve the last stage) and dilated (dilation 2 in the last stage).
 *
 * This is not the simplified "MobileNetV3" that circulates in CIFAR tutorials (which uses a ResNet-like
 * shortcut on every block, SE with a different squeeze rule and a different head); its state_dict keys
 * and numbers match torchvision's, so torchvision checkpoints load.
 */
import type { GraphBuilder } from '../graph/builder.js';
import { type ActivationFactory, ConvNormActivation, SqueezeExcitation, makeDivisible } from '../nn/blocks.js';
import { AdaptiveAvgPool2d, Dropout, Hardswish, Linear, ReLU, Sequential } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { torchvisionMobileNetInit } from './init.js';
import { Network, type Stem } from './network.js';
import { applyCifarStem } from './stem.js';

/** One bneck row: input channels, kernel, expanded channels, output channels, SE, activation, stride, dilation. */
export interface BneckConfig {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  useSe: boolean;
  activation: 'RE' | 'HS';
  stride: number;
  dilation: number;
}

type Row = [inp: number, k: number, exp: number, out: number, se: boolean, act: 'RE' | 'HS', s: number, d: number];

function bneckTable(arch: 'large' | 'small', reducedTail: boolean, dilated: boolean): { rows: Row[]; lastChannel: number } {
  const r = reducedTail ? 2 : 1;
  const d = dilated ? 2 : 1;
  if (arch === 'large') {
    return {
      rows: [
        [16, 3, 16, 16, false, 'RE', 1, 1],
        [16, 3, 64, 24, false, 'RE', 2, 1], // C1
        [24, 3, 72, 24, false, 'RE', 1, 1],
        [24, 5, 72, 40, true, 'RE', 2, 1], // C2
        [40, 5, 120, 40, true, 'RE', 1, 1],
        [40, 5, 120, 40, true, 'RE', 1, 1],
        [40, 3, 240, 80, false, 'HS', 2, 1], // C3
        [80, 3, 200, 80, false, 'HS', 1, 1],
        [80, 3, 184, 80, false, 'HS', 1, 1],
        [80, 3, 184, 80, false, 'HS', 1, 1],
        [80, 3, 480, 112, true, 'HS', 1, 1],
        [112, 3, 672, 112, true, 'HS', 1, 1],
        [112, 5, 672, 160 / r, true, 'HS', 2, d], // C4
        [160 / r, 5, 960 / r, 160 / r, true, 'HS', 1, d],
        [160 / r, 5, 960 / r, 160 / r, true, 'HS', 1, d],
      ],
      lastChannel: 1280 / r, // C5
    };
  }
  return {
    rows: [
      [16, 3, 16, 16, true, 'RE', 2, 1], // C1
      [16, 3, 72, 24, false, 'RE', 2, 1], // C2
      [24, 3, 88, 24, false, 'RE', 1, 1],
      [24, 5, 96, 40, true, 'HS', 2, 1], // C3
      [40, 5, 240, 40, true, 'HS', 1, 1],
      [40, 5, 240, 40, true, 'HS', 1, 1],
      [40, 5, 120, 48, true, 'HS', 1, 1],
      [48, 5, 144, 48, true, 'HS', 1, 1],
      [48, 5, 288, 96 / r, true, 'HS', 2, d], // C4
      [96 / r, 5, 576 / r, 96 / r, true, 'HS', 1, d],
      [96 / r, 5, 576 / r, 96 / r, true, 'HS', 1, d],
    ],
    lastChannel: 1024 / r, // C5
  };
}

const NORM = { eps: 0.001, momentum: 0.01 };

export class MobileNetV3Block extends Module {
  readonly useResConnect: boolean;
  readonly block: Sequential;

  constructor(c: BneckConfig) {
    super();
    if (c.stride !== 1 && c.stride !== 2) throw new Error(`MobileNetV3 block: illegal stride ${c.stride}`);
    this.useResConnect = c.stride === 1 && c.inputChannels === c.outChannels;
    const act: ActivationFactory = c.activation === 'HS' ? () => new Hardswish() : () => new ReLU();
    const layers: Module[] = [];
    if (c.expandedChannels !== c.inputChannels) {
      layers.push(new ConvNormActivation(c.inputChannels, c.expandedChannels, 1, { norm: NORM, activation: act }));
    }
    layers.push(new ConvNormActivation(c.expandedChannels, c.expandedChannels, c.kernel, {
      stride: c.dilation > 1 ? 1 : c.stride, dilation: c.dilation, groups: c.expandedChannels, norm: NORM, activation: act,
    }));
    if (c.useSe) layers.push(new SqueezeExcitation(c.expandedChannels, makeDivisible(Math.floor(c.expandedChannels / 4), 8), 'hardsigmoid'));
    layers.push(new ConvNormActivation(c.expandedChannels, c.outChannels, 1, { norm: NORM, activation: null }));
    this.block = this.addModule('block', new Sequential(...layers));
  }

  override get typeName(): string {
    return 'InvertedResidual';
  }

  protected forward(g: GraphBuilder, x: string): string {
    const y = this.block.call(g, x);
    return this.useResConnect ? g.add(y, x) : y;
  }
}

export interface MobileNetV3Options {
  numClasses?: number;
  widthMult?: number;
  reducedTail?: boolean;
  dilated?: boolean;
  dropout?: number;
  stem?: Stem;
  seed?: number;
}

export class MobileNetV3 extends Network {
  readonly modelName: string;
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(readonly arch: 'large' | 'small', readonly options: MobileNetV3Options = {}) {
    super(options);
    this.modelName = `mobilenet_v3_${arch}`;
    const widthMult = options.widthMult ?? 1.0;
    if (!(widthMult > 0)) throw new Error(`${this.modelName}: widthMult must be > 0, got ${widthMult}`);
    const stem = options.stem ?? 'imagenet';
    const adjust = (c: number) => makeDivisible(c * widthMult, 8);
    const { rows, lastChannel } = bneckTable(arch, options.reducedTail ?? false, options.dilated ?? false);
    const strides = applyCifarStem(stem, 2, rows.map((r) => r[6]));
    const configs: BneckConfig[] = rows.map(([inp, kernel, exp, out, useSe, activation, , dilation], i) => ({
      inputChannels: adjust(inp), kernel, expandedChannels: adjust(exp), outChannels: adjust(out),
      useSe, activation, stride: strides.stages[i]!, dilation,
    }));
    const hs = () => new Hardswish();
    const features = new Sequential(new ConvNormActivation(3, configs[0]!.inputChannels, 3, { stride: strides.stem, norm: NORM, activation: hs }));
    for (const c of configs) features.append(new MobileNetV3Block(c));
    const lastIn = configs[configs.length - 1]!.outChannels;
    features.append(new ConvNormActivation(lastIn, 6 * lastIn, 1, { norm: NORM, activation: hs }));
    this.features = this.addModule('features', features);
    this.avgpool = this.addModule('avgpool', new AdaptiveAvgPool2d(1));
    const last = adjust(lastChannel);
    this.classifier = this.addModule('classifier', new Sequential(
      new Linear(6 * lastIn, last), new Hardswish(), new Dropout(options.dropout ?? 0.2), new Linear(last, this.numClasses),
    ));
    torchvisionMobileNetInit(this, options.seed ?? 0);
  }

  protected forward(g: GraphBuilder, x: string): string {
    return this.classifier.call(g, g.flatten(this.avgpool.call(g, this.features.call(g, x)), 1));
  }
}
