import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import ts from 'typescript';
import {
  DataLoader,
  batchTensors,
  compileTransform,
  makeSynthetic,
  openDataset,
  resolveTransform,
  type Batch,
  type Dataset,
  type TransformSpec,
} from '../../src/data/index.js';
import { sampleRng } from '../../src/data/assemble.js';
import { rmrf, tempDir } from './helpers.js';

const AUG: TransformSpec = [{ op: 'randomCrop', size: 16, padding: 2 }, { op: 'hflip', p: 0.5 }, { op: 'normalize' }];

async function collect(loader: DataLoader, epoch?: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of epoch === undefined ? loader : loader.iterate(epoch)) out.push(b);
  return out;
}

function digest(batches: Batch[]): string {
  const h = crypto.createHash('sha256');
  for (const b of batches) {
    h.update(new Uint8Array(b.images.buffer, b.images.byteOffset, b.images.byteLength));
    h.update(new Uint8Array(b.labels.buffer, b.labels.byteOffset, b.labels.byteLength));
  }
  return h.digest('hex');
}

describe('DataLoader', () => {
  const ds = makeSynthetic('train', { length: 50, size: 16, numClasses: 5, seed: 4 });
  const loaders: DataLoader[] = [];
  const make = (opts: Partial<ConstructorParameters<typeof DataLoader>[1]> = {}, d: Dataset = ds) => {
    const l = new DataLoader(d, { batchSize: 16, ...opts });
    loaders.push(l);
    return l;
  };
  after(async () => {
    for (const l of loaders) await l.close();
  });

  test('batch sizes, last smaller batch, dropLast, labels and shapes', async () => {
    const l = make({ workers: 0 });
    assert.equal(l.length, 4);
    const bs = await collect(l);
    assert.deepEqual(bs.map((b) => b.n), [16, 16, 16, 2]);
    assert.deepEqual(bs[3].shape, [2, 3, 16, 16]);
    assert.equal(bs[3].images.length, 2 * 3 * 16 * 16);
    assert.deepEqual(Array.from(bs[0].indices), Array.from({ length: 16 }, (_, i) => i), 'no shuffle: dataset order');
    for (const b of bs) {
      assert.deepEqual(Array.from(b.labels), Array.from(b.indices, (i) => ds.get(i).label));
      assert.deepEqual(Array.from(b.labels64), Array.from(b.labels, (v) => BigInt(v)));
    }
    const t = batchTensors(bs[0]);
    assert.deepEqual(t.images.shape, [16, 3, 16, 16]);
    assert.equal(t.labels.dtype, 'int64');
    const d = make({ workers: 0, dropLast: true });
    assert.equal(d.length, 3);
    assert.deepEqual((await collect(d)).map((b) => b.n), [16, 16, 16]);
    // default transform: just [0,1] CHW
    const px = ds.get(0).image;
    assert.equal(bs[0].images[1], Math.fround(px[3] / 255)); // channel 0 of pixel 1
    assert.equal(bs[0].images[256], Math.fround(px[1] / 255)); // channel 1 of pixel 0
  });

  test('same seed → same batches; workers 0, 1 and 2 give identical results', async () => {
    const opts = { shuffle: true, seed: 11, transform: AUG };
    const ref = await collect(make({ ...opts, workers: 0 }));
    assert.equal(digest(await collect(make({ ...opts, workers: 0 }))), digest(ref));
    const w2 = make({ ...opts, workers: 2 });
    const w1 = make({ ...opts, workers: 1, prefetch: 3 });
    const r2 = await collect(w2);
    assert.equal(digest(r2), digest(ref));
    assert.equal(digest(await collect(w1)), digest(ref));
    assert.deepEqual(r2.map((b) => b.n), [16, 16, 16, 2]);
    // the values are the transform of each sample with its (seed, epoch, position) RNG
    const spec = resolveTransform(AUG, ds);
    const t = compileTransform(spec, ds);
    const b = ref[1];
    for (let j = 0; j < b.n; j++) {
      const exp = t.apply(ds.get(b.indices[j]).image, sampleRng(11, 0, 16 + j));
      assert.deepEqual(b.images.subarray(j * t.outputSize, (j + 1) * t.outputSize), exp);
    }
    // a different seed shuffles differently
    const other = await collect(make({ ...opts, seed: 12, workers: 0 }));
    assert.notDeepEqual(other[0].indices, ref[0].indices);
  });

  test('per-epoch permutations via setEpoch, reproducible and complete', async () => {
    const l = make({ shuffle: true, seed: 3, workers: 2, transform: AUG });
    const e0 = await collect(l);
    l.setEpoch(1);
    const e1 = await collect(l);
    l.setEpoch(0);
    const again = await collect(l);
    assert.equal(digest(again), digest(e0));
    const order = (bs: Batch[]) => bs.flatMap((b) => Array.from(b.indices));
    assert.notDeepEqual(order(e1), order(e0));
    for (const bs of [e0, e1]) assert.deepEqual([...order(bs)].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    assert.equal(digest(await collect(make({ shuffle: true, seed: 3, workers: 0, transform: AUG }), 1)), digest(e1));
    // early break, then a full pass still works
    for await (const b of l) {
      assert.equal(b.n, 16);
      break;
    }
    assert.equal((await collect(l)).length, 4);
    await l.close();
    assert.equal(digest(await collect(l, 1)), digest(e1), 'workers restart after close');
  });

  test('datasets without contiguous storage work with workers', async () => {
    const plain: Dataset = {
      name: 'plain',
      split: 'train',
      length: 10,
      numClasses: 2,
      classNames: ['a', 'b'],
      channels: 1,
      height: 4,
      width: 4,
      mean: [0.5],
      std: [0.25],
      get: (i) => ({ image: new Uint8Array(16).fill(i * 10), label: i % 2 }),
    };
    const spec: TransformSpec = [{ op: 'pad', padding: 1 }, { op: 'grayscaleToRgb' }, { op: 'normalize' }];
    const a = await collect(make({ batchSize: 4, workers: 2, transform: spec, shuffle: true }, plain));
    const b = await collect(make({ batchSize: 4, workers: 0, transform: spec, shuffle: true }, plain));
    assert.equal(digest(a), digest(b));
    assert.deepEqual(a[0].shape, [4, 3, 6, 6]);
    const i0 = a[0].indices[0];
    assert.ok(Math.abs(a[0].images[7] - ((i0 * 10) / 255 - 0.5) / 0.25) < 1e-6);
    assert.ok(Math.abs(a[0].images[0] - (0 - 0.5) / 0.25) < 1e-6);
  });

  test('option validation', () => {
    assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize/);
    assert.throws(() => new DataLoader(ds, { batchSize: 4, workers: -1 }), /workers/);
    assert.throws(() => new DataLoader(ds, { batchSize: 4, transform: [{ op: 'normalize' }, { op: 'hflip' }] }), /only randomErasing may follow normalize/);
  });

  test('the compiled worker.js path works without tsx', async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const src = path.resolve(here, '../../src');
    const out = tempDir('mobilezoo-dist-');
    try {
      const files = [...fs.readdirSync(path.join(src, 'data')).filter((f) => f.endsWith('.ts')).map((f) => `data/${f}`), 'tensor.ts'];
      for (const f of files) {
        const js = ts.transpileModule(fs.readFileSync(path.join(src, f), 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        fs.mkdirSync(path.dirname(path.join(out, f)), { recursive: true });
        fs.writeFileSync(path.join(out, f.replace(/\.ts$/, '.js')), js);
      }
      fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
      fs.symlinkSync(path.resolve(src, '../node_modules'), path.join(out, 'node_modules'));
      const script = `
        import crypto from 'node:crypto';
        import { DataLoader, workerEntry } from './data/loader.js';
        import { makeSynthetic } from './data/synthetic.js';
        const ds = makeSynthetic('train', { length: 50, size: 16, numClasses: 5, seed: 4 });
        const l = new DataLoader(ds, { batchSize: 16, workers: 2, shuffle: true, seed: 11, transform: ${JSON.stringify(AUG)} });
        const h = crypto.createHash('sha256');
        for await (const b of l) {
          h.update(new Uint8Array(b.images.buffer, b.images.byteOffset, b.images.byteLength));
          h.update(new Uint8Array(b.labels.buffer, b.labels.byteOffset, b.labels.byteLength));
        }
        await l.close();
        console.log(JSON.stringify({ eval: workerEntry().eval, digest: h.digest('hex') }));`;
      const env = { ...process.env };
      delete env.NODE_OPTIONS;
      fs.writeFileSync(path.join(out, 'run.js'), script);
      const r = spawnSync(process.execPath, ['run.js'], { cwd: out, env, encoding: 'utf8', timeout: 20000 });
      assert.equal(r.status, 0, r.stderr);
      const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      assert.equal(res.eval, false, 'uses worker.js');
      const ref = await collect(make({ shuffle: true, seed: 11, transform: AUG, workers: 0 }));
      assert.equal(res.digest, digest(ref));
    } finally {
      rmrf(out);
    }
  });

  test('real Fashion-MNIST through the loader (when installed)', { skip: fs.existsSync('/usr/share/datasets/fashion-mnist') ? false : 'dataset-fashion-mnist not installed' }, async () => {
    const fm = await openDataset('fashion-mnist', 'test', { download: false, env: { XDG_CACHE_HOME: '/nonexistent' } });
    const l = make({ batchSize: 1000, workers: 2, transform: [{ op: 'pad', padding: 2 }, { op: 'grayscaleToRgb' }, { op: 'normalize' }] }, fm);
    let n = 0;
    for await (const b of l) {
      assert.deepEqual(b.shape.slice(1), [3, 32, 32]);
      n += b.n;
    }
    assert.equal(n, 10000);
  });
});
