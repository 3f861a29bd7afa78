/**
 * Fine-tuning end to end on tiny data: --pretrained from a checkpoint into a new classifier, --freeze
 * backbone (frozen tensors bit-identical, BatchNorm statistics kept), --unfreeze-at with exact resume,
 * state dicts as sources, and `test` on a folder whose class names differ from the checkpoint's.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { loadStateDictFile, saveSafetensorsFile } from '../../src/io/index.js';
import { createModel } from '../../src/models/registry.js';
import { MetricsCsv } from '../../src/report/csv.js';
import type { StateDict } from '../../src/tensor.js';
import { readCheckpointRecord } from '../../src/workflow/checkpoints.js';
import { rmrf, runCliInMemory as cli, tempDir } from '../cli/helpers.js';

const dir = tempDir('mobilezoo-finetune-');
const base = join(dir, 'base');
const folder = join(dir, 'folder');
after(() => rmrf(dir));


/** A folder dataset of 20x20 PNGs: class c is a stripe pattern of period c + 2, with noise. */
async function makeFolder(root: string, classes: string[], perSplit: Record<string, number>): Promise<void> {
  let seed = 1;
  for (const [split, n] of Object.entries(perSplit)) {
    for (const [c, name] of classes.entries()) {
      mkdirSync(join(root, split, name), { recursive: true });
      for (let i = 0; i < n; i++) {
        const px = Buffer.alloc(20 * 20 * 3).map((_, k) => {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          const x = Math.floor(k / 3) % 20;
          return (Math.floor(x / (c + 2)) % 2) * 160 + (seed % 80);
        });
        await sharp(px, { raw: { width: 20, height: 20, channels: 3 } }).png().toFile(join(root, split, name, `${i}.png`));
      }
    }
  }
}

const COMMON = ['--epochs', '2', '--batch-size', '8', '--threads', '1', '--save-every', '1', '--optimizer', 'sgd', '--lr', '0.05'];
const weights = async (run: string, tag = 'last') => loadStateDictFile(join(run, `checkpoint-${tag}.safetensors`));
const rows = async (run: string) => (await new MetricsCsv(join(run, 'metrics.csv')).read()).map(({ imagesPerSec: _i, seconds: _s, ...r }) => r);
const sameTensor = (a: StateDict, b: StateDict, k: string) => assert.deepEqual(a.get(k)!.data, b.get(k)!.data, k);

