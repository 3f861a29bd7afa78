/**
 * Evaluation during a run: the trainer's current weights, or with EMA the averaged weights, which first
 * get BatchNorm statistics of their own (measured on un-augmented training batches, as PyTorch's
 * swa_utils.update_bn does) and run in an inference session of their own.
 */
import type { DataLoader } from '../../data/index.js';
import type { Network } from '../../models/network.js';
import { createModel } from '../../models/registry.js';
import { InferenceSession } from '../../runtime/inference.js';
import { ClassifierHead } from '../../train/feature-cache.js';
import type { Trainer } from '../../train/trainer.js';
import { loadModel } from '../checkpoints.js';
import { type EvalResult, evaluateLoader } from '../evaluate.js';

/**
 * Training batches whose BatchNorm statistics the EMA weights get before an evaluation (a few thousand
 * images, forward only; the whole split, as update_bn does, would cost a third of an epoch each time).
 */
export const EMA_BATCHNORM_BATCHES = 50;

export interface RunEvaluatorOptions {
  model: string;
  modelOptions: Record<string, unknown>;
  inputSize: [number, number, number];
  numClasses: number;
  /** Un-augmented, shuffled training batches for the EMA weights' BatchNorm statistics (with EMA only). */
  batchNorm?: DataLoader;
  /** With the frozen-backbone cache: batches are embeddings of this length (inputSize [D, 1, 1]), predicted by the classifier alone. */
  featureDim?: number;
}

export type Predict = (images: Float32Array) => Promise<Float32Array>;

export class RunEvaluator {
  private emaSession?: InferenceSession;
  private checkpointSession?: InferenceSession;
  private cached?: { step: number; predict: Predict };

  constructor(private readonly trainer: Trainer, private readonly o: RunEvaluatorOptions) {}

  /** The weights the run evaluates, as they are now (with EMA, their BatchNorm statistics are measured once per step count). */
  async current(): Promise<Predict> {
    const t = this.trainer;
    if (this.cached?.step === t.step) return this.cached.predict;
    let predict: Predict;
    if (!t.emaStateDict()) {
      predict = (x) => t.predict(x);
    } else {
      await t.measureEmaBatchNorm(this.emaBatchNormImages());
      const m: Network = createModel(this.o.model, this.o.modelOptions);
      m.loadStateDict(t.emaStateDict()!, { source: 'EMA weights' });
      await this.emaSession?.dispose();
      this.emaSession = await InferenceSession.create(m, { inputSize: this.o.inputSize, backend: t.backend });
      const s = this.emaSession;
      predict = (x) => s.run(x);
    }
    this.cached = { step: t.step, predict };
    return predict;
  }

  /** The weights a checkpoint of this run evaluates (the EMA weights when it holds them), in an inference session. */
  async ofCheckpoint(path: string): Promise<Predict> {
    const { model } = await loadModel({ checkpoint: path });
    await this.checkpointSession?.dispose();
    const dim = this.o.featureDim;
    this.checkpointSession = await InferenceSession.create(dim ? new ClassifierHead(model, dim) : model, { inputSize: this.o.inputSize, backend: this.trainer.backend });
    const s = this.checkpointSession;
    return (x) => s.run(x);
  }

  /** Evaluates a predictor on a loader; null when the signal aborts it. */
  evaluate(predict: Predict, loader: Parameters<typeof evaluateLoader>[1], o: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {}): Promise<EvalResult | null> {
    return evaluateLoader(predict, loader, this.o.numClasses, o);
  }

  private async *emaBatchNormImages(): AsyncGenerator<Float32Array> {
    let n = 0;
    for await (const batch of this.o.batchNorm!.iterate(0)) {
      if (n++ === EMA_BATCHNORM_BATCHES) break;
      yield batch.images;
    }
  }

  async dispose(): Promise<void> {
    await this.emaSession?.dispose();
    await this.checkpointSession?.dispose();
  }
}
