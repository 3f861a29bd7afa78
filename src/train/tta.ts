/**
 * Test-time augmentation: a predictor that also sees each batch mirrored left-right and averages the
 * two softmax distributions. It returns log-probabilities, which top-k, the confusion matrix and
 * cross-entropy read like logits.
 */
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

function logSoftmaxRows(logits: Float32Array, k: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length; r += k) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[r + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[r + j]! - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < k; j++) out[r + j] = logits[r + j]! - lse;
  }
  return out;
}

/** log((softmax(a) + softmax(b)) / 2) per row, computed from log-softmaxes so that it cannot overflow. */
export function logMeanSoftmax(a: Float32Array, b: Float32Array, k: number): Float32Array {
  const la = logSoftmaxRows(a, k);
  const lb = logSoftmaxRows(b, k);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const m = Math.max(la[i]!, lb[i]!);
    out[i] = m === -Infinity ? -Infinity : m + Math.log((Math.exp(la[i]! - m) + Math.exp(lb[i]! - m)) / 2);
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
