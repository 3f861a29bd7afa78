/**
 * The README's library examples are the files in examples/: each README block that starts with
 * `// examples/NAME.ts` must be that file, and each file runs (against the built package, imported as
 * 'mobilezoo'), on small inputs made here.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { savePthFile } from '../../src/io/checkpoint.js';
import { createModel } from '../../src/models/registry.js';
import { summary } from '../../src/nn/summary.js';
import { ROOT, rmrf, tempDir } from '../cli/helpers.js';

const dir = tempDir('mobilezoo-examples-');
after(() => rmrf(dir));
const EXAMPLES = join(ROOT, 'examples');

/** Runs an example with tsx from a scratch folder (its runs/ land there). */
function runExample(name: string, args: string[] = []): string {
  const tsx = import.meta.resolve('tsx');
  const r = spawnSync(process.execPath, ['--import', tsx, join(EXAMPLES, name), ...args], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `${name} failed:\n${r.stderr}`);
  return r.stdout;
}

test('every README example block is the file in examples/, and every example is in the README', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n(\/\/ examples\/([\w-]+\.ts)[^\n]*\n[\s\S]*?)```/g)].map((m) => ({ file: m[2]!, code: m[1]! }));
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts')).sort();
  assert.deepEqual(blocks.map((b) => b.file).sort(), files);
  for (const b of blocks) assert.equal(b.code, readFileSync(join(EXAMPLES, b.file), 'utf8'), `README block of examples/${b.file}`);
});

test('classify.ts: a checkpoint loaded by name classifies an image, embeds it and counts the model', async () => {
  const weights = join(dir, 'mobilenet_v2.pth');
  await savePthFile(weights, createModel('mobilenet_v2', { seed: 1 }).stateDict());
  const image = join(dir, 'cat.jpg');
  await sharp(Buffer.alloc(64 * 48 * 3).map((_, k) => (k * 7) % 256), { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toFile(image);
  const out = runExample('classify.ts', [weights, image]);
  assert.match(out, /^.+ \(class \d+\)$/m);
  assert.match(out, /^embedding: 1280 values per image/m);
  const s = summary(createModel('mobilenet_v2'), [3, 224, 224]);
  assert.ok(out.includes(`${s.totalParams.toLocaleString('en-US')} parameters, ${(s.totalMacs / 1e6).toFixed(1)} MMACs; first layer: features.0.0\n`), out);
});

test('train.ts: train() with the command line\'s settings, callbacks and checkpoint-best', () => {
  const out = runExample('train.ts', ['synthetic', '64']);
  assert.match(out, /^epoch 1\/3: train loss \d+\.\d+, val acc \d+\.\d%/m);
  assert.match(out, /^test accuracy of checkpoint-best \(epoch \d\): \d+\.\d\d%; report: .*report\.html$/m);
});

test('trainer.ts: a train step, gradients, evaluation, the state dicts', () => {
  const out = runExample('trainer.ts');
  const model = createModel('mobilenet_v2', { widthMult: 0.5, numClasses: 10, stem: 'cifar' });
  const first = model.stateDict().get('features.0.0.weight')!.shape;
  assert.match(out, /^step 1: loss \d+\.\d{4}, lr /m);
  assert.match(out, new RegExp(`^${model.namedParameters().length} gradients; features\\.0\\.0\\.weight: ${first.reduce((a, b) => a * b)} values, shape ${first.join('x')}$`, 'm'));
  assert.match(out, /^eval logits: 8 rows of 10$/m);
  assert.match(out, new RegExp(`^weights: ${model.stateDict().size} tensors \\(features\\.0\\.0\\.weight float32 \\[${first.join(', ')}\\]\\); optimizer state: \\d+ tensors, step 1$`, 'm'));
});

test('quantize.ts: an int8 model that ORT runs with its integer kernels', () => {
  const out = runExample('quantize.ts');
  // Every conv of MobileNetV2 has a BatchNorm after it and runs as a QLinearConv.
  const convs = [...createModel('mobilenet_v2', { widthMult: 0.5, numClasses: 10, stem: 'cifar' }).modules()].filter(([, m]) => m.typeName === 'Conv2d').length;
  assert.match(out, new RegExp(`^int8 model: \\d\\.\\d\\d MB, ${convs} BatchNorms folded, \\d+ nodes in int8$`, 'm'));
  assert.match(out, new RegExp(`^inputs input -> outputs logits; QLinearConv: ${convs}$`, 'm'));
});
