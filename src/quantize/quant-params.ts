/**
 * Quantization parameters: asymmetric uint8 per-tensor for activations, symmetric int8 per-channel for
 * weights, int32 biases on the scale input_scale × weight_scale that ORT's integer kernels accumulate in.
 */
import { roundHalfEven } from '../data/rounding.js';
import { Tensor } from '../tensor.js';

export interface QParams {
  scale: number;
  zeroPoint: number;
}

const U8_MAX = 255;
const I8_MAX = 127;
const I32_MAX = 2 ** 31 - 1;

/** The next float32 below a positive float32. */
function float32Below(x: number): number {
  const bits = new Int32Array(new Float32Array([x]).buffer);
  bits[0]! -= 1;
  return new Float32Array(bits.buffer)[0]!;
}

/**
 * uint8 parameters for a range (extended to hold 0, which zero padding needs exactly). When the range
 * starts at 0 the zero point is 0 and the scale is kept so that 255·scale does not exceed the range's
 * top in float32: ORT removes a ReLU or Clip(0, 6) before a QuantizeLinear only when the quantized
 * range lies inside the clip's, and that is what lets the Conv → Clip → Q chain fuse into one
 * QLinearConv.
 */
export function activationQParams(min: number, max: number): QParams {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  let scale = Math.fround((hi - lo) / U8_MAX);
  const zeroPoint = Math.min(U8_MAX, Math.max(0, roundHalfEven(-lo / scale)));
  if (zeroPoint === 0) while (Math.fround(scale * U8_MAX) > hi) scale = float32Below(scale);
  return { scale, zeroPoint };
}

/** float → uint8 with the given parameters, saturating, as QuantizeLinear computes it. */
export function quantizeUint8(x: number, q: QParams): number {
  return Math.min(U8_MAX, Math.max(0, roundHalfEven(x / q.scale) + q.zeroPoint));
}

export interface PerChannelWeights {
  values: Int8Array;
  /** One scale per slice along the axis; the zero points are all 0. */
  scales: Float32Array;
}

/**
 * Symmetric int8 per-channel weights: scale_c = max|w_c| / 127, values in [-127, 127]. With a bias, a
 * channel's scale is raised where the bias on the scale inputScale·scale_c would leave the int32
 * accumulator too little room for the products (fan-in · 255 · 127 at most): the bias is what the
 * kernel starts accumulating from. This also covers channels whose weights are all zero, whose bias
 * then keeps nearly full int32 precision.
 */
export function quantizeWeights(w: Tensor, axis: number, bias?: { values: Float32Array; inputScale: number }): PerChannelWeights {
  const data = w.toFloat32();
  const channels = w.shape[axis]!;
  const inner = w.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const maxAbs = new Float64Array(channels);
  data.forEach((v, i) => (maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)]!, Math.abs(v))));
  const biasRoom = I32_MAX - (data.length / channels) * U8_MAX * I8_MAX;
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let s = maxAbs[c]! / I8_MAX;
    if (bias) s = Math.max(s, Math.abs(bias.values[c]!) / (bias.inputScale * biasRoom));
    scales[c] = s > 0 ? s : 1;
  }
  const values = new Int8Array(data.length);
  data.forEach((v, i) => (values[i] = Math.min(I8_MAX, Math.max(-I8_MAX, roundHalfEven(v / scales[channelOf(i)]!)))));
  return { values, scales };
}

/** int32 bias on the scale inputScale × weightScale_c, which is what ORT's kernels assume. */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } {
  const scales = weightScales.map((s) => Math.fround(inputScale * s));
  const values = new Int32Array(bias.length);
  bias.forEach((b, c) => (values[c] = Math.min(I32_MAX, Math.max(-I32_MAX, roundHalfEven(b / scales[c]!)))));
  return { values, scales };
}
