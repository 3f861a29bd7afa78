/**
 * Seeded, serializable image transforms: uint8 HWC in, float32 CHW out.
 *
 * A transform is described by a JSON-serializable spec (an array of steps) so that it can be sent to
 * worker threads; `compileTransform` turns it into a function `(image, rng) → Float32Array`.
 * Geometric steps run on uint8 HWC images; the result is scaled to [0, 1] (like ToTensor) and, if the
 * last step is `normalize`, normalized by mean/std per channel.
 */

import type { Rng } from './random.js';
import {
  AUTO_AUGMENT_POLICIES, type AutoAugmentPolicy, type JitterRange, type SampledOp, applyAugmentOp, applyColorJitter, jitterRange,
  randomResizedCropBox, sampleAutoAugment, sampleColorJitter, sampleRandAugment, sampleTrivialAugmentWide,
} from './transforms-augment.js';

export type Size2 = number | [number, number];

export type TransformStep =
  /** Zero (or `fill`) padding: number = all sides, [lr, tb], or [left, top, right, bottom] (torchvision order). */
  | { op: 'pad'; padding: number | [number, number] | [number, number, number, number]; fill?: number }
  /** torchvision RandomCrop(size, padding): pad by `padding` with `fill` (default 0), then a random size crop. */
  | { op: 'randomCrop'; size: Size2; padding?: number; fill?: number }
  /** torchvision CenterCrop (pads with zeros when the crop is larger than the image). */
  | { op: 'centerCrop'; size: Size2 }
  /** Bilinear resize (PIL-style, antialiased when shrinking). A number resizes the shorter side keeping aspect. */
  | { op: 'resize'; size: Size2 }
  /**
   * Resize keeping the aspect ratio so the image covers `size`, then center-crop to it (sharp's
   * `fit: 'cover'`, torchvision's Resize(short side) + CenterCrop for square sizes); a no-op for an image
   * already that size. It brings images of any size to a dataset's shape.
   */
  | { op: 'fit'; size: Size2 }
  /** RGB → one luma channel, PIL's convert('L') (ITU-R 601-2, integer-rounded); a no-op for 1 channel. */
  | { op: 'toGrayscale' }
  /** Horizontal flip with probability p (default 0.5). */
  | { op: 'hflip'; p?: number }
  /** Replicates a single channel into three (no-op for 3 channels). */
  | { op: 'grayscaleToRgb' }
  /** (x/255 - mean) / std per channel; only randomErasing may follow. Omitted mean/std come from the dataset (resolveTransform). */
  | { op: 'normalize'; mean?: number[]; std?: number[] }
  /**
   * torchvision RandomErasing(p, scale, ratio, value=0) on the float output (after normalize, as in
   * torchvision's recipes): with probability p a random rectangle of area scale × H·W and aspect
   * ratio in `ratio` (log-uniform) is set to 0. Defaults p 0.5, scale [0.02, 0.33], ratio [0.3, 3.3].
   */
  | { op: 'randomErasing'; p?: number; scale?: [number, number]; ratio?: [number, number] }
  /**
   * torchvision RandomResizedCrop(size, scale, ratio): a box of area fraction in `scale` and aspect ratio
   * log-uniform in `ratio` (10 tries, then the central fallback), resized to `size` with PIL's bilinear.
   * Defaults scale [0.08, 1], ratio [3/4, 4/3].
   */
  | { op: 'randomResizedCrop'; size: Size2; scale?: [number, number]; ratio?: [number, number] }
  /**
   * torchvision ColorJitter: brightness, contrast and saturation factors uniform in [max(0, 1 − x), 1 + x]
   * (or a given [min, max]), hue in [−x, x] (x ≤ 0.5), applied in a random order as PIL does them.
   */
  | { op: 'colorJitter'; brightness?: JitterRange; contrast?: JitterRange; saturation?: JitterRange; hue?: JitterRange }
  /** torchvision AutoAugment(policy) (default imagenet): one of the policy's 25 pairs of ops, each with its probability. */
  | { op: 'autoAugment'; policy?: AutoAugmentPolicy; fill?: number }
  /** torchvision RandAugment(num_ops = 2, magnitude = 9, num_magnitude_bins = 31). */
  | { op: 'randAugment'; numOps?: number; magnitude?: number; bins?: number; fill?: number }
  /** torchvision TrivialAugmentWide(num_magnitude_bins = 31): one op at a uniformly drawn magnitude. */
  | { op: 'trivialAugmentWide'; bins?: number; fill?: number };

