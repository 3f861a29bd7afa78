import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Rng,
  compileTransform,
  mixSeed,
  resizeImage,
  resolveTransform,
  standardTransform,
  transformOutputShape,
  type TransformSpec,
} from '../../src/data/index.js';

const approx = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** A 1-channel h×w image whose pixel (y, x) is 1 + y*w + x. */
function ramp(h: number, w: number, c = 1): Uint8Array {
  const d = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) d[(y * w + x) * c + k] = 1 + y * w + x + 100 * k;
  return d;
}

describe('random', () => {
  test('Rng is deterministic, in range and permutes', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 100 }, () => a.random());
    assert.deepEqual(xs, Array.from({ length: 100 }, () => b.random()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.notDeepEqual(xs, Array.from({ length: 100 }, () => new Rng(43).random()));
    const r = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const v = r.int(7);
      assert.ok(Number.isInteger(v) && v >= 0 && v < 7);
      seen.add(v);
    }
    assert.equal(seen.size, 7);
    const p = new Rng(5).permutation(100);
    assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
    assert.deepEqual(p, new Rng(5).permutation(100));
    assert.notEqual(mixSeed(1, 2), mixSeed(2, 1));
    assert.equal(mixSeed(1, 'a', 3), mixSeed(1, 'a', 3));
    let m = 0;
    const n = new Rng(9);
    for (let i = 0; i < 4000; i++) m += n.normal();
    assert.ok(Math.abs(m / 4000) < 0.1);
  });
});

