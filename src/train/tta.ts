/**
 * Test-time augmentation: a predictor that also sees each batch mirrored left-right and averages the
 * two softmax distributions. It returns log-probabilities, which top-k, the confusion matrix and
 * cross-entropy read like logits.
 */
import { logSumExp } from '../report/metrics.js';

export const TTA_MODES = ['none', 'flip'] as const;
export type TtaMode = (typeof TTA_MODES)[number];

export type Predict = (images: Float32Array) => Promise<Float32Array>;

/** Mirrors NCHW images along W. */
export function flipWidth(images: Float32Array, width: number): Float32Array {
  const out = new Float32Array(images.length);
  for (let row = 0; row < images.length; row += width) {
    for (let x = 0; x < width; x++) out[row + x] = images[row + width - 1 - x]!;
  }
  return out;
}

/** log((softmax(a) + softmax(b)) / 2) per row, from log-softmaxes (so that it cannot overflow). */
export function logMeanSoftmax(a: Float32Array, b: Float32Array, k: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let r = 0; r < a.length; r += k) {
    const lseA = logSumExp(a, r, r + k);
    const lseB = logSumExp(b, r, r + k);
    for (let i = r; i < r + k; i++) out[i] = logSumExp([a[i]! - lseA, b[i]! - lseB]) - Math.LN2;
  }
  return out;
}

/** `predict` itself for 'none'; for 'flip', the average over the batch and its mirror image. */
export function withTta(predict: Predict, mode: TtaMode, o: { width: number; numClasses: number }): Predict {
  if (mode === 'none') return predict;
  return async (images) => {
    const plain = await predict(images);
    const mirrored = await predict(flipWidth(images, o.width));
    return logMeanSoftmax(plain, mirrored, o.numClasses);
  };
}
