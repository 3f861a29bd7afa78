import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  DatasetFormatError,
  DatasetNotFoundError,
  FASHION_MNIST_CLASSES,
  describeDatasetSearch,
  idxSearchDirs,
  loadIdx,
  openDataset,
} from '../../src/data/index.js';
import { idxImages, idxLabels, idxPixel, isolatedEnv, md5, rmrf, serve, tempDir, writeIdxDir } from './helpers.js';

const REAL = '/usr/share/datasets/fashion-mnist';

describe('IDX (Fashion-MNIST / MNIST) loading', () => {
  let work: string;
  before(() => {
    work = tempDir();
  });
  after(() => rmrf(work));

  for (const gzip of [true, false]) {
    test(`loads ${gzip ? 'gzipped' : 'raw'} IDX files with values, labels and training statistics`, async () => {
      const dir = path.join(work, gzip ? 'gz' : 'raw');
      writeIdxDir(dir, { nTrain: 12, nTest: 5, gzip });
      const opts = { dir, checkCounts: false, download: false, systemDirs: [], env: isolatedEnv(work) };
      const tr = await loadIdx('fashion-mnist', 'train', opts);
      assert.equal(tr.length, 12);
      assert.equal(tr.channels, 1);
      assert.equal(tr.height, 28);
      assert.deepEqual(tr.classNames, FASHION_MNIST_CLASSES);
      assert.equal(tr.get(5).label, 5 * 3 % 10);
      assert.equal(tr.get(5).image[100], idxPixel(0)(5, 100));
      const all: number[] = [];
      for (let i = 0; i < 12; i++) for (let p = 0; p < 784; p++) all.push(idxPixel(0)(i, p) / 255);
      const mean = all.reduce((a, b) => a + b, 0) / all.length;
      const std = Math.sqrt(all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length);
      assert.ok(Math.abs(tr.mean[0] - mean) < 1e-12);
      assert.ok(Math.abs(tr.std[0] - std) < 1e-12);
      const te = await loadIdx('mnist', 'test', opts);
      assert.equal(te.name, 'mnist');
      assert.equal(te.length, 5);
      assert.equal(te.get(4).label, 28 % 10);
      assert.equal(te.get(4).image[3], idxPixel(1)(4, 3));
      assert.deepEqual(te.mean, tr.mean, 'test split reports the training statistics');
    });
  }

  test('requires the canonical counts unless checkCounts is false', async () => {
    const dir = path.join(work, 'counts');
    writeIdxDir(dir, { nTrain: 3, nTest: 2, gzip: true });
    await assert.rejects(
      loadIdx('fashion-mnist', 'train', { dir, download: false, systemDirs: [], env: isolatedEnv(work) }),
      (e: Error) => e instanceof DatasetFormatError && /expected 60000/.test(e.message) && e.message.includes(path.join(dir, 'train-')),
    );
  });

  test('corrupt, truncated or inconsistent files: errors naming the file', async () => {
    const base = path.join(work, 'corrupt');
    const opts = (dir: string) => ({ dir, checkCounts: false, download: false, systemDirs: [], env: isolatedEnv(work) });
    const cases: [string, (dir: string) => string, RegExp][] = [
      ['truncated images', (d) => {
        const f = path.join(d, 'train-images-idx3-ubyte');
        fs.writeFileSync(f, idxImages(4, idxPixel(0)).subarray(0, 16 + 784 * 3 + 10));
        return f;
      }, /truncated/],
      ['truncated gzip', (d) => {
        fs.rmSync(path.join(d, 'train-images-idx3-ubyte'));
        const f = path.join(d, 'train-images-idx3-ubyte.gz');
        fs.writeFileSync(f, zlib.gzipSync(idxImages(4, idxPixel(0))).subarray(0, 200));
        return f;
      }, /gzip/],
      ['bad magic', (d) => {
        const f = path.join(d, 'train-images-idx3-ubyte');
        const b = idxImages(4, idxPixel(0));
        b.writeUInt32BE(0x801, 0);
        fs.writeFileSync(f, b);
        return f;
      }, /magic/],
      ['wrong dims', (d) => {
        const f = path.join(d, 'train-images-idx3-ubyte');
        fs.writeFileSync(f, idxImages(4, idxPixel(0), 32, 32));
        return f;
      }, /28x28/],
      ['label out of range', (d) => {
        const f = path.join(d, 'train-labels-idx1-ubyte');
        fs.writeFileSync(f, idxLabels([1, 2, 10, 3]));
        return f;
      }, /label 10/],
      ['count mismatch', (d) => {
        const f = path.join(d, 'train-labels-idx1-ubyte');
        fs.writeFileSync(f, idxLabels([1, 2, 3]));
        return path.join(d, 'train-images-idx3-ubyte');
      }, /4 images but .* 3 labels/],
    ];
    for (const [i, [label, corrupt, re]] of cases.entries()) {
      const dir = path.join(base, String(i));
      writeIdxDir(dir, { nTrain: 4, nTest: 2, gzip: false });
      const file = corrupt(dir);
      await assert.rejects(
        loadIdx('fashion-mnist', 'train', opts(dir)),
        (e: Error) => e instanceof DatasetFormatError && e.message.includes(file) && re.test(e.message),
        label,
      );
    }
  });

  test('search order: dir, MOBILEZOO_DATA, cache dir, system dirs', async () => {
    const root = path.join(work, 'order');
    const explicit = path.join(root, 'explicit');
    const envData = path.join(root, 'envdata');
    const xdg = path.join(root, 'xdg');
    const system = path.join(root, 'system');
    writeIdxDir(explicit, { nTrain: 1, nTest: 1, gzip: true });
    writeIdxDir(path.join(envData, 'fashion-mnist'), { nTrain: 2, nTest: 2, gzip: true });
    writeIdxDir(path.join(xdg, 'mobilezoo', 'fashion-mnist'), { nTrain: 3, nTest: 3, gzip: false });
    writeIdxDir(system, { nTrain: 4, nTest: 4, gzip: true });
    const env = { XDG_CACHE_HOME: xdg, MOBILEZOO_DATA: envData };
    const common = { checkCounts: false, download: false, systemDirs: [system] };
    const len = async (o: object) => (await openDataset('fashion-mnist', 'test', { ...common, ...o })).length;
    assert.equal(await len({ dir: explicit, env }), 1);
    assert.equal(await len({ env }), 2);
    assert.equal(await len({ env: { XDG_CACHE_HOME: xdg } }), 3);
    assert.equal(await len({ env: { XDG_CACHE_HOME: path.join(root, 'none') } }), 4);
    // A generic root's own files are not taken for fashion-mnist (they could be MNIST): only its subfolder.
    writeIdxDir(path.join(root, 'generic'), { nTrain: 5, nTest: 5, gzip: true });
    assert.equal(await len({ env: { XDG_CACHE_HOME: path.join(root, 'none'), MOBILEZOO_DATA: path.join(root, 'generic') } }), 4);
    const dirs = idxSearchDirs('fashion-mnist', { dir: explicit, env, systemDirs: [system] }).map((d) => d.path);
    assert.equal(dirs[0], explicit);
    assert.equal(dirs.at(-1), system);
    assert.ok(idxSearchDirs('fashion-mnist', { env }).some((d) => d.path === REAL));
    assert.ok(!idxSearchDirs('mnist', { env }).some((d) => d.path === REAL));
  });

  test('not found: DatasetNotFoundError saying where it looked and how to get the data', async () => {
    const env = isolatedEnv(path.join(work, 'nothing'));
    const dir = path.join(work, 'nothing', 'here');
    await assert.rejects(loadIdx('fashion-mnist', 'train', { dir, download: false, systemDirs: ['/nonexistent/fm'], env }), (e: Error) => {
      assert.ok(e instanceof DatasetNotFoundError);
      assert.match(e.message, /apt-get install dataset-fashion-mnist/);
      assert.match(e.message, /--download/);
      assert.ok(e.message.includes(dir));
      assert.ok(e.message.includes('/nonexistent/fm'));
      return true;
    });
    const msg = describeDatasetSearch('fashion-mnist', { dir, env });
    assert.match(msg, /apt-get install dataset-fashion-mnist/);
    assert.ok(msg.includes(REAL));
    assert.match(describeDatasetSearch('mnist', { env }), /--download/);
    assert.match(describeDatasetSearch('nope'), /unknown dataset "nope"/);
  });

  test('downloads the four .gz files from a local server with MD5 checks', async () => {
    const src = path.join(work, 'serve-src');
    const files = writeIdxDir(src, { nTrain: 6, nTest: 4, gzip: true });
    const routes: Record<string, Buffer> = {};
    const sums: Record<string, string> = {};
    for (const [name, buf] of Object.entries(files)) {
      routes[`/mnist/${name}`] = buf;
      sums[name] = md5(buf);
    }
    const server = await serve(routes);
    try {
      const dir = path.join(work, 'dl');
      const env = isolatedEnv(work, { MOBILEZOO_MNIST_URL: `${server.url}/mnist/` });
      const common = { dir, checkCounts: false, systemDirs: [], env, progress: false };
      // published MD5s: mismatch, nothing left behind
      await assert.rejects(loadIdx('mnist', 'train', common), (e: Error) => /MD5 mismatch/.test(e.message) && e.message.includes('f68b3c2dcbeaaa9fbdd348bbdeb94873'));
      assert.deepEqual(fs.readdirSync(path.join(dir, 'mnist')), []);
      const ds = await loadIdx('mnist', 'train', { ...common, md5: sums });
      assert.equal(ds.length, 6);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'mnist')).sort(), Object.keys(files).sort());
      const n = server.hits.length;
      const te = await loadIdx('mnist', 'test', { ...common, md5: sums });
      assert.equal(te.length, 4);
      assert.equal(server.hits.length, n, 'already downloaded');
    } finally {
      await server.close();
    }
  });

  test('real Fashion-MNIST from Debian (dataset-fashion-mnist)', { skip: fs.existsSync(REAL) ? false : `${REAL} not installed (apt-get install dataset-fashion-mnist)` }, async () => {
    const env = isolatedEnv(work);
    const tr = await openDataset('fashion-mnist', 'train', { download: false, env });
    const te = await openDataset('fashion-mnist', 'test', { download: false, env });
    assert.equal(tr.length, 60000);
    assert.equal(te.length, 10000);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < te.length; i++) counts[te.get(i).label]++;
    assert.deepEqual(counts, new Array(10).fill(1000));
    let max = 0;
    for (let i = 0; i < tr.length; i++) max = Math.max(max, tr.get(i).label);
    assert.equal(max, 9);
    assert.ok(Math.abs(tr.mean[0] - 0.286) < 0.001, `mean ${tr.mean[0]}`);
    assert.ok(Math.abs(tr.std[0] - 0.353) < 0.001, `std ${tr.std[0]}`);
    assert.deepEqual(te.mean, tr.mean);
  });
});
