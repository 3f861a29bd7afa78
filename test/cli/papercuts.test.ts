/**
 * The papercuts of issue 19 (point 5): folders given to predict/embed, `test --onnx` without --dataset
 * and on the training folder, the hash-check message's flag, weights fine-tuned elsewhere (class count,
 * labels, normalization), the README's allowScripts command, the web page's title, labels and int8.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { saveSafetensorsFile } from '../../src/io/checkpoint.js';
import { createModel } from '../../src/models/registry.js';
import { ROOT, rmrf, runCliInMemory, tempDir } from './helpers.js';

const dir = tempDir('mobilezoo-papercuts-');
after(() => rmrf(dir));

async function png(path: string, seed: number, size = 20): Promise<void> {
  const px = Buffer.alloc(size * size * 3).map((_, k) => (k * (seed + 3) * 17 + seed * 31) % 256);
  await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(path);
}

/** root/<class>/*.png, 10 images per class (the default seeded 80/20 split keeps 2 per class for test). */
async function folderDataset(root: string): Promise<void> {
  for (const [c, name] of ['ant', 'bee'].entries()) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < 10; i++) await png(join(root, name, `${i}.png`), c * 50 + i);
  }
}

test('predict and embed take folders: every image under them, sorted; a folder without images is named', async () => {
  const images = join(dir, 'images');
  mkdirSync(join(images, 'sub'), { recursive: true });
  await png(join(images, 'b.png'), 1);
  await png(join(images, 'a.png'), 2);
  await png(join(images, 'sub', 'c.png'), 3);
  writeFileSync(join(images, 'notes.txt'), 'not an image');
  const weights = join(dir, 'net.safetensors');
  await saveSafetensorsFile(weights, createModel('shufflenet_v2_x0_5', { numClasses: 3, seed: 1 }).stateDict());
  const src = ['--weights', weights, '--model', 'shufflenet_v2_x0_5', '--classes', '3', '--input', '32'];
  const p = await runCliInMemory(['predict', images, ...src, '--json']);
  assert.equal(p.code, 0, p.err);
  assert.deepEqual(JSON.parse(p.out).predictions.map((x: { file: string }) => x.file), ['a.png', 'b.png', 'sub/c.png'].map((f) => join(images, f)));
  const e = await runCliInMemory(['embed', images, ...src, '--out', join(dir, 'e.json')]);
  assert.equal(e.code, 0, e.err);
  assert.equal(JSON.parse(readFileSync(join(dir, 'e.json'), 'utf8')).embeddings.length, 3);
  mkdirSync(join(dir, 'empty'));
  const none = await runCliInMemory(['predict', join(dir, 'empty'), ...src]);
  assert.equal(none.code, 1);
  assert.match(none.err, /empty: a folder without images \(\.jpg, \.jpeg, \.png, \.webp\)/);
});

