/**
 * torchvision's augmentations against torchvision 0.14 on PIL images (test/fixtures/augment.json, made by
 * dev/augment-reference.py): each op at the fixture's magnitudes, ColorJitter with given factors and
 * order, RandomResizedCrop's crop + resize and its fallback box, the magnitude tables and the policies.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { Rng } from '../../src/data/random.js';
import {
  AUTO_AUGMENT, type AugmentOp, type AugmentSpace, applyAugmentOp, applyColorJitter, augmentationSpace, randomResizedCropBox,
  sampleAutoAugment, sampleRandAugment, sampleTrivialAugmentWide,
} from '../../src/data/transforms-augment.js';
import {
  type Image, type TransformStep, applyGeometry, compileTransform, cropImage, resizeImage, standardTransform, transformOutputShape, withAugmentation,
} from '../../src/data/transforms.js';

interface Fixture {
  height: number;
  width: number;
  images: Record<string, string>;
  spaces: Record<AugmentSpace, Record<string, { magnitudes: number[]; signed: boolean }>>;
  policies: Record<string, [string, number, number | null][][]>;
  ops: { image: string; op: AugmentOp; magnitude: number; out: string }[];
  colorJitter: { image: string; order: number[]; brightness: number; contrast: number; saturation: number; hue: number; out: string }[];
  resizedCrop: { image: string; top: number; left: number; height: number; width: number; size: [number, number]; out: string }[];
  fallback: { height: number; width: number; ratio: [number, number]; box: [number, number, number, number] }[];
}

const fx = JSON.parse(readFileSync(new URL('../fixtures/augment.json', import.meta.url), 'utf8')) as Fixture;
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
const image = (key: string): Image => ({ data: bytes(fx.images[key]!), height: fx.height, width: fx.width, channels: key === 'rgb' ? 3 : 1 });

/** The largest difference in grey levels, and how many values differ. */
function compare(ours: Uint8Array, ref: Uint8Array): { max: number; count: number } {
  assert.equal(ours.length, ref.length);
  let max = 0;
  let count = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i]! - ref[i]!);
    if (d) count++;
    max = Math.max(max, d);
  }
  return { max, count };
}

test('magnitude tables are torchvision\'s _augmentation_space (the same float32 values, the same op order)', () => {
  const sizes: Record<AugmentSpace, number> = { autoAugment: 10, randAugment: 31, trivialAugmentWide: 31 };
  for (const kind of Object.keys(sizes) as AugmentSpace[]) {
    const ours = augmentationSpace(kind, sizes[kind], { height: fx.height, width: fx.width });
    assert.deepEqual([...ours.keys()], Object.keys(fx.spaces[kind]), kind);
    for (const [op, ref] of Object.entries(fx.spaces[kind])) {
      const mine = ours.get(op as AugmentOp)!;
      assert.equal(mine.signed, ref.signed, `${kind} ${op}`);
      assert.equal(mine.magnitudes.length, ref.magnitudes.length, `${kind} ${op}`);
      assert.deepEqual(mine.magnitudes, ref.magnitudes, `${kind} ${op}`);
    }
  }
});

test('AutoAugment policies are torchvision\'s', () => {
  for (const [name, pairs] of Object.entries(fx.policies)) assert.deepEqual(AUTO_AUGMENT[name as keyof typeof AUTO_AUGMENT], pairs, name);
});

test('every op equals torchvision\'s _apply_op on the same uint8 image (RGB and L)', () => {
  const worst = new Map<string, { max: number; count: number; cases: number }>();
  for (const c of fx.ops) {
    const out = applyAugmentOp(image(c.image), c.op, c.magnitude);
    const d = compare(out.data, bytes(c.out));
    const w = worst.get(c.op) ?? { max: 0, count: 0, cases: 0 };
    worst.set(c.op, { max: Math.max(w.max, d.max), count: w.count + d.count, cases: w.cases + 1 });
    assert.ok(d.max <= 1, `${c.op} ${c.magnitude} on ${c.image}: ${d.count} values differ, by up to ${d.max}`);
  }
  const inexact = [...worst].filter(([, w]) => w.count > 0).map(([op, w]) => `${op} (${w.count} values over ${w.cases} cases, max ${w.max})`);
  assert.deepEqual(inexact, [], 'every op is exact');
});

