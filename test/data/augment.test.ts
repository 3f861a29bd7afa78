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
} from '../../src/data/transforms-augment.js';
import { type Image, cropImage, resizeImage } from '../../src/data/transforms.js';

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
