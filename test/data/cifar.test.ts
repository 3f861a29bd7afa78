import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import {
  CIFAR100_FINE_CLASSES,
  CIFAR100_COARSE_CLASSES,
  CIFAR10_CLASSES,
  DatasetFormatError,
  DatasetNotFoundError,
  extractTarGz,
  loadCifar,
  openDataset,
} from '../../src/data/index.js';
import {
  CIFAR10_TEST_LABELS,
  cifarPixel,
  isolatedEnv,
  makeCifar10Archive,
  md5,
  rawTar,
  rmrf,
  serve,
  tempDir,
  writeCifar10Folder,
  type TestServer,
} from './helpers.js';

const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];

/** Expected per-channel mean/std of the small training set, computed directly from the generator. */
function expectedStats(): { mean: number[]; std: number[] } {
  const vals: number[][] = [[], [], []];
  TRAIN_FILES.forEach((f, k) => {
    CIFAR10_TEST_LABELS[f].forEach((_, r) => {
      for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) vals[c].push(cifarPixel(k, r, c, p) / 255);
    });
  });
  const mean = vals.map((v) => v.reduce((a, b) => a + b, 0) / v.length);
  const std = vals.map((v, c) => Math.sqrt(v.reduce((a, b) => a + (b - mean[c]) ** 2, 0) / v.length));
  return { mean, std };
}