test('ColorJitter with given factors and order equals torchvision\'s', () => {
  for (const c of fx.colorJitter) {
    const out = applyColorJitter(image(c.image), c);
    const d = compare(out.data, bytes(c.out));
    assert.equal(d.count, 0, `order ${c.order} b ${c.brightness} c ${c.contrast} s ${c.saturation} h ${c.hue} on ${c.image}: ${d.count} values differ, by up to ${d.max}`);
  }
});

test('RandomResizedCrop\'s crop and PIL bilinear resize equal torchvision\'s resized_crop', () => {
  for (const c of fx.resizedCrop) {
    const out = resizeImage(cropImage(image(c.image), c.top, c.left, c.height, c.width), c.size[0], c.size[1]);
    assert.equal(compare(out.data, bytes(c.out)).count, 0, JSON.stringify({ ...c, out: undefined }));
  }
});

test('RandomResizedCrop falls back to torchvision\'s central box when 10 tries fail', () => {
  for (const c of fx.fallback) {
    // A scale above 1 never fits: every draw fails, whatever the generator.
    assert.deepEqual(randomResizedCropBox(c.height, c.width, [2, 3], c.ratio, new Rng(c.height * 100 + c.width)), c.box, JSON.stringify(c));
  }
});

test('RandomResizedCrop boxes stay inside the image with area and ratio in range', () => {
  const rng = new Rng(3);
  for (let i = 0; i < 500; i++) {
    const [top, left, h, w] = randomResizedCropBox(40, 60, [0.08, 1], [3 / 4, 4 / 3], rng);
    assert.ok(top >= 0 && left >= 0 && top + h <= 40 && left + w <= 60 && h > 0 && w > 0);
    assert.ok(h * w >= 0.08 * 2400 * 0.8 && w / h > 0.6 && w / h < 1.6, `${h}x${w}`);
  }
});

test('the policy steps apply exactly the ops their samplers draw', () => {
  const cases: [TransformStep, (rng: Rng, img: Image) => { op: AugmentOp; magnitude: number }[]][] = [
    [{ op: 'trivialAugmentWide' }, (rng) => sampleTrivialAugmentWide(31, rng)],
    [{ op: 'randAugment', numOps: 3, magnitude: 12 }, (rng, img) => sampleRandAugment(3, 12, 31, img, rng)],
    [{ op: 'autoAugment', policy: 'svhn' }, (rng, img) => sampleAutoAugment('svhn', img, rng)],
  ];
  for (const key of ['rgb', 'gray']) {
    for (const [step, sample] of cases) {
      for (let seed = 0; seed < 20; seed++) {
        const img = image(key);
        const viaStep = applyGeometry([step], img, new Rng(seed));
        let manual = img;
        for (const o of sample(new Rng(seed), img)) manual = applyAugmentOp(manual, o.op, o.magnitude);
        assert.deepEqual(viaStep.data, manual.data, `${step.op} seed ${seed} on ${key}`);
      }
    }
  }
});

test('TrivialAugmentWide draws its 14 ops uniformly; AutoAugment applies each op with its probability', () => {
  const rng = new Rng(11);
  const counts = new Map<string, number>();
  for (let i = 0; i < 2800; i++) for (const o of sampleTrivialAugmentWide(31, rng)) counts.set(o.op, (counts.get(o.op) ?? 0) + 1);
  assert.equal(counts.size, 14);
  for (const [op, c] of counts) assert.ok(Math.abs(c - 200) < 50, `${op}: ${c} of 2800`);
  const expected = AUTO_AUGMENT.imagenet.reduce((a, [x, y]) => a + x[1] + y[1], 0) / AUTO_AUGMENT.imagenet.length;
  let applied = 0;
  for (let i = 0; i < 4000; i++) applied += sampleAutoAugment('imagenet', { height: 12, width: 16 }, rng).length;
  assert.ok(Math.abs(applied / 4000 - expected) < 0.05, `${applied / 4000} ops per image, expected ${expected}`);
});

