/**
 * Seeded synthetic classification data for smoke tests: each class is a fixed smooth pattern
 * (low-resolution random field + class-specific oriented grating + colour), each sample that
 * pattern plus a brightness jitter and Gaussian pixel noise. Small nets separate it in a few steps.
 */

import { ArrayDataset, computeMeanStd, sharedBytes, sharedInt32, type Split } from './dataset.js';
import { Rng } from './random.js';

export interface SyntheticOptions {
  numClasses?: number;
  /** Number of samples (default 512 for train, 128 for test). */
  length?: number;
  channels?: 1 | 3;
  /** Square size or [height, width] (default 32). */
  size?: number | [number, number];
  seed?: number;
  /** Pixel noise standard deviation on the [0,1] scale (default 0.1). */
  noise?: number;
  /** Training split length used for the mean/std statistics (default: the train default/`length`). */
  trainLength?: number;
}

function makeTemplates(numClasses: number, channels: number, h: number, w: number, seed: number): Float32Array[] {
  const templates: Float32Array[] = [];
  const G = 4;
  for (let c = 0; c < numClasses; c++) {
    const rng = Rng.from(seed, 'synthetic-template', c);
    const grid = new Float32Array(G * G * channels);
    for (let i = 0; i < grid.length; i++) grid[i] = rng.random();
    const angle = (Math.PI * c) / numClasses + rng.random() * 0.2;
    const freq = 1 + (c % 3) + rng.random();
    const fx = (Math.cos(angle) * freq) / w;
    const fy = (Math.sin(angle) * freq) / h;
    const phase = rng.random() * 2 * Math.PI;
    const colour = Array.from({ length: channels }, () => 0.3 + 0.4 * rng.random());
    const t = new Float32Array(h * w * channels);
    for (let y = 0; y < h; y++) {
      const gy = Math.min(G - 1, Math.max(0, ((y + 0.5) / h) * G - 0.5));
      const y0 = Math.floor(gy);
      const y1 = Math.min(G - 1, y0 + 1);
      const ay = gy - y0;
      for (let x = 0; x < w; x++) {
        const gx = Math.min(G - 1, Math.max(0, ((x + 0.5) / w) * G - 0.5));
        const x0 = Math.floor(gx);
        const x1 = Math.min(G - 1, x0 + 1);
        const ax = gx - x0;
        const wave = 0.5 + 0.5 * Math.sin(2 * Math.PI * (fx * x + fy * y) + phase);
        for (let ch = 0; ch < channels; ch++) {
          const g = (yy: number, xx: number) => grid[(yy * G + xx) * channels + ch];
          const field = (1 - ay) * ((1 - ax) * g(y0, x0) + ax * g(y0, x1)) + ay * ((1 - ax) * g(y1, x0) + ax * g(y1, x1));
          t[(y * w + x) * channels + ch] = 0.35 * field + 0.4 * wave + 0.25 * colour[ch];
        }
      }
    }
    templates.push(t);
  }
  return templates;
}

function generate(split: Split, o: Required<Omit<SyntheticOptions, 'trainLength' | 'size' | 'length'>> & { length: number; h: number; w: number }) {
  const { numClasses, channels, h, w, seed, noise, length } = o;
  const templates = makeTemplates(numClasses, channels, h, w, seed);
  const size = h * w * channels;
  const images = sharedBytes(length * size);
  const labels = sharedInt32(length);
  for (let i = 0; i < length; i++) {
    const rng = Rng.from(seed, 'synthetic-sample', split, i);
    const label = i % numClasses;
    labels[i] = label;
    const t = templates[label];
    const shift = (rng.random() - 0.5) * 0.1;
    const base = i * size;
    for (let k = 0; k < size; k++) {
      const v = t[k] + shift + noise * rng.normal();
      images[base + k] = Math.max(0, Math.min(255, Math.round(v * 255)));
    }
  }
  return { images, labels };
}

/** Builds one split of the synthetic dataset (deterministic in its options). */
export function makeSynthetic(split: Split, opts: SyntheticOptions = {}): ArrayDataset {
  const numClasses = opts.numClasses ?? 10;
  const channels = opts.channels ?? 3;
  const s = opts.size ?? 32;
  const [h, w] = typeof s === 'number' ? [s, s] : s;
  if (!(Number.isInteger(numClasses) && numClasses >= 2)) throw new RangeError(`synthetic: numClasses must be an integer ≥ 2`);
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) throw new RangeError(`synthetic: invalid size ${JSON.stringify(s)}`);
  const base = { numClasses, channels, h, w, seed: opts.seed ?? 0, noise: opts.noise ?? 0.1 };
  const length = opts.length ?? (split === 'train' ? 512 : 128);
  const data = generate(split, { ...base, length });
  const trainLength = opts.trainLength ?? (split === 'train' ? length : 512);
  const statsSource = split === 'train' && trainLength === length ? data : generate('train', { ...base, length: trainLength });
  const { mean, std } = computeMeanStd(statsSource.images, channels);
  const classNames = Array.from({ length: numClasses }, (_, i) => `class${i}`);
  return new ArrayDataset('synthetic', split, data.images, data.labels, { channels, height: h, width: w }, classNames, mean, std);
}
