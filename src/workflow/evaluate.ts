/**
 * Evaluation of a predictor over batches: loss, top-1 / top-5, confusion matrix, per-class accuracy.
 * No Node dependencies (mobilezoo/web evaluates with it too).
 */
import type { Batch } from '../data/batch-loader.js';
import { addConfusion, argmaxRows, confusionMatrix, crossEntropyMean, perClassAccuracy, topK } from '../report/metrics.js';

export interface EvalResult {
  loss: number;
  /** Fractions in [0, 1]; top5 is NaN with 5 classes or fewer. */
  top1: number;
  top5: number;
  count: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  perClass: number[];
}

/**
 * Evaluates `predict` (NCHW float32 → logits) over the epoch-0 batches of a loader (a DataLoader, a
 * BatchLoader). Returns null if `signal` aborts between batches.
 */
export async function evaluateLoader(
  predict: (images: Float32Array) => Promise<Float32Array>,
  loader: { readonly length: number; iterate(epoch: number): AsyncIterable<Pick<Batch, 'images' | 'labels' | 'n'>> },
  numClasses: number,
  o: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void; labelMap?: number[] } = {},
): Promise<EvalResult | null> {
  let lossSum = 0;
  let top1 = 0;
  let top5 = 0;
  let count = 0;
  let confusion: number[][] = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const total = loader.length;
  let done = 0;
  for await (const b of loader.iterate(0)) {
    if (o.signal?.aborted) return null;
    const logits = await predict(b.images);
    const labels = o.labelMap ? Int32Array.from(b.labels, (l) => o.labelMap![l]!) : b.labels;
    lossSum += crossEntropyMean(logits, labels, numClasses) * b.n;
    top1 += topK(logits, numClasses, labels, 1);
    if (numClasses > 5) top5 += topK(logits, numClasses, labels, 5);
    confusion = addConfusion(confusion, confusionMatrix(labels, argmaxRows(logits, numClasses), numClasses));
    count += b.n;
    o.onBatch?.(++done, total);
  }
  if (o.signal?.aborted) return null;
  return {
    loss: lossSum / count,
    top1: top1 / count,
    top5: numClasses > 5 ? top5 / count : Number.NaN,
    count,
    confusion,
    perClass: perClassAccuracy(confusion),
  };
}
