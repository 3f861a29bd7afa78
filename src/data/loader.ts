/**
 * Batch loader: seeded per-epoch shuffling, serializable transforms, batches assembled in
 * worker threads (raw images shared once through a SharedArrayBuffer) with prefetching.
 * Results are identical for any worker count (augmentation randomness depends only on
 * seed, epoch and the sample's position in the epoch).
 */

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Tensor } from '../tensor.js';
import { Assembler, type AssemblerInit, type BatchJob } from './assemble.js';
import { hasStorage, sharedBytes, type Dataset } from './dataset.js';
import { Rng } from './random.js';
import { resolveTransform, transformOutputShape, type ImageShape, type TransformSpec } from './transforms.js';

export interface DataLoaderOptions {
  batchSize: number;
  /** Seeded permutation per epoch (default false). */
  shuffle?: boolean;
  /** Seed for shuffling and augmentation (default 0). */
  seed?: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Serializable transform spec (default []: just uint8 → float [0,1] CHW). `normalize` without values uses the dataset's mean/std. */
  transform?: TransformSpec;
  /** Worker threads assembling batches (default 1; 0 = on the main thread). */
  workers?: number;
  /** Batches in flight per worker (default 2). */
  prefetch?: number;
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

/** Batch → { images: float32 [n,C,H,W], labels: int64 [n] } tensors. */
export function batchTensors(batch: Batch): { images: Tensor; labels: Tensor } {
  return { images: Tensor.float32(batch.shape, batch.images), labels: Tensor.int64([batch.n], batch.labels64) };
}

/**
 * How a worker thread is started: the compiled worker.js next to this file, else (running from
 * TypeScript sources) a small eval bootstrap that loads worker.ts through tsx's `tsImport`
 * (Node 20 does not apply `--import tsx` hooks to a worker's .ts entry point).
 */
export function workerEntry(): { script: URL | string; eval: boolean } {
  const js = new URL('./worker.js', import.meta.url);
  if (fs.existsSync(fileURLToPath(js))) return { script: js, eval: false };
  const ts = new URL('./worker.ts', import.meta.url);
  if (!fs.existsSync(fileURLToPath(ts))) {
    throw new Error(`DataLoader: worker script not found next to ${fileURLToPath(import.meta.url)}`);
  }
  let api: string;
  try {
    api = import.meta.resolve('tsx/esm/api');
  } catch {
    throw new Error('DataLoader: running from TypeScript sources needs the tsx package for worker threads (or build with tsc, or use workers: 0)');
  }
  const code =
    `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(ts.href)}, ${JSON.stringify(import.meta.url)}))` +
    `.catch((e) => { setImmediate(() => { throw e; }); });`;
  return { script: code, eval: true };
}

/** The parent's execArgv minus flags that only make sense for a main entry (e.g. --input-type with -e). */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--input-type=')) continue;
    if (a === '--input-type') {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

const sharedCopies = new WeakMap<Dataset, Uint8Array>();

/** The dataset's images as one SharedArrayBuffer-backed buffer (shared as is when possible, else copied once). */
function sharedImages(ds: Dataset): Uint8Array {
  if (hasStorage(ds)) {
    const { images } = ds.storage();
    if (images.buffer instanceof SharedArrayBuffer) return images;
  }
  let copy = sharedCopies.get(ds);
  if (!copy) {
    const size = ds.channels * ds.height * ds.width;
    copy = sharedBytes(ds.length * size);
    if (hasStorage(ds)) copy.set(ds.storage().images);
    else for (let i = 0; i < ds.length; i++) copy.set(ds.get(i).image, i * size);
    sharedCopies.set(ds, copy);
  }
  return copy;
}

interface Pending {
  resolve: (images: Float32Array) => void;
  reject: (e: Error) => void;
  worker: number;
}

class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private broken: Error | null = null;
  private closed = false;

  constructor(count: number, init: AssemblerInit) {
    const entry = workerEntry();
    for (let w = 0; w < count; w++) {
      const worker = new Worker(entry.script, { workerData: init, eval: entry.eval, execArgv: workerExecArgv() });
      worker.unref();
      worker.on('message', (msg: { id: number; images?: Float32Array; error?: string; stack?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.settle(msg.id);
        if (msg.error !== undefined) {
          const e = new Error(`DataLoader worker: ${msg.error}`);
          if (msg.stack) e.stack = `${e.message}\n--- in worker ---\n${msg.stack}`;
          p.reject(e);
        } else p.resolve(msg.images!);
      });
      const fail = (e: Error) => {
        this.broken ??= e;
        for (const [id, p] of [...this.pending]) {
          this.settle(id);
          p.reject(e);
        }
      };
      worker.on('error', (e) => fail(new Error(`DataLoader worker ${w} failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (this.pending.size > 0 || !this.closed) fail(new Error(`DataLoader worker ${w} exited unexpectedly (code ${code})`));
      });
      this.workers.push(worker);
    }
  }

  get ok(): boolean {
    return this.broken === null && !this.closed;
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) for (const w of this.workers) w.unref();
  }

  run(job: Omit<BatchJob, 'id'>, slot: number): Promise<Float32Array> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    const w = slot % this.workers.length;
    if (this.pending.size === 0) for (const wk of this.workers) wk.ref();
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: w });
      this.workers[w].postMessage({ ...job, id });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const e = new Error('DataLoader closed');
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(e);
    }
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export class DataLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly workers: number;
  readonly prefetch: number;
  /** The resolved transform (normalize filled in with the dataset's statistics). */
  readonly transform: TransformSpec;
  /** Shape of one transformed sample. */
  readonly sampleShape: ImageShape;
  private epoch = 0;
  private pool: WorkerPool | null = null;
  private local: Assembler | null = null;

  constructor(
    readonly dataset: Dataset,
    opts: DataLoaderOptions,
  ) {
    const { batchSize } = opts;
    if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    this.workers = opts.workers ?? 1;
    if (!(Number.isInteger(this.workers) && this.workers >= 0)) throw new RangeError(`DataLoader: workers must be an integer ≥ 0`);
    this.prefetch = Math.max(1, opts.prefetch ?? 2);
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

  private labelsOf(indices: Int32Array): Int32Array {
    const ds = this.dataset;
    const out = new Int32Array(indices.length);
    if (hasStorage(ds)) {
      const labels = ds.storage().labels;
      for (let j = 0; j < indices.length; j++) out[j] = labels[indices[j]];
    } else for (let j = 0; j < indices.length; j++) out[j] = ds.get(indices[j]).label;
    return out;
  }

  private makeBatch(images: Float32Array, indices: Int32Array, index: number, epoch: number): Batch {
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

  private getPool(): WorkerPool {
    if (!this.pool || !this.pool.ok) {
      const ds = this.dataset;
      this.pool = new WorkerPool(this.workers, {
        images: sharedImages(ds),
        shape: { channels: ds.channels, height: ds.height, width: ds.width },
        spec: this.transform,
        seed: this.seed,
      });
    }
    return this.pool;
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
    const order = this.order(epoch);
    const nb = this.length;
    const jobs = Array.from({ length: nb }, (_, b) => {
      const start = b * this.batchSize;
      return { epoch, start, indices: order.slice(start, Math.min(start + this.batchSize, order.length)) };
    });
    if (this.workers === 0) {
      const asm = this.getLocal();
      for (let b = 0; b < nb; b++) yield this.makeBatch(asm.assemble(jobs[b]), jobs[b].indices, b, epoch);
      return;
    }
    const pool = this.getPool();
    const inFlight = this.workers * this.prefetch;
    const results: Promise<Float32Array>[] = [];
    let dispatched = 0;
    const fill = (upTo: number) => {
      while (dispatched < Math.min(nb, upTo)) {
        const p = pool.run(jobs[dispatched], dispatched);
        p.catch(() => undefined); // handled when awaited; avoids unhandled rejections after an early break
        results.push(p);
        dispatched++;
      }
    };
    for (let b = 0; b < nb; b++) {
      fill(b + inFlight);
      const images = await results[b];
      delete results[b];
      yield this.makeBatch(images, jobs[b].indices, b, epoch);
    }
  }

  /** Stops the worker threads (a later iteration starts new ones). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.close();
  }
}
