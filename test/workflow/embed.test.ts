/**
 * Embeddings and feature maps: the embedding is exactly what the classifier takes (the logits are the
 * classifier applied to it), the feature maps are the last outputs at each stride, and `mobilezoo embed`
 * writes them as .json / .npy / .safetensors.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { readSafetensors } from '../../src/io/safetensors.js';
import { saveSafetensorsFile } from '../../src/io/index.js';
import { createModel } from '../../src/models/registry.js';
import { InferenceSession } from '../../src/runtime/inference.js';
import type { Tensor } from '../../src/tensor.js';
import { embedImages } from '../../src/workflow/embed.js';
import { memoryStreams, rmrf, tempDir } from '../cli/helpers.js';
import { runCli } from '../../src/cli/program.js';
import { nodeBackend } from '../../src/runtime/node-backend.js';

function randomInput(n: number, size: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n * 3 * size * size }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

/** y = x Wᵀ + b for rows of x. */
function linear(x: Float64Array, n: number, w: Tensor, b?: Tensor): Float64Array {
  const [out, inp] = w.shape as [number, number];
  const W = w.toFloat32();
  const B = b?.toFloat32();
  const y = new Float64Array(n * out);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < out; o++) {
      let acc = B ? B[o]! : 0;
      for (let i = 0; i < inp; i++) acc += x[r * inp + i]! * W[o * inp + i]!;
      y[r * out + o] = acc;
    }
  }
  return y;
}

const hardswish = (v: number) => (v * Math.min(Math.max(v + 3, 0), 6)) / 6;

describe('InferenceSession.embed', () => {
  // The classifier applied by hand to the embedding gives the session's logits.
  for (const [name, options, head] of [
    ['mobilenet_v1', { widthMult: 0.25 }, (sd: Map<string, Tensor>, e: Float64Array, n: number) => linear(e, n, sd.get('classifier.1.weight')!, sd.get('classifier.1.bias'))],
    ['mobilenet_v2', { widthMult: 0.25 }, (sd: Map<string, Tensor>, e: Float64Array, n: number) => linear(e, n, sd.get('classifier.1.weight')!, sd.get('classifier.1.bias'))],
    ['mobilenet_v3_small', {}, (sd: Map<string, Tensor>, e: Float64Array, n: number) =>
      linear(linear(e, n, sd.get('classifier.0.weight')!, sd.get('classifier.0.bias')).map(hardswish), n, sd.get('classifier.3.weight')!, sd.get('classifier.3.bias'))],
    ['shufflenet_v1', { groups: 3, size: '0.5x' }, (sd: Map<string, Tensor>, e: Float64Array, n: number) => linear(e, n, sd.get('classifier.0.weight')!)],
    ['shufflenet_v2_x0_5', {}, (sd: Map<string, Tensor>, e: Float64Array, n: number) => linear(e, n, sd.get('fc.weight')!, sd.get('fc.bias'))],
  ] as const) {
    test(`${name}: the logits are the classifier applied to the embedding`, async () => {
      const model = createModel(name, { ...options, numClasses: 7, stem: 'cifar', seed: 1 });
      const session = await InferenceSession.create(model, { inputSize: [3, 32, 32], backend: nodeBackend({ threads: 1 }) });
      const x = randomInput(3, 32, 5);
      const logits = await session.run(x);
      const e = await session.embed(x);
      const expected = head(model.stateDict(), Float64Array.from(e.data), 3);
      const scale = Math.max(...Array.from(expected, Math.abs));
      logits.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-4 * scale, `${name} logit ${i}: ${v} vs ${expected[i]}`));
      assert.equal(e.data.length, 3 * e.dim);
      await session.dispose();
    });
  }

  test('feature maps: the last output at each stride, the last one pooled is the embedding', async () => {
    const model = createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 5, seed: 2 });
    const session = await InferenceSession.create(model, { inputSize: [3, 64, 64], backend: nodeBackend({ threads: 1 }) });
    const x = randomInput(2, 64, 9);
    const maps = await session.featureMaps(x);
    assert.deepEqual(maps.map((m) => m.stride), [2, 4, 8, 16, 32]);
    assert.deepEqual(maps.map((m) => m.module), ['features.1', 'features.3', 'features.6', 'features.13', 'features.18']);
    for (const m of maps) assert.deepEqual(m.dims, [2, ...m.shape]);
    const last = maps[maps.length - 1]!;
    const [c, h, w] = last.shape as [number, number, number];
    const e = await session.embed(x);
    assert.equal(e.dim, c);
    for (let r = 0; r < 2; r++) {
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let p = 0; p < h * w; p++) sum += last.data[(r * c + k) * h * w + p]!;
        assert.ok(Math.abs(sum / (h * w) - e.data[r * c + k]!) <= 1e-5 * Math.max(1, Math.abs(sum)), `row ${r} channel ${k}`);
      }
    }
    await session.dispose();
  });
});