/** torchvision RandomResizedCrop's defaults. */
const RESIZED_CROP = { scale: [0.08, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number] };

/**
 * The largest image a transform step may make: PIL's decompression-bomb threshold (Image.MAX_IMAGE_PIXELS,
 * 89,478,485 pixels, e.g. 9459x9459), so a size read from a file ({ op: 'fit', size: [1e6, 1e6] }) is
 * refused when the spec is checked, not when the first image is allocated.
 */
export const MAX_IMAGE_PIXELS = 89_478_485;

function checkPixels(op: string, height: number, width: number): void {
  if (height * width > MAX_IMAGE_PIXELS) {
    throw new RangeError(`${op}: ${height}x${width} is ${height * width} pixels, more than the limit of ${MAX_IMAGE_PIXELS}`);
  }
}

/** torchvision RandomErasing's defaults. */
const ERASING = { p: 0.5, scale: [0.02, 0.33] as [number, number], ratio: [0.3, 3.3] as [number, number] };

export type TransformSpec = TransformStep[];

export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/** A uint8 HWC image. */
export interface Image {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

export interface CompiledTransform {
  readonly input: ImageShape;
  readonly output: ImageShape;
  /** output.channels × output.height × output.width */
  readonly outputSize: number;
  /** Transforms one HWC uint8 image into a new CHW float32 array. */
  apply(image: Uint8Array, rng: Rng): Float32Array;
  /** Same, writing into `out` at `offset`. */
  applyInto(image: Uint8Array, rng: Rng, out: Float32Array, offset: number): void;
}

function hw(size: Size2): [number, number] {
  const r: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  if (!r.every((v) => Number.isInteger(v) && v > 0)) throw new RangeError(`invalid size ${JSON.stringify(size)}`);
  return r;
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function padLTRB(p: number | number[]): [number, number, number, number] {
  if (typeof p === 'number') return [p, p, p, p];
  if (p.length === 2) return [p[0], p[1], p[0], p[1]];
  if (p.length === 4) return [p[0], p[1], p[2], p[3]];
  throw new RangeError(`pad: padding must be a number, [lr, tb] or [l, t, r, b], got ${JSON.stringify(p)}`);
}

/** Output size of torchvision Resize(size) for a given input. */
function resizeTarget(size: Size2, h: number, w: number): [number, number] {
  if (typeof size !== 'number') return hw(size);
  if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`resize: invalid size ${size}`);
  if (h <= w) return [size, Math.max(1, Math.floor((size * w) / h))];
  return [Math.max(1, Math.floor((size * h) / w)), size];
}

/** Crop [top, top+th) × [left, left+tw); out-of-range source pixels are `fill`. */
export function cropImage(img: Image, top: number, left: number, th: number, tw: number, fill = 0): Image {
  const { data, height: h, width: w, channels: c } = img;
  const out = new Uint8Array(th * tw * c);
  if (fill !== 0) out.fill(fill);
  const y0 = Math.max(0, -top);
  const y1 = Math.min(th, h - top);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(tw, w - left);
  if (x1 > x0) {
    for (let y = y0; y < y1; y++) {
      const src = ((top + y) * w + left + x0) * c;
      out.set(data.subarray(src, src + (x1 - x0) * c), (y * tw + x0) * c);
    }
  }
  return { data: out, height: th, width: tw, channels: c };
}

export function padImage(img: Image, padding: number | [number, number] | [number, number, number, number], fill = 0): Image {
  const [l, t, r, b] = padLTRB(padding);
  return cropImage(img, -t, -l, img.height + t + b, img.width + l + r, fill);
}

export function hflipImage(img: Image): Image {
  const { data, height: h, width: w, channels: c } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < w; x++) {
      const s = row + x * c;
      const d = row + (w - 1 - x) * c;
      for (let k = 0; k < c; k++) out[d + k] = data[s + k];
    }
  }
  return { data: out, height: h, width: w, channels: c };
}

