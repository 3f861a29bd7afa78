/** The library side of the CLI: settings → TrainConfig (recipes, validation), model planning, demo config. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, RECIPES, resolveTrainConfig } from '../../src/workflow/config.js';
import { defaultTestLimit, demoConfig, planModel } from '../../src/workflow/index.js';

const base = { model: 'mobilenet_v2', modelOptions: {}, seed: 0 };

describe('resolveTrainConfig', () => {
  test('defaults', () => {
    const c = resolveTrainConfig({});
    assert.equal(c.model, 'mobilenet_v2');
    assert.equal(c.dataset, 'cifar10');
    assert.equal(c.epochs, 15);
    assert.equal(c.batchSize, 128);
    assert.deepEqual(c.optimizer, { type: 'adam', weightDecay: 0, noDecayBnBias: false });
    assert.equal(c.lr, 1e-3);
    assert.deepEqual(c.schedule, { type: 'constant' });
    assert.equal(c.download, false);
    assert.equal(c.augment, true);
    assert.equal(c.randomErasing, 0);
    assert.equal(resolveTrainConfig({ randomErasing: 0.25 }).randomErasing, 0.25);
    assert.throws(() => resolveTrainConfig({ randomErasing: 1.5 }), /randomErasing: expected a probability in \[0, 1\]/);
  });

  test('the cifar recipe, and explicit flags override it', () => {
    const c = resolveTrainConfig({ recipe: 'cifar' });
    assert.equal(c.epochs, 200);
    assert.equal(c.lr, 0.1);
    assert.deepEqual(c.optimizer, { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayBnBias: false });
    assert.deepEqual(c.schedule, { type: 'cosine' });
    const d = resolveTrainConfig({ recipe: 'cifar', epochs: 30, lr: 0.05, dataset: 'cifar100' });
    assert.equal(d.epochs, 30);
    assert.equal(d.lr, 0.05);
    assert.equal(d.dataset, 'cifar100');
  });

  test('fashion-mnist and mobilenet-v2-paper recipes', () => {
    const f = resolveTrainConfig({ recipe: 'fashion-mnist' });
    assert.equal(f.dataset, 'fashion-mnist');
    assert.equal(f.labelSmoothing, 0.1);
    assert.equal(f.warmupEpochs, 1);
    assert.equal(resolveTrainConfig({ recipe: 'fashion-mnist', epochs: 2 }).warmupEpochs, 0.2);
    const p = resolveTrainConfig({ recipe: 'mobilenet-v2-paper' });
    assert.deepEqual(p.optimizer, { type: 'rmsprop', alpha: 0.9, eps: 1e-3, tfEps: true, momentum: 0.9, weightDecay: 4e-5, noDecayBnBias: false });
    assert.deepEqual(p.schedule, { type: 'exponential', gamma: 0.98 });
    assert.equal(p.batchSize, 96);
    assert.ok(Object.keys(RECIPES).length === 3);
  });

  test('errors name the setting, never a flag', () => {
    const bad: [Parameters<typeof resolveTrainConfig>[0], string][] = [
      [{ recipe: 'nope' }, 'recipe'],
      [{ optimizer: 'adam', momentum: 0.5 }, 'momentum'],
      [{ optimizer: 'sgd', momentum: 0, nesterov: true }, 'nesterov'],
      [{ schedule: 'cosine', gamma: 0.5 }, 'gamma'],
      [{ schedule: 'constant', stepSize: 3 }, 'stepSize'],
      [{ epochs: 3, warmup: 3 }, 'warmup'],
      [{ dataset: 'folder' }, 'dataDir'],
      [{ input: 4 }, 'input'],
      [{ batchSize: 0 }, 'batchSize'],
    ];
    for (const [s, setting] of bad) {
      assert.throws(() => resolveTrainConfig(s), (e: unknown) => e instanceof ConfigError && e.setting === setting && e.message.startsWith(`${setting}: `) && !e.message.includes('--'), setting);
    }
    assert.throws(() => resolveTrainConfig({ optimizer: 'adam', momentum: 0.5 }), /^ConfigError: momentum: does not apply to `optimizer` adam/);
  });
});

describe('planModel', () => {
  const fmnist = { height: 28, width: 28, numClasses: 10, title: 'Fashion-MNIST' };
  test('small images: CIFAR stem at 32x32 by default', () => {
    const p = planModel(base, fmnist);
    assert.equal(p.options.stem, 'cifar');
    assert.equal(p.options.numClasses, 10);
    assert.deepEqual(p.inputSize, [3, 32, 32]);
    assert.deepEqual(p.notes, []);
  });
  test('small images with --stem imagenet: resized to 224, with a note; --input picks the size', () => {
    const p = planModel({ ...base, modelOptions: { stem: 'imagenet' } }, fmnist);
    assert.deepEqual(p.inputSize, [3, 224, 224]);
    assert.match(p.notes[0]!, /resized to 224x224/);
    assert.deepEqual(planModel({ ...base, modelOptions: { stem: 'imagenet' }, input: 64 }, fmnist).inputSize, [3, 64, 64]);
  });
  test('large images: ImageNet stem at 224 unless --input ≤ 64', () => {
    const big = { height: 224, width: 224, numClasses: 5, title: 'folder' };
    const p = planModel({ ...base, model: 'shufflenet_v2_x0_5' }, big);
    assert.equal(p.options.stem, 'imagenet');
    assert.deepEqual(p.inputSize, [3, 224, 224]);
    assert.equal(planModel({ ...base, input: 32 }, big).options.stem, 'cifar');
  });
  test('--limit keeps ceil(N/5) test images by default', () => {
    assert.equal(defaultTestLimit(5000), 1000);
    assert.equal(defaultTestLimit(7), 2);
  });
});

describe('demo', () => {
  test('Fashion-MNIST when found, else synthetic with instructions (never a download)', () => {
    const { config, fallback } = demoConfig();
    assert.equal(config.download, false);
    assert.equal(config.model, 'mobilenet_v2');
    assert.deepEqual(config.modelOptions, { widthMult: 0.5, stem: 'cifar' });
    assert.equal(config.batchSize, 64);
    if (config.dataset === 'synthetic') {
      assert.match(fallback!, /apt-get install dataset-fashion-mnist/);
      assert.match(fallback!, /--download/);
    } else {
      assert.equal(config.dataset, 'fashion-mnist');
      assert.equal(fallback, undefined);
    }
    const missing = demoConfig({ dataDir: '/nonexistent' });
    assert.ok(missing.config.dataset === 'synthetic' || missing.config.dataset === 'fashion-mnist');
  });
});

test('bin/mobilezoo.js runs (dist/ when built, else the sources through tsx)', async () => {
  const { spawn } = await import('node:child_process');
  const { ROOT } = await import('../cli/helpers.js');
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, ['bin/mobilezoo.js', 'list', '--json'], { cwd: ROOT });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ code, out }));
  });
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.out).length, 9);
});

describe('train(): interrupting at any point resumes exactly', () => {
  test('aborted during the first evaluation and at the start of epoch 2', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { readCheckpointRecord } = await import('../../src/workflow/checkpoints.js');
    const { resumeConfig, trainFromConfig: train } = await import('../../src/workflow/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'mobilezoo-wf-'));
    try {
      const config = resolveTrainConfig({
        model: 'shufflenet_v2_x0_5', dataset: 'synthetic', input: 16, epochs: 2, batchSize: 8, limit: 44, testLimit: 16,
        optimizer: 'adamw', lr: 2e-3, weightDecay: 0.01, schedule: 'linear', warmup: 0.5, labelSmoothing: 0.1, ema: 0.9,
      });
      const run = { threads: 1, workers: 0, saveEvery: 1 };
      const strip = (rows: { imagesPerSec: number; seconds: number }[]) => rows.map(({ imagesPerSec: _i, seconds: _s, ...r }) => r);
      const full = await train(config, { ...run, outDir: join(dir, 'full') });
      assert.equal(full.history.length, 2);

      for (const [name, when] of [['eval', 'evalStart'], ['epoch2', 'epochStart']] as const) {
        const ac = new AbortController();
        const out = join(dir, name);
        let seen = 0;
        const events = {
          evalStart: () => void (when === 'evalStart' && ac.abort()),
          epochStart: () => void (when === 'epochStart' && ++seen === 2 && ac.abort()),
        };
        const first = await train(config, { ...run, outDir: out, signal: ac.signal, events });
        assert.equal(first.interrupted, true);
        const { record } = await readCheckpointRecord(first.checkpoint!);
        if (name === 'eval') assert.deepEqual([record.epoch, record.progress.stepInEpoch], [0, record.progress.stepsPerEpoch]);
        else assert.deepEqual([record.epoch, record.progress.stepInEpoch], [1, 0]);
        const resumed = await train(resumeConfig(record), { ...run, outDir: out, resume: first.checkpoint });
        assert.equal(resumed.interrupted, false);
        assert.deepEqual(strip(resumed.history), strip(full.history), name);
        assert.equal(resumed.evaluation!.loss, full.evaluation!.loss);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
