import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeSynthetic, openDataset } from '../../src/data/index.js';

describe('synthetic dataset', () => {
  test('seeded, balanced, configurable', async () => {
    const a = makeSynthetic('train', { seed: 1, length: 60, numClasses: 6, size: 16 });
    const b = makeSynthetic('train', { seed: 1, length: 60, numClasses: 6, size: 16 });
    const c = makeSynthetic('train', { seed: 2, length: 60, numClasses: 6, size: 16 });
    assert.deepEqual(a.images, b.images);
    assert.notDeepEqual(a.images, c.images);
    assert.equal(a.length, 60);
    assert.equal(a.numClasses, 6);
    assert.equal(a.get(0).image.length, 16 * 16 * 3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < a.length; i++) counts[a.get(i).label]++;
    assert.deepEqual(counts, new Array(6).fill(10));
    const g = await openDataset('synthetic', 'test', { channels: 1, size: [8, 12], length: 7 });
    assert.equal(g.channels, 1);
    assert.equal(g.height, 8);
    assert.equal(g.width, 12);
    assert.equal(g.length, 7);
    assert.equal(g.mean.length, 1);
    const tr = makeSynthetic('train', {});
    const te = makeSynthetic('test', {});
    assert.equal(tr.length, 512);
    assert.equal(te.length, 128);
    assert.deepEqual(te.mean, tr.mean, 'test reports the training statistics');
    assert.notDeepEqual(te.get(0).image, tr.get(0).image);
  });

  test('classes are learnable: nearest class mean separates the test split', () => {
    const tr = makeSynthetic('train', { seed: 7 });
    const te = makeSynthetic('test', { seed: 7 });
    const size = tr.get(0).image.length;
    const means = Array.from({ length: tr.numClasses }, () => new Float64Array(size));
    const n = new Array(tr.numClasses).fill(0);
    for (let i = 0; i < tr.length; i++) {
      const { image, label } = tr.get(i);
      n[label]++;
      for (let k = 0; k < size; k++) means[label][k] += image[k];
    }
    means.forEach((m, c) => m.forEach((v, k) => (m[k] = v / n[c])));
    let correct = 0;
    for (let i = 0; i < te.length; i++) {
      const { image, label } = te.get(i);
      let best = -1;
      let bestD = Infinity;
      means.forEach((m, c) => {
        let d = 0;
        for (let k = 0; k < size; k++) d += (image[k] - m[k]) ** 2;
        if (d < bestD) [best, bestD] = [c, d];
      });
      if (best === label) correct++;
    }
    assert.ok(correct / te.length > 0.95, `accuracy ${correct / te.length}`);
  });
});
