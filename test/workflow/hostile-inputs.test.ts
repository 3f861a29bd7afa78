/**
 * Issue 20's hostile inputs at the level of what the commands open (loadModel, openClassifier):
 * file names in checkpoint records stay in their folder (finding 1), model options that cannot fit in
 * memory are refused before building (finding 4), ONNX external data resolves against the model's folder
 * (finding 9), and records with odd model names or sizes get clear errors (finding 13).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { saveSafetensorsFile } from '../../src/io/checkpoint.js';
import { createModel } from '../../src/models/registry.js';
import { DataLocation, type ModelProto, decodeModel, encodeModel } from '../../src/onnx/proto.js';
import { parseSidecar } from '../../src/web/sidecar.js';
import { loadModel } from '../../src/workflow/checkpoints.js';
import { openClassifier } from '../../src/workflow/classifier.js';
import { exportOnnx } from '../../src/workflow/export.js';
import { ResourceLimitError } from '../../src/workflow/resources.js';
import { tempDirs } from '../io/temp-dirs.js';

const HOSTILE = fileURLToPath(new URL('../fixtures/hostile/', import.meta.url));
const tmp = tempDirs('mobilezoo-hostile-wf-');
const OPTIONS = { widthMult: 0.25, numClasses: 10, stem: 'cifar' as const, seed: 0 };

/** A checkpoint record as train writes it (the fields loadModel reads), with `patch` applied. */
function record(patch: { model?: object; files?: object; preprocessing?: object } = {}): object {
  return {
    format: 'mobilezoo-checkpoint', version: 2, tag: 'last', createdAt: '2024-01-01T00:00:00.000Z',
    model: { name: 'mobilenet_v2', options: OPTIONS, numClasses: 10, inputSize: [3, 32, 32], params: 0, macs: 0, ...patch.model },
    dataset: { name: 'synthetic', title: 'synthetic', classNames: Array.from({ length: 10 }, (_, i) => `c${i}`), trainSize: 1, testSize: 1, options: {} },
    preprocessing: patch.preprocessing ?? { source: { channels: 3, height: 32, width: 32 }, transform: [{ op: 'normalize', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }] },
    epoch: 1, epochs: 1, progress: { step: 1, stepInEpoch: 0, stepsPerEpoch: 1 }, history: [], optimizer: {}, config: {},
    files: { weights: 'checkpoint-last.safetensors', optimizer: 'checkpoint-last.optim.safetensors', ...patch.files },
    commands: [], seconds: 0,
  };
}

async function writeRun(dir: string, patch: Parameters<typeof record>[0] = {}): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await saveSafetensorsFile(join(dir, 'checkpoint-last.safetensors'), createModel('mobilenet_v2', OPTIONS).stateDict());
  const json = join(dir, 'checkpoint-last.json');
  writeFileSync(json, JSON.stringify(record(patch)));
  return json;
}

test('finding 1: a checkpoint record\'s file names must be plain names in its folder', async () => {
  const dir = tmp();
  const good = await writeRun(join(dir, 'run'));
  assert.equal((await loadModel({ checkpoint: good })).model.modelName, 'mobilenet_v2');
  for (const name of ['../../../../etc/passwd', '/dev/zero', 'sub/checkpoint-last.safetensors', '..', '', 42]) {
    const json = await writeRun(join(dir, 'run'), { files: { weights: name } });
    await assert.rejects(loadModel({ checkpoint: json }), (e: Error) => {
      assert.match(e.message, /run\/checkpoint-last\.json: files\.weights: .* is not a plain file name; a file named by another file must be a name in the same folder/);
      return true;
    }, String(name));
  }
});

