/**
 * Evaluation during a run: the trainer's current weights, or with EMA the averaged weights, which first
 * get BatchNorm statistics of their own (measured on un-augmented training batches, as PyTorch's
 * swa_utils.update_bn does) and run in an inference session of their own.
 */
import type { DataLoader } from '../../data/index.js';
import type { Network } from '../../models/network.js';
import { createModel } from '../../models/registry.js';
import { InferenceSession } from '../../runtime/inference.js';
import type { Trainer } from '../../train/trainer.js';
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
}

export class RunEvaluator {
  private emaSession?: InferenceSession;

  constructor(private readonly trainer: Trainer, private readonly o: RunEvaluatorOptions) {}

  /** Evaluates the weights the run evaluates on a loader; null when the signal aborts it. */
  async evaluate(loader: DataLoader, o: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {}): Promise<EvalResult | null> {
    return evaluateLoader(await this.predictor(), loader, this.o.numClasses, o);
  }

  private async predictor(): Promise<(x: Float32Array) => Promise<Float32Array>> {
    const t = this.trainer;
    if (!t.emaStateDict()) return (x) => t.predict(x);
    await t.measureEmaBatchNorm(this.emaBatchNormImages());
    const m: Network = createModel(this.o.model, this.o.modelOptions);
    m.loadStateDict(t.emaStateDict()!, { source: 'EMA weights' });
    await this.emaSession?.dispose();
    this.emaSession = await InferenceSession.create(m, { inputSize: this.o.inputSize, backend: t.backend });
    const s = this.emaSession;
    return (x) => s.run(x);
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
  }
}
