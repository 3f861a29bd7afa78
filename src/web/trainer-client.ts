/**
 * A page's handle on the Trainer of a Web Worker (trainer-worker.ts): the Trainer's calls, answered by
 * the worker, so the page's thread only posts messages. Buffers passed in (images, labels, weights) are
 * transferred: the caller's arrays are detached afterwards (pass a copy to keep one); results come back
 * transferred too.
 */
import { writeSafetensors } from '../io/safetensors.js';
import type { WebBackendOptions } from '../runtime/web-backend.js';
import type { StateDict } from '../tensor.js';
import type { TrainingCheckpoint } from '../workflow/checkpoint-record.js';
import { type RemoteTrainerOptions, type TrainerCalls, type TrainerOp, type TrainerReply, transferables } from './trainer-worker.js';

export type { RemoteTrainerOptions };

/** What RemoteTrainer needs of a worker (a Worker, a MessagePort). */
export interface WorkerLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: { data: unknown }) => void): void;
  terminate?(): void;
}

export class RemoteTrainer {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly worker: WorkerLike,
    /** The worker's backend, e.g. 'onnxruntime-web 1.30.0 wasm', and its threads. */
    readonly backend: { backend: string; threads: number },
  ) {}

  /** Starts the worker's onnxruntime-web (imported from `ortUrl`, e.g. onnxruntime-web's ort.wasm.min.mjs). */
  static async start(worker: WorkerLike, o: { ortUrl: string } & WebBackendOptions): Promise<RemoteTrainer> {
    const r = new RemoteTrainer(worker, { backend: '', threads: 0 });
    worker.addEventListener('message', (e) => r.settle(e.data as TrainerReply));
    const started = await r.call('start', o);
    return Object.assign(r, { backend: started });
  }

  private settle(reply: TrainerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if ('error' in reply) p.reject(new Error(reply.error));
    else p.resolve(reply.result);
  }

  private call<K extends TrainerOp>(op: K, args: TrainerCalls[K]['args']): Promise<TrainerCalls[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args }, transferables(args));
    });
  }

  /** A model (from the registry, with these weights, e.g. from loadCheckpoint) and its Trainer. */
  create(model: string, modelOptions: Record<string, unknown>, options: RemoteTrainerOptions, weights?: StateDict) {
    return this.call('create', { model, modelOptions, options, weights: weights && writeSafetensors(weights) });
  }

  /** A step (Trainer.trainStep; `targets`: class probabilities, e.g. from mixBatch, with softTargets). */
  trainStep(images: Float32Array, labels: Int32Array, o: { logits?: boolean; targets?: Float32Array } = {}) {
    return this.call('trainStep', { images, labels, logits: o.logits, targets: o.targets });
  }

  /** Embeddings of images, for a trainer created with `featureCache` (then trainStep and predict take embeddings). */
  embed(images: Float32Array) {
    return this.call('embed', { images });
  }

  predict(images: Float32Array) {
    return this.call('predict', { images });
  }

  currentLr() {
    return this.call('currentLr', {});
  }

  setFrozen(frozen: Iterable<string>) {
    return this.call('setFrozen', { frozen: [...frozen] });
  }

  measureEmaBatchNorm(batches: Float32Array[]) {
    return this.call('measureEmaBatchNorm', { batches });
  }

  /** Weights, optimizer state (exact resume) and EMA weights, as safetensors bytes. */
  state() {
    return this.call('state', {});
  }

  loadOptimizerState(optimizer: Uint8Array) {
    return this.call('loadOptimizerState', { optimizer });
  }

  /** The files of a checkpoint (trainingCheckpointFiles): what `mobilezoo test` and `train --resume` read. */
  checkpoint(c: TrainingCheckpoint) {
    return this.call('checkpoint', c);
  }

  /** Releases the Trainer and stops the worker. */
  async terminate(): Promise<void> {
    await this.call('dispose', {});
    this.worker.terminate?.();
  }
}
