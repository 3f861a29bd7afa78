/**
 * Batches of a dataset, without worker threads (Node and browsers, a page's thread or a Web Worker):
 * seeded per-epoch shuffling, serializable transforms, each batch assembled on the calling thread. The
 * DataLoader (loader.ts) gives the same batches from Node worker threads: augmentation randomness
 * depends only on seed, epoch and the sample's position in the epoch.
 */

import { Assembler } from './assemble.js';
import { hasStorage, type Dataset } from './dataset.js';
import { Rng } from './random.js';
import { resolveTransform, transformOutputShape, type ImageShape, type TransformSpec } from './transforms.js';

export interface BatchLoaderOptions {
  batchSize: number;
  /** Seeded permutation per epoch (default false). */
  shuffle?: boolean;
  /** Seed for shuffling and augmentation (default 0). */
  seed?: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Serializable transform spec (default []: just uint8 → float [0,1] CHW). `normalize` without values uses the dataset's mean/std. */
  transform?: TransformSpec;
}

export interface Batch {
  /** n × C × H × W float32. */
  images: Float32Array;
  labels: Int32Array;
  /** The same labels as int64 (what ONNX cross-entropy losses take). */
  labels64: BigInt64Array;
  n: number;
  /** [n, C, H, W] */
  shape: [number, number, number, number];
  /** Dataset indices of the samples. */
  indices: Int32Array;
  /** Batch number within the epoch, and the epoch. */
  index: number;
  epoch: number;
}

export class BatchLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** The resolved transform (normalize filled in with the dataset's statistics). */
  readonly transform: TransformSpec;
  /** Shape of one transformed sample. */
  readonly sampleShape: ImageShape;
  private epoch = 0;
  private local: Assembler | null = null;

  constructor(
    readonly dataset: Dataset,
    opts: BatchLoaderOptions,
  ) {
    const { batchSize } = opts;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    this.transform = resolveTransform(opts.transform ?? [], dataset);
    // Fails early on bad specs (and checks that the spec survives structured cloning unchanged).
    this.sampleShape = transformOutputShape(JSON.parse(JSON.stringify(this.transform)) as TransformSpec, dataset);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Sets the epoch used by the next iteration (it seeds the shuffle and the augmentation). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DataLoader: epoch must be a non-negative integer`);
    this.epoch = epoch;
  }

  getEpoch(): number {
    return this.epoch;
  }

  /** The sample order of an epoch. */
  order(epoch = this.epoch): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return Rng.from(this.seed, 'shuffle', epoch).permutation(n);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    return idx;
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.iterate(this.epoch);
  }

  /** The batches of an epoch: their position in it (which seeds each sample's augmentation) and samples. */
  protected jobs(epoch: number): { epoch: number; start: number; indices: Int32Array }[] {
    const order = this.order(epoch);
    return Array.from({ length: this.length }, (_, b) => {
      const start = b * this.batchSize;
      return { epoch, start, indices: order.slice(start, Math.min(start + this.batchSize, order.length)) };
    });
  }

  private labelsOf(indices: Int32Array): Int32Array {
    const ds = this.dataset;
    const out = new Int32Array(indices.length);
    if (hasStorage(ds)) {
      const labels = ds.storage().labels;
      for (let j = 0; j < indices.length; j++) out[j] = labels[indices[j]];
    } else for (let j = 0; j < indices.length; j++) out[j] = ds.get(indices[j]).label;
    return out;
  }

  protected makeBatch(images: Float32Array, indices: Int32Array, index: number, epoch: number): Batch {
    const labels = this.labelsOf(indices);
    const { channels, height, width } = this.sampleShape;
    return {
      images,
      labels,
      labels64: BigInt64Array.from(labels, (v) => BigInt(v)),
      n: indices.length,
      shape: [indices.length, channels, height, width],
      indices,
      index,
      epoch,
    };
  }

  private getLocal(): Assembler {
    if (!this.local) {
      const ds = this.dataset;
      this.local = new Assembler((i) => ds.get(i).image, ds, this.transform, this.seed);
    }
    return this.local;
  }

  /** Iterates the batches of one epoch. */
  async *iterate(epoch = this.epoch): AsyncGenerator<Batch, void, undefined> {
    const asm = this.getLocal();
    for (const [b, job] of this.jobs(epoch).entries()) yield this.makeBatch(asm.assemble(job), job.indices, b, epoch);
  }

  /** Nothing to release here; DataLoader stops its worker threads. */
  async close(): Promise<void> {}
}
