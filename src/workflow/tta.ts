/**
 * Test-time augmentation: a predictor that sees each batch in several views (mirrored left-right,
 * shifted by a pixel) and averages their softmax distributions. It returns log-probabilities, which
 * top-k, the confusion matrix and cross-entropy read like logits.
 */
import { logSumExp } from '../report/metrics.js';

export const TTA_MODES = ['none', 'flip', 'flip-shift'] as const;
export type TtaMode = (typeof TTA_MODES)[number];

export const TTA_DESCRIPTIONS: Record<TtaMode, string> = {
  none: 'none',
  flip: 'the image and its mirror image',
  'flip-shift': 'the image and its mirror image, each also shifted by one pixel left, right, up and down (10 views)',
};

export type Predict = (images: Float32Array) => Promise<Float32Array>;

/** The layout of the NCHW batches a predictor takes. */
export interface TtaGeometry {
  channels: number;
  height: number;
  width: number;
  numClasses: number;
  /** Per channel, what shifted-in pixels are: the normalized value of a black pixel, as training's padded random crops fill. Default 0. */
  fill?: number[];
}

/** Mirrors NCHW images along W. */
export function flipWidth(images: Float32Array, width: number): Float32Array {
  const out = new Float32Array(images.length);
  for (let row = 0; row < images.length; row += width) {
    for (let x = 0; x < width; x++) out[row + x] = images[row + width - 1 - x]!;
  }
  return out;
}

/** Moves NCHW images by (dx, dy) pixels (positive: right, down); uncovered pixels get the channel's fill. */
export function shiftImages(images: Float32Array, g: TtaGeometry, dx: number, dy: number): Float32Array {
  const { channels, height: h, width: w } = g;
  const out = new Float32Array(images.length);
  const planes = images.length / (h * w);
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    const fill = g.fill?.[p % channels] ?? 0;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      for (let x = 0; x < w; x++) {
        const sx = x - dx;
        out[base + y * w + x] = sy >= 0 && sy < h && sx >= 0 && sx < w ? images[base + sy * w + sx]! : fill;
      }
    }
  }
  return out;
}

/** log(mean of the softmaxes) per row, from log-softmaxes (so that it cannot overflow). */
export function logMeanSoftmax(views: Float32Array[], k: number): Float32Array {
  const out = new Float32Array(views[0]!.length);
  const logN = Math.log(views.length);
  const terms = new Float64Array(views.length);
  for (let r = 0; r < out.length; r += k) {
    const lse = views.map((v) => logSumExp(v, r, r + k));
    for (let i = r; i < r + k; i++) {
      views.forEach((v, j) => (terms[j] = v[i]! - lse[j]!));
      out[i] = logSumExp(terms) - logN;
    }
  }
  return out;
}

/** The views a mode averages over, as functions of the batch. */
export function ttaViews(mode: TtaMode, g: TtaGeometry): ((images: Float32Array) => Float32Array)[] {
  const identity = (x: Float32Array) => x;
  const flip = (x: Float32Array) => flipWidth(x, g.width);
  if (mode === 'none') return [identity];
  if (mode === 'flip') return [identity, flip];
  const shifts: [number, number][] = [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]];
  return [identity, flip].flatMap((f) => shifts.map(([dx, dy]) => (x: Float32Array) => (dx || dy ? shiftImages(f(x), g, dx, dy) : f(x))));
}

/** `predict` itself for 'none'; otherwise the average of the softmaxes over the mode's views. */
export function withTta(predict: Predict, mode: TtaMode, g: TtaGeometry): Predict {
  if (mode === 'none') return predict;
  const views = ttaViews(mode, g);
  return async (images) => {
    const outputs: Float32Array[] = [];
    for (const view of views) outputs.push(await predict(view(images)));
    return logMeanSoftmax(outputs, g.numClasses);
  };
}
