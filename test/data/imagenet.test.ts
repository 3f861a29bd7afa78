import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD, preprocessImagenet } from '../../src/data/imagenet.js';

test('ImageNet preprocessing: any size in, [3, 224, 224] normalized out (solid colour: exact values)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mz-imagenet-'));
  const file = join(dir, 'solid.png');
  const rgb = [200, 100, 50];
  await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: rgb[0]!, g: rgb[1]!, b: rgb[2]! } } }).png().toFile(file);
  const x = await preprocessImagenet(file);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(x.length, 3 * 224 * 224);
  for (let c = 0; c < 3; c++) {
    const expected = (rgb[c]! / 255 - IMAGENET_MEAN[c]!) / IMAGENET_STD[c]!;
    for (const i of [0, 1000, 224 * 224 - 1]) assert.ok(Math.abs(x[c * 224 * 224 + i]! - expected) < 1e-5);
  }
  assert.equal(IMAGENET_CLASSES.length, 1000);
});
