/**
 * MobileNetV2 (Sandler et al., 2018), as torchvision.models.mobilenet_v2 builds it.
 * The table is the paper's Table 2: expansion t, output channels c, repeats n, first stride s.
 */
import type { GraphBuilder } from '../graph/builder.js';
import { ConvNormActivation, makeDivisible } from '../nn/blocks.js';
import { BatchNorm2d, Conv2d, Dropout, Linear, ReLU6, Sequential } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { torchvisionMobileNetInit } from './init.js';
import { Network, type Stem } from './network.js';
import { applyCifarStem } from './stem.js';

export type InvertedResidualRow = [t: number, c: number, n: number, s: number];

export const MOBILENET_V2_SETTING: InvertedResidualRow[] = [
  // t, c, n, s
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

export class InvertedResidual extends Module {
  readonly useResConnect: boolean;
  readonly conv: Sequential;

  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2) throw new Error(`InvertedResidual: stride must be 1 or 2, got ${stride}`);
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const relu6 = () => new ReLU6();
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(new ConvNormActivation(inp, hidden, 1, { activation: relu6 }));
    layers.push(
      new ConvNormActivation(hidden, hidden, 3, { stride, groups: hidden, activation: relu6 }),
      new Conv2d(hidden, oup, 1, { bias: false }),
      new BatchNorm2d(oup),
    );
    this.conv = this.addModule('conv', new Sequential(...layers));
  }

  protected forward(g: GraphBuilder, x: string): string {
    const y = this.conv.call(g, x);
    return this.useResConnect ? g.add(x, y) : y;
  }
}

export interface MobileNetV2Options {
  numClasses?: number;
  widthMult?: number;
  invertedResidualSetting?: InvertedResidualRow[];
  roundNearest?: number;
  dropout?: number;
  stem?: Stem;
  seed?: number;
}

export class MobileNetV2 extends Network {
  readonly modelName = 'mobilenet_v2';
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(readonly options: MobileNetV2Options = {}) {
    super(options);
    const widthMult = options.widthMult ?? 1.0;
    const roundNearest = options.roundNearest ?? 8;
    if (!(widthMult > 0)) throw new Error(`mobilenet_v2: widthMult must be > 0, got ${widthMult}`);
    if (!Number.isInteger(roundNearest) || roundNearest < 1) throw new Error(`mobilenet_v2: roundNearest must be a positive integer, got ${roundNearest}`);
    const setting = options.invertedResidualSetting ?? MOBILENET_V2_SETTING;
    validateSetting(setting);
    const stem = options.stem ?? 'imagenet';

    let inputChannel = makeDivisible(32 * widthMult, roundNearest);
    const lastChannel = makeDivisible(1280 * Math.max(1.0, widthMult), roundNearest);
    const strides = applyCifarStem(stem, 2, setting.map((r) => r[3]));
    const relu6 = () => new ReLU6();
    const features: Module[] = [new ConvNormActivation(3, inputChannel, 3, { stride: strides.stem, activation: relu6 })];
    setting.forEach(([t, c, n], row) => {
      const outputChannel = makeDivisible(c * widthMult, roundNearest);
      for (let i = 0; i < n; i++) {
        features.push(new InvertedResidual(inputChannel, outputChannel, i === 0 ? strides.stages[row]! : 1, t));
        inputChannel = outputChannel;
      }
    });
    features.push(new ConvNormActivation(inputChannel, lastChannel, 1, { activation: relu6 }));
    this.features = this.addModule('features', new Sequential(...features));
    this.classifier = this.addModule('classifier', new Sequential(new Dropout(options.dropout ?? 0.2), new Linear(lastChannel, this.numClasses)));
    torchvisionMobileNetInit(this, options.seed ?? 0);
  }

  protected forward(g: GraphBuilder, x: string): string {
    const y = g.flatten(g.globalAveragePool(this.features.call(g, x)), 1);
    return this.classifier.call(g, y);
  }
}

function validateSetting(setting: InvertedResidualRow[]): void {
  if (!Array.isArray(setting) || setting.length === 0 || setting.some((r) => !Array.isArray(r) || r.length !== 4)) {
    throw new Error(`invertedResidualSetting should be non-empty or a 4-element list, got ${JSON.stringify(setting)}`);
  }
  setting.forEach((r, i) => {
    if (!r.every((v) => Number.isFinite(v) && v > 0) || !Number.isInteger(r[1]) || !Number.isInteger(r[2]) || (r[3] !== 1 && r[3] !== 2)) {
      throw new Error(`invertedResidualSetting row ${i} [${r.join(', ')}]: expected [t > 0, c > 0 integer, n > 0 integer, s in {1, 2}]`);
    }
  });
}
