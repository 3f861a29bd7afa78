/** What every zoo network has beyond being a Module: its registry name, options and natural input. */
import { Module } from '../nn/module.js';

export type Stem = 'imagenet' | 'cifar';

export abstract class Network extends Module {
  abstract readonly modelName: string;
  /** Options as given to createModel, for checkpoint records. */
  abstract readonly options: object;
  readonly numClasses: number;
  /** [channels, height, width] the network is designed for (224 ImageNet, 32 with the CIFAR stem). */
  readonly inputSize: [number, number, number];

  constructor(o: { numClasses?: number; stem?: Stem }) {
    super();
    this.numClasses = o.numClasses ?? 1000;
    const size = o.stem === 'cifar' ? 32 : 224;
    this.inputSize = [3, size, size];
  }
}
