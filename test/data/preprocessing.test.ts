/** The one preprocessing: fit and luma against PIL / torchvision, and the record's behaviour on any image size. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { imagenetEvalTransform } from '../../src/data/imagenet.js';
import {
  atInputSize,
  compilePreprocessing,
  imagenetPreprocessing,
  parsePreprocessing,
  recordPreprocessing,
} from '../../src/data/preprocessing.js';
import { Rng } from '../../src/data/random.js';
import { applyGeometry, compileTransform } from '../../src/data/transforms.js';

interface Case { height: number; width: number; size: number; rgb: number[]; fit: number[]; gray: number[] }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/preprocessing.json', import.meta.url), 'utf8')) as { cases: Case[] };

function randomImage(h: number, w: number, c: number, seed: number) {
  const rng = new Rng(seed);
  return { data: Uint8Array.from({ length: h * w * c }, () => rng.int(256)), height: h, width: w, channels: c };
}

describe('preprocessing steps against PIL (dev/preprocessing-reference.py)', () => {
  test('toGrayscale is PIL convert("L") exactly', () => {
    for (const c of fixture.cases) {
      const img = applyGeometry([{ op: 'toGrayscale' }], { data: Uint8Array.from(c.rgb), height: c.height, width: c.width, channels: 3 });
      assert.equal(img.channels, 1);
      assert.deepEqual(Array.from(img.data), c.gray, `${c.height}x${c.width}`);
    }
  });

  test('fit is torchvision Resize(S) + CenterCrop(S) on PIL images (bilinear), exactly', () => {
    for (const c of fixture.cases) {
      const img = applyGeometry([{ op: 'fit', size: c.size }], { data: Uint8Array.from(c.rgb), height: c.height, width: c.width, channels: 3 });
      assert.deepEqual([img.height, img.width], [c.size, c.size]);
      assert.deepEqual(Array.from(img.data), c.fit, `${c.height}x${c.width} → ${c.size}`);
    }
  });

  test('fit is a no-op on an image already that size', () => {
    const img = randomImage(12, 9, 3, 1);
    assert.deepEqual(applyGeometry([{ op: 'fit', size: [12, 9] }], img).data, img.data);
  });
});

describe('Preprocessing records', () => {
  test('a grayscale 28x28 source: luma, fit, then the evaluation steps; any image size gives the model input', () => {
    const p = recordPreprocessing({ channels: 1, height: 28, width: 28 }, [
      { op: 'pad', padding: 2 }, { op: 'grayscaleToRgb' }, { op: 'normalize', mean: [0.3, 0.3, 0.3], std: [0.35, 0.35, 0.35] },
    ]);
    assert.deepEqual(p.transform.slice(0, 2), [{ op: 'toGrayscale' }, { op: 'fit', size: [28, 28] }]);
    assert.deepEqual(p.inputSize, [3, 32, 32]);
    assert.equal(p.grayscale, true);
    const run = compilePreprocessing(p);
    // A dataset image (1 channel, 28x28) and the same pixels as an RGB file give the same input.
    const gray = randomImage(28, 28, 1, 2);
    const rgb = { data: Uint8Array.from({ length: 28 * 28 * 3 }, (_, i) => gray.data[Math.floor(i / 3)]!), height: 28, width: 28, channels: 3 };
    assert.deepEqual(run(gray), run(rgb));
    assert.equal(run(randomImage(50, 41, 3, 3)).length, 3 * 32 * 32);
  });

  test('a 1-channel dataset shown to an RGB model is replicated first', () => {
    const p = recordPreprocessing({ channels: 3, height: 8, width: 8 }, [{ op: 'normalize', mean: [0, 0, 0], std: [1, 1, 1] }]);
    const gray = randomImage(8, 8, 1, 4);
    const x = compilePreprocessing(p)(gray);
    for (let i = 0; i < 64; i++) {
      assert.equal(x[i], Math.fround(gray.data[i]! / 255));
      assert.equal(x[64 + i], x[i]);
      assert.equal(x[128 + i], x[i]);
    }
  });

  test('imagenetPreprocessing gives exactly the pixels of torchvision\'s Resize(256) + CenterCrop(224)', () => {
    const p = imagenetPreprocessing(224);
    assert.deepEqual(p.source, { channels: 3, height: 256, width: 256 });
    for (const [h, w, seed] of [[300, 401, 5], [257, 256, 6], [333, 250, 7]] as const) {
      const img = randomImage(h, w, 3, seed);
      const direct = compileTransform(imagenetEvalTransform(224), img).apply(img.data, new Rng(0));
      assert.deepEqual(compilePreprocessing(p)(img), direct, `${h}x${w}`);
    }
  });

  test('atInputSize fits to another size before the channel and normalize steps; parse checks the record', () => {
    const p = imagenetPreprocessing(224);
    const q = atInputSize(p, 160);
    assert.deepEqual(q.inputSize, [3, 160, 160]);
    assert.deepEqual(q.transform[2], { op: 'fit', size: [160, 160] });
    assert.equal(atInputSize(p, 224), p);
    assert.deepEqual(parsePreprocessing(JSON.parse(JSON.stringify(q)), 'x'), q);
    assert.throws(() => parsePreprocessing({ source: { channels: 3, height: 8, width: 8 }, transform: [{ op: 'fit', size: 8 }] }, 'meta.json'), /meta\.json: preprocessing: the transform must end with a resolved normalize/);
    assert.throws(() => parsePreprocessing(null, 'meta.json'), /meta\.json: no valid preprocessing record/);
  });
});
