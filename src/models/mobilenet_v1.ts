/**
 * MobileNetV1 (Howard et al., 2017), Table 1, with ReLU6 (the TF-slim/Keras convention) and
 * torchvision-style names: features.0 is the stem, features.1-13 are depthwise-separable blocks
 * Sequential(dw, pw), each a Conv-BN-ReLU6; then global average pooling and Sequential(Dropout, Linear).
 */
import type { GraphBuilder } from '../graph/builder.js';
import { ConvNormActivation, makeDivisible } from '../nn/blocks.js';
import { Dropout, Linear, ReLU6, Sequential } from '../nn/layers.js';
import { torchvisionMobileNetInit } from './init.js';
import { Network, type Stem } from './network.js';
import { applyCifarStem } from './stem.js';

/** Depthwise-separable layers of Table 1: pointwise output channels and depthwise stride. */
export const MOBILENET_V1_SETTING: [c: number, s: number][] = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1],
  [1024, 2],
  [1024, 1],
];

/** Depthwise 3x3 conv then pointwise 1x1 conv, each followed by BatchNorm and ReLU6. */
export class DepthwiseSeparable extends Sequential {
  constructor(inp: number, oup: number, stride: number) {
    const relu6 = () => new ReLU6();
    super(
      new ConvNormActivation(inp, inp, 3, { stride, groups: inp, activation: relu6 }),
      new ConvNormActivation(inp, oup, 1, { activation: relu6 }),
    );
  }

  override get typeName(): string {
    return 'DepthwiseSeparable';
  }
}

export interface MobileNetV1Options {
  numClasses?: number;
  widthMult?: number;
  dropout?: number;
  stem?: Stem;
  seed?: number;
}

export class MobileNetV1 extends Network {
  readonly modelName = 'mobilenet_v1';
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(readonly options: MobileNetV1Options = {}) {
    super(options);
    const widthMult = options.widthMult ?? 1.0;
    if (!(widthMult > 0)) throw new Error(`mobilenet_v1: widthMult must be > 0, got ${widthMult}`);
    const stem = options.stem ?? 'imagenet';
    const strides = applyCifarStem(stem, 2, MOBILENET_V1_SETTING.map(([, s]) => s));
    let channels = makeDivisible(32 * widthMult);
    const features = new Sequential(new ConvNormActivation(3, channels, 3, { stride: strides.stem, activation: () => new ReLU6() }));
    MOBILENET_V1_SETTING.forEach(([c], i) => {
      const out = makeDivisible(c * widthMult);
      features.append(new DepthwiseSeparable(channels, out, strides.stages[i]!));
      channels = out;
    });
    this.features = this.addModule('features', features);
    this.classifier = this.addModule('classifier', new Sequential(new Dropout(options.dropout ?? 0.2), new Linear(channels, this.numClasses)));
    torchvisionMobileNetInit(this, options.seed ?? 0);
  }

  protected forward(g: GraphBuilder, x: string): string {
    return this.classifier.call(g, g.flatten(g.globalAveragePool(this.features.call(g, x)), 1));
  }
}
