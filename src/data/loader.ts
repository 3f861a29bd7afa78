/**
 * Batch loader: seeded per-epoch shuffling, serializable transforms, batches assembled in
 * worker threads (raw images shared once through a SharedArrayBuffer) with prefetching.
 * Results are identical for any worker count (augmentation randomness depends only on
 * seed, epoch and the sample's position in the epoch); the batches themselves are BatchLoader's
 * (batch-loader.ts), which assembles them on the calling thread where there are no worker threads.
 */

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Tensor } from '../tensor.js';
import type { AssemblerInit, BatchJob } from './assemble.js';
import { type Batch, BatchLoader, type BatchLoaderOptions } from './batch-loader.js';
import { hasStorage, sharedBytes, type Dataset } from './dataset.js';

export type { Batch };

export interface DataLoaderOptions extends BatchLoaderOptions {
  /** Worker threads assembling batches (default 1; 0 = on the main thread). */
  workers?: number;
  /** Batches in flight per worker (default 2). */
  prefetch?: number;
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

export class DataLoader extends BatchLoader {
  readonly workers: number;
  readonly prefetch: number;
  private pool: WorkerPool | null = null;

  constructor(dataset: Dataset, opts: DataLoaderOptions) {
    super(dataset, opts);
    this.workers = opts.workers ?? 1;
    if (!(Number.isInteger(this.workers) && this.workers >= 0)) throw new RangeError(`DataLoader: workers must be an integer ≥ 0`);
    this.prefetch = Math.max(1, opts.prefetch ?? 2);
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

  /** Iterates the batches of one epoch. */
  override async *iterate(epoch = this.getEpoch()): AsyncGenerator<Batch, void, undefined> {
    if (this.workers === 0) {
      yield* super.iterate(epoch);
      return;
    }
    const jobs = this.jobs(epoch);
    const nb = jobs.length;
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
  override async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    if (p) await p.close();
  }
}