test('augmentation steps compile for RGB and L images, keep their shape, and are seeded', () => {
  const steps: TransformStep[] = [
    { op: 'randomResizedCrop', size: [10, 14] }, { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 },
    { op: 'autoAugment', policy: 'cifar10' }, { op: 'randAugment' }, { op: 'trivialAugmentWide', fill: 128 },
  ];
  for (const key of ['rgb', 'gray']) {
    const input = { channels: key === 'rgb' ? 3 : 1, height: fx.height, width: fx.width };
    const t = compileTransform([...steps, { op: 'normalize', mean: Array(input.channels).fill(0.5), std: Array(input.channels).fill(0.25) }], input);
    assert.deepEqual(t.output, { channels: input.channels, height: 10, width: 14 });
    const a = t.apply(image(key).data, Rng.from(5, 'sample', 1));
    assert.deepEqual(a, t.apply(image(key).data, Rng.from(5, 'sample', 1)));
    assert.notDeepEqual(a, t.apply(image(key).data, Rng.from(5, 'sample', 2)));
  }
  assert.throws(() => transformOutputShape([{ op: 'randAugment', magnitude: 31 }], { channels: 3, height: 8, width: 8 }), /randAugment: magnitude must be an integer in \[0, 30\]/);
  assert.throws(() => transformOutputShape([{ op: 'colorJitter', hue: 0.7 }], { channels: 3, height: 8, width: 8 }), /colorJitter: hue/);
  assert.throws(() => transformOutputShape([{ op: 'autoAugment', policy: 'mnist' as 'svhn' }], { channels: 3, height: 8, width: 8 }), /policy must be one of imagenet, cifar10, svhn/);
  assert.throws(() => transformOutputShape([{ op: 'randomResizedCrop', size: 8, scale: [0.5, 0.1] }], { channels: 3, height: 8, width: 8 }), /scale/);
});

test('withAugmentation: RandomResizedCrop replaces the random crop, the policy follows the flip', () => {
  const cifar = { name: 'cifar10', channels: 3, height: 32, width: 32 };
  const spec = withAugmentation(standardTransform(cifar, { train: true, channels: 3 }), { randomResizedCrop: { scale: [0.25, 1] }, colorJitter: { brightness: 0.4 }, trivialAugmentWide: true }, cifar);
  assert.deepEqual(spec.map((s) => s.op), ['randomResizedCrop', 'hflip', 'colorJitter', 'trivialAugmentWide', 'normalize']);
  assert.deepEqual(spec[0], { op: 'randomResizedCrop', size: 32, scale: [0.25, 1] });
  const fmnist = { name: 'fashion-mnist', channels: 1, height: 28, width: 28 };
  const f = withAugmentation(standardTransform(fmnist, { train: true, channels: 3, randomErasing: 0.25 }), { randAugment: { numOps: 2, magnitude: 9 } }, fmnist);
  assert.deepEqual(f.map((s) => s.op), ['pad', 'randomCrop', 'hflip', 'randAugment', 'grayscaleToRgb', 'normalize', 'randomErasing']);
  const folder = { name: 'folder', channels: 3, height: 40, width: 40 };
  const g = withAugmentation(standardTransform(folder, { train: true, channels: 3, size: 24 }), { randomResizedCrop: {} }, folder);
  assert.deepEqual(g.map((s) => s.op), ['resize', 'centerCrop', 'randomResizedCrop', 'hflip', 'normalize']);
  assert.deepEqual((g[2] as { size: unknown }).size, [24, 24]);
  assert.throws(() => withAugmentation(spec, { autoAugment: 'imagenet', trivialAugmentWide: true }, cifar), /choose one of autoAugment, trivialAugmentWide/);
});