describe('transforms', () => {
  test('to float CHW [0,1] and normalize, by hand', () => {
    // 1×2 image, 3 channels: HWC [10,20,30, 40,50,60]
    const img = Uint8Array.from([10, 20, 30, 40, 50, 60]);
    const t = compileTransform([], { channels: 3, height: 1, width: 2 });
    assert.deepEqual(Array.from(t.apply(img, new Rng(0))), [10, 40, 20, 50, 30, 60].map((v) => Math.fround(v / 255)));
    const mean = [0.5, 0.25, 0.1];
    const std = [0.2, 0.5, 0.3];
    const n = compileTransform([{ op: 'normalize', mean, std }], { channels: 3, height: 1, width: 2 });
    const out = n.apply(img, new Rng(0));
    const chw = [10, 40, 20, 50, 30, 60];
    chw.forEach((v, i) => {
      const c = Math.floor(i / 2);
      approx(out[i], (v / 255 - mean[c]) / std[c], 1e-5);
    });
  });

  test('pad with zeros (28 → 32 style) and center crop', () => {
    const img = ramp(2, 2);
    const t = compileTransform([{ op: 'pad', padding: 1 }], { channels: 1, height: 2, width: 2 });
    assert.deepEqual(t.output, { channels: 1, height: 4, width: 4 });
    const v = Array.from(t.apply(img, new Rng(0)), (x) => Math.round(x * 255));
    assert.deepEqual(v, [0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
    const t2 = compileTransform([{ op: 'pad', padding: [1, 0, 0, 2] }], { channels: 1, height: 2, width: 2 });
    assert.deepEqual(Array.from(t2.apply(img, new Rng(0)), (x) => Math.round(x * 255)), [0, 1, 2, 0, 3, 4, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual(transformOutputShape([{ op: 'pad', padding: 2 }], { channels: 1, height: 28, width: 28 }), { channels: 1, height: 32, width: 32 });
    // center crop 5x5 → 2x2: torchvision top = round(1.5) = 2 (half to even), left likewise
    const c = compileTransform([{ op: 'centerCrop', size: 2 }], { channels: 1, height: 5, width: 5 });
    assert.deepEqual(Array.from(c.apply(ramp(5, 5), new Rng(0)), (x) => Math.round(x * 255)), [13, 14, 18, 19]);
    // 7×4 → 2×3: top = round(2.5) = 2, left = round(0.5) = 0 (half to even)
    const c7 = compileTransform([{ op: 'centerCrop', size: [2, 3] }], { channels: 1, height: 7, width: 4 });
    assert.deepEqual(Array.from(c7.apply(ramp(7, 4), new Rng(0)), (x) => Math.round(x * 255)), [9, 10, 11, 13, 14, 15]);
    // crop larger than the image pads with zeros
    const big = compileTransform([{ op: 'centerCrop', size: 4 }], { channels: 1, height: 2, width: 2 });
    assert.deepEqual(Array.from(big.apply(ramp(2, 2), new Rng(0)), (x) => Math.round(x * 255)), [0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
  });

  test('random crop with zero padding equals the crop of the padded image at the drawn offset', () => {
    const H = 6;
    const W = 5;
    const img = ramp(H, W, 3);
    const spec: TransformSpec = [{ op: 'randomCrop', size: [H, W], padding: 2 }];
    const t = compileTransform(spec, { channels: 3, height: H, width: W });
    const offsets = new Set<string>();
    for (let seed = 0; seed < 200; seed++) {
      const out = t.apply(img, new Rng(seed));
      // torchvision: i = randint(0, h + 2p - th), j = randint(0, w + 2p - tw), drawn in that order
      const r = new Rng(seed);
      const i = r.int(H + 4 - H + 1);
      const j = r.int(W + 4 - W + 1);
      offsets.add(`${i},${j}`);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            const sy = y + i - 2;
            const sx = x + j - 2;
            const exp = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : img[(sy * W + sx) * 3 + c];
            assert.equal(Math.round(out[c * H * W + y * W + x] * 255), exp);
          }
        }
      }
    }
    assert.equal(offsets.size, 25, 'all 5×5 offsets occur');
  });

  test('horizontal flip p=1 / p=0, and p=0.5 flips about half the time', () => {
    const img = ramp(2, 3);
    const f = compileTransform([{ op: 'hflip', p: 1 }], { channels: 1, height: 2, width: 3 });
    assert.deepEqual(Array.from(f.apply(img, new Rng(0)), (x) => Math.round(x * 255)), [3, 2, 1, 6, 5, 4]);
    const n = compileTransform([{ op: 'hflip', p: 0 }], { channels: 1, height: 2, width: 3 });
    assert.deepEqual(Array.from(n.apply(img, new Rng(0)), (x) => Math.round(x * 255)), [1, 2, 3, 4, 5, 6]);
    const h = compileTransform([{ op: 'hflip' }], { channels: 1, height: 2, width: 3 });
    let flips = 0;
    for (let s = 0; s < 400; s++) if (Math.round(h.apply(img, new Rng(s))[0] * 255) === 3) flips++;
    assert.ok(flips > 150 && flips < 250, `${flips} flips`);
  });

  test('bilinear resize: upsampling by hand, antialiased downsampling (PIL weights)', () => {
    // 1×2 → 1×4: [a, .75a+.25b, .25a+.75b, b]
    const up = resizeImage({ data: Uint8Array.from([0, 200]), height: 1, width: 2, channels: 1 }, 1, 4);
    assert.deepEqual(Array.from(up.data), [0, 50, 150, 200]);
    // 2×2 → 4×4, separable
    const src = Uint8Array.from([0, 100, 200, 40]);
    const out = resizeImage({ data: src, height: 2, width: 2, channels: 1 }, 4, 4);
    const wts = [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]];
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        let v = 0;
        for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) v += wts[y][a] * wts[x][b] * src[a * 2 + b];
        assert.equal(out.data[y * 4 + x], Math.round(v), `(${y},${x})`);
      }
    }
    // 1×4 → 1×2 (scale 2, support 2): weights [3,3,1]/7 for output 0 and [1,3,3]/7 for output 1
    const down = resizeImage({ data: Uint8Array.from([70, 0, 140, 210]), height: 1, width: 4, channels: 1 }, 1, 2);
    assert.deepEqual(Array.from(down.data), [Math.round((3 * 70 + 0 + 140) / 7), Math.round((0 + 3 * 140 + 3 * 210) / 7)]);
    // grayscale 28 → 32 through the spec, constant image stays constant
    const t = compileTransform([{ op: 'resize', size: 32 }], { channels: 1, height: 28, width: 28 });
    assert.deepEqual(t.output, { channels: 1, height: 32, width: 32 });
    assert.ok(t.apply(new Uint8Array(784).fill(51), new Rng(0)).every((v) => v === Math.fround(51 / 255)));
    // number = shorter side, keeping aspect
    assert.deepEqual(transformOutputShape([{ op: 'resize', size: 16 }], { channels: 3, height: 20, width: 40 }), { channels: 3, height: 16, width: 32 });
  });

  test('grayscale → RGB replicate; resolveTransform fills and replicates the statistics', () => {
    const t = compileTransform([{ op: 'grayscaleToRgb' }], { channels: 1, height: 1, width: 2 });
    assert.deepEqual(Array.from(t.apply(Uint8Array.from([51, 102]), new Rng(0)), (x) => Math.round(x * 255)), [51, 102, 51, 102, 51, 102]);
    const ds = { name: 'fashion-mnist', channels: 1, height: 28, width: 28, mean: [0.3], std: [0.4] };
    const spec = resolveTransform([{ op: 'pad', padding: 2 }, { op: 'grayscaleToRgb' }, { op: 'normalize' }], ds);
    assert.deepEqual(spec.at(-1), { op: 'normalize', mean: [0.3, 0.3, 0.3], std: [0.4, 0.4, 0.4] });
    const c = compileTransform(spec, ds);
    assert.deepEqual(c.output, { channels: 3, height: 32, width: 32 });
    const out = c.apply(new Uint8Array(784).fill(255), new Rng(0));
    approx(out[0], (0 - 0.3) / 0.4, 1e-6); // padded corner
    approx(out[32 * 2 + 2], (1 - 0.3) / 0.4, 1e-6);
    approx(out[2 * 1024 + 32 * 16 + 16], (1 - 0.3) / 0.4, 1e-6);
  });

  test('spec validation and standard recipes', () => {
    const shape = { channels: 3, height: 32, width: 32 };
    assert.throws(() => transformOutputShape([{ op: 'normalize' }, { op: 'hflip' }], shape), /only randomErasing may follow normalize/);
    assert.throws(() => transformOutputShape([{ op: 'blur' } as never], shape), /unknown op "blur"/);
    assert.throws(() => transformOutputShape([{ op: 'randomCrop', size: 40 }], shape), /larger/);
    assert.throws(() => compileTransform([{ op: 'normalize' }], shape), /resolveTransform/);
    assert.throws(() => compileTransform([{ op: 'normalize', mean: [0], std: [1] }], shape), /channels/);
    const cifar = { name: 'cifar10', ...shape };
    assert.deepEqual(standardTransform(cifar, { train: true }), [
      { op: 'randomCrop', size: 32, padding: 4 },
      { op: 'hflip', p: 0.5 },
      { op: 'normalize' },
    ]);
    assert.deepEqual(standardTransform(cifar, { train: false }), [{ op: 'normalize' }]);
    const fm = { name: 'fashion-mnist', channels: 1, height: 28, width: 28 };
    const fmTrain = standardTransform(fm, { train: true, channels: 3 });
    assert.deepEqual(transformOutputShape(fmTrain, fm), { channels: 3, height: 32, width: 32 });
    assert.deepEqual(standardTransform(fm, { train: false }), [{ op: 'pad', padding: 2 }, { op: 'normalize' }]);
    assert.deepEqual(transformOutputShape(standardTransform(fm, { train: false, size: 64, channels: 3 }), fm), { channels: 3, height: 64, width: 64 });
    const json = JSON.parse(JSON.stringify(fmTrain));
    assert.deepEqual(json, fmTrain, 'specs are plain JSON');
  });
});

