/** Batch mixup and cutmix (timm's batch mode): the mixed pixels and targets, λ's distribution, the switch and the box. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/data/random.js';
import { cutmixBox, mixBatch, mixSettingsProblem } from '../../src/data/transforms-mix.js';

const shape = [5, 2, 6, 8] as const;
const per = 2 * 6 * 8;
const images = Float32Array.from({ length: 5 * per }, (_, i) => Math.cos(i * 0.91) * 2);
const labels = Int32Array.of(0, 3, 1, 1, 2);

function checkTargets(targets: Float32Array, lam: number): void {
  for (let i = 0; i < 5; i++) {
    const row = targets.subarray(i * 4, i * 4 + 4);
    const expected = new Float64Array(4);
    expected[labels[i]!]! += lam;
    expected[labels[4 - i]!]! += 1 - lam;
    row.forEach((v, k) => assert.ok(Math.abs(v - expected[k]!) < 1e-6, `row ${i}: ${[...row]} for λ ${lam}`));
  }
}

test('mixup blends each image with its partner in the reversed batch, and the targets with the same λ', () => {
  const r = mixBatch(images, shape, labels, 4, { mixupAlpha: 0.4 }, new Rng(1));
  assert.equal(r.mode, 'mixup');
  assert.ok(r.lam > 0 && r.lam < 1);
  for (let i = 0; i < 5; i++) {
    for (let k = 0; k < per; k++) {
      const expected = images[i * per + k]! * r.lam + images[(4 - i) * per + k]! * (1 - r.lam);
      assert.ok(Math.abs(r.images[i * per + k]! - expected) < 1e-6);
    }
  }
  checkTargets(r.targets, r.lam);
  assert.equal(images[0], Math.cos(0) * 2, 'the input is not modified');
});

test('cutmix pastes the partner\'s box, and λ is the area kept', () => {
  const r = mixBatch(images, shape, labels, 4, { cutmixAlpha: 1 }, new Rng(4));
  assert.equal(r.mode, 'cutmix');
  const [top, bottom, left, right] = r.box!;
  for (let i = 0; i < 5; i++) {
    for (let c = 0; c < 2; c++) {
      for (let y = 0; y < 6; y++) {
        for (let x = 0; x < 8; x++) {
          const inside = y >= top && y < bottom && x >= left && x < right;
          const src = ((inside ? 4 - i : i) * 2 + c) * 48 + y * 8 + x;
          assert.equal(r.images[(i * 2 + c) * 48 + y * 8 + x], images[src]);
        }
      }
    }
  }
  assert.ok(Math.abs(r.lam - (1 - ((bottom - top) * (right - left)) / 48)) < 1e-12);
  checkTargets(r.targets, r.lam);
});

test('cutmix boxes: sides int(H·√(1−λ)) halved around the centre, clipped to the image', () => {
  const rng = new Rng(9);
  for (let t = 0; t < 300; t++) {
    const lam = rng.random();
    const [cy, cx] = [rng.int(20), rng.int(30)];
    const [top, bottom, left, right] = cutmixBox(20, 30, lam, cy, cx);
    const [hh, hw] = [Math.floor(Math.trunc(20 * Math.sqrt(1 - lam)) / 2), Math.floor(Math.trunc(30 * Math.sqrt(1 - lam)) / 2)];
    assert.deepEqual([top, bottom, left, right], [Math.max(0, cy - hh), Math.min(20, cy + hh), Math.max(0, cx - hw), Math.min(30, cx + hw)]);
  }
});

test('λ ~ Beta(α, α); prob and switchProb choose how often batches are mixed and how', () => {
  const rng = new Rng(2);
  for (const alpha of [0.2, 1, 2]) {
    const xs = Array.from({ length: 20000 }, () => rng.beta(alpha, alpha));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `α ${alpha}: mean ${mean}`);
    const expected = 1 / (4 * (2 * alpha + 1));
    assert.ok(Math.abs(variance - expected) < 0.05 * expected, `α ${alpha}: variance ${variance} vs ${expected}`);
  }
  const counts = { none: 0, mixup: 0, cutmix: 0 };
  for (let b = 0; b < 2000; b++) counts[mixBatch(images, shape, labels, 4, { mixupAlpha: 0.8, cutmixAlpha: 1, prob: 0.6, switchProb: 0.25 }, Rng.from(3, b)).mode]++;
  assert.ok(Math.abs(counts.none / 2000 - 0.4) < 0.04, JSON.stringify(counts));
  assert.ok(Math.abs(counts.cutmix / (counts.cutmix + counts.mixup) - 0.25) < 0.04, JSON.stringify(counts));
  const plain = mixBatch(images, shape, labels, 4, { mixupAlpha: 0.8, prob: 0 }, new Rng(0));
  assert.equal(plain.mode, 'none');
  assert.deepEqual(plain.images, images);
  checkTargets(plain.targets, 1);
});

test('bad mix settings are named', () => {
  assert.match(mixSettingsProblem({ mixupAlpha: -1 })!, /mixupAlpha/);
  assert.match(mixSettingsProblem({ switchProb: 2 })!, /switchProb/);
  assert.equal(mixSettingsProblem({ mixupAlpha: 0.2, cutmixAlpha: 1, prob: 1, switchProb: 0.5 }), undefined);
});
