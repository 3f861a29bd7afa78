import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flipWidth, logMeanSoftmax, shiftImages, ttaViews, withTta } from '../../src/workflow/tta.js';

test('shiftImages moves each plane by (dx, dy) and fills the uncovered pixels with its channel\'s fill value', () => {
  // 1 image, 2 channels of 2x3.
  const x = Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]);
  const g = { channels: 2, height: 2, width: 3, numClasses: 2, fill: [-1, -9] };
  assert.deepEqual([...shiftImages(x, g, 1, 0)], [-1, 1, 2, -1, 4, 5, -9, 10, 20, -9, 40, 50]);
  assert.deepEqual([...shiftImages(x, g, -1, 0)], [2, 3, -1, 5, 6, -1, 20, 30, -9, 50, 60, -9]);
  assert.deepEqual([...shiftImages(x, g, 0, 1)], [-1, -1, -1, 1, 2, 3, -9, -9, -9, 10, 20, 30]);
  assert.deepEqual([...shiftImages(x, g, 0, -1)], [4, 5, 6, -1, -1, -1, 40, 50, 60, -9, -9, -9]);
  assert.deepEqual([...shiftImages(x, g, 0, 0)], [...x]);
});

test('flipWidth mirrors each row of an NCHW batch and is its own inverse', () => {
  const x = Float32Array.from({ length: 2 * 1 * 2 * 3 }, (_, i) => i);
  const f = flipWidth(x, 3);
  assert.deepEqual([...f], [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]);
  assert.deepEqual(flipWidth(f, 3), x);
});

test('logMeanSoftmax is log of the mean of the softmaxes, and stays finite for extreme logits', () => {
  const views = [Float32Array.from([1.5, -0.25, 3, 0.5, 0.5, -2]), Float32Array.from([-1, 2, 0.75, 4, -3, 0]), Float32Array.from([0, 0, 7, -1, 1, 2])];
  const softmax = (v: number[]) => {
    const e = v.map((z) => Math.exp(z));
    const s = e.reduce((p, q) => p + q);
    return e.map((z) => z / s);
  };
  for (const count of [1, 2, 3]) {
    const got = logMeanSoftmax(views.slice(0, count), 3);
    for (let r = 0; r < 2; r++) {
      const ps = views.slice(0, count).map((v) => softmax([...v.slice(3 * r, 3 * r + 3)]));
      for (let j = 0; j < 3; j++) {
        const mean = ps.reduce((a, p) => a + p[j]!, 0) / count;
        assert.ok(Math.abs(got[3 * r + j]! - Math.log(mean)) < 1e-6, `${count} views, row ${r}, class ${j}`);
      }
    }
  }
  // softmax([1000, 0]) = [1, 0] and softmax([0, 1000]) = [0, 1]: the mean is [1/2, 1/2].
  const extreme = logMeanSoftmax([Float32Array.from([1000, 0]), Float32Array.from([0, 1000])], 2);
  for (const v of extreme) assert.ok(Math.abs(v - Math.log(0.5)) < 1e-6);
});

test("withTta: 'flip' and 'flip-shift' predict the same for an image and its mirror image; 'none' is the predictor itself", async () => {
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
  const g = { channels: 1, height: 2, width, numClasses: 3, fill: [-0.5] };
  const tta = withTta(predict, 'flip', g);
  const plain = await predict(x);
  const mirrored = await predict(flipWidth(x, width));
  assert.notDeepEqual(plain, mirrored);
  assert.deepEqual(await tta(x), await tta(flipWidth(x, width)));
  assert.deepEqual(await tta(x), logMeanSoftmax([plain, mirrored], 3));
  assert.equal(withTta(predict, 'none', g), predict);

  // flip-shift: the 10 views (the image and its mirror, each at 5 offsets) averaged; its view set is
  // the same for an image and its mirror image (the shifts are symmetric), so are its predictions.
  const views = ttaViews('flip-shift', g);
  assert.equal(views.length, 10);
  const offsets = [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]];
  const explicit = [x, flipWidth(x, width)].flatMap((v) => offsets.map(([dx, dy]) => shiftImages(v, g, dx!, dy!)));
  const outputs = await Promise.all(explicit.map((v) => predict(v)));
  const ttaShift = withTta(predict, 'flip-shift', g);
  assert.deepEqual(await ttaShift(x), logMeanSoftmax(outputs, 3));
  const a = await ttaShift(x);
  const b = await ttaShift(flipWidth(x, width));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-6, `mirror-invariant at ${i}`);
  assert.notDeepEqual(a, await tta(x));
});