describe('test --onnx of a model trained on a folder', () => {
  const folder = join(dir, 'bugs');
  const run = join(dir, 'run');
  const onnx = join(dir, 'bugs.onnx');
  before(async () => {
    await folderDataset(folder);
    const t = await runCliInMemory(['train', '--model', 'shufflenet_v2_x0_5', '--dataset', 'folder', '--data', folder, '--input', '16', '--epochs', '1', '--batch-size', '4', '--threads', '1', '--workers', '0', '--out', run]);
    assert.equal(t.code, 0, t.err);
    const x = await runCliInMemory(['export', '--onnx', onnx, '--checkpoint', run]);
    assert.equal(x.code, 0, x.err);
  });

  test('needs no --dataset (the metadata records it) and evaluates the folder\'s test split, as test --checkpoint does', async () => {
    const fromCheckpoint = await runCliInMemory(['test', '--checkpoint', run, '--data', folder, '--json']);
    const fromOnnx = await runCliInMemory(['test', '--onnx', onnx, '--data', folder, '--json']);
    assert.equal(fromOnnx.code, 0, fromOnnx.err);
    const [a, b] = [JSON.parse(fromCheckpoint.out), JSON.parse(fromOnnx.out)];
    assert.equal(b.count, 4, 'the 2 test images of each class, not all 20');
    assert.equal(b.count, a.count);
    assert.deepEqual(b.confusion, a.confusion);
  });

  test('export --web: --title, and an int8 model\'s page says it is int8', async () => {
    const int8 = join(dir, 'bugs.int8.onnx');
    const q = await runCliInMemory(['quantize', '--checkpoint', run, '--data', folder, '--out', int8, '--calibration', '8']);
    assert.equal(q.code, 0, q.err);
    const site = join(dir, 'site');
    const w = await runCliInMemory(['export', '--web', site, '--from-onnx', int8, '--title', 'Ant or bee?']);
    assert.equal(w.code, 0, w.err);
    const sidecar = JSON.parse(readFileSync(join(site, 'model.json'), 'utf8'));
    assert.equal(sidecar.title, 'Ant or bee?');
    assert.match(sidecar.quantization, /^int8 \(QDQ int8, minmax calibration on 8 images\)$/);
    const float = join(dir, 'site-float');
    assert.equal((await runCliInMemory(['export', '--web', float, '--from-onnx', onnx])).code, 0);
    const f = JSON.parse(readFileSync(join(float, 'model.json'), 'utf8'));
    assert.equal(f.title, undefined);
    assert.equal(f.quantization, undefined);
    const page = readFileSync(join(site, 'lib', 'web', 'page.js'), 'utf8');
    assert.match(page, /label\.title = t\.label/, 'a cut label shows whole on hover');
    assert.match(page, /s\.quantization \?\? 'float32'/);
    assert.equal((await runCliInMemory(['export', '--onnx', join(dir, 'x.onnx'), '--checkpoint', run, '--title', 'x'])).code, 2);
  });
});

test('weights fine-tuned elsewhere: the hash message names --no-check-hash; the class count comes from the classifier; --labels, --mean, --std', async () => {
  const fake = join(dir, 'mobilenet_v3_small-047dcff4.pth');
  copyFileSync(join(ROOT, 'test/fixtures/pth/mobilenet_v3_small_w0.1.pth'), fake); // 10 classes, width 0.1
  const image = join(dir, 'one.png');
  await png(image, 9, 40);
  const refused = await runCliInMemory(['predict', image, '--weights', fake]);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /\(--no-check-hash skips this check\)/);
  const labels = join(dir, 'labels.txt');
  writeFileSync(labels, Array.from({ length: 10 }, (_, i) => `thing ${i}`).join('\n') + '\n');
  const r = await runCliInMemory(['predict', image, '--weights', fake, '--no-check-hash', '--model', 'mobilenet_v3_small', '--width', '0.1', '--stem', 'cifar', '--input', '32', '--labels', labels, '--mean', '0.5,0.5,0.5', '--std', '0.25,0.25,0.25', '--top', '10', '--json']);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.predictions[0].top.length, 10, 'ten classes, read from classifier.3.weight');
  assert.ok(j.predictions[0].top.every((t: { label: string }) => /^thing \d$/.test(t.label)));
  assert.match(j.preprocessing, /^the given normalization: fit 32x32, normalize mean \[0\.500, 0\.500, 0\.500\] std \[0\.250, 0\.250, 0\.250\]$/);
  const wrong = join(dir, 'three.txt');
  writeFileSync(wrong, '["a", "b", "c"]');
  const bad = await runCliInMemory(['predict', image, '--weights', fake, '--no-check-hash', '--model', 'mobilenet_v3_small', '--width', '0.1', '--labels', wrong]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--labels: 3 names for the 10 outputs of mobilenet_v3_small/);
});

test("the README's allowScripts command writes the package.json setting it shows", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const command = /`(npm pkg set allowScripts[^`]+)`/.exec(readme)?.[1];
  assert.ok(command, 'the README gives the command');
  const project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{ "name": "app", "version": "1.0.0" }\n');
  execFileSync('npm', command.split(' ').slice(1), { cwd: project, stdio: 'pipe' });
  assert.deepEqual(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).allowScripts, { 'onnxruntime-node': false, protobufjs: false });
});