describe('CIFAR-10 download, verification and loading', () => {
  let work: string;
  let archive: Buffer;
  let server: TestServer;

  before(async () => {
    work = tempDir();
    archive = await makeCifar10Archive(work);
    server = await serve({
      '/kriz/cifar-10-binary.tar.gz': archive,
      '/moved/cifar-10-binary.tar.gz': { redirect: '/kriz/cifar-10-binary.tar.gz' },
      '/bad/cifar-10-binary.tar.gz': Buffer.concat([archive, Buffer.from('x')]),
    });
  });
  after(async () => {
    await server.close();
    rmrf(work);
  });

  test('downloads from a local server, checks the MD5, extracts and loads', async () => {
    const dir = path.join(work, 'dl');
    const env = isolatedEnv(work);
    const ds = await loadCifar('cifar10', 'train', { dir, baseUrl: `${server.url}/kriz/`, md5: md5(archive), progress: false, env });
    assert.equal(ds.length, 11);
    assert.equal(ds.numClasses, 10);
    assert.deepEqual(ds.classNames, CIFAR10_CLASSES);
    assert.equal(ds.channels, 3);
    assert.equal(ds.height, 32);
    assert.equal(ds.width, 32);
    assert.deepEqual(Array.from({ length: 11 }, (_, i) => ds.get(i).label), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3]);
    // CHW on disk → HWC in memory: record 1 of data_batch_2 is dataset index 3.
    const img = ds.get(3).image;
    assert.equal(img.length, 3072);
    for (const [y, x] of [[0, 0], [5, 17], [31, 31]]) {
      const p = y * 32 + x;
      for (let c = 0; c < 3; c++) assert.equal(img[p * 3 + c], cifarPixel(1, 1, c, p));
    }
    const st = expectedStats();
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(ds.mean[c] - st.mean[c]) < 1e-12);
      assert.ok(Math.abs(ds.std[c] - st.std[c]) < 1e-12);
    }
    assert.ok(fs.existsSync(path.join(dir, 'cifar-10-batches-bin', 'test_batch.bin')));
    // the leftover .part / extraction temp dirs are gone
    assert.deepEqual(fs.readdirSync(dir).sort(), ['cifar-10-batches-bin', 'cifar-10-binary.tar.gz']);

    // test split: its own records, the training statistics
    const hits = server.hits.length;
    const te = await openDataset('cifar10', 'test', { dir, baseUrl: `${server.url}/kriz/`, md5: md5(archive), env });
    assert.equal(server.hits.length, hits, 'no second download');
    assert.equal(te.split, 'test');
    assert.equal(te.length, 3);
    assert.deepEqual([0, 1, 2].map((i) => te.get(i).label), [9, 0, 5]);
    assert.equal(te.get(2).image[3 * 7 + 1], cifarPixel(5, 2, 1, 7));
    assert.deepEqual(te.mean, ds.mean);
    assert.deepEqual(te.std, ds.std);
  });

  test('follows redirects and honours MOBILEZOO_CIFAR_URL', async () => {
    const dir = path.join(work, 'redirect');
    const env = isolatedEnv(work, { MOBILEZOO_CIFAR_URL: `${server.url}/moved` });
    const ds = await loadCifar('cifar10', 'test', { dir, md5: md5(archive), env, progress: false });
    assert.equal(ds.length, 3);
    assert.ok(server.hits.includes('/moved/cifar-10-binary.tar.gz'));
  });

  test('MD5 mismatch: clear error and the file is removed', async () => {
    const dir = path.join(work, 'badmd5');
    // canonical MD5 (no override) cannot match the small test archive
    await assert.rejects(
      loadCifar('cifar10', 'train', { dir, baseUrl: `${server.url}/kriz/`, env: isolatedEnv(work), progress: false }),
      (e: Error) => /MD5 mismatch/.test(e.message) && e.message.includes('c32a1d4ab5d03f1284b67883e8d87530'),
    );
    assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], []);
    // a corrupted server copy with the right expected MD5
    await assert.rejects(
      loadCifar('cifar10', 'train', { dir, baseUrl: `${server.url}/bad/`, md5: md5(archive), env: isolatedEnv(work), progress: false }),
      /MD5 mismatch/,
    );
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test('HTTP errors and download: false give a DatasetNotFoundError explaining where it looked', async () => {
    const dir = path.join(work, 'missing');
    await assert.rejects(
      loadCifar('cifar10', 'train', { dir, baseUrl: `${server.url}/nothing/`, env: isolatedEnv(work), progress: false }),
      (e: Error) => e instanceof DatasetNotFoundError && /HTTP 404/.test(e.message) && e.message.includes(dir),
    );
    await assert.rejects(
      loadCifar('cifar10', 'train', { dir, download: false, env: isolatedEnv(work) }),
      (e: Error) => e instanceof DatasetNotFoundError && e.message.includes('--download') && e.message.includes(dir),
    );
    await assert.rejects(
      loadCifar('cifar10', 'train', { dir, env: isolatedEnv(work, { MOBILEZOO_OFFLINE: '1' }) }),
      DatasetNotFoundError,
    );
  });

  test('extracts an archive already present in the data dir (MD5 checked)', async () => {
    const dir = path.join(work, 'local-archive');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'cifar-10-binary.tar.gz'), archive);
    const ds = await loadCifar('cifar10', 'test', { dir, md5: md5(archive), download: false, env: isolatedEnv(work) });
    assert.equal(ds.length, 3);
    fs.rmSync(path.join(dir, 'cifar-10-batches-bin'), { recursive: true });
    await assert.rejects(loadCifar('cifar10', 'test', { dir, download: false, env: isolatedEnv(work) }), /MD5 mismatch/);
    assert.ok(!fs.existsSync(path.join(dir, 'cifar-10-binary.tar.gz')));
  });

  test('finds data under MOBILEZOO_DATA and the cache dir', async () => {
    const envRoot = path.join(work, 'envroot');
    writeCifar10Folder(envRoot);
    const ds = await loadCifar('cifar10', 'train', { download: false, env: isolatedEnv(work, { MOBILEZOO_DATA: envRoot }) });
    assert.equal(ds.length, 11);
    const xdg = path.join(work, 'xdg');
    writeCifar10Folder(path.join(xdg, 'mobilezoo'));
    const ds2 = await loadCifar('cifar10', 'test', { download: false, env: { XDG_CACHE_HOME: xdg } });
    assert.equal(ds2.length, 3);
  });

  test('truncated .bin and bad labels: errors naming the file', async () => {
    const root = path.join(work, 'trunc');
    const dir = writeCifar10Folder(root);
    const f = path.join(dir, 'data_batch_3.bin');
    fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 3073 + 100));
    await assert.rejects(
      loadCifar('cifar10', 'train', { dir: root, download: false, env: isolatedEnv(work) }),
      (e: Error) => e instanceof DatasetFormatError && e.message.includes(f) && /multiple of the 3073-byte record/.test(e.message),
    );
    const t = path.join(dir, 'test_batch.bin');
    const buf = fs.readFileSync(t);
    buf[3073] = 10;
    fs.writeFileSync(t, buf);
    await assert.rejects(
      loadCifar('cifar10', 'test', { dir: root, download: false, env: isolatedEnv(work) }),
      (e: Error) => e.message.includes(t) && /label 10/.test(e.message),
    );
  });
});