describe('mobilezoo embed', () => {
  const dir = tempDir('mobilezoo-embed-');
  after(() => rmrf(dir));

  test('writes .npy, .safetensors and .json with the embeddings of the library', async () => {
    const weights = join(dir, 'w.safetensors');
    await saveSafetensorsFile(weights, createModel('shufflenet_v2_x0_5', { numClasses: 3, seed: 4 }).stateDict());
    const files = [join(dir, 'a.png'), join(dir, 'b.png')];
    for (const [i, f] of files.entries()) {
      await sharp(Buffer.alloc(50 * 40 * 3).map((_, k) => (k * (i + 5) * 13) % 256), { raw: { width: 50, height: 40, channels: 3 } }).png().toFile(f);
    }
    const ref = await embedImages(files, { weights, model: 'shufflenet_v2_x0_5', modelOptions: { numClasses: 3 }, input: 64 });
    assert.equal(ref.dim, 1024);
    const base = ['embed', ...files, '--weights', weights, '--model', 'shufflenet_v2_x0_5', '--classes', '3', '--input', '64'];

    const npy = join(dir, 'e.npy');
    let io = memoryStreams();
    assert.equal(await runCli([...base, '--out', npy], io.io), 0, io.err());
    assert.match(io.out(), /wrote .*e\.npy: 2 embeddings of 1024 values/);
    const bytes = readFileSync(npy);
    const headerLen = bytes.readUInt16LE(8);
    const header = bytes.subarray(10, 10 + headerLen).toString('latin1');
    assert.match(header, /'descr': '<f4', 'fortran_order': False, 'shape': \(2, 1024\)/);
    assert.equal((10 + headerLen) % 64, 0);
    assert.deepEqual(new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLen, bytes.byteOffset + bytes.length)), ref.embeddings);

    const st = join(dir, 'e.safetensors');
    io = memoryStreams();
    assert.equal(await runCli([...base, '--out', st], io.io), 0, io.err());
    const t = readSafetensors(readFileSync(st), st).get('embeddings')!;
    assert.deepEqual(t.shape, [2, 1024]);
    assert.deepEqual(t.toFloat32(), ref.embeddings);

    io = memoryStreams();
    assert.equal(await runCli([...base, '--json'], io.io), 0, io.err());
    const j = JSON.parse(io.out()) as { dim: number; embeddings: { file: string; embedding: number[] }[] };
    assert.equal(j.dim, 1024);
    assert.deepEqual(j.embeddings.map((e) => e.file), files);
    assert.deepEqual(Float32Array.from(j.embeddings[1]!.embedding), ref.embeddings.subarray(1024));

    io = memoryStreams();
    assert.equal(await runCli([...base, '--out', join(dir, 'e.csv')], io.io), 2);
    assert.match(io.err(), /--out: .*e\.csv: use a \.json, \.npy, \.safetensors file/);
  });
});