/** PIL-style resampling coefficients for one axis (triangle filter, antialiased when shrinking). */
function bilinearCoeffs(inSize: number, outSize: number): { start: Int32Array; count: Int32Array; weights: Float64Array; stride: number } {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    const n = Math.min(xmax - xmin, stride);
    let total = 0;
    for (let k = 0; k < n; k++) {
      const x = (k + xmin - center + 0.5) / filterscale;
      const wgt = Math.abs(x) < 1 ? 1 - Math.abs(x) : 0;
      weights[i * stride + k] = wgt;
      total += wgt;
    }
    if (total > 0) for (let k = 0; k < n; k++) weights[i * stride + k] /= total;
    start[i] = xmin;
    count[i] = n;
  }
  return { start, count, weights, stride };
}

/** PIL's fixed-point precision for 8-bit resampling (Resample.c: PRECISION_BITS = 32 - 8 - 2). */
const PRECISION_BITS = 22;

/** PIL's normalize_coeffs_8bpc: weights in fixed point, rounded half away from zero. */
function fixedPoint(weights: Float64Array): Int32Array {
  return Int32Array.from(weights, (k) => Math.trunc(k < 0 ? -0.5 + k * (1 << PRECISION_BITS) : 0.5 + k * (1 << PRECISION_BITS)));
}

/** PIL's clip8: a fixed-point sum (with its 0.5 rounding term) to uint8. */
function clip8(acc: number): number {
  if (acc >= 256 * (1 << PRECISION_BITS)) return 255;
  if (acc <= 0) return 0;
  return Math.floor(acc / (1 << PRECISION_BITS));
}

/** One separable pass of PIL's 8-bit bilinear resampling along x (horizontal) or y. */
function resamplePass(img: Image, outSize: number, horizontal: boolean): Image {
  const { data, height: h, width: w, channels: c } = img;
  const coeffs = bilinearCoeffs(horizontal ? w : h, outSize);
  const k = fixedPoint(coeffs.weights);
  const oh = horizontal ? h : outSize;
  const ow = horizontal ? outSize : w;
  const out = new Uint8Array(oh * ow * c);
  const half = 1 << (PRECISION_BITS - 1);
  // Each output value sums n taps of the input, `step` bytes apart, from `first`.
  const step = horizontal ? c : w * c;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const i = horizontal ? x : y;
      const n = coeffs.count[i]!;
      const ko = i * coeffs.stride;
      const first = horizontal ? (y * w + coeffs.start[i]!) * c : coeffs.start[i]! * w * c + x * c;
      const o = (y * ow + x) * c;
      for (let ch = 0; ch < c; ch++) {
        let acc = half;
        for (let j = 0, src = first + ch; j < n; j++, src += step) acc += data[src]! * k[ko + j]!;
        out[o + ch] = clip8(acc);
      }
    }
  }
  return { data: out, height: oh, width: ow, channels: c };
}

/**
 * Bilinear resize to exactly th × tw as PIL's Image.resize(BILINEAR) computes it for 8-bit images
 * (what torchvision's Resize does to PIL images): antialiased when shrinking, fixed-point weights, the
 * horizontal pass first and rounded to uint8 before the vertical one.
 */
export function resizeImage(img: Image, th: number, tw: number): Image {
  let out = img;
  if (tw !== img.width) out = resamplePass(out, tw, true);
  if (th !== img.height) out = resamplePass(out, th, false);
  return out;
}

/** Target size of `fit` before its center crop: the smallest aspect-preserving size covering [th, tw]. */
function fitTarget(size: Size2, h: number, w: number): [number, number] {
  const [th, tw] = hw(size);
  if (h === th && w === tw) return [h, w];
  // Compare th/h with tw/w without division: the axis that needs more scaling is matched exactly.
  if (th * w >= tw * h) return [th, Math.max(tw, Math.floor((w * th) / h))];
  return [Math.max(th, Math.floor((h * tw) / w)), tw];
}