describe('train --pretrained', () => {
  before(async () => {
    const r = await cli(['train', '--model', 'mobilenet_v2', '--width', '0.25', '--dataset', 'synthetic', '--input', '16', '--limit', '64', '--test-limit', '16', ...COMMON, '--epochs', '1', '--out', base]);
    assert.equal(r.code, 0, r.err);
    await makeFolder(folder, ['alpha', 'beta', 'gamma'], { train: 8, test: 4 });
  });

  test('--freeze backbone: a new 3-class classifier on the checkpoint\'s backbone, which stays bit-identical', async () => {
    const run = join(dir, 'frozen');
    const r = await cli(['train', '--pretrained', join(base, 'checkpoint-last.json'), '--freeze', 'backbone', '--dataset', 'folder', '--data', folder, ...COMMON, '--out', run]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err + r.out, /pretrained: .*checkpoint-last\.json \(checkpoint, sha256 [0-9a-f]{12}…\): loaded \d+ tensors: features\.0-18 \(\d+\)/);
    assert.match(r.err + r.out, /initialized as mobilenet_v2 does \(absent from the file or shaped differently\): classifier\.1\.weight, classifier\.1\.bias/);
    const { record } = await readCheckpointRecord(join(run, 'checkpoint-last.json'));
    const { record: source } = await readCheckpointRecord(join(base, 'checkpoint-last.json'));
    assert.deepEqual(record.pretrained?.reinitialized, ['classifier.1.weight', 'classifier.1.bias']);
    assert.equal(record.pretrained?.kind, 'checkpoint');
    assert.deepEqual(record.dataset.classNames, ['alpha', 'beta', 'gamma']);
    // The source's model options and its whole preprocessing (16x16 input, its normalization).
    assert.equal(record.model.options.widthMult, 0.25);
    assert.equal(record.model.options.stem, 'cifar');
    assert.equal(record.model.numClasses, 3);
    assert.deepEqual(record.preprocessing, source.preprocessing);
    const before = await weights(base);
    const after = await weights(run);
    for (const k of before.keys()) {
      if (k.startsWith('classifier.')) assert.notDeepEqual(after.get(k)!.shape, before.get(k)!.shape, k);
      else sameTensor(after, before, k); // running statistics and num_batches_tracked included
    }
  });

  test('--unfreeze-at 2: the backbone trains from epoch 2, and a resume from epoch 1 continues exactly', async () => {
    const run = join(dir, 'gradual');
    const args = ['train', '--pretrained', join(base, 'checkpoint-last.json'), '--freeze', 'backbone', '--unfreeze-at', '2', '--backbone-lr-mult', '0.5', '--dataset', 'folder', '--data', folder, ...COMMON];
    const r = await cli([...args, '--out', run]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err + r.out, /epoch 2: unfreezing every layer/);
    const source = await weights(base);
    const epoch1 = await weights(run, 'epoch-1');
    const last = await weights(run);
    sameTensor(epoch1, source, 'features.0.0.weight');
    sameTensor(epoch1, source, 'features.0.1.running_mean');
    assert.notDeepEqual(last.get('features.0.0.weight')!.data, source.get('features.0.0.weight')!.data);
    assert.notDeepEqual(last.get('features.0.1.running_mean')!.data, source.get('features.0.1.running_mean')!.data);

    const resumed = join(dir, 'gradual-resumed');
    const again = await cli(['train', '--resume', join(run, 'checkpoint-epoch-1.json'), '--out', resumed]);
    assert.equal(again.code, 0, again.err);
    assert.deepEqual(await rows(resumed), await rows(run));
    const a = await weights(resumed);
    for (const k of last.keys()) sameTensor(a, last, k);
  });

  test('from a state dict for --model; a checkpoint of another model is refused by name', async () => {
    const run = join(dir, 'from-weights');
    const r = await cli(['train', '--pretrained', join(base, 'checkpoint-last.safetensors'), '--model', 'mobilenet_v2', '--width', '0.25', '--stem', 'cifar', '--input', '16', '--dataset', 'folder', '--data', folder, ...COMMON, '--epochs', '1', '--out', run]);
    assert.equal(r.code, 0, r.err);
    const { record } = await readCheckpointRecord(join(run, 'checkpoint-last.json'));
    assert.equal(record.pretrained?.kind, 'state dict');
    assert.deepEqual(record.pretrained?.reinitialized, ['classifier.1.weight', 'classifier.1.bias']);
    const none = await cli(['train', '--pretrained', join(base, 'checkpoint-last.safetensors'), '--dataset', 'folder', '--data', folder, '--out', join(dir, 'x')]);
    assert.equal(none.code, 2);
    assert.match(none.err, /--model: needed with --pretrained .*checkpoint-last\.safetensors \(a state dict does not say which model it is for\)/);
    const other = await cli(['train', '--pretrained', join(base, 'checkpoint-last.json'), '--model', 'shufflenet_v2_x0_5', '--dataset', 'folder', '--data', folder, ...COMMON, '--out', join(dir, 'y')]);
    assert.equal(other.code, 1);
    assert.match(other.err, /--pretrained .*checkpoint-last\.json: no parameter matches ShuffleNetV2 by name and shape/);
  });

  test('from ImageNet-shaped weights (1000 classes) the fine-tune recipe is the default; flags turn its augmentations off', async () => {
    const sd = join(dir, 'imagenet-shaped.safetensors');
    const net = createModel('mobilenet_v2', { widthMult: 0.25, stem: 'cifar', numClasses: 1000 });
    await saveSafetensorsFile(sd, net.stateDict());
    const args = ['train', '--pretrained', sd, '--model', 'mobilenet_v2', '--width', '0.25', '--stem', 'cifar', '--input', '16', '--data', folder, '--epochs', '1', '--batch-size', '8', '--threads', '1'];
    const run = join(dir, 'recipe-default');
    const r = await cli([...args, '--out', run]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err + r.out, /recipe fine-tune: adamw lr 0\.001, wd 0\.05 \(not BN\/bias\), cosine schedule, warmup 0\.1 epochs, label smoothing 0\.1, random resized crop \(scale 0\.08-1\), TrivialAugmentWide, backbone lr x0\.1/);
    const { record } = await readCheckpointRecord(join(run, 'checkpoint-last.json'));
    assert.equal(record.config.recipe, 'fine-tune');
    assert.equal(record.config.dataset, 'folder');
    assert.deepEqual(record.trainTransform?.filter((s) => s.op === 'randomResizedCrop' || s.op === 'trivialAugmentWide' || s.op === 'hflip').map((s) => s.op), ['randomResizedCrop', 'hflip', 'trivialAugmentWide']);
    const plain = join(dir, 'recipe-default-plain');
    const p = await cli([...args, '--no-random-resized-crop', '--no-trivial-augment', '--out', plain]);
    assert.equal(p.code, 0, p.err);
    const { record: without } = await readCheckpointRecord(join(plain, 'checkpoint-last.json'));
    assert.equal(without.config.recipe, 'fine-tune');
    assert.equal(without.config.augmentation, undefined);
    assert.equal(without.config.optimizer.type, 'adamw');
    assert.deepEqual(without.trainTransform?.filter((s) => s.op === 'randomCrop' || s.op === 'hflip').map((s) => s.op), ['randomCrop', 'hflip']);
  });

  test('test maps a folder\'s differently written class names, evaluates a subset, refuses unknown names', async () => {
    const ckpt = join(dir, 'frozen', 'checkpoint-last.json');
    const renamed = join(dir, 'renamed');
    await makeFolder(renamed, ['Gamma', 'ALPHA!'], { test: 4 });
    const byName = await cli(['test', '--checkpoint', ckpt, '--dataset', 'folder', '--data', renamed, '--json']);
    assert.equal(byName.code, 0, byName.err);
    const j = JSON.parse(byName.out) as { present: number[]; classMap: { dataset: string; model: string }[]; count: number; confusion: number[][] };
    assert.deepEqual(j.present, [0, 2]);
    assert.deepEqual(j.classMap, [{ dataset: 'ALPHA!', model: 'alpha' }, { dataset: 'Gamma', model: 'gamma' }]);
    assert.equal(j.count, 8);
    assert.equal(j.confusion[1]!.reduce((a, v) => a + v, 0), 0); // no 'beta' images
    // The same images under the checkpoint's own names, as a plain root/<class> folder (all of it is test), give the same confusion matrix.
    const same = join(dir, 'same');
    await makeFolder(same, ['gamma', 'alpha'], { '': 4 });
    const direct = await cli(['test', '--checkpoint', ckpt, '--dataset', 'folder', '--data', same, '--json']);
    assert.deepEqual(JSON.parse(direct.out).confusion, j.confusion);
    // One preprocessing: predict on the same files gives the predictions test counted.
    const files = ['alpha', 'gamma'].flatMap((c) => [0, 1, 2, 3].map((i) => join(same, c, `${i}.png`)));
    const predicted = await cli(['predict', ...files, '--checkpoint', ckpt, '--top', '1', '--json']);
    assert.equal(predicted.code, 0, predicted.err);
    const counts = [0, 1, 2].map(() => [0, 0, 0]);
    (JSON.parse(predicted.out).predictions as { file: string; top: { index: number }[] }[]).forEach((p) => counts[p.file.includes('/alpha/') ? 0 : 2]![p.top[0]!.index]!++);
    assert.deepEqual(counts, j.confusion);

    const unknown = join(dir, 'unknown');
    await makeFolder(unknown, ['alpha', 'delta'], { test: 2 });
    const refused = await cli(['test', '--checkpoint', ckpt, '--dataset', 'folder', '--data', unknown]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /no model class for: "delta"/);
    assert.match(refused.err, /model classes: {3}"alpha", "beta", "gamma"/);
    const byIndex = await cli(['test', '--checkpoint', ckpt, '--dataset', 'folder', '--data', unknown, '--by-index']);
    assert.equal(byIndex.code, 0, byIndex.err);
  });
});
