/**
 * An image folder made from Fashion-MNIST *test* images (PNG files), with 4 new classes grouping the 10
 * (tops, trousers+dresses, footwear, bags), for the fine-tuning benchmarks: the first images of each group
 * go to the first split, the next to the second, and so on (disjoint).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { openDataset } from '../src/data/index.js';

/** The 4 groups, by Fashion-MNIST label. */
export const GROUPS: Record<string, number[]> = {
  tops: [0, 2, 4, 6], // T-shirt/top, Pullover, Coat, Shirt
  trousers_dresses: [1, 3], // Trouser, Dress
  footwear: [5, 7, 9], // Sandal, Sneaker, Ankle boot
  bags: [8],
};

/** Writes `dir/<split>/<group>/<index>.png` with `perClass[split]` images per group and split, in that order. */
export async function makeFashionFolder(dir: string, perClass: Record<string, number>): Promise<void> {
  const ds = await openDataset('fashion-mnist', 'test', {});
  const splits = Object.entries(perClass);
  const total = splits.reduce((a, [, n]) => a + n, 0);
  const taken = new Map<string, number>();
  for (let i = 0; i < ds.length; i++) {
    const { image, label } = ds.get(i);
    const group = Object.keys(GROUPS).find((g) => GROUPS[g]!.includes(label))!;
    const n = taken.get(group) ?? 0;
    if (n >= total) continue;
    taken.set(group, n + 1);
    let k = n;
    const [split] = splits.find(([, count]) => (k -= count) < 0)!;
    mkdirSync(join(dir, split, group), { recursive: true });
    await sharp(Buffer.from(image), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, split, group, `${i}.png`));
  }
}
