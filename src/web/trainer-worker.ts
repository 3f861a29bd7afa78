/**
 * The Trainer behind a message port, for a Web Worker: a page's thread stays responsive while the steps
 * run in the worker. The page drives it through RemoteTrainer (trainer-client.ts), whose calls are the
 * Trainer's own; images, labels, logits and tensor files cross as transferred buffers (moved, not
 * copied). The worker imports onnxruntime-web itself (a module can't be sent), from the URL the page
 * gives: trainer-worker-main.ts is the worker's entry. Weights cross as safetensors (the page reads
 * .pth files, whose zip reader is a bare `fflate` import: import maps do not reach into workers, so the
 * worker's modules import no package).
 */
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { Network } from '../models/network.js';
import { createModel } from '../models/registry.js';
import { type OrtWebModule, type WebBackendOptions, webBackend } from '../runtime/web-backend.js';
import { ClassifierHead, EmbeddingCache, featureCacheApplies, onNetwork } from '../train/feature-cache.js';
import { backboneParameters } from '../train/freeze.js';
import { Trainer, type TrainerOptions } from '../train/trainer.js';
import { type TrainingCheckpoint, trainingCheckpointFiles } from '../workflow/checkpoint-record.js';

/** Trainer options that cross a message port: no backend (the worker's own) and no functions. */
export interface RemoteTrainerOptions extends Omit<TrainerOptions, 'backend' | 'frozen' | 'lrMultiplier' | 'schedulePosition'> {
  frozen?: string[];
  /** Learning-rate factor of the parameters outside the classifier (the command line's --backbone-lr-mult). */
  backboneLrMult?: number;
  /**
   * Train the classifier on cached embeddings (src/train/feature-cache.ts; `frozen` must be the
   * backbone, no EMA): `embed` gives them once, then trainStep and predict take embeddings, not images.
   */
  featureCache?: boolean;
}

/** The calls, by operation. */
export interface TrainerCalls {
  start: { args: { ortUrl: string } & WebBackendOptions; result: { backend: string; threads: number } };
  create: {
    /** `weights`: a state dict as safetensors bytes. */
    args: { model: string; modelOptions: Record<string, unknown>; options: RemoteTrainerOptions; weights?: Uint8Array };
    /** `featureDim`: the embedding length, with featureCache. */
    result: { params: number; numClasses: number; inputSize: [number, number, number]; featureDim?: number };
  };
  /** Embeddings ([n, featureDim]) of n images, with featureCache. */
  embed: { args: { images: Float32Array }; result: Float32Array };
  trainStep: { args: { images: Float32Array; labels: Int32Array; logits?: boolean; targets?: Float32Array }; result: { loss: number; logits?: Float32Array; step: number } };
  predict: { args: { images: Float32Array }; result: Float32Array };
  currentLr: { args: Record<string, never>; result: number };
  setFrozen: { args: { frozen: string[] }; result: void };
  measureEmaBatchNorm: { args: { batches: Float32Array[] }; result: number };
  /** The weights, optimizer state and EMA weights as safetensors bytes. */
  state: { args: Record<string, never>; result: { step: number; weights: Uint8Array; optimizer: Uint8Array; ema?: Uint8Array } };
  loadOptimizerState: { args: { optimizer: Uint8Array }; result: { step: number } };
  checkpoint: { args: TrainingCheckpoint; result: { name: string; bytes: Uint8Array }[] };
  dispose: { args: Record<string, never>; result: void };
}

export type TrainerOp = keyof TrainerCalls;
export interface TrainerRequest<K extends TrainerOp = TrainerOp> {
  id: number;
  op: K;
  args: TrainerCalls[K]['args'];
}
export type TrainerReply = { id: number; result: unknown } | { id: number; error: string };

/** What serveTrainer needs of a port: a DedicatedWorkerGlobalScope, a MessagePort. */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: { data: unknown }) => void): void;
}

/** The buffers of a result, to transfer rather than copy. */
export function transferables(value: unknown): Transferable[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown) => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer) out.add(v.buffer);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return [...out];
}