/** PIL's L24 luma: (R·19595 + G·38470 + B·7471 + 2^15) >> 16. */
export function toGrayscaleImage(img: Image): Image {
  if (img.channels === 1) return img;
  if (img.channels !== 3) throw new Error(`toGrayscale: expected 1 or 3 channels, got ${img.channels}`);
  const n = img.height * img.width;
  const out = new Uint8Array(n);
  const d = img.data;
  for (let i = 0; i < n; i++) out[i] = (d[3 * i] * 19595 + d[3 * i + 1] * 38470 + d[3 * i + 2] * 7471 + 0x8000) >> 16;
  return { data: out, height: img.height, width: img.width, channels: 1 };
}

export function grayscaleToRgbImage(img: Image): Image {
  if (img.channels !== 1) return img;
  const n = img.height * img.width;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = img.data[i];
    out[3 * i] = v;
    out[3 * i + 1] = v;
    out[3 * i + 2] = v;
  }
  return { data: out, height: img.height, width: img.width, channels: 3 };
}

/** Output shape of a spec for a given input shape (validates the spec). */
export function transformOutputShape(spec: TransformSpec, input: ImageShape): ImageShape {
  let { channels, height, width } = input;
  spec.forEach((step, i) => {
    switch (step.op) {
      case 'pad': {
        const [l, t, r, b] = padLTRB(step.padding);
        if (![l, t, r, b].every((v) => Number.isInteger(v) && v >= 0)) throw new RangeError(`pad: invalid padding ${JSON.stringify(step.padding)}`);
        height += t + b;
        width += l + r;
        break;
      }
      case 'randomCrop': {
        const [th, tw] = hw(step.size);
        const p = step.padding ?? 0;
        if (!(Number.isInteger(p) && p >= 0)) throw new RangeError(`randomCrop: invalid padding ${p}`);
        if (height + 2 * p < th || width + 2 * p < tw) {
          throw new RangeError(`randomCrop: crop ${th}x${tw} larger than padded image ${height + 2 * p}x${width + 2 * p}`);
        }
        [height, width] = [th, tw];
        break;
      }
      case 'centerCrop':
        [height, width] = hw(step.size);
        break;
      case 'resize':
        [height, width] = resizeTarget(step.size, height, width);
        break;
      case 'fit':
        [height, width] = hw(step.size);
        break;
      case 'toGrayscale':
        if (channels !== 1 && channels !== 3) throw new RangeError(`toGrayscale: expected 1 or 3 channels, got ${channels}`);
        channels = 1;
        break;
      case 'hflip':
        if (step.p !== undefined && !(step.p >= 0 && step.p <= 1)) throw new RangeError(`hflip: p must be in [0, 1]`);
        break;
      case 'grayscaleToRgb':
        channels = 3;
        break;
      case 'normalize':
        if (spec.slice(i + 1).some((s) => s.op !== 'randomErasing')) throw new Error(`transform: only randomErasing may follow normalize (step ${i})`);
        break;
      case 'randomErasing': {
        const [s0, s1] = step.scale ?? ERASING.scale;
        const [r0, r1] = step.ratio ?? ERASING.ratio;
        if (step.p !== undefined && !(step.p >= 0 && step.p <= 1)) throw new RangeError('randomErasing: p must be in [0, 1]');
        if (!(s0 > 0 && s0 <= s1 && s1 <= 1)) throw new RangeError(`randomErasing: scale must satisfy 0 < min <= max <= 1, got ${JSON.stringify(step.scale)}`);
        if (!(r0 > 0 && r0 <= r1)) throw new RangeError(`randomErasing: ratio must satisfy 0 < min <= max, got ${JSON.stringify(step.ratio)}`);
        break;
      }
      case 'randomResizedCrop': {
        [height, width] = hw(step.size);
        const [s0, s1] = step.scale ?? RESIZED_CROP.scale;
        const [r0, r1] = step.ratio ?? RESIZED_CROP.ratio;
        if (!(s0 > 0 && s0 <= s1)) throw new RangeError(`randomResizedCrop: scale must satisfy 0 < min <= max, got ${JSON.stringify(step.scale)}`);
        if (!(r0 > 0 && r0 <= r1)) throw new RangeError(`randomResizedCrop: ratio must satisfy 0 < min <= max, got ${JSON.stringify(step.ratio)}`);
        break;
      }
      case 'colorJitter':
        for (const key of ['brightness', 'contrast', 'saturation', 'hue'] as const) {
          const v = step[key];
          if (v === undefined) continue;
          const hue = key === 'hue';
          const ok = typeof v === 'number'
            ? v >= 0 && (!hue || v <= 0.5)
            : Array.isArray(v) && v.length === 2 && (hue ? -0.5 <= v[0] && v[0] <= v[1] && v[1] <= 0.5 : 0 <= v[0] && v[0] <= v[1]);
          if (!ok) throw new RangeError(`colorJitter: ${key} must be ${hue ? 'in [0, 0.5] or [min, max] within [-0.5, 0.5]' : 'a number >= 0 or [min, max] with 0 <= min <= max'}, got ${JSON.stringify(v)}`);
        }
        break;
      case 'autoAugment':
      case 'randAugment':
      case 'trivialAugmentWide': {
        if (channels !== 1 && channels !== 3) throw new RangeError(`${step.op}: expected 1 or 3 channels, got ${channels}`);
        if (step.fill !== undefined && !(Number.isInteger(step.fill) && step.fill >= 0 && step.fill <= 255)) throw new RangeError(`${step.op}: fill must be an integer in [0, 255], got ${step.fill}`);
        if (step.op === 'autoAugment' && step.policy !== undefined && !AUTO_AUGMENT_POLICIES.includes(step.policy)) {
          throw new RangeError(`autoAugment: policy must be one of ${AUTO_AUGMENT_POLICIES.join(', ')}, got ${JSON.stringify(step.policy)}`);
        }
        if (step.op !== 'autoAugment') {
          const bins = step.bins ?? 31;
          if (!(Number.isInteger(bins) && bins >= 2)) throw new RangeError(`${step.op}: bins must be an integer >= 2, got ${bins}`);
          if (step.op === 'randAugment') {
            const { numOps = 2, magnitude = 9 } = step;
            if (!(Number.isInteger(numOps) && numOps >= 0)) throw new RangeError(`randAugment: numOps must be an integer >= 0, got ${numOps}`);
            if (!(Number.isInteger(magnitude) && magnitude >= 0 && magnitude < bins)) throw new RangeError(`randAugment: magnitude must be an integer in [0, ${bins - 1}], got ${magnitude}`);
          }
        }
        break;
      }
      default:
        throw new Error(`transform: unknown op ${JSON.stringify((step as { op?: unknown }).op)}`);
    }
    checkPixels(step.op, height, width);
  });
  return { channels, height, width };
}

