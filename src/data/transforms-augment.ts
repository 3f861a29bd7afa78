/**
 * torchvision 0.14's training augmentations, as its PIL path computes them: RandomResizedCrop's box
 * sampling, ColorJitter, and the ops, magnitudes and policies of AutoAugment, RandAugment and
 * TrivialAugmentWide (torchvision/transforms/autoaugment.py). The image operations themselves are in
 * transforms-pil.ts; random draws come from the transform's seeded generator (Rng), so the sampled
 * parameters follow torchvision's distributions, not its random stream. No Node dependencies.
 */
import type { Rng } from './random.js';
import {
  adjustBrightness, adjustContrast, adjustHue, adjustSaturation, adjustSharpness, affineNearest, autocontrast, equalize,
  inverseAffineMatrix, invert, posterize, rotateNearest, solarize,
} from './transforms-pil.js';
import type { Image } from './transforms.js';

export const AUGMENT_OPS = [
  'Identity', 'ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness', 'Color', 'Contrast', 'Sharpness',
  'Posterize', 'Solarize', 'AutoContrast', 'Equalize', 'Invert',
] as const;
export type AugmentOp = (typeof AUGMENT_OPS)[number];

export const AUTO_AUGMENT_POLICIES = ['imagenet', 'cifar10', 'svhn'] as const;
export type AutoAugmentPolicy = (typeof AUTO_AUGMENT_POLICIES)[number];

/** torchvision's _apply_op on a PIL image, with NEAREST interpolation and `fill` outside the image. */
export function applyAugmentOp(img: Image, op: AugmentOp, magnitude: number, fill = 0): Image {
  const degrees = (x: number) => x * (180 / Math.PI);
  const center: [number, number] = [img.width * 0.5, img.height * 0.5];
  switch (op) {
    case 'ShearX':
      return affineNearest(img, inverseAffineMatrix([0, 0], 0, [0, 0], 1, [degrees(Math.atan(magnitude)), 0]), fill);
    case 'ShearY':
      return affineNearest(img, inverseAffineMatrix([0, 0], 0, [0, 0], 1, [0, degrees(Math.atan(magnitude))]), fill);
    case 'TranslateX':
      return affineNearest(img, inverseAffineMatrix(center, 0, [Math.trunc(magnitude), 0], 1, [0, 0]), fill);
    case 'TranslateY':
      return affineNearest(img, inverseAffineMatrix(center, 0, [0, Math.trunc(magnitude)], 1, [0, 0]), fill);
    case 'Rotate':
      return rotateNearest(img, magnitude, fill);
    case 'Brightness':
      return adjustBrightness(img, 1.0 + magnitude);
    case 'Color':
      return adjustSaturation(img, 1.0 + magnitude);
    case 'Contrast':
      return adjustContrast(img, 1.0 + magnitude);
    case 'Sharpness':
      return adjustSharpness(img, 1.0 + magnitude);
    case 'Posterize':
      return posterize(img, Math.trunc(magnitude));
    case 'Solarize':
      return solarize(img, magnitude);
    case 'AutoContrast':
      return autocontrast(img);
    case 'Equalize':
      return equalize(img);
    case 'Invert':
      return invert(img);
    case 'Identity':
      return img;
  }
}

/**
 * torch.linspace in float32, as PyTorch 1.13's AVX2 CPU kernel computes it (torchvision's magnitude
 * tables are float32 tensors, and an op receives the float32 value): the step from the float32 ends;
 * element i is start + step·i for the first half and end − step·(steps − 1 − i) for the second, each
 * one fused multiply-add (a single rounding); the first multiple of 16 elements go through the 8-wide
 * vector path, where element base + k is the scalar value at base plus k·step in two roundings.
 */
