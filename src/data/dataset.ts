/** Core dataset types, the in-memory dataset, channel statistics and shared helpers. */

import os from 'node:os';
import path from 'node:path';
import { Rng } from './random.js';

export type Split = 'train' | 'test';

export interface Sample {
  /** HWC uint8 pixels. May be a view into the dataset's storage: do not mutate. */
  image: Uint8Array;
  label: number;
}

export interface Dataset {
  readonly name: string;
  readonly split: Split;
  readonly length: number;
  readonly numClasses: number;
  readonly classNames: string[];
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
  /** Per-channel mean of the training split, on the [0, 1] scale. */
  readonly mean: number[];
  /** Per-channel standard deviation (population) of the training split, on the [0, 1] scale. */
  readonly std: number[];
  get(i: number): Sample;
}

/** Contiguous storage that can be shared with worker threads. */
export interface DatasetStorage {
  /** length × height × width × channels uint8, HWC per image. */
  images: Uint8Array;
  /** length labels. */
  labels: Int32Array;
}

/** A dataset whose images live in one contiguous uint8 buffer (N×H×W×C). */
export class ArrayDataset implements Dataset {
  readonly length: number;
  readonly imageSize: number;

  constructor(
    readonly name: string,
    readonly split: Split,
    readonly images: Uint8Array,
    readonly labels: Int32Array,
    readonly shape: { channels: 1 | 3; height: number; width: number },
    readonly classNames: string[],
    readonly mean: number[],
    readonly std: number[],
  ) {
    this.imageSize = shape.channels * shape.height * shape.width;
    this.length = labels.length;
    if (images.length !== this.length * this.imageSize) {
      throw new Error(
        `${name}/${split}: image buffer has ${images.length} bytes, expected ${this.length} × ${this.imageSize}`,
      );
    }
    if (mean.length !== shape.channels || std.length !== shape.channels) {
      throw new Error(`${name}/${split}: mean/std must have ${shape.channels} entries`);
    }
  }

  get numClasses(): number {
    return this.classNames.length;
  }
  get channels(): 1 | 3 {
    return this.shape.channels;
  }
  get height(): number {
    return this.shape.height;
  }
  get width(): number {
    return this.shape.width;
  }

  get(i: number): Sample {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`${this.name}/${this.split}: index ${i} out of range [0, ${this.length})`);
    }
    const o = i * this.imageSize;
    return { image: this.images.subarray(o, o + this.imageSize), label: this.labels[i] };
  }

  storage(): DatasetStorage {
    return { images: this.images, labels: this.labels };
  }
}

/** Datasets that can hand out contiguous storage (used by the DataLoader to share with workers). */
export function hasStorage(ds: Dataset): ds is Dataset & { storage(): DatasetStorage } {
  return typeof (ds as { storage?: unknown }).storage === 'function';
}

/** A Uint8Array backed by a SharedArrayBuffer (so worker threads can read it without copying). */
export function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

export function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}

/**
 * A subset of a dataset (first `n` items, or a seeded random sample of `n` items when `seed` is given).
 * Returns an ArrayDataset that copies the chosen images; mean/std are those of the parent.
 */
export function takeSubset(ds: Dataset, n: number, seed?: number): ArrayDataset {
  const count = Math.max(0, Math.min(Math.floor(n), ds.length));
  let idx: ArrayLike<number>;
  if (seed !== undefined) idx = Rng.from(seed, 'subset').permutation(ds.length).subarray(0, count).sort();
  else idx = Array.from({ length: count }, (_, i) => i);
  const size = ds.channels * ds.height * ds.width;
  const images = sharedBytes(count * size);
  const labels = sharedInt32(count);
  for (let k = 0; k < count; k++) {
    const s = ds.get(idx[k]);
    images.set(s.image, k * size);
    labels[k] = s.label;
  }
  return new ArrayDataset(
    ds.name,
    ds.split,
    images,
    labels,
    { channels: ds.channels, height: ds.height, width: ds.width },
    ds.classNames,
    ds.mean,
    ds.std,
  );
}

/** Per-channel histogram accumulator → exact mean / population std on the [0,1] scale. */
export class ChannelStats {
  private readonly hist: Float64Array[];
  constructor(readonly channels: number) {
    this.hist = Array.from({ length: channels }, () => new Float64Array(256));
  }

  /** Adds HWC interleaved pixels. */
  addInterleaved(pixels: Uint8Array): void {
    const c = this.channels;
    if (c === 1) {
      const h = this.hist[0];
      for (let i = 0; i < pixels.length; i++) h[pixels[i]]++;
      return;
    }
    for (let ch = 0; ch < c; ch++) {
      const h = this.hist[ch];
      for (let i = ch; i < pixels.length; i += c) h[pixels[i]]++;
    }
  }

  /** Adds one planar channel's pixels. */
  addPlane(channel: number, pixels: Uint8Array): void {
    const h = this.hist[channel];
    for (let i = 0; i < pixels.length; i++) h[pixels[i]]++;
  }

  result(): { mean: number[]; std: number[] } {
    const mean: number[] = [];
    const std: number[] = [];
    for (const h of this.hist) {
      let n = 0;
      let s = 0;
      for (let v = 0; v < 256; v++) {
        n += h[v];
        s += h[v] * v;
      }
      const m = n > 0 ? s / n : 0;
      let ss = 0;
      for (let v = 0; v < 256; v++) ss += h[v] * (v - m) * (v - m);
      mean.push(m / 255);
      std.push(n > 0 ? Math.sqrt(ss / n) / 255 : 0);
    }
    return { mean, std };
  }
}

/** Mean/std of HWC images on the [0,1] scale. */
export function computeMeanStd(images: Uint8Array, channels: number): { mean: number[]; std: number[] } {
  const st = new ChannelStats(channels);
  st.addInterleaved(images);
  return st.result();
}

/** Thrown when a dataset file exists but is malformed; the message names the file. */
export class DatasetFormatError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'DatasetFormatError';
  }
}

/** Thrown when a dataset cannot be found locally (and was not or could not be downloaded). */
export class DatasetNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetNotFoundError';
  }
}

/** `$MOBILEZOO_HOME`, else `$XDG_CACHE_HOME/mobilezoo` or `~/.cache/mobilezoo`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MOBILEZOO_HOME) return path.resolve(env.MOBILEZOO_HOME);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'mobilezoo');
  return path.join(os.homedir(), '.cache', 'mobilezoo');
}

/** Whether downloads are allowed by default (env MOBILEZOO_OFFLINE=1 turns them off). */
export function downloadDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.MOBILEZOO_OFFLINE;
  return !(v && v !== '0' && v.toLowerCase() !== 'false');
}

/**
 * The ordered data roots to search: explicit dir, env MOBILEZOO_DATA, the cache dir.
 * Duplicates removed. The first entry is where downloads go.
 */
export function dataRoots(dir?: string, env: NodeJS.ProcessEnv = process.env): { path: string; source: string }[] {
  const out: { path: string; source: string }[] = [];
  const add = (p: string | undefined, source: string) => {
    if (!p) return;
    const abs = path.resolve(p);
    if (!out.some((o) => o.path === abs)) out.push({ path: abs, source });
  };
  add(dir, '--data / dir option');
  add(env.MOBILEZOO_DATA, 'MOBILEZOO_DATA');
  add(cacheDir(env), 'cache');
  return out;
}