/**
 * Fills in normalize's mean/std from dataset statistics (replicating a single-channel statistic
 * when the output has 3 channels). Returns a new spec; the input is not modified.
 */
export function resolveTransform(spec: TransformSpec, stats: { mean: number[]; std: number[]; channels: number; height: number; width: number }): TransformSpec {
  const out = transformOutputShape(spec, stats);
  return spec.map((step) => {
    if (step.op !== 'normalize') return { ...step };
    const fit = (v: number[]) => (v.length === 1 && out.channels === 3 ? [v[0], v[0], v[0]] : [...v]);
    return { op: 'normalize', mean: fit(step.mean ?? stats.mean), std: fit(step.std ?? stats.std) };
  });
}

/**
 * Runs the geometric and channel steps of a spec on a uint8 HWC image (normalize and randomErasing, which
 * act on the float output, are skipped). `rng` is needed only by the random steps.
 */
export function applyGeometry(spec: TransformSpec, image: Image, rng?: Rng): Image {
  let img = image;
  const random = () => {
    if (!rng) throw new Error('transform: a random step needs a generator');
    return rng;
  };
  for (const step of spec) {
    switch (step.op) {
      case 'pad':
        img = padImage(img, step.padding, step.fill ?? 0);
        break;
      case 'randomCrop': {
        const [th, tw] = hw(step.size);
        const p = step.padding ?? 0;
        const ph = img.height + 2 * p;
        const pw = img.width + 2 * p;
        let i = 0;
        let j = 0;
        if (!(ph === th && pw === tw)) {
          i = random().int(ph - th + 1);
          j = random().int(pw - tw + 1);
        }
        img = cropImage(img, i - p, j - p, th, tw, step.fill ?? 0);
        break;
      }
      case 'centerCrop': {
        const [th, tw] = hw(step.size);
        const top = th > img.height ? -Math.floor((th - img.height) / 2) : roundHalfEven((img.height - th) / 2);
        const left = tw > img.width ? -Math.floor((tw - img.width) / 2) : roundHalfEven((img.width - tw) / 2);
        img = cropImage(img, top, left, th, tw, 0);
        break;
      }
      case 'resize': {
        const [th, tw] = resizeTarget(step.size, img.height, img.width);
        img = resizeImage(img, th, tw);
        break;
      }
      case 'fit': {
        const [th, tw] = hw(step.size);
        const [rh, rw] = fitTarget(step.size, img.height, img.width);
        checkPixels('fit', rh, rw); // an image of extreme aspect ratio scaled to cover the size
        img = resizeImage(img, rh, rw);
        img = cropImage(img, roundHalfEven((rh - th) / 2), roundHalfEven((rw - tw) / 2), th, tw, 0);
        break;
      }
      case 'toGrayscale':
        img = toGrayscaleImage(img);
        break;
      case 'hflip':
        if (random().random() < (step.p ?? 0.5)) img = hflipImage(img);
        break;
      case 'grayscaleToRgb':
        img = grayscaleToRgbImage(img);
        break;
      case 'randomResizedCrop': {
        const [th, tw] = hw(step.size);
        const [top, left, h, w] = randomResizedCropBox(img.height, img.width, step.scale ?? RESIZED_CROP.scale, step.ratio ?? RESIZED_CROP.ratio, random());
        img = resizeImage(cropImage(img, top, left, h, w), th, tw);
        break;
      }
      case 'colorJitter': {
        const ranges = {
          brightness: jitterRange(step.brightness, false), contrast: jitterRange(step.contrast, false),
          saturation: jitterRange(step.saturation, false), hue: jitterRange(step.hue, true),
        };
        img = applyColorJitter(img, sampleColorJitter(ranges, random()));
        break;
      }
      case 'autoAugment':
      case 'randAugment':
      case 'trivialAugmentWide': {
        let ops: SampledOp[];
        if (step.op === 'autoAugment') ops = sampleAutoAugment(step.policy ?? 'imagenet', img, random());
        else if (step.op === 'randAugment') ops = sampleRandAugment(step.numOps ?? 2, step.magnitude ?? 9, step.bins ?? 31, img, random());
        else ops = sampleTrivialAugmentWide(step.bins ?? 31, random());
        for (const o of ops) img = applyAugmentOp(img, o.op, o.magnitude, step.fill ?? 0);
        break;
      }
    }
  }
  return img;
}

