import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flipWidth, logMeanSoftmax, withTta } from '../../src/train/tta.js';

test('flipWidth mirrors each row of an NCHW batch and is its own inverse', () => {
  const x = Float32Array.from({ length: 2 * 1 * 2 * 3 }, (_, i) => i);
  const f = flipWidth(x, 3);
  assert.deepEqual([...f], [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]);
  assert.deepEqual(flipWidth(f, 3), x);
});

test('logMeanSoftmax is log of the mean of the two softmaxes, and stays finite for extreme logits', () => {
  const a = Float32Array.from([1.5, -0.25, 3, 0.5, 0.5, -2]);
  const b = Float32Array.from([-1, 2, 0.75, 4, -3, 0]);
  const softmax = (v: number[]) => {
    const e = v.map((z) => Math.exp(z));
    const s = e.reduce((p, q) => p + q);
    return e.map((z) => z / s);
  };
  const got = logMeanSoftmax(a, b, 3);
  for (let r = 0; r < 2; r++) {
    const pa = softmax([...a.slice(3 * r, 3 * r + 3)]);
    const pb = softmax([...b.slice(3 * r, 3 * r + 3)]);
    for (let j = 0; j < 3; j++) assert.ok(Math.abs(got[3 * r + j]! - Math.log((pa[j]! + pb[j]!) / 2)) < 1e-6);
  }
  // softmax([1000, 0]) = [1, 0] and softmax([0, 1000]) = [0, 1]: the mean is [1/2, 1/2].
  const extreme = logMeanSoftmax(Float32Array.from([1000, 0]), Float32Array.from([0, 1000]), 2);
  for (const v of extreme) assert.ok(Math.abs(v - Math.log(0.5)) < 1e-6);
});

test("withTta 'flip' predicts the same for an image and its mirror image; 'none' is the predictor itself", async () => {
  // A predictor that is not mirror-symmetric: class scores from the left and right halves of each row.
  const width = 4;
  const predict = async (x: Float32Array) => {
    const n = x.length / (2 * width);
    const out = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      const img = x.subarray(i * 2 * width, (i + 1) * 2 * width);
      out[3 * i] = img[0]! + img[width]!;
      out[3 * i + 1] = img[width - 1]! - img[2 * width - 1]!;
      out[3 * i + 2] = 0.5 * img[1]!;
    }
    return out;
  };
  const x = Float32Array.from({ length: 3 * 2 * width }, (_, i) => Math.sin(i * 1.7) * 2);
  const tta = withTta(predict, 'flip', { width, numClasses: 3 });
  const plain = await predict(x);
  const mirrored = await predict(flipWidth(x, width));
  assert.notDeepEqual(plain, mirrored);
  assert.deepEqual(await tta(x), await tta(flipWidth(x, width)));
  assert.deepEqual(await tta(x), logMeanSoftmax(plain, mirrored, 3));
  assert.equal(withTta(predict, 'none', { width, numClasses: 3 }), predict);
});
