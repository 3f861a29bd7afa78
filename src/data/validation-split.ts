/**
 * A validation split held out of a training split: seeded and stratified by class (each class gives
 * its share, so a small split still sees every class), as scikit-learn's StratifiedShuffleSplit does.
 * Both parts keep the images' original order; the training loader shuffles as before.
 */
import { ArrayDataset, type Dataset, sharedBytes, sharedInt32 } from './dataset.js';
import { Rng } from './random.js';

/** A dataset of the given samples of `ds`, in that order. */
export function subsetOf(ds: Dataset, indices: ArrayLike<number>): ArrayDataset {
  const size = ds.channels * ds.height * ds.width;
  const images = sharedBytes(indices.length * size);
  const labels = sharedInt32(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const s = ds.get(indices[k]!);
    images.set(s.image, k * size);
    labels[k] = s.label;
  }
  return new ArrayDataset(ds.name, ds.split, images, labels, { channels: ds.channels, height: ds.height, width: ds.width }, ds.classNames, ds.mean, ds.std);
}

/**
 * The indices of `labels` that form the validation part: round(fraction × n) samples (at least one;
 * every class keeps one training sample), shared among the classes in proportion to their counts (largest remainders get the rounding), drawn
 * per class with a generator seeded by `seed`. Sorted.
 */
export function stratifiedValidationIndices(labels: ArrayLike<number>, numClasses: number, fraction: number, seed: number): number[] {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`validation fraction must be in (0, 1), got ${fraction}`);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const n = labels.length;
  // Every class keeps at least one training sample.
  const capacity = byClass.map((c) => Math.max(0, c.length - 1));
  const total = Math.min(capacity.reduce((a, b) => a + b, 0), Math.max(1, Math.round(fraction * n)));
  const exact = byClass.map((c) => (c.length * total) / n);
  const take = exact.map((x, c) => Math.min(capacity[c]!, Math.floor(x)));
  const order = exact.map((x, c) => [x - Math.floor(x), c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0, left = total - take.reduce((a, b) => a + b, 0); left > 0; k++) {
    const c = order[k % order.length]![1];
    if (take[c]! < capacity[c]!) {
      take[c]!++;
      left--;
    }
  }
  const picked: number[] = [];
  byClass.forEach((members, c) => {
    const perm = Rng.from(seed, 'validation', c).permutation(members.length);
    for (let k = 0; k < take[c]!; k++) picked.push(members[perm[k]!]!);
  });
  return picked.sort((a, b) => a - b);
}

/** Splits `ds` into a training part and a stratified validation part of `fraction` of it. */
export function splitValidation(ds: Dataset, fraction: number, seed: number): { train: ArrayDataset; val: ArrayDataset } {
  const labels = Int32Array.from({ length: ds.length }, (_, i) => ds.get(i).label);
  const val = stratifiedValidationIndices(labels, ds.numClasses, fraction, seed);
  const held = new Set(val);
  const train = Array.from({ length: ds.length }, (_, i) => i).filter((i) => !held.has(i));
  return { train: subsetOf(ds, train), val: subsetOf(ds, val) };
}
