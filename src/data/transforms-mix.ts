/**
 * Batch-level mixup and cutmix, as timm's Mixup (mode 'batch', correct_lam) and torchvision v2's MixUp /
 * CutMix define them: per batch, with probability `prob`, one λ ~ Beta(α, α) (cutmix instead of mixup with
 * probability `switchProb` when both are on); each image is mixed with its partner in the reversed batch
 * (timm's flip; torchvision v2 pairs with the batch rolled by one, the same distribution), either blended
 * (mixup: λ·x + (1 − λ)·x') or with a box of the partner pasted in (cutmix: a box of area ≈ (1 − λ)·H·W
 * centred uniformly, clipped to the image, λ corrected to the area kept). The targets are the same mix of
 * the one-hot labels; label smoothing is applied by the loss (src/train/composites.ts), which for these
 * linear targets equals timm's mixing of smoothed one-hots. No Node dependencies.
 */
import type { Rng } from './random.js';

export interface MixSettings {
  /** Beta(α, α) of mixup; 0 or absent: no mixup. */
  mixupAlpha?: number;
  /** Beta(α, α) of cutmix; 0 or absent: no cutmix. */
  cutmixAlpha?: number;
  /** Probability that a batch is mixed at all (timm's mix_prob, default 1). */
  prob?: number;
  /** With both on: probability of cutmix rather than mixup for a mixed batch (default 0.5). */
  switchProb?: number;
}

export interface MixedBatch {
  /** The mixed images (a new array; the input is not modified). */
  images: Float32Array;
  /** n x numClasses class probabilities. */
  targets: Float32Array;
  /** The weight of each image's own label (1 when the batch was not mixed). */
  lam: number;
  mode: 'none' | 'mixup' | 'cutmix';
  /** cutmix's box [top, bottom, left, right) in the image. */
  box?: [number, number, number, number];
}

/** Checks mix settings; returns the message of the first problem, naming the setting. */
export function mixSettingsProblem(s: MixSettings): string | undefined {
  for (const key of ['mixupAlpha', 'cutmixAlpha'] as const) {
    const v = s[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) return `${key}: expected a number ≥ 0, got ${v}`;
  }
  for (const key of ['prob', 'switchProb'] as const) {
    const v = s[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) return `${key}: expected a probability in [0, 1], got ${v}`;
  }
  return undefined;
}

/** Whether the settings mix anything. */
export function mixes(s: MixSettings | undefined): s is MixSettings {
  return !!s && ((s.mixupAlpha ?? 0) > 0 || (s.cutmixAlpha ?? 0) > 0) && (s.prob ?? 1) > 0;
}

/** timm's rand_bbox: a box of sides int(H·√(1−λ)) × int(W·√(1−λ)) centred at (cy, cx), clipped: [top, bottom, left, right). */
export function cutmixBox(height: number, width: number, lam: number, cy: number, cx: number): [number, number, number, number] {
  const ratio = Math.sqrt(1 - lam);
  const [ch, cw] = [Math.trunc(height * ratio), Math.trunc(width * ratio)];
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return [clip(cy - Math.floor(ch / 2), height), clip(cy + Math.floor(ch / 2), height), clip(cx - Math.floor(cw / 2), width), clip(cx + Math.floor(cw / 2), width)];
}

/** λ·onehot(label) + (1 − λ)·onehot(partner's label), the partner being the reversed batch. */
export function mixTargets(labels: ArrayLike<number>, numClasses: number, lam: number): Float32Array {
  const n = labels.length;
  const t = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const own = labels[i]!;
    const other = labels[n - 1 - i]!;
    if (own < 0 || own >= numClasses) throw new RangeError(`mix: label ${own} outside [0, ${numClasses})`);
    t[i * numClasses + own]! += lam;
    t[i * numClasses + other]! += 1 - lam;
  }
  return t;
}

/**
 * Mixes a batch of n NCHW float images (any normalization: both mixes are affine per pixel) with integer
 * labels; `rng` draws whether to mix, which mix, λ and the box (seed it per batch for exact resume).
 */
export function mixBatch(images: Float32Array, shape: readonly [number, number, number, number], labels: ArrayLike<number>, numClasses: number, s: MixSettings, rng: Rng): MixedBatch {
  const [n, c, h, w] = shape;
  if (images.length !== n * c * h * w || labels.length !== n) throw new Error(`mix: ${images.length} values and ${labels.length} labels for a batch of ${shape.join('x')}`);
  const mixup = s.mixupAlpha ?? 0;
  const cutmix = s.cutmixAlpha ?? 0;
  let mode: MixedBatch['mode'] = 'none';
  let lam = 1;
  if ((mixup > 0 || cutmix > 0) && rng.random() < (s.prob ?? 1)) {
    mode = mixup > 0 && cutmix > 0 ? (rng.random() < (s.switchProb ?? 0.5) ? 'cutmix' : 'mixup') : cutmix > 0 ? 'cutmix' : 'mixup';
    const alpha = mode === 'cutmix' ? cutmix : mixup;
    lam = rng.beta(alpha, alpha);
  }
  const out = images.slice();
  const per = c * h * w;
  let box: MixedBatch['box'];
  if (mode === 'mixup') {
    for (let i = 0; i < n; i++) {
      const a = i * per;
      const b = (n - 1 - i) * per;
      for (let k = 0; k < per; k++) out[a + k] = images[a + k]! * lam + images[b + k]! * (1 - lam);
    }
  } else if (mode === 'cutmix') {
    box = cutmixBox(h, w, lam, rng.int(h), rng.int(w));
    const [top, bottom, left, right] = box;
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        for (let y = top; y < bottom; y++) {
          const row = ((i * c + ch) * h + y) * w;
          const partner = (((n - 1 - i) * c + ch) * h + y) * w;
          out.set(images.subarray(partner + left, partner + right), row + left);
        }
      }
    }
    lam = 1 - ((bottom - top) * (right - left)) / (h * w);
  }
  return { images: out, targets: mixTargets(labels, numClasses, lam), lam, mode, ...(box ? { box } : {}) };
}