export function linspace32(start: number, end: number, steps: number): number[] {
  const f = Math.fround;
  const [s, e] = [f(start), f(end)];
  if (steps === 1) return [s];
  const step = f(f(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  // step·i is exact in double (a 24-bit mantissa times a small integer): one rounding, as an FMA.
  const scalar = (i: number) => (i < half ? f(step * i + s) : f(e - step * (steps - 1 - i)));
  const vectorized = Math.floor(steps / 16) * 16;
  return Array.from({ length: steps }, (_, i) => {
    if (i >= vectorized) return scalar(i);
    const base = i - (i % 8);
    return f(scalar(base) + f((i - base) * step));
  });
}

/** 8 − round(i / ((bins − 1) / k)) in float32 with round half to even: torchvision's Posterize bits. */
function posterizeBits(bins: number, k: number): number[] {
  const q = Math.fround((bins - 1) / k);
  return Array.from({ length: bins }, (_, i) => {
    const v = Math.fround(i / q);
    const r = Math.round(v);
    return 8 - (Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r);
  });
}

export interface OpMagnitudes {
  /** One value per bin; [0] for ops without a magnitude. */
  magnitudes: number[];
  /** A random sign is drawn for the magnitude. */
  signed: boolean;
}

export type AugmentSpace = 'autoAugment' | 'randAugment' | 'trivialAugmentWide';

/** torchvision's _augmentation_space of each augmentation, in its op order (which RandAugment's and TrivialAugmentWide's draws index). */
export function augmentationSpace(kind: AugmentSpace, bins: number, size: { height: number; width: number }): Map<AugmentOp, OpMagnitudes> {
  const signed = (magnitudes: number[]): OpMagnitudes => ({ magnitudes, signed: true });
  const none: OpMagnitudes = { magnitudes: [0], signed: false };
  const wide = kind === 'trivialAugmentWide';
  const m = new Map<AugmentOp, OpMagnitudes>();
  if (kind !== 'autoAugment') m.set('Identity', none);
  m.set('ShearX', signed(linspace32(0, wide ? 0.99 : 0.3, bins)));
  m.set('ShearY', signed(linspace32(0, wide ? 0.99 : 0.3, bins)));
  m.set('TranslateX', signed(linspace32(0, wide ? 32.0 : (150.0 / 331.0) * size.width, bins)));
  m.set('TranslateY', signed(linspace32(0, wide ? 32.0 : (150.0 / 331.0) * size.height, bins)));
  m.set('Rotate', signed(linspace32(0, wide ? 135.0 : 30.0, bins)));
  for (const op of ['Brightness', 'Color', 'Contrast', 'Sharpness'] as const) m.set(op, signed(linspace32(0, wide ? 0.99 : 0.9, bins)));
  m.set('Posterize', { magnitudes: posterizeBits(bins, wide ? 6 : 4), signed: false });
  m.set('Solarize', { magnitudes: linspace32(255.0, 0.0, bins), signed: false });
  m.set('AutoContrast', none);
  m.set('Equalize', none);
  if (kind === 'autoAugment') m.set('Invert', none);
  return m;
}

type PolicyOp = [AugmentOp, number, number | null];

/** AutoAugment's learned policies (torchvision's _get_policies): pairs of (op, probability, magnitude bin). */
export const AUTO_AUGMENT: Record<AutoAugmentPolicy, [PolicyOp, PolicyOp][]> = {
  imagenet: [
    [['Posterize', 0.4, 8], ['Rotate', 0.6, 9]], [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
    [['Equalize', 0.8, null], ['Equalize', 0.6, null]], [['Posterize', 0.6, 7], ['Posterize', 0.6, 6]],
    [['Equalize', 0.4, null], ['Solarize', 0.2, 4]], [['Equalize', 0.4, null], ['Rotate', 0.8, 8]],
    [['Solarize', 0.6, 3], ['Equalize', 0.6, null]], [['Posterize', 0.8, 5], ['Equalize', 1.0, null]],
    [['Rotate', 0.2, 3], ['Solarize', 0.6, 8]], [['Equalize', 0.6, null], ['Posterize', 0.4, 6]],
    [['Rotate', 0.8, 8], ['Color', 0.4, 0]], [['Rotate', 0.4, 9], ['Equalize', 0.6, null]],
    [['Equalize', 0.0, null], ['Equalize', 0.8, null]], [['Invert', 0.6, null], ['Equalize', 1.0, null]],
    [['Color', 0.6, 4], ['Contrast', 1.0, 8]], [['Rotate', 0.8, 8], ['Color', 1.0, 2]],
    [['Color', 0.8, 8], ['Solarize', 0.8, 7]], [['Sharpness', 0.4, 7], ['Invert', 0.6, null]],
    [['ShearX', 0.6, 5], ['Equalize', 1.0, null]], [['Color', 0.4, 0], ['Equalize', 0.6, null]],
    [['Equalize', 0.4, null], ['Solarize', 0.2, 4]], [['Solarize', 0.6, 5], ['AutoContrast', 0.6, null]],
    [['Invert', 0.6, null], ['Equalize', 1.0, null]], [['Color', 0.6, 4], ['Contrast', 1.0, 8]],
    [['Equalize', 0.8, null], ['Equalize', 0.6, null]],
  ],
  cifar10: [
    [['Invert', 0.1, null], ['Contrast', 0.2, 6]], [['Rotate', 0.7, 2], ['TranslateX', 0.3, 9]],
    [['Sharpness', 0.8, 1], ['Sharpness', 0.9, 3]], [['ShearY', 0.5, 8], ['TranslateY', 0.7, 9]],
    [['AutoContrast', 0.5, null], ['Equalize', 0.9, null]], [['ShearY', 0.2, 7], ['Posterize', 0.3, 7]],
    [['Color', 0.4, 3], ['Brightness', 0.6, 7]], [['Sharpness', 0.3, 9], ['Brightness', 0.7, 9]],
    [['Equalize', 0.6, null], ['Equalize', 0.5, null]], [['Contrast', 0.6, 7], ['Sharpness', 0.6, 5]],
    [['Color', 0.7, 7], ['TranslateX', 0.5, 8]], [['Equalize', 0.3, null], ['AutoContrast', 0.4, null]],
    [['TranslateY', 0.4, 3], ['Sharpness', 0.2, 6]], [['Brightness', 0.9, 6], ['Color', 0.2, 8]],
    [['Solarize', 0.5, 2], ['Invert', 0.0, null]], [['Equalize', 0.2, null], ['AutoContrast', 0.6, null]],
    [['Equalize', 0.2, null], ['Equalize', 0.6, null]], [['Color', 0.9, 9], ['Equalize', 0.6, null]],
    [['AutoContrast', 0.8, null], ['Solarize', 0.2, 8]], [['Brightness', 0.1, 3], ['Color', 0.7, 0]],
    [['Solarize', 0.4, 5], ['AutoContrast', 0.9, null]], [['TranslateY', 0.9, 9], ['TranslateY', 0.7, 9]],
    [['AutoContrast', 0.9, null], ['Solarize', 0.8, 3]], [['Equalize', 0.8, null], ['Invert', 0.1, null]],
    [['TranslateY', 0.7, 9], ['AutoContrast', 0.9, null]],
  ],
  svhn: [
    [['ShearX', 0.9, 4], ['Invert', 0.2, null]], [['ShearY', 0.9, 8], ['Invert', 0.7, null]],
    [['Equalize', 0.6, null], ['Solarize', 0.6, 6]], [['Invert', 0.9, null], ['Equalize', 0.6, null]],
    [['Equalize', 0.6, null], ['Rotate', 0.9, 3]], [['ShearX', 0.9, 4], ['AutoContrast', 0.8, null]],
    [['ShearY', 0.9, 8], ['Invert', 0.4, null]], [['ShearY', 0.9, 5], ['Solarize', 0.2, 6]],
    [['Invert', 0.9, null], ['AutoContrast', 0.8, null]], [['Equalize', 0.6, null], ['Rotate', 0.9, 3]],
    [['ShearX', 0.9, 4], ['Solarize', 0.3, 3]], [['ShearY', 0.8, 8], ['Invert', 0.7, null]],
    [['Equalize', 0.9, null], ['TranslateY', 0.6, 6]], [['Invert', 0.9, null], ['Equalize', 0.6, null]],
    [['Contrast', 0.3, 3], ['Rotate', 0.8, 4]], [['Invert', 0.8, null], ['TranslateY', 0.0, 2]],
    [['ShearY', 0.7, 6], ['Solarize', 0.4, 8]], [['Invert', 0.6, null], ['Rotate', 0.8, 4]],
    [['ShearY', 0.3, 7], ['TranslateX', 0.9, 3]], [['ShearX', 0.1, 6], ['Invert', 0.6, null]],
    [['Solarize', 0.7, 2], ['TranslateY', 0.6, 7]], [['ShearY', 0.8, 4], ['Invert', 0.8, null]],
    [['ShearX', 0.7, 9], ['TranslateY', 0.8, 3]], [['ShearY', 0.8, 5], ['AutoContrast', 0.7, null]],
    [['ShearX', 0.7, 2], ['Invert', 0.1, null]],
  ],
};

/** One op with the magnitude it is applied with. */
export interface SampledOp {
  op: AugmentOp;
  magnitude: number;
}

const signOf = (rng: Rng) => (rng.int(2) === 0 ? -1 : 1);

/** AutoAugment.forward's draws: a policy, then each of its two ops with its probability (sign drawn for signed ops). */
export function sampleAutoAugment(policy: AutoAugmentPolicy, size: { height: number; width: number }, rng: Rng): SampledOp[] {
  const policies = AUTO_AUGMENT[policy];
  const chosen = policies[rng.int(policies.length)]!;
  const draws = [rng.random(), rng.random()];
  const signs = [signOf(rng), signOf(rng)];
  const space = augmentationSpace('autoAugment', 10, size);
  const out: SampledOp[] = [];
  chosen.forEach(([op, p, bin], i) => {
    if (!(draws[i]! <= p)) return;
    const { magnitudes, signed } = space.get(op)!;
    const m = bin === null ? 0 : magnitudes[bin]!;
    out.push({ op, magnitude: signed && signs[i]! < 0 ? -m : m });
  });
  return out;
}

/** RandAugment.forward's draws: numOps ops uniformly from its space, each at bin `magnitude` with a random sign. */
export function sampleRandAugment(numOps: number, magnitude: number, bins: number, size: { height: number; width: number }, rng: Rng): SampledOp[] {
  const space = [...augmentationSpace('randAugment', bins, size)];
  return Array.from({ length: numOps }, () => {
    const [op, { magnitudes, signed }] = space[rng.int(space.length)]!;
    const m = magnitudes.length > 1 ? magnitudes[magnitude]! : 0;
    return { op, magnitude: signed && signOf(rng) < 0 ? -m : m };
  });
}

/** TrivialAugmentWide.forward's draws: one op uniformly, a uniform bin of its magnitudes, a random sign. */
export function sampleTrivialAugmentWide(bins: number, rng: Rng): SampledOp[] {
  const space = [...augmentationSpace('trivialAugmentWide', bins, { height: 1, width: 1 })];
  const [op, { magnitudes, signed }] = space[rng.int(space.length)]!;
  const m = magnitudes.length > 1 ? magnitudes[rng.int(magnitudes.length)]! : 0;
  return [{ op, magnitude: signed && signOf(rng) < 0 ? -m : m }];
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * RandomResizedCrop.get_params: up to 10 draws of an area fraction (uniform in `scale`) and an aspect
 * ratio (log-uniform in `ratio`) whose box fits, at a uniform position; else the central crop of the
 * largest box with the ratio clamped to the range. Returns [top, left, height, width].
 */
export function randomResizedCropBox(height: number, width: number, scale: [number, number], ratio: [number, number], rng: Rng): [number, number, number, number] {
  const area = height * width;
  const [lr0, lr1] = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let t = 0; t < 10; t++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * rng.random());
    const aspect = Math.exp(lr0 + (lr1 - lr0) * rng.random());
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) return [rng.int(height - h + 1), rng.int(width - w + 1), h, w];
  }
  const inRatio = width / height;
  let [w, h] = [width, height];
  if (inRatio < Math.min(...ratio)) h = roundHalfEven(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) w = roundHalfEven(h * Math.max(...ratio));
  return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
}

/** A ColorJitter factor range: a number x means [max(0, 1 − x), 1 + x] (hue: [−x, x]). */
export type JitterRange = number | [number, number];

export interface ColorJitterFactors {
  /** The order of brightness (0), contrast (1), saturation (2) and hue (3), torchvision's randperm(4). */
  order: number[];
  brightness?: number;
  contrast?: number;
  saturation?: number;
  hue?: number;
}

/** ColorJitter._check_input: the range of a factor, or undefined when it changes nothing. */
export function jitterRange(v: JitterRange | undefined, hue: boolean): [number, number] | undefined {
  if (v === undefined) return undefined;
  const r: [number, number] = typeof v === 'number' ? (hue ? [-v, v] : [Math.max(0, 1 - v), 1 + v]) : [v[0], v[1]];
  const center = hue ? 0 : 1;
  return r[0] === center && r[1] === center ? undefined : r;
}

/** ColorJitter.get_params: a random order and a uniform factor in each range. */
export function sampleColorJitter(ranges: { brightness?: [number, number]; contrast?: [number, number]; saturation?: [number, number]; hue?: [number, number] }, rng: Rng): ColorJitterFactors {
  const order = Array.from(rng.permutation(4));
  const draw = (r?: [number, number]) => (r ? r[0] + (r[1] - r[0]) * rng.random() : undefined);
  return { order, brightness: draw(ranges.brightness), contrast: draw(ranges.contrast), saturation: draw(ranges.saturation), hue: draw(ranges.hue) };
}

/** ColorJitter.forward with drawn factors: the adjustments in their order, PIL's way. */
export function applyColorJitter(img: Image, f: ColorJitterFactors): Image {
  let out = img;
  for (const i of f.order) {
    if (i === 0 && f.brightness !== undefined) out = adjustBrightness(out, f.brightness);
    else if (i === 1 && f.contrast !== undefined) out = adjustContrast(out, f.contrast);
    else if (i === 2 && f.saturation !== undefined) out = adjustSaturation(out, f.saturation);
    else if (i === 3 && f.hue !== undefined) out = adjustHue(out, f.hue);
  }
  return out;
}