/** Compiles a (resolved) spec for a fixed input shape. */
export function compileTransform(spec: TransformSpec, input: ImageShape): CompiledTransform {
  const output = transformOutputShape(spec, input);
  const inSize = input.channels * input.height * input.width;
  const outPlane = output.height * output.width;
  const outputSize = output.channels * outPlane;
  const last = spec.find((s) => s.op === 'normalize');
  let scale: Float64Array | null = null;
  let bias: Float64Array | null = null;
  const C = output.channels;
  if (last && last.op === 'normalize') {
    const { mean, std } = last;
    if (!mean || !std) throw new Error('transform: normalize needs mean and std (resolve the spec with resolveTransform(spec, dataset))');
    if (mean.length !== C || std.length !== C) {
      throw new Error(`transform: normalize has ${mean.length}/${std.length} mean/std values for ${C} channels`);
    }
    if (std.some((s) => !(s > 0))) throw new Error('transform: normalize std values must be > 0');
    scale = Float64Array.from(std, (s) => 1 / (255 * s));
    bias = Float64Array.from(mean, (m, c) => -m / std[c]);
  }
  const geometric = spec.filter((s) => s.op !== 'normalize' && s.op !== 'randomErasing');
  const erasing = spec.filter((s) => s.op === 'randomErasing');

  const applyInto = (image: Uint8Array, rng: Rng, out: Float32Array, offset: number): void => {
    if (image.length !== inSize) {
      throw new Error(`transform: image has ${image.length} bytes, expected ${input.height}x${input.width}x${input.channels}`);
    }
    const img = applyGeometry(geometric, { data: image, height: input.height, width: input.width, channels: input.channels }, rng);
    // HWC uint8 → CHW float32 (optionally normalized)
    const d = img.data;
    for (let c = 0; c < C; c++) {
      const o = offset + c * outPlane;
      if (scale && bias) {
        const s = scale[c];
        const b = bias[c];
        for (let p = 0; p < outPlane; p++) out[o + p] = d[p * C + c] * s + b;
      } else {
        for (let p = 0; p < outPlane; p++) out[o + p] = d[p * C + c] / 255;
      }
    }
    for (const step of erasing) eraseRandomRect(out, offset, C, output.height, output.width, step, rng);
  };

  return {
    input: { ...input },
    output,
    outputSize,
    applyInto,
    apply(image: Uint8Array, rng: Rng): Float32Array {
      const out = new Float32Array(outputSize);
      applyInto(image, rng, out, 0);
      return out;
    },
  };
}

