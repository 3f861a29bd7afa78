/** The validation split: seeded, stratified by class, disjoint from the training part, every class kept in training. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArrayDataset } from '../../src/data/dataset.js';
import { splitValidation, stratifiedValidationIndices } from '../../src/data/validation-split.js';

/** Labels with the given count per class, interleaved (0, 1, 2, 0, 1, ...) until a class runs out. */
function labelsOf(counts: number[]): Int32Array {
  const out: number[] = [];
  const left = [...counts];
  while (left.some((n) => n > 0)) left.forEach((n, c) => n > 0 && (out.push(c), left[c]!--));
  return Int32Array.from(out);
}

const perClass = (labels: Int32Array, idx: number[], k: number) => {
  const n = new Array<number>(k).fill(0);
  for (const i of idx) n[labels[i]!]!++;
  return n;
};

test('stratified: each class gives its share (within one image), the total is round(fraction × n)', () => {
  const counts = [500, 300, 120, 77, 3];
  const labels = labelsOf(counts);
  for (const fraction of [0.1, 0.25, 0.5]) {
    const idx = stratifiedValidationIndices(labels, counts.length, fraction, 7);
    assert.equal(idx.length, Math.round(fraction * labels.length));
    const got = perClass(labels, idx, counts.length);
    got.forEach((g, c) => assert.ok(Math.abs(g - (counts[c]! * idx.length) / labels.length) < 1, `class ${c}: ${g} of ${counts[c]} at ${fraction}`));
    assert.deepEqual(idx, [...idx].sort((a, b) => a - b));
    assert.equal(new Set(idx).size, idx.length);
  }
});

test('seeded: the same seed gives the same split, another seed another one', () => {
  const labels = labelsOf([100, 100, 100]);
  const a = stratifiedValidationIndices(labels, 3, 0.1, 0);
  assert.deepEqual(stratifiedValidationIndices(labels, 3, 0.1, 0), a);
  assert.notDeepEqual(stratifiedValidationIndices(labels, 3, 0.1, 1), a);
});

test('every class keeps a training image, and the split never takes everything', () => {
  const labels = labelsOf([1, 2, 40]);
  const idx = stratifiedValidationIndices(labels, 3, 0.5, 0);
  const held = perClass(labels, idx, 3);
  assert.equal(held[0], 0, 'a class of one image stays in training');
  assert.ok(held[1]! <= 1);
  assert.ok(idx.length < labels.length);
  assert.throws(() => stratifiedValidationIndices(labels, 3, 0, 0), /in \(0, 1\)/);
  assert.throws(() => stratifiedValidationIndices(labels, 3, 1, 0), /in \(0, 1\)/);
});

test('splitValidation: the two parts are the dataset\'s own images, disjoint and complete, in their order', () => {
  const n = 60;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  const images = Uint8Array.from({ length: n * 2 * 2 }, (_, k) => Math.floor(k / 4)); // image i is filled with i
  const ds = new ArrayDataset('toy', 'train', images, labels, { channels: 1, height: 2, width: 2 }, ['a', 'b', 'c', 'd'], [0.5], [0.25]);
  const { train, val } = splitValidation(ds, 0.2, 3);
  assert.equal(val.length, 12);
  assert.equal(train.length + val.length, n);
  const ids = (d: ArrayDataset) => Array.from({ length: d.length }, (_, i) => d.get(i).image[0]!);
  const t = ids(train);
  const v = ids(val);
  assert.deepEqual([...t, ...v].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  assert.deepEqual(t, [...t].sort((a, b) => a - b));
  for (let i = 0; i < val.length; i++) assert.equal(val.get(i).label, v[i]! % 4);
  assert.deepEqual(perClass(val.labels, Array.from({ length: val.length }, (_, i) => i), 4), [3, 3, 3, 3]);
  assert.deepEqual([train.mean, train.std, val.classNames], [[0.5], [0.25], ['a', 'b', 'c', 'd']]);
});