/** Serves one Trainer on a port until `dispose`. */
export function serveTrainer(port: PortLike, loadOrt: (url: string) => Promise<OrtWebModule>): void {
  let backend: ReturnType<typeof webBackend> | undefined;
  let trainer: Trainer | undefined;
  // With featureCache: the whole network (whose classifier the trainer trains) and its embeddings.
  let cached: { network: Network; cache: EmbeddingCache } | undefined;
  const need = () => {
    if (!trainer) throw new Error('trainer worker: call create first');
    return trainer;
  };
  const release = async () => {
    await trainer?.dispose();
    await cached?.cache.dispose();
    trainer = undefined;
    cached = undefined;
  };
  const handlers: { [K in TrainerOp]: (a: TrainerCalls[K]['args']) => Promise<TrainerCalls[K]['result']> } = {
    async start({ ortUrl, ...o }) {
      backend = webBackend(await loadOrt(ortUrl), o);
      return { backend: backend.name, threads: backend.threads! };
    },
    async create({ model: name, modelOptions, options, weights }) {
      if (!backend) throw new Error('trainer worker: call start first');
      await release();
      const model = createModel(name, modelOptions);
      if (weights) model.loadStateDict(readSafetensors(weights, 'weights'), { source: 'the weights sent to the worker' });
      const { frozen, backboneLrMult, featureCache, ...rest } = options;
      const backbone = backboneLrMult !== undefined && backboneLrMult !== 1 ? backboneParameters(model) : undefined;
      const settings = { ...rest, backend, lrMultiplier: backbone ? (p: string) => (backbone.has(p) ? backboneLrMult! : 1) : undefined };
      if (featureCache) {
        const check = featureCacheApplies({ model, frozen: new Set(frozen ?? []), augment: false, mix: !!rest.softTargets, ema: !!rest.emaDecay });
        if (!check.applies) throw new Error(`trainer worker: no feature cache here: ${check.why}`);
        const inputSize = rest.inputSize ?? model.inputSize;
        const cache = await EmbeddingCache.create(model, { backend, inputSize });
        const { dim } = await cache.embed(new Float32Array(inputSize[0] * inputSize[1] * inputSize[2]));
        cached = { network: model, cache };
        trainer = await Trainer.create(new ClassifierHead(model, dim), { ...settings, inputSize: [dim, 1, 1] });
        return { params: model.parameterCount(), numClasses: model.numClasses, inputSize, featureDim: dim };
      }
      trainer = await Trainer.create(model, { ...settings, frozen: new Set(frozen ?? []) });
      return { params: model.parameterCount(), numClasses: model.numClasses, inputSize: trainer.inputSize };
    },
    async trainStep({ images, labels, logits, targets }) {
      const t = need();
      const r = await t.trainStep(images, labels, { logits, targets });
      return { loss: r.loss, logits: r.logits, step: t.step };
    },
    async embed({ images }) {
      if (!cached) throw new Error('trainer worker: embed needs a trainer created with featureCache');
      return (await cached.cache.embed(images)).data;
    },
    predict: async ({ images }) => need().predict(images),
    currentLr: async () => need().currentLr(),
    setFrozen: ({ frozen }) => need().setFrozen(new Set(frozen)),
    measureEmaBatchNorm: ({ batches }) => need().measureEmaBatchNorm(batches),
    async state() {
      const t = need();
      const ema = t.emaStateDict();
      return { step: t.step, weights: writeSafetensors((cached?.network ?? t.model).stateDict()), optimizer: writeSafetensors(t.optimizerStateDict()), ...(ema ? { ema: writeSafetensors(ema) } : {}) };
    },
    async loadOptimizerState({ optimizer }) {
      const t = need();
      t.loadOptimizerStateDict(readSafetensors(optimizer, 'optimizer state'));
      return { step: t.step };
    },
    checkpoint: async (c) => trainingCheckpointFiles(cached ? onNetwork(need(), cached.network) : need(), c),
    dispose: release,
  };
  // One call at a time, in order: a Trainer's calls depend on the ones before.
  let queue: Promise<void> = Promise.resolve();
  port.addEventListener('message', (e) => {
    const { id, op, args } = e.data as TrainerRequest;
    queue = queue.then(async () => {
      try {
        const handler = handlers[op] as ((a: unknown) => Promise<unknown>) | undefined;
        if (!handler) throw new Error(`trainer worker: no operation '${String(op)}'`);
        const result = await handler(args);
        port.postMessage({ id, result } satisfies TrainerReply, transferables(result));
      } catch (err) {
        port.postMessage({ id, error: (err as Error).message ?? String(err) } satisfies TrainerReply);
      }
    });
  });
}