test('finding 1: a file a record names is a regular file that stays in the folder, checked before reading', async () => {
  const dir = tmp();
  const run = join(dir, 'run');
  const cases: [string, (path: string) => void, RegExp][] = [
    ['fifo.safetensors', (p) => execFileSync('mkfifo', [p]), /fifo\.safetensors: a FIFO \(named pipe\), not a regular file/],
    ['zero.safetensors', (p) => symlinkSync('/dev/zero', p), /zero\.safetensors: links to \/dev\/zero, outside the folder/],
    ['passwd.safetensors', (p) => symlinkSync('/etc/passwd', p), /passwd\.safetensors: links to \/etc\/passwd, outside the folder/],
    ['folder.safetensors', (p) => mkdirSync(p), /folder\.safetensors: a folder, not a regular file/],
    ['missing.safetensors', () => {}, /missing\.safetensors: no such file/],
  ];
  for (const [name, make, re] of cases) {
    const json = await writeRun(run, { files: { weights: name } });
    make(join(run, name));
    // A FIFO would block a plain open: the test finishing at all shows it is refused without waiting.
    await assert.rejects(loadModel({ checkpoint: json }), re, name);
  }
  // A symlink to another file of the same folder is fine.
  const json = await writeRun(run, { files: { weights: 'link.safetensors' } });
  symlinkSync('checkpoint-last.safetensors', join(run, 'link.safetensors'));
  assert.equal((await loadModel({ checkpoint: json })).model.numClasses, 10);
});

test('finding 1: the web sidecar\'s file name is a plain name too', () => {
  const sidecar = {
    format: 'mobilezoo-web', version: 1, model: 'm', classNames: ['a'],
    preprocessing: { source: { channels: 3, height: 8, width: 8 }, transform: [{ op: 'normalize', mean: [0, 0, 0], std: [1, 1, 1] }] },
    file: { name: '../model.onnx', bytes: 1, input: 'input', output: 'logits' },
  };
  assert.throws(() => parseSidecar(sidecar, 'site/model.json'), /^Error: site\/model\.json: file\.name: "\.\.\/model\.onnx" is not a plain file name/);
  assert.equal(parseSidecar({ ...sidecar, file: { ...sidecar.file, name: 'model.onnx' } }).file.name, 'model.onnx');
});

test('finding 4: a safetensors whose metadata asks for widthMult 100 is refused before the model is built', async () => {
  const file = join(HOSTILE, 'width100.safetensors');
  const before = process.memoryUsage().rss;
  await assert.rejects(loadModel({ weights: file }), (e: Error) => {
    assert.ok(e instanceof ResourceLimitError, e.message);
    assert.match(e.message, /width100\.safetensors: metadata model: mobilenet_v2 \{"widthMult":100,.*\} \([\d,]+ parameters\) at input 3x32x32, batch 1 needs about \d+ GB, more than this machine's [\d.]+ GB of memory; refusing/);
    return true;
  });
  assert.ok(process.memoryUsage().rss - before < 512 * 1024 ** 2, 'nothing of the model was allocated');
  // The same options from a record or flags.
  await assert.rejects(loadModel({ model: 'mobilenet_v2', modelOptions: { widthMult: 100 } }), ResourceLimitError);
  const json = await writeRun(tmp(), { model: { options: { ...OPTIONS, widthMult: 100 } } });
  await assert.rejects(loadModel({ checkpoint: json }), /checkpoint-last\.json: model: mobilenet_v2 \{"widthMult":100,.*needs about \d+ GB/);
});

test('finding 13: an input size that cannot fit is refused at once, with the estimate and the limit', async () => {
  await assert.rejects(openClassifier({ model: 'mobilenet_v2' }, { input: 100_000 }), (e: Error) => {
    assert.ok(e instanceof ResourceLimitError, e.message);
    assert.match(e.message, /^`input` 100000: mobilenet_v2 .* at input 3x100000x100000, batch 1 needs about \d+ GB, more than this machine's [\d.]+ GB of memory; refusing$/);
    return true;
  });
});

test('finding 13: a record naming the model constructor or __proto__ lists the known models', async () => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const json = await writeRun(tmp(), { model: { name } });
    await assert.rejects(loadModel({ checkpoint: json }), new RegExp(`checkpoint-last\\.json: model: unknown model '${name}'; available: mobilenet_v1, mobilenet_v2, .*shufflenet_v2_x2_0`));
  }
  // An option named like an Object property is an unknown option, not a crash.
  const json = await writeRun(tmp(), { model: { options: { ...OPTIONS, constructor: 1 } } });
  await assert.rejects(loadModel({ checkpoint: json }), /model: mobilenet_v2: unknown option 'constructor'; accepted: /);
});

test('finding 13: a record whose preprocessing fits images to 1e6 x 1e6 is refused when read, naming the limit', async () => {
  const json = await writeRun(tmp(), { preprocessing: { source: { channels: 3, height: 32, width: 32 }, transform: [{ op: 'fit', size: [1e6, 1e6] }] } });
  await assert.rejects(openClassifier({ checkpoint: json }), /checkpoint-last\.json: preprocessing: fit: 1000000x1000000 is 1000000000000 pixels, more than the limit of 89478485/);
});

/** `source` with every initializer moved to one external data file `data` (offsets in order). */
function withExternalData(source: Uint8Array, location: string): { model: Uint8Array; data: Uint8Array } {
  const m = decodeModel(source);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of m.graph!.initializer) {
    const raw = t.rawData!;
    chunks.push(raw);
    t.rawData = new Uint8Array(0);
    t.dataLocation = DataLocation.EXTERNAL;
    t.externalData = [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(raw.length) }];
    offset += raw.length;
  }
  const data = new Uint8Array(offset);
  chunks.reduce((at, c) => (data.set(c, at), at + c.length), 0);
  return { model: encodeModel(m as ModelProto), data };
}

