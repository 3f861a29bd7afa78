import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { DatasetFormatError, clearFolderCache, indexFolder, openDataset } from '../../src/data/index.js';
import { rmrf, tempDir } from './helpers.js';

type RGB = [number, number, number];

async function solid(file: string, rgb: RGB, w = 40, h = 30, alpha = false): Promise<void> {
  const img = sharp({ create: { width: w, height: h, channels: alpha ? 4 : 3, background: { r: rgb[0], g: rgb[1], b: rgb[2], alpha: 1 } } });
  const ext = path.extname(file);
  const out = ext === '.png' ? img.png() : ext === '.webp' ? img.webp({ lossless: true }) : img.jpeg({ quality: 95 });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await out.toFile(file);
}

const COLORS: Record<string, RGB> = { cat: [200, 30, 40], dog: [20, 180, 60], ant: [30, 40, 220] };

function near(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol;
}

describe('image folder datasets', () => {
  let work: string;
  before(async () => {
    work = tempDir();
    const root = path.join(work, 'flat');
    const exts = ['.png', '.jpg', '.webp', '.jpeg', '.PNG'];
    for (const [cls, rgb] of Object.entries(COLORS)) {
      for (let i = 0; i < 5; i++) await solid(path.join(root, cls, `img${i}${exts[i]}`), rgb);
    }
    fs.writeFileSync(path.join(root, 'cat', 'notes.txt'), 'not an image');
    fs.mkdirSync(path.join(root, '.hidden'));
  });
  after(() => {
    clearFolderCache();
    rmrf(work);
  });

  test('classes sorted, PNG/JPEG/WebP decoded to RGB at the requested size, seeded stratified split', async () => {
    const root = path.join(work, 'flat');
    const tr = await openDataset('folder', 'train', { root, size: 16, testFraction: 0.4, seed: 3 });
    const te = await openDataset('folder', 'test', { root, size: 16, testFraction: 0.4, seed: 3 });
    assert.deepEqual(tr.classNames, ['ant', 'cat', 'dog']);
    assert.equal(tr.length, 9);
    assert.equal(te.length, 6);
    assert.equal(tr.channels, 3);
    assert.equal(tr.height, 16);
    assert.equal(tr.width, 16);
    assert.equal(tr.get(0).image.length, 16 * 16 * 3);
    const perClass = [0, 0, 0];
    for (let i = 0; i < te.length; i++) perClass[te.get(i).label]++;
    assert.deepEqual(perClass, [2, 2, 2]);
    for (const ds of [tr, te]) {
      for (let i = 0; i < ds.length; i++) {
        const { image, label } = ds.get(i);
        const rgb = COLORS[ds.classNames[label]];
        for (const p of [0, 77, 255]) for (let c = 0; c < 3; c++) assert.ok(near(image[p * 3 + c], rgb[c], 4), `${i} ${p} ${c}: ${image[p * 3 + c]} vs ${rgb[c]}`);
      }
    }
    // statistics of the training split (solid colours → per-channel means of the class colours, ±JPEG error)
    const expMean = [0, 1, 2].map((c) => Object.values(COLORS).reduce((a, rgb) => a + rgb[c], 0) / 3 / 255);
    for (let c = 0; c < 3; c++) assert.ok(near(tr.mean[c], expMean[c], 0.01));
    assert.deepEqual(te.mean, tr.mean);
    // the split is reproducible, disjoint and seed-dependent
    const idx = indexFolder({ root, testFraction: 0.4, seed: 3 });
    const idx2 = indexFolder({ root, testFraction: 0.4, seed: 3 });
    assert.deepEqual(idx, idx2);
    assert.equal(new Set([...idx.train.files, ...idx.test.files]).size, 15);
    const other = indexFolder({ root, testFraction: 0.4, seed: 4 });
    assert.notDeepEqual(other.test.files, idx.test.files);
    assert.ok(idx.train.files.every((f) => !f.endsWith('.txt')));
  });

  test('grayscale output and resize of the shorter side then center crop', async () => {
    const root = path.join(work, 'stripes');
    // 60 wide x 20 high: left third red, middle green, right third blue → after cover-resize to 10x10 only green remains
    const w = 60;
    const h = 20;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        const band = Math.floor(x / 20);
        raw[o + band] = 255;
      }
    }
    fs.mkdirSync(path.join(root, 'a'), { recursive: true });
    fs.mkdirSync(path.join(root, 'b'), { recursive: true });
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(root, 'a', 'x.png'));
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(root, 'b', 'y.png'));
    const ds = await openDataset('folder', 'train', { root, size: 10, testFraction: 0 });
    assert.equal(ds.length, 2);
    const img = ds.get(0).image;
    for (let p = 0; p < 100; p++) {
      const x = p % 10;
      if (x >= 2 && x <= 7) assert.deepEqual([img[p * 3], img[p * 3 + 1], img[p * 3 + 2]], [0, 255, 0], `pixel ${p}`);
    }
    const gray = await openDataset('folder', 'train', { root, size: [8, 12], channels: 1, testFraction: 0 });
    assert.equal(gray.channels, 1);
    assert.equal(gray.height, 8);
    assert.equal(gray.width, 12);
    assert.equal(gray.get(0).image.length, 96);
    assert.equal(gray.mean.length, 1);
  });

  test('train/ and test|val/ subfolders define the splits', async () => {
    const root = path.join(work, 'splits');
    await solid(path.join(root, 'train', 'b', '1.png'), [10, 10, 10]);
    await solid(path.join(root, 'train', 'b', '2.png'), [10, 10, 10]);
    await solid(path.join(root, 'train', 'a', 'nested', '1.png'), [250, 250, 250]);
    await solid(path.join(root, 'val', 'b', '1.jpg'), [10, 10, 10]);
    const tr = await openDataset('folder', 'train', { root, size: 8 });
    const te = await openDataset('folder', 'test', { root, size: 8 });
    assert.deepEqual(tr.classNames, ['a', 'b']);
    assert.equal(tr.length, 3);
    assert.deepEqual([0, 1, 2].map((i) => tr.get(i).label), [0, 1, 1]);
    assert.equal(te.length, 1);
    assert.equal(te.get(0).label, 1);
    assert.deepEqual(te.mean, tr.mean);
  });

  test('undecodable image, empty class, missing root: clear errors', async () => {
    const root = path.join(work, 'broken');
    await solid(path.join(root, 'a', 'ok.png'), [1, 2, 3]);
    const bad = path.join(root, 'b', 'broken.jpg');
    fs.mkdirSync(path.dirname(bad), { recursive: true });
    fs.writeFileSync(bad, Buffer.from('this is not a jpeg at all'));
    await assert.rejects(openDataset('folder', 'train', { root, size: 8, testFraction: 0 }), (e: Error) => e instanceof DatasetFormatError && e.message.includes(bad));
    const truncated = path.join(root, 'b', 'broken.jpg');
    const good = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer();
    fs.writeFileSync(truncated.replace('.jpg', '.png'), good.subarray(0, good.length - 40));
    fs.rmSync(bad);
    await assert.rejects(openDataset('folder', 'train', { root, size: 8, testFraction: 0 }), (e: Error) => e.message.includes(path.join(root, 'b', 'broken.png')));
    fs.rmSync(path.join(root, 'b', 'broken.png'));
    await assert.rejects(openDataset('folder', 'train', { root, size: 8 }), (e: Error) => /no images/.test(e.message) && e.message.includes(path.join(root, 'b')));
    await assert.rejects(openDataset('folder', 'train', { root: path.join(work, 'does-not-exist') }), /does not exist/);
    await assert.rejects(openDataset('folder', 'train', {}), /root/);
  });

  test('symbolic links into another part of the dataset, or looping, are not followed, and said once with their count', async () => {
    const root = path.join(work, 'links');
    for (const c of ['a', 'b']) for (let i = 0; i < 2; i++) await solid(path.join(root, c, `img${i}.png`), COLORS.cat);
    const outside = path.join(work, 'elsewhere');
    await solid(path.join(outside, 'far.png'), COLORS.dog);
    fs.symlinkSync('..', path.join(root, 'a', 'up')); // the dataset root: every class's images
    fs.symlinkSync('.', path.join(root, 'a', 'self')); // a loop
    fs.symlinkSync(path.join('..', 'a', 'img0.png'), path.join(root, 'b', 'borrowed.png')); // another class's image
    fs.symlinkSync(outside, path.join(root, 'b', 'more')); // outside the dataset: followed
    const index = indexFolder({ root, testFraction: 0 });
    assert.deepEqual(index.train.files.map((f) => path.relative(root, f)), ['a/img0.png', 'a/img1.png', 'b/img0.png', 'b/img1.png', 'b/more/far.png']);
    assert.deepEqual(index.skippedLinks.map((f) => path.relative(root, f)).sort(), ['a/self', 'a/up', 'b/borrowed.png']);
    const notes: string[] = [];
    await openDataset('folder', 'train', { root, size: 8, testFraction: 0, onNote: (m) => notes.push(m) });
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /3 symbolic links not followed \(into another part of the dataset, or a loop\)/);

    // A class folder that is itself a link to another class.
    const twice = path.join(work, 'twice');
    await solid(path.join(twice, 'a', '1.png'), COLORS.cat);
    fs.symlinkSync(path.join(twice, 'a'), path.join(twice, 'b'));
    assert.throws(() => indexFolder({ root: twice }), (e: Error) => e instanceof DatasetFormatError && e.message.includes(path.join(twice, 'b')) && /another part of the dataset/.test(e.message));
  });
});