describe('CIFAR-100', () => {
  test('fine and coarse labels, class names from the meta file or built in', async () => {
    const work = tempDir();
    try {
      const dir = path.join(work, 'cifar-100-binary');
      fs.mkdirSync(dir, { recursive: true });
      const rec = 2 + 3072;
      const mk = (pairs: [number, number][]) => {
        const b = Buffer.alloc(pairs.length * rec);
        pairs.forEach(([coarse, fine], r) => {
          b[r * rec] = coarse;
          b[r * rec + 1] = fine;
          for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) b[r * rec + 2 + c * 1024 + p] = (r + c * 50 + p) % 256;
        });
        return b;
      };
      fs.writeFileSync(path.join(dir, 'train.bin'), mk([[4, 0], [1, 99], [19, 42]]));
      fs.writeFileSync(path.join(dir, 'test.bin'), mk([[3, 7]]));
      const ds = await openDataset('cifar100', 'train', { dir: work, download: false, env: isolatedEnv(work) });
      assert.equal(ds.numClasses, 100);
      assert.equal(CIFAR100_FINE_CLASSES.length, 100);
      assert.deepEqual(ds.classNames, CIFAR100_FINE_CLASSES);
      assert.deepEqual([0, 1, 2].map((i) => ds.get(i).label), [0, 99, 42]);
      assert.equal(ds.get(1).image[3 * 10 + 2], (1 + 100 + 10) % 256);
      const coarse = await openDataset('cifar100', 'train', { dir: work, coarse: true, download: false, env: isolatedEnv(work) });
      assert.equal(coarse.numClasses, 20);
      assert.deepEqual(coarse.classNames, CIFAR100_COARSE_CLASSES);
      assert.deepEqual([0, 1, 2].map((i) => coarse.get(i).label), [4, 1, 19]);
      fs.writeFileSync(path.join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `c${i}`).join('\n'));
      const te = await openDataset('cifar100', 'test', { dir: work, download: false, env: isolatedEnv(work) });
      assert.equal(te.classNames[7], 'c7');
      assert.equal(te.get(0).label, 7);
      assert.deepEqual(te.mean, ds.mean);
      fs.writeFileSync(path.join(dir, 'test.bin'), Buffer.alloc(rec * 2 - 1));
      await assert.rejects(openDataset('cifar100', 'test', { dir: work, download: false, env: isolatedEnv(work) }), (e: Error) =>
        e.message.includes(path.join(dir, 'test.bin')),
      );
    } finally {
      rmrf(work);
    }
  });
});

describe('safe extraction', () => {
  test('rejects path traversal, absolute paths and links; nothing is written', async () => {
    const work = tempDir();
    try {
      const cases: [string, Buffer][] = [
        ['traversal', rawTar([{ name: 'ok.txt', data: Buffer.from('a') }, { name: '../evil.txt', data: Buffer.from('b') }])],
        ['nested traversal', rawTar([{ name: 'cifar-10-batches-bin/../../evil.txt', data: Buffer.from('b') }])],
        ['absolute', rawTar([{ name: '/tmp/evil.txt', data: Buffer.from('b') }])],
        ['symlink', rawTar([{ name: 'link', type: '2', linkname: '/etc/passwd' }])],
      ];
      for (const [label, gz] of cases) {
        const file = path.join(work, `${label.replace(/ /g, '_')}.tar.gz`);
        fs.writeFileSync(file, gz);
        const dest = path.join(work, `out-${label.replace(/ /g, '_')}`);
        await assert.rejects(extractTarGz(file, dest), (e: Error) => /refusing to extract/.test(e.message) && e.message.includes(file), label);
        assert.ok(!fs.existsSync(dest), `${label}: nothing extracted`);
      }
      assert.ok(!fs.existsSync(path.join(work, 'evil.txt')));
      // absurd sizes
      const big = path.join(work, 'big.tar.gz');
      fs.writeFileSync(big, rawTar([{ name: 'f.bin', data: Buffer.alloc(5000) }]));
      await assert.rejects(extractTarGz(big, path.join(work, 'out-big'), { maxEntrySize: 4096 }), /too large/);
      // corrupt gzip
      const bad = path.join(work, 'bad.tar.gz');
      fs.writeFileSync(bad, zlib.gzipSync(Buffer.alloc(4096, 7)).subarray(0, 20));
      await assert.rejects(extractTarGz(bad, path.join(work, 'out-bad')), (e: Error) => e.message.includes(bad));
      // and a good one works
      const good = path.join(work, 'good.tar.gz');
      fs.writeFileSync(good, rawTar([{ name: 'd/', type: '5' }, { name: 'd/x.txt', data: Buffer.from('hello') }]));
      const files = await extractTarGz(good, path.join(work, 'out-good'));
      assert.deepEqual(files, ['d/x.txt']);
      assert.equal(fs.readFileSync(path.join(work, 'out-good', 'd', 'x.txt'), 'utf8'), 'hello');
    } finally {
      rmrf(work);
    }
  });
});