/** torchvision's RandomErasing.get_params and forward, value 0 (draw order: apply?, then up to 10 tries). */
function eraseRandomRect(
  out: Float32Array, offset: number, channels: number, height: number, width: number,
  step: Extract<TransformStep, { op: 'randomErasing' }>, rng: Rng,
): void {
  if (!(rng.random() < (step.p ?? ERASING.p))) return;
  const [s0, s1] = step.scale ?? ERASING.scale;
  const [r0, r1] = (step.ratio ?? ERASING.ratio).map(Math.log) as [number, number];
  const area = height * width;
  for (let attempt = 0; attempt < 10; attempt++) {
    const eraseArea = area * (s0 + (s1 - s0) * rng.random());
    const aspect = Math.exp(r0 + (r1 - r0) * rng.random());
    const h = roundHalfEven(Math.sqrt(eraseArea * aspect));
    const w = roundHalfEven(Math.sqrt(eraseArea / aspect));
    if (!(h < height && w < width)) continue;
    const top = rng.int(height - h + 1);
    const left = rng.int(width - w + 1);
    for (let c = 0; c < channels; c++) {
      for (let y = top; y < top + h; y++) out.fill(0, offset + (c * height + y) * width + left, offset + (c * height + y) * width + left + w);
    }
    return;
  }
}

export interface StandardTransformOptions {
  /** Training augmentation (random crop / flip) when true. */
  train: boolean;
  /** Output side length (default: 32 for CIFAR and (Fashion-)MNIST; the dataset's own otherwise). */
  size?: number;
  /** Output channels (default: the dataset's; 3 with a 1-channel dataset replicates the gray channel). */
  channels?: 1 | 3;
  /** Append normalize (default true). */
  normalize?: boolean;
  /** With `train`: torchvision's RandomErasing with this probability after normalize (default 0: none). */
  randomErasing?: number;
}

/**
 * The usual recipe for a dataset:
 * - CIFAR: train = RandomCrop(32, padding=4) + horizontal flip; test = identity.
 * - (Fashion-)MNIST: pad 2 (28 → 32), train adds RandomCrop(32, padding=2), and flips for Fashion-MNIST.
 * - others: resize/center-crop to `size` if it differs; train adds a horizontal flip.
 * Then grayscale → RGB when `channels: 3` is asked of a 1-channel dataset, then normalize.
 */