describe('randomErasing (torchvision RandomErasing, value 0)', () => {
  const shape = { channels: 3, height: 16, width: 12 };
  const img = new Uint8Array(16 * 12 * 3).fill(200);
  const spec: TransformSpec = [{ op: 'normalize', mean: [0, 0, 0], std: [1, 1, 1] }, { op: 'randomErasing', p: 1 }];

  test('erases one rectangle, the same in every channel, with an area in the scale range', () => {
    const t = compileTransform(spec, shape);
    for (let seed = 0; seed < 50; seed++) {
      const out = t.apply(img, new Rng(seed));
      const zero = (c: number, y: number, x: number) => out[(c * 16 + y) * 12 + x] === 0;
      const cells: [number, number][] = [];
      for (let y = 0; y < 16; y++) for (let x = 0; x < 12; x++) if (zero(0, y, x)) cells.push([y, x]);
      assert.ok(cells.length > 0, `seed ${seed}: something erased`);
      const ys = cells.map((c) => c[0]);
      const xs = cells.map((c) => c[1]);
      const h = Math.max(...ys) - Math.min(...ys) + 1;
      const w = Math.max(...xs) - Math.min(...xs) + 1;
      assert.equal(cells.length, h * w, `seed ${seed}: a full rectangle`);
      assert.ok(h < 16 && w < 12, `seed ${seed}: smaller than the image`);
      // Rounding the sides of an area in [0.02, 0.33]·H·W moves it by at most h/2 + w/2 + 1/4.
      assert.ok(h * w >= 0.02 * 192 - (h + w) / 2 - 0.25 && h * w <= 0.33 * 192 + (h + w) / 2 + 0.25, `seed ${seed}: area ${h * w}`);
      for (let c = 1; c < 3; c++) for (let y = 0; y < 16; y++) for (let x = 0; x < 12; x++) assert.equal(zero(c, y, x), zero(0, y, x));
      for (let i = 0; i < out.length; i++) assert.ok(out[i] === 0 || Math.abs(out[i]! - 200 / 255) < 1e-6);
    }
  });

  test('p = 0 changes nothing; the default p erases about half the images; seeded', () => {
    const none = compileTransform([spec[0]!, { op: 'randomErasing', p: 0 }], shape);
    assert.ok(none.apply(img, new Rng(3)).every((v) => Math.abs(v - 200 / 255) < 1e-6));
    const half = compileTransform([spec[0]!, { op: 'randomErasing' }], shape);
    let erased = 0;
    for (let s = 0; s < 400; s++) if (half.apply(img, new Rng(s)).some((v) => v === 0)) erased++;
    assert.ok(erased > 150 && erased < 250, `${erased} of 400 erased`);
    assert.deepEqual(half.apply(img, new Rng(7)), half.apply(img, new Rng(7)));
  });

  test('only after normalize; invalid settings are refused by name', () => {
    assert.throws(() => transformOutputShape([{ op: 'normalize' }, { op: 'hflip' }], shape), /only randomErasing may follow normalize/);
    assert.throws(() => transformOutputShape([{ op: 'randomErasing', scale: [0.5, 0.2] }], shape), /randomErasing: scale/);
    assert.throws(() => transformOutputShape([{ op: 'randomErasing', p: 2 }], shape), /randomErasing: p/);
    const fm = { name: 'fashion-mnist', channels: 1, height: 28, width: 28 };
    assert.deepEqual(standardTransform(fm, { train: true, randomErasing: 0.5 }).at(-1), { op: 'randomErasing', p: 0.5 });
    assert.equal(standardTransform(fm, { train: false, randomErasing: 0.5 }).at(-1)!.op, 'normalize');
  });
});
