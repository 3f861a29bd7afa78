/**
 * End-to-end CLI runs on tiny synthetic data (MobileNetV2 0.25x, CIFAR stem, 16x16, batch 8): files of a
 * run, exact resume from an epoch checkpoint and from a Ctrl-C checkpoint, test / predict / export.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { saveSafetensorsFile } from '../../src/io/checkpoint.js';
import { createModel } from '../../src/models/registry.js';
import { MetricsCsv } from '../../src/report/csv.js';
import { readCheckpointRecord } from '../../src/workflow/checkpoints.js';
import { rmrf, runCliProcess, startCli, tempDir } from './helpers.js';

const TRAIN = [
  'train', '--model', 'mobilenet_v2', '--width', '0.25', '--dataset', 'synthetic', '--input', '16',
  '--epochs', '2', '--batch-size', '8', '--limit', '200', '--test-limit', '40', '--optimizer', 'sgd',
  '--lr', '0.05', '--schedule', 'cosine', '--dropout', '0.2', '--threads', '1', '--save-every', '1',
];

const dir = tempDir();
const runA = join(dir, 'a');

after(() => rmrf(dir));

/** metrics.csv rows without the timing columns. */
async function lossRows(d: string) {
  return (await new MetricsCsv(join(d, 'metrics.csv')).read()).map(({ imagesPerSec: _i, seconds: _s, ...r }) => r);
}