test('finding 9: an ONNX model\'s external data is found in the model\'s folder (and only there)', async () => {
  const dir = tmp();
  const plain = join(dir, 'plain.onnx');
  await exportOnnx({ model: 'mobilenet_v2', modelOptions: OPTIONS, out: plain, threads: 1 });
  const folder = join(dir, 'models');
  mkdirSync(folder);
  const { model, data } = withExternalData(new Uint8Array(readFileSync(plain)), 'weights.bin');
  writeFileSync(join(folder, 'model.onnx'), model);
  writeFileSync(join(folder, 'weights.bin'), data);
  assert.ok(model.length < data.length / 10, 'the weights are in the external file');

  const image = new Float32Array(3 * 32 * 32).map((_, i) => Math.sin(i));
  const a = await openClassifier({ onnx: plain }, { threads: 1 });
  const b = await openClassifier({ onnx: join(folder, 'model.onnx') }, { threads: 1 }); // cwd is the repository, not `folder`
  assert.deepEqual([...(await b.run(image, 1))], [...(await a.run(image, 1))]);
  await a.dispose();
  await b.dispose();

  // A location leaving the folder: ONNX Runtime refuses it, and the message names the model file.
  writeFileSync(join(dir, 'outside.bin'), data);
  writeFileSync(join(folder, 'escape.onnx'), withExternalData(new Uint8Array(readFileSync(plain)), '../outside.bin').model);
  await assert.rejects(openClassifier({ onnx: join(folder, 'escape.onnx') }), /models\/escape\.onnx: ONNX Runtime cannot load it: .*escapes model directory/);
});

test('finding 13: ONNX and checkpoint paths that are folders are named in the error', async () => {
  const dir = tmp();
  await assert.rejects(openClassifier({ onnx: dir }), new RegExp(`^Error: ${dir}: a folder, not a regular file$`));
  await assert.rejects(loadModel({ checkpoint: dir }), new RegExp(`^Error: ${dir}: a folder, not a regular file$`));
  await assert.rejects(loadModel({ weights: dir, model: 'mobilenet_v2' }), new RegExp(`^Error: ${dir}: a folder, not a regular file$`));
  writeFileSync(join(dir, 'bad.onnx'), 'not a model');
  await assert.rejects(openClassifier({ onnx: join(dir, 'bad.onnx') }), /bad\.onnx: (not an ONNX model|ONNX Runtime cannot load it)/);
});