export function standardTransform(ds: { name: string } & ImageShape, opts: StandardTransformOptions): TransformSpec {
  const spec: TransformSpec = [];
  const name = ds.name;
  if (name === 'cifar10' || name === 'cifar100') {
    const size = opts.size ?? 32;
    if (size !== ds.height || size !== ds.width) spec.push({ op: 'resize', size }, { op: 'centerCrop', size });
    if (opts.train) spec.push({ op: 'randomCrop', size, padding: Math.round(size / 8) }, { op: 'hflip', p: 0.5 });
  } else if (name === 'fashion-mnist' || name === 'mnist') {
    const size = opts.size ?? 32;
    if (size === 32 && ds.height === 28 && ds.width === 28) spec.push({ op: 'pad', padding: 2 });
    else if (size !== ds.height || size !== ds.width) spec.push({ op: 'resize', size }, { op: 'centerCrop', size });
    if (opts.train) {
      spec.push({ op: 'randomCrop', size, padding: Math.max(1, Math.round(size / 16)) });
      if (name === 'fashion-mnist') spec.push({ op: 'hflip', p: 0.5 });
    }
  } else {
    const size = opts.size;
    if (size !== undefined && (size !== ds.height || size !== ds.width)) spec.push({ op: 'resize', size }, { op: 'centerCrop', size });
    if (opts.train && name !== 'synthetic') spec.push({ op: 'hflip', p: 0.5 });
  }
  if ((opts.channels ?? ds.channels) === 3 && ds.channels === 1) spec.push({ op: 'grayscaleToRgb' });
  if (opts.channels === 1 && ds.channels === 3) throw new Error(`standardTransform: RGB → grayscale is not supported`);
  if (opts.normalize !== false) spec.push({ op: 'normalize' });
  if (opts.train && opts.randomErasing) spec.push({ op: 'randomErasing', p: opts.randomErasing });
  return spec;
}

/** torchvision's training augmentations to add to a training transform (see withAugmentation). */
export interface AugmentSettings {
  /** RandomResizedCrop in place of the random crop (default scale [0.08, 1], ratio [3/4, 4/3]). */
  randomResizedCrop?: { scale?: [number, number]; ratio?: [number, number] };
  colorJitter?: { brightness?: JitterRange; contrast?: JitterRange; saturation?: JitterRange; hue?: JitterRange };
  /** At most one of the three policies. */
  autoAugment?: AutoAugmentPolicy;
  randAugment?: { numOps?: number; magnitude?: number };
  trivialAugmentWide?: boolean;
}

/** Whether the settings add anything. */
export function augments(a: AugmentSettings | undefined): boolean {
  return !!a && (!!a.randomResizedCrop || !!a.colorJitter || !!a.autoAugment || !!a.randAugment || !!a.trivialAugmentWide);
}

/**
 * A training transform with torchvision's augmentations, in its references' order: RandomResizedCrop
 * takes the place of the random crop (with its padding) at the same output size, or is added before the
 * flip when there is none; ColorJitter and then the policy come after the flip, on the uint8 image before
 * the channel replication and normalization.
 */
export function withAugmentation(spec: TransformSpec, a: AugmentSettings, input: ImageShape): TransformSpec {
  const policies = [a.autoAugment && 'autoAugment', a.randAugment && 'randAugment', a.trivialAugmentWide && 'trivialAugmentWide'].filter(Boolean);
  if (policies.length > 1) throw new Error(`augmentation: choose one of ${policies.join(', ')}`);
  const end = spec.findIndex((s) => s.op === 'grayscaleToRgb' || s.op === 'normalize' || s.op === 'randomErasing');
  let head = spec.slice(0, end < 0 ? spec.length : end).map((s) => ({ ...s }));
  const tail = spec.slice(head.length);
  if (a.randomResizedCrop) {
    const rrc = (size: Size2): TransformStep => ({ op: 'randomResizedCrop', size, ...a.randomResizedCrop });
    const crop = head.findIndex((s) => s.op === 'randomCrop');
    if (crop >= 0) head[crop] = rrc((head[crop] as Extract<TransformStep, { op: 'randomCrop' }>).size);
    else {
      const flip = head.findIndex((s) => s.op === 'hflip');
      const at = flip < 0 ? head.length : flip;
      const shape = transformOutputShape(head.slice(0, at), input);
      head = [...head.slice(0, at), rrc([shape.height, shape.width]), ...head.slice(at)];
    }
  }
  if (a.colorJitter) head.push({ op: 'colorJitter', ...a.colorJitter });
  if (a.autoAugment) head.push({ op: 'autoAugment', policy: a.autoAugment });
  if (a.randAugment) head.push({ op: 'randAugment', ...a.randAugment });
  if (a.trivialAugmentWide) head.push({ op: 'trivialAugmentWide' });
  const out = [...head, ...tail];
  transformOutputShape(out, input);
  return out;
}