describe('mobilezoo train', () => {
  before(async () => {
    const r = await runCliProcess([...TRAIN, '--out', runA]);
    assert.equal(r.code, 0, r.stderr);
  });

  test('writes checkpoints, metrics.csv, charts and report.html', async () => {
    for (const tag of ['epoch-1', 'epoch-2', 'last']) {
      for (const ext of ['json', 'safetensors', 'optim.safetensors']) assert.ok(existsSync(join(runA, `checkpoint-${tag}.${ext}`)), `checkpoint-${tag}.${ext}`);
    }
    for (const f of ['metrics.csv', 'loss.png', 'loss.svg', 'accuracy.png', 'accuracy.svg', 'confusion.png', 'confusion.svg', 'report.html']) {
      assert.ok(existsSync(join(runA, f)), f);
    }
    const rows = await new MetricsCsv(join(runA, 'metrics.csv')).read();
    assert.deepEqual(rows.map((r) => r.epoch), [1, 2]);
    // Validated every epoch; the test split only at the end, on checkpoint-best.
    for (const r of rows) assert.ok(Number.isFinite(r.trainLoss) && Number.isFinite(r.valLoss) && r.valAcc! >= 0 && r.valAcc! <= 1 && Number.isNaN(r.testLoss));
    const png = readFileSync(join(runA, 'confusion.png'));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    const html = readFileSync(join(runA, 'report.html'), 'utf8');
    assert.match(html, /mobilezoo train --model mobilenet_v2 --width 0\.25 --dataset synthetic/);

    const { record } = await readCheckpointRecord(join(runA, 'checkpoint-last.json'));
    assert.equal(record.model.name, 'mobilenet_v2');
    assert.deepEqual(record.model.inputSize, [3, 16, 16]);
    assert.equal(record.model.options.stem, 'cifar');
    assert.equal(record.dataset.name, 'synthetic');
    assert.equal(record.dataset.classNames.length, 10);
    assert.equal(record.preprocessing.mean.length, 3);
    assert.equal(record.epoch, 2);
    assert.equal(record.optimizer.optimizer.type, 'sgd');
    assert.equal(record.files.optimizer, 'checkpoint-last.optim.safetensors');
    assert.deepEqual(record.metrics, rows[1]);
  });

  test('--resume from the epoch-1 checkpoint gives the same epoch-2 losses as the uninterrupted run', async () => {
    const out = join(dir, 'b');
    const r = await runCliProcess(['train', '--resume', join(runA, 'checkpoint-epoch-1.json'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /resumed from .*checkpoint-epoch-1\.json: epoch 1 of 2/);
    assert.deepEqual(await lossRows(out), await lossRows(runA));
  });

  test('Ctrl-C saves an interrupted checkpoint (exit 130) that test evaluates and that resumes exactly', async () => {
    const out = join(dir, 'c');
    const run = startCli([...TRAIN, '--out', out]);
    await run.waitForStderr(/epoch 1\/2: \d+ steps\n  step \d+/);
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /continue with: mobilezoo train --resume .*checkpoint-interrupted\.json/);
    const ckpt = join(out, 'checkpoint-interrupted.json');
    const { record } = await readCheckpointRecord(ckpt);
    assert.ok(record.epoch < 2);
    assert.equal(record.tag, 'interrupted');

    const t = await runCliProcess(['test', '--checkpoint', ckpt, '--json']);
    assert.equal(t.code, 0, t.stderr);
    const j = JSON.parse(t.stdout);
    assert.equal(j.count, 40);
    assert.ok(j.top1 >= 0 && j.top1 <= 1);
    assert.equal(Object.keys(j.perClass).length, 10);

    const resumed = await runCliProcess(['train', '--resume', ckpt]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(await lossRows(out), await lossRows(runA));
  });

  test('test: a readable report, and a clear error for a checkpoint of another model', async () => {
    const ok = await runCliProcess(['test', '--checkpoint', join(runA, 'checkpoint-last.json'), '--out', join(dir, 'test-out')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /loss \d+\.\d+\s+top-1 \d+\.\d+%\s+top-5 \d+\.\d+%\s+\(40 images\)/);
    assert.match(ok.stdout, /class0/);
    assert.match(ok.stdout, /confusion matrix/);
    assert.ok(existsSync(join(dir, 'test-out', 'confusion.png')));

    const flip = await runCliProcess(['test', '--checkpoint', join(runA, 'checkpoint-last.json'), '--tta', 'flip', '--json']);
    assert.equal(flip.code, 0, flip.stderr);
    const j = JSON.parse(flip.stdout);
    assert.equal(j.tta, 'flip');
    assert.equal(j.count, 40);
    const shifted = await runCliProcess(['test', '--checkpoint', join(runA, 'checkpoint-last.json'), '--tta', 'flip-shift']);
    assert.equal(shifted.code, 0, shifted.stderr);
    assert.match(shifted.stdout, /test-time augmentation: flip-shift \(softmax averaged over .*10 views\)/);
    assert.match(shifted.stdout, /\(40 images\)/);

    const bad = await runCliProcess(['test', '--checkpoint', join(runA, 'checkpoint-last.json'), '--model', 'shufflenet_v2_x0_5']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /does not match ShuffleNetV2/);
    assert.match(bad.stderr, /missing keys: conv1\.0\.weight/);
    assert.match(bad.stderr, /unexpected keys: features\.0\.0\.weight/);
  });

  test('--minutes: training stops when the budget is spent, writes its last checkpoint, and refuses --resume', async () => {
    const out = join(dir, 'minutes');
    // 1.5 s: a few steps of this network, far fewer than 30 epochs.
    const args = [...TRAIN];
    args[args.indexOf('--epochs') + 1] = '30';
    const r = await runCliProcess([...args, '--minutes', '0.025', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const { record } = await readCheckpointRecord(join(out, 'checkpoint-last.json'));
    assert.equal(record.config.minutes, 0.025);
    assert.ok(record.epoch >= 1 && record.epoch < 30, `epochs done: ${record.epoch}`);
    assert.equal(record.history.length, record.epoch);
    assert.ok(record.history.every((row) => row.lr <= 0.05 && Number.isFinite(row.trainLoss)));
    const resumed = await runCliProcess(['train', '--resume', join(out, 'checkpoint-last.json')]);
    assert.equal(resumed.code, 1);
    assert.match(resumed.stderr, /a run with a minutes budget cannot be resumed/);
  });

  test('predict on PNG files made with sharp', async () => {
    const files = [join(dir, 'a.png'), join(dir, 'b.png')];
    for (const [i, f] of files.entries()) {
      const px = Buffer.alloc(40 * 30 * 3, 0).map((_, k) => (k * (i + 3) * 17) % 256);
      await sharp(px, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(f);
    }
    const r = await runCliProcess(['predict', ...files, '--checkpoint', join(runA, 'checkpoint-last.json'), '--top', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.predictions.length, 2);
    for (const p of j.predictions) {
      assert.equal(p.top.length, 3);
      assert.match(p.top[0].label, /^class\d$/);
      assert.ok(p.top[0].probability >= p.top[1].probability && p.top[1].probability >= p.top[2].probability);
    }
    const text = await runCliProcess(['predict', files[0]!, '--checkpoint', join(runA, 'checkpoint-last.json'), '--top', '2']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /a\.png\n\s+1\. class\d\s+\d+\.\d\d%/);
  });

  test('predict with 1000-class weights uses ImageNet preprocessing and class names', async () => {
    const weights = join(dir, 'shufflenet.safetensors');
    await saveSafetensorsFile(weights, createModel('shufflenet_v2_x0_5', { seed: 3 }).stateDict());
    const r = await runCliProcess(['predict', join(dir, 'a.png'), '--weights', weights, '--model', 'shufflenet_v2_x0_5', '--top', '5', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.match(j.preprocessing, /ImageNet: fit 256x256, center crop 224, normalize mean \[0\.485, 0\.456, 0\.406\]/);
    assert.equal(j.predictions[0].top.length, 5);
    const { IMAGENET_CLASSES } = await import('../../src/data/imagenet.js');
    for (const t of j.predictions[0].top) assert.equal(t.label, IMAGENET_CLASSES[t.index]);
  });

  test('export writes an ONNX model that onnxruntime runs', async () => {
    const onnx = join(dir, 'model.onnx');
    const r = await runCliProcess(['export', '--onnx', onnx, '--checkpoint', join(runA, 'checkpoint-last.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /input\s+input\s+float32\s+\[N, 3, 16, 16\]/);
    assert.match(r.stdout, /output\s+logits\s+float32\s+\[N, 10\]/);
    const session = await ort.InferenceSession.create(onnx);
    assert.deepEqual(session.inputNames, ['input']);
    const x = new ort.Tensor('float32', new Float32Array(3 * 3 * 16 * 16).fill(0.5), [3, 3, 16, 16]);
    const y = (await session.run({ input: x })).logits!;
    assert.deepEqual(y.dims, [3, 10]);
    assert.ok((y.data as Float32Array).every(Number.isFinite));
    await session.release();
  });

  test('test --onnx and predict --onnx read the metadata: the same results as with the checkpoint', async () => {
    const onnx = join(dir, 'model-meta.onnx');
    const ckpt = join(runA, 'checkpoint-last.json');
    assert.equal((await runCliProcess(['export', '--onnx', onnx, '--checkpoint', ckpt])).code, 0);
    const fromCkpt = await runCliProcess(['test', '--checkpoint', ckpt, '--json']);
    const fromOnnx = await runCliProcess(['test', '--onnx', onnx, '--dataset', 'synthetic', '--limit', '40', '--json']);
    assert.equal(fromOnnx.code, 0, fromOnnx.stderr);
    const [a, b] = [JSON.parse(fromCkpt.stdout), JSON.parse(fromOnnx.stdout)];
    assert.deepEqual(b.confusion, a.confusion);
    assert.deepEqual(b.classNames, a.classNames);
    assert.ok(Math.abs(b.loss - a.loss) <= 1e-5 * a.loss, `${b.loss} vs ${a.loss}`);
    const png = join(dir, 'a.png');
    const p1 = JSON.parse((await runCliProcess(['predict', png, '--checkpoint', ckpt, '--json'])).stdout);
    const p2 = JSON.parse((await runCliProcess(['predict', png, '--onnx', onnx, '--json'])).stdout);
    assert.deepEqual(p2.predictions[0].top.map((t: { label: string }) => t.label), p1.predictions[0].top.map((t: { label: string }) => t.label));
    p2.predictions[0].top.forEach((t: { probability: number }, i: number) => assert.ok(Math.abs(t.probability - p1.predictions[0].top[i].probability) < 1e-5));
  });
});

describe('mobilezoo demo', () => {
  test('a shortened demo trains, tests and prints where report.html is', async () => {
    const out = join(dir, 'demo');
    const r = await runCliProcess(['demo', '--limit', '64', '--epochs', '1', '--out', out, '--threads', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /demo: mobilenet_v2 \{"widthMult":0\.5,"stem":"cifar"\} on (fashion-mnist|synthetic)/);
    assert.match(r.stdout, /test split \(13 images\)/);
    assert.match(r.stdout, /report: .*report\.html\n$/);
    assert.ok(existsSync(join(out, 'report.html')));
  });
});
