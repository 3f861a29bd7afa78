// Quantization parameters: per-channel weight scales max|w|/127, uint8 activation ranges that hold 0
// exactly (and let ORT drop a ReLU6 before the Q), int32 biases on input scale × weight scale, and
// the percentile range of a histogram.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/index.js';
import { Histogram } from '../../src/quantize/histogram.js';
import { roundHalfEven } from '../../src/data/rounding.js';
import { activationQParams, quantizeBias, quantizeWeights } from '../../src/quantize/quant-params.js';
import { Tensor } from '../../src/tensor.js';

const rng = new Rng(11);

/** [channels along axis] × [rest], values of different magnitude per channel. */
function weights(shape: number[], axis: number): Tensor {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const size = shape.reduce((a, b) => a * b, 1);
  return Tensor.float32(shape, Float32Array.from({ length: size }, (_, i) => rng.normal() * (1 + (Math.floor(i / inner) % shape[axis]!))));
}

for (const [label, shape, axis] of [['Conv [8, 3, 3, 3], axis 0', [8, 3, 3, 3], 0], ['Gemm B [16, 10] (transB = 0), axis 1', [16, 10], 1]] as const) {
  test(`quantizeWeights, ${label}: scale max|w|/127 per channel, values in [-127, 127] within half a step`, () => {
    const w = weights([...shape], axis);
    const { values, scales } = quantizeWeights(w, axis);
    const channels = shape[axis];
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const channelOf = (i: number) => Math.floor(i / inner) % channels;
    const maxAbs = new Array<number>(channels).fill(0);
    const data = w.data as Float32Array;
    data.forEach((v, i) => (maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)]!, Math.abs(v))));
    assert.deepEqual(Array.from(scales), maxAbs.map((m) => Math.fround(m / 127)));
    data.forEach((v, i) => {
      const s = scales[channelOf(i)]!;
      assert.ok(Math.abs(values[i]!) <= 127);
      assert.ok(Math.abs(values[i]! * s - v) <= s / 2 + 1e-6 * Math.abs(v), `element ${i}`);
    });
    assert.ok(maxAbs.every((_, c) => data.some((v, i) => channelOf(i) === c && Math.abs(values[i]!) === 127)), 'each channel uses its full range');
  });
}

test('quantizeWeights: a bias too large for int32 on input scale × max|w|/127 raises that channel\'s scale, and all-zero weights get a positive one', () => {
  const w = Tensor.float32([3, 4], [1e-6, -2e-6, 0, 1e-6, 1, 0.5, -1, 0.25, 0, 0, 0, 0]);
  const bias = Float32Array.of(100, 0.5, 3);
  const inputScale = 0.01;
  const { scales } = quantizeWeights(w, 0, { values: bias, inputScale });
  const room = 2 ** 31 - 1 - 4 * 255 * 127;
  assert.ok(scales[0]! > 2e-6 / 127 && Math.abs(100 / (inputScale * scales[0]!)) <= room * (1 + 1e-6));
  assert.equal(scales[1], Math.fround(1 / 127));
  assert.ok(scales[2]! > 0 && Math.abs(3 / (inputScale * scales[2]!)) <= room * (1 + 1e-6));
  const q = quantizeBias(bias, inputScale, scales);
  assert.ok(Array.from(q.values).every((v) => Math.abs(v) <= room * (1 + 1e-6)));
  q.values.forEach((v, c) => assert.ok(Math.abs(v * q.scales[c]! - bias[c]!) <= q.scales[c]! / 2 + 1e-6 * Math.abs(bias[c]!)));
});

test('quantizeBias: int32 on the scale input scale × weight scale, rounded half to even', () => {
  const scales = Float32Array.of(0.5, 0.25);
  const q = quantizeBias(Float32Array.of(0.625, -0.1875), 0.5, scales);
  assert.deepEqual(Array.from(q.scales), [0.25, 0.125]);
  assert.deepEqual(Array.from(q.values), [2, -2]);
});

test('roundHalfEven rounds ties to the even neighbour, as QuantizeLinear does', () => {
  assert.deepEqual([2.5, 3.5, -2.5, -3.5, 2.4, -2.6].map(roundHalfEven), [2, 4, -2, -4, 2, -3]);
});

test('activationQParams: a range starting at 0 has zero point 0 and 255·scale within it (what lets ORT remove a ReLU6)', () => {
  for (const max of [6, 5.9999995, 1, 1e-6, 3.3]) {
    const { scale, zeroPoint } = activationQParams(0, max);
    assert.equal(zeroPoint, 0);
    assert.ok(Math.fround(scale * 255) <= max, `max ${max}: 255 x ${scale} = ${Math.fround(scale * 255)}`);
    assert.ok(scale * 255 > max * (1 - 1e-6));
  }
});

test('activationQParams: ranges are widened to hold 0, and 0 is exactly representable', () => {
  for (const [min, max] of [[-1, 3], [-6.5, 0.1], [2, 5], [-3, -1], [-0.001, 1000]] as const) {
    const { scale, zeroPoint } = activationQParams(min, max);
    const lo = Math.min(min, 0);
    const hi = Math.max(max, 0);
    assert.ok(Number.isInteger(zeroPoint) && zeroPoint >= 0 && zeroPoint <= 255);
    assert.ok(scale <= Math.fround((hi - lo) / 255) && scale >= ((hi - lo) / 255) * (1 - 1e-6));
    // The representable range [-zp·s, (255 - zp)·s] covers [lo, hi] to half a step at either end.
    assert.ok(-zeroPoint * scale <= lo + scale / 2 && (255 - zeroPoint) * scale >= hi - scale / 2, `[${min}, ${max}]: scale ${scale}, zero point ${zeroPoint}`);
  }
  assert.deepEqual(activationQParams(0, 0), { scale: 1, zeroPoint: 0 });
});

test('Histogram.percentileRange cuts half the rest off each tail, inside [min, max]', () => {
  const values = Float32Array.from({ length: 10000 }, (_, i) => i / 100);
  const h = new Histogram(0, 99.99, 10000);
  h.add(values);
  assert.deepEqual(h.percentileRange(100), { min: 0, max: 99.99 });
  const r = h.percentileRange(99);
  assert.ok(Math.abs(r.min - 0.5) <= 0.011 && Math.abs(r.max - 99.5) <= 0.011, JSON.stringify(r));
  const outlier = new Histogram(-1000, 10, 2048);
  outlier.add(Float32Array.from({ length: 100000 }, (_, i) => (i === 0 ? -1000 : (i % 1000) / 100)));
  const o = outlier.percentileRange(99.99);
  assert.ok(o.min >= -1000 && o.min > -10 && o.max <= 10, JSON.stringify(o));
});
