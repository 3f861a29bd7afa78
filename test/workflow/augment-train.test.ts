/**
 * The augmentation settings of a training run: resolution and errors naming the flag, their record in the
 * checkpoint, and an interrupted run with every augmentation and mixup/cutmix that resumes exactly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readCheckpointRecord } from '../../src/workflow/checkpoints.js';
import { ConfigError, describeOptimization, resolveTrainConfig } from '../../src/workflow/config.js';
import { resumeConfig, trainFromConfig as train } from '../../src/workflow/index.js';

describe('augmentation settings', () => {
  test('flags resolve to torchvision\'s defaults and the given values', () => {
    const c = resolveTrainConfig({ randomResizedCrop: true, colorJitter: [0.4], randAugment: true, mixup: 0.2, cutmix: 1 });
    assert.deepEqual(c.augmentation, {
      randomResizedCrop: { scale: [0.08, 1] }, colorJitter: { brightness: 0.4, contrast: 0.4, saturation: 0.4 }, randAugment: { numOps: 2, magnitude: 9 },
    });
    assert.deepEqual(c.mix, { mixupAlpha: 0.2, cutmixAlpha: 1, prob: 1, switchProb: 0.5 });
    assert.match(describeOptimization(c), /random resized crop \(scale 0.08-1\), color jitter 0.4\/0.4\/0.4\/0, RandAugment 2 ops, magnitude 9, mixup α 0.2, cutmix α 1/);
    const d = resolveTrainConfig({ randomResizedCrop: [0.25, 1], colorJitter: [0.1, 0.2, 0.3, 0.05], autoAugment: 'svhn', cutmix: 1, mixProb: 0.5 });
    assert.deepEqual(d.augmentation, {
      randomResizedCrop: { scale: [0.25, 1] }, colorJitter: { brightness: 0.1, contrast: 0.2, saturation: 0.3, hue: 0.05 }, autoAugment: 'svhn',
    });
    assert.deepEqual(d.mix, { cutmixAlpha: 1, prob: 0.5 });
    const none = resolveTrainConfig({});
    assert.equal(none.augmentation, undefined);
    assert.equal(none.mix, undefined);
  });

  test('errors name the flag', () => {
    const bad: [Parameters<typeof resolveTrainConfig>[0], string][] = [
      [{ randomResizedCrop: [0.5] }, 'randomResizedCrop'],
      [{ randomResizedCrop: [0.5, 1.5] }, 'randomResizedCrop'],
      [{ colorJitter: [0.4, 0.4] }, 'colorJitter'],
      [{ colorJitter: [0.4, 0.4, 0.4, 0.6] }, 'colorJitter'],
      [{ autoAugment: 'mnist' }, 'autoAugment'],
      [{ randAugment: [2, 31] }, 'randAugment'],
      [{ randAugment: true, trivialAugment: true }, 'trivialAugment'],
      [{ trivialAugment: true, augment: false }, 'augment'],
      [{ mixup: -1 }, 'mixup'],
      [{ mixProb: 0.5 }, 'mixProb'],
      [{ mixup: 0.2, mixSwitchProb: 0.5 }, 'mixSwitchProb'],
    ];
    for (const [s, flag] of bad) {
      assert.throws(() => resolveTrainConfig(s), (e: unknown) => e instanceof ConfigError && e.setting === flag && e.message.startsWith(`${flag}: `), `${JSON.stringify(s)} → ${flag}`);
    }
  });
});

test('a run with every augmentation and mixup/cutmix records them and resumes exactly after an interruption', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobilezoo-augment-'));
  try {
    const config = resolveTrainConfig({
      model: 'mobilenet_v2', modelOptions: { widthMult: 0.25, dropout: 0 }, dataset: 'synthetic', input: 16, epochs: 2, batchSize: 8,
      limit: 40, testLimit: 16, optimizer: 'sgd', lr: 0.05, labelSmoothing: 0.1,
      randomResizedCrop: [0.3, 1], colorJitter: [0.4, 0.4, 0.4, 0.1], trivialAugment: true, mixup: 0.4, cutmix: 1, mixSwitchProb: 0.5,
    });
    const run = { threads: 1, workers: 0, saveEvery: 1 };
    const strip = (rows: { imagesPerSec: number; seconds: number }[]) => rows.map(({ imagesPerSec: _i, seconds: _s, ...r }) => r);
    const full = await train(config, { ...run, outDir: join(dir, 'full') });
    assert.ok(full.history.every((r) => Number.isFinite(r.trainLoss) && Number.isFinite(r.valLoss)));
    const { record } = await readCheckpointRecord(full.checkpoint!);
    assert.deepEqual(record.config.augmentation, config.augmentation);
    assert.deepEqual(record.config.mix, config.mix);
    // (synthetic images get no flip)
    assert.deepEqual(record.trainTransform!.map((s) => s.op), ['randomResizedCrop', 'colorJitter', 'trivialAugmentWide', 'normalize']);
    // The evaluation transform (the preprocessing) is unchanged by training augmentations.
    assert.ok(!record.preprocessing.transform.some((s) => ['randomResizedCrop', 'colorJitter', 'trivialAugmentWide'].includes(s.op)));

    const ac = new AbortController();
    let starts = 0;
    const out = join(dir, 'resumed');
    const first = await train(config, { ...run, outDir: out, signal: ac.signal, events: { epochStart: () => void (++starts === 2 && ac.abort()) } });
    assert.equal(first.interrupted, true);
    const { record: saved } = await readCheckpointRecord(first.checkpoint!);
    const resumed = await train(resumeConfig(saved), { ...run, outDir: out, resume: first.checkpoint });
    assert.deepEqual(strip(resumed.history), strip(full.history));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
