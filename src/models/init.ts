/** The weight initialisations of the reference implementations, seeded. */
import { BatchNorm2d, Conv2d, Linear } from '../nn/layers.js';
import { Rng, constant, kaimingNormalFanOut, normal, uniform } from '../nn/init.js';
import type { Module } from '../nn/module.js';

/** torchvision MobileNetV2/V3: conv kaiming_normal(fan_out), BN (1, 0), linear N(0, 0.01), biases 0. */
export function torchvisionMobileNetInit(model: Module, seed: number): void {
  const rng = new Rng(seed);
  for (const [, m] of model.modules()) {
    if (m instanceof Conv2d) {
      m.parameters.set('weight', kaimingNormalFanOut(rng, [...m.parameters.get('weight')!.shape]));
      if (m.parameters.has('bias')) m.parameters.set('bias', constant([m.outChannels], 0));
    } else if (m instanceof BatchNorm2d && m.parameters.has('weight')) {
      m.parameters.set('weight', constant([m.numFeatures], 1));
      m.parameters.set('bias', constant([m.numFeatures], 0));
    } else if (m instanceof Linear) {
      m.parameters.set('weight', normal(rng, [m.outFeatures, m.inFeatures], 0.01));
      if (m.parameters.has('bias')) m.parameters.set('bias', constant([m.outFeatures], 0));
    }
  }
}

/**
 * PyTorch's layer defaults (what torchvision's ShuffleNetV2 keeps): U(±1/sqrt(fan_in)) for conv and
 * linear weights and biases, BN (1, 0). Re-drawn from the seed so models are reproducible.
 */
export function pytorchDefaultInit(model: Module, seed: number): void {
  const rng = new Rng(seed);
  for (const [, m] of model.modules()) {
    for (const [name, t] of m.parameters) {
      if (m instanceof BatchNorm2d) continue;
      const w = m.parameters.get('weight')!;
      const fanIn = w.shape.slice(1).reduce((a, b) => a * b, 1);
      const bound = 1 / Math.sqrt(fanIn);
      m.parameters.set(name, uniform(rng, [...t.shape], bound));
    }
  }
}

/**
 * megvii ShuffleNetV1's _initialize_weights: the first conv N(0, 0.01), other convs N(0, 1/in_channels),
 * BN weight 1, bias 1e-4, linear N(0, 0.01), bias 0.
 */
export function megviiShuffleNetInit(model: Module, seed: number, firstConv: Conv2d): void {
  const rng = new Rng(seed);
  for (const [, m] of model.modules()) {
    if (m instanceof Conv2d) {
      const shape = [...m.parameters.get('weight')!.shape];
      m.parameters.set('weight', normal(rng, shape, m === firstConv ? 0.01 : 1 / shape[1]!));
      if (m.parameters.has('bias')) m.parameters.set('bias', constant([m.outChannels], 0));
    } else if (m instanceof BatchNorm2d && m.parameters.has('weight')) {
      m.parameters.set('weight', constant([m.numFeatures], 1));
      m.parameters.set('bias', constant([m.numFeatures], 1e-4));
    } else if (m instanceof Linear) {
      m.parameters.set('weight', normal(rng, [m.outFeatures, m.inFeatures], 0.01));
      if (m.parameters.has('bias')) m.parameters.set('bias', constant([m.outFeatures], 0));
    }
  }
}
