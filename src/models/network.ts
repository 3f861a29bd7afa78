/** What every zoo network has beyond being a Module: its registry name, options and natural input. */
import { Module } from '../nn/module.js';

export type Stem = 'imagenet' | 'cifar';

export abstract class Network extends Module {
  abstract readonly modelName: string;
  abstract readonly numClasses: number;
  /** Options as given to createModel, for checkpoint records. */
  abstract readonly options: object;
  /** [channels, height, width] the network is designed for (224 ImageNet, 32 with the CIFAR stem). */
  abstract readonly inputSize: [number, number, number];
}
