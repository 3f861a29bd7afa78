/** CIFAR-10 / CIFAR-100 in the original binary format (download, verify, extract, load). */

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  ArrayDataset,
  ChannelStats,
  computeMeanStd,
  DatasetFormatError,
  DatasetNotFoundError,
  sharedBytes,
  sharedInt32,
  type Split,
} from './dataset.js';
import { dataRoots, downloadDefault } from './data-roots.js';
import { downloadFile, extractTarGz, joinUrl, verifyMd5 } from './download.js';

export type CifarVariant = 'cifar10' | 'cifar100';

export interface CifarOptions {
  /** Data root to search first (and download into). */
  dir?: string;
  /** Download when not found locally (default true unless MOBILEZOO_OFFLINE=1). */
  download?: boolean;
  /** Base URL of the archive (default env MOBILEZOO_CIFAR_URL or https://www.cs.toronto.edu/~kriz/). */
  baseUrl?: string;
  /** Expected archive MD5; undefined = the canonical one, null = skip the check. */
  md5?: string | null;
  /** Progress bar on stderr when a TTY (default true). */
  progress?: boolean;
  /** CIFAR-100 only: use the 20 coarse labels instead of the 100 fine ones. */
  coarse?: boolean;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export const CIFAR10_CLASSES = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

export const CIFAR100_FINE_CLASSES = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
];

export const CIFAR100_COARSE_CLASSES = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables',
  'household_electrical_devices', 'household_furniture', 'insects', 'large_carnivores',
  'large_man-made_outdoor_things', 'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores',
  'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals', 'trees',
  'vehicles_1', 'vehicles_2',
];

interface CifarInfo {
  title: string;
  archive: string;
  md5: string;
  folder: string;
  trainFiles: string[];
  testFiles: string[];
  labelBytes: number;
  /** Published training-set statistics, used only when the training files are absent. */
  published: { mean: number[]; std: number[] };
}

export const CIFAR_INFO: Record<CifarVariant, CifarInfo> = {
  cifar10: {
    title: 'CIFAR-10',
    archive: 'cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    folder: 'cifar-10-batches-bin',
    trainFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    testFiles: ['test_batch.bin'],
    labelBytes: 1,
    published: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  },
  cifar100: {
    title: 'CIFAR-100',
    archive: 'cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    folder: 'cifar-100-binary',
    trainFiles: ['train.bin'],
    testFiles: ['test.bin'],
    labelBytes: 2,
    published: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
  },
};

export const CIFAR_DEFAULT_URL = 'https://www.cs.toronto.edu/~kriz/';
const PIXELS = 32 * 32;
const IMAGE_BYTES = 3 * PIXELS;

function baseUrlOf(opts: CifarOptions): string {
  const env = opts.env ?? process.env;
  return opts.baseUrl ?? env.MOBILEZOO_CIFAR_URL ?? CIFAR_DEFAULT_URL;
}

function hasFiles(dir: string, files: string[]): boolean {
  return files.every((f) => fs.existsSync(path.join(dir, f)));
}

/** Where the extracted folder would be for a root: `root/<folder>` or root itself if it is that folder. */
function findFolder(root: string, info: CifarInfo, split: Split): string | null {
  const need = split === 'train' ? info.trainFiles : info.testFiles;
  for (const d of [path.join(root, info.folder), root]) {
    if (hasFiles(d, need)) return d;
  }
  return null;
}

/** A human-readable account of where CIFAR is looked for and how to get it. */
export function describeCifarSearch(variant: CifarVariant, opts: CifarOptions = {}): string {
  const info = CIFAR_INFO[variant];
  const roots = dataRoots(opts.dir, opts.env ?? process.env);
  const lines = [`${info.title} (binary version) was looked for in:`];
  for (const r of roots) {
    lines.push(`  - ${path.join(r.path, info.folder)}/ or ${path.join(r.path, info.archive)}  (${r.source})`);
  }
  lines.push(
    `Get it with --download (fetches ${joinUrl(baseUrlOf(opts), info.archive)}, ~${variant === 'cifar10' ? 162 : 161} MB, ` +
      `into ${path.join(roots[0].path)}), or put ${info.archive} or its extracted ${info.folder}/ folder in one of the ` +
      `directories above (--data DIR or MOBILEZOO_DATA=DIR).`,
  );
  return lines.join('\n');
}

/** Extracts an archive into root atomically (temp dir, then rename of the dataset folder). */
async function extractInto(archive: string, root: string, info: CifarInfo): Promise<void> {
  const tmp = await fsp.mkdtemp(path.join(root, '.mobilezoo-extract-'));
  try {
    await extractTarGz(archive, tmp, { maxEntrySize: 512 * 2 ** 20, maxTotalSize: 2 ** 30, maxEntries: 100 });
    const src = path.join(tmp, info.folder);
    if (!fs.existsSync(src)) {
      throw new Error(`${archive}: archive does not contain the folder ${info.folder}/`);
    }
    const dest = path.join(root, info.folder);
    try {
      await fsp.rename(src, dest);
    } catch (e) {
      if (!fs.existsSync(dest)) throw e; // another process extracted it concurrently: fine
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

/** Finds (or downloads and extracts) the CIFAR folder for a split; returns its path. */
export async function locateCifar(variant: CifarVariant, split: Split, opts: CifarOptions = {}): Promise<string> {
  const info = CIFAR_INFO[variant];
  const env = opts.env ?? process.env;
  const roots = dataRoots(opts.dir, env);
  const md5 = opts.md5 === undefined ? info.md5 : opts.md5;
  for (const r of roots) {
    const found = findFolder(r.path, info, split);
    if (found) return found;
  }
  for (const r of roots) {
    const archive = path.join(r.path, info.archive);
    if (fs.existsSync(archive)) {
      await verifyMd5(archive, md5);
      await extractInto(archive, r.path, info);
      const found = findFolder(r.path, info, split);
      if (found) return found;
      throw new DatasetFormatError(archive, `archive lacks the ${split} files of ${info.title}`);
    }
  }
  const download = opts.download ?? downloadDefault(env);
  if (!download) throw new DatasetNotFoundError(describeCifarSearch(variant, opts));
  const root = roots[0].path;
  const archive = path.join(root, info.archive);
  const url = joinUrl(baseUrlOf(opts), info.archive);
  try {
    await downloadFile(url, archive, { md5, label: info.archive, progress: opts.progress });
  } catch (e) {
    const msg = (e as Error).message;
    if (/MD5 mismatch/.test(msg)) throw e;
    throw new DatasetNotFoundError(`${msg}\n${describeCifarSearch(variant, opts)}`);
  }
  await extractInto(archive, root, info);
  const found = findFolder(root, info, split);
  if (!found) throw new DatasetFormatError(archive, `archive lacks the ${split} files of ${info.title}`);
  return found;
}

function readClassNames(file: string, expected: number, fallback: string[]): string[] {
  try {
    const names = fs
      .readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (names.length === expected) return names;
  } catch {
    // missing meta file: use the built-in names
  }
  return fallback;
}

async function readBinFile(file: string, recordBytes: number): Promise<Buffer> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    throw new DatasetFormatError(file, `cannot read: ${(e as Error).message}`);
  }
  if (buf.length === 0 || buf.length % recordBytes !== 0) {
    throw new DatasetFormatError(
      file,
      `size ${buf.length} bytes is not a positive multiple of the ${recordBytes}-byte record size ` +
        `(truncated or not a CIFAR binary file)`,
    );
  }
  return buf;
}

const statsCache = new Map<string, { mean: number[]; std: number[] }>();

async function fileKey(files: string[]): Promise<string> {
  const parts: string[] = [];
  for (const f of files) {
    const st = await fsp.stat(f);
    parts.push(`${path.resolve(f)}:${st.size}:${st.mtimeMs}`);
  }
  return parts.join('|');
}

/** Per-channel mean/std of the CIFAR training files (cached in memory). */
export async function cifarTrainStats(variant: CifarVariant, folder: string): Promise<{ mean: number[]; std: number[] }> {
  const info = CIFAR_INFO[variant];
  const files = info.trainFiles.map((f) => path.join(folder, f));
  if (!files.every((f) => fs.existsSync(f))) return info.published;
  const key = await fileKey(files);
  const hit = statsCache.get(key);
  if (hit) return hit;
  const rec = info.labelBytes + IMAGE_BYTES;
  const st = new ChannelStats(3);
  for (const f of files) {
    const buf = await readBinFile(f, rec);
    for (let o = 0; o < buf.length; o += rec) {
      const img = o + info.labelBytes;
      for (let c = 0; c < 3; c++) st.addPlane(c, buf.subarray(img + c * PIXELS, img + (c + 1) * PIXELS));
    }
  }
  const res = st.result();
  statsCache.set(key, res);
  return res;
}

/** Loads CIFAR-10 / CIFAR-100 binary files from `folder` (already located). */
export async function loadCifarFolder(
  variant: CifarVariant,
  split: Split,
  folder: string,
  opts: { coarse?: boolean } = {},
): Promise<ArrayDataset> {
  const info = CIFAR_INFO[variant];
  const rec = info.labelBytes + IMAGE_BYTES;
  const files = (split === 'train' ? info.trainFiles : info.testFiles).map((f) => path.join(folder, f));
  const bufs: Buffer[] = [];
  for (const f of files) bufs.push(await readBinFile(f, rec));
  const n = bufs.reduce((a, b) => a + b.length / rec, 0);
  const images = sharedBytes(n * IMAGE_BYTES);
  const labels = sharedInt32(n);
  const coarse = variant === 'cifar100' && opts.coarse === true;
  const classNames =
    variant === 'cifar10'
      ? readClassNames(path.join(folder, 'batches.meta.txt'), 10, CIFAR10_CLASSES)
      : coarse
        ? readClassNames(path.join(folder, 'coarse_label_names.txt'), 20, CIFAR100_COARSE_CLASSES)
        : readClassNames(path.join(folder, 'fine_label_names.txt'), 100, CIFAR100_FINE_CLASSES);
  const numClasses = classNames.length;
  // label byte offset: CIFAR-10 has one label; CIFAR-100 has coarse then fine.
  const labelOffset = variant === 'cifar10' ? 0 : coarse ? 0 : 1;
  let k = 0;
  for (let b = 0; b < bufs.length; b++) {
    const buf = bufs[b];
    for (let o = 0; o < buf.length; o += rec, k++) {
      const label = buf[o + labelOffset];
      if (label >= numClasses) {
        throw new DatasetFormatError(files[b], `record ${(o / rec) | 0} has label ${label} ≥ ${numClasses} classes`);
      }
      labels[k] = label;
      const src = o + info.labelBytes;
      const dst = k * IMAGE_BYTES;
      // CHW planes → HWC interleaved
      for (let p = 0; p < PIXELS; p++) {
        images[dst + 3 * p] = buf[src + p];
        images[dst + 3 * p + 1] = buf[src + PIXELS + p];
        images[dst + 3 * p + 2] = buf[src + 2 * PIXELS + p];
      }
    }
  }
  let stats: { mean: number[]; std: number[] };
  if (split === 'train') {
    // the training images are in memory already: compute (and cache) their statistics from them
    const key = await fileKey(files);
    stats = statsCache.get(key) ?? computeMeanStd(images, 3);
    statsCache.set(key, stats);
  } else stats = await cifarTrainStats(variant, folder);
  return new ArrayDataset(
    variant,
    split,
    images,
    labels,
    { channels: 3, height: 32, width: 32 },
    classNames,
    stats.mean,
    stats.std,
  );
}

/** Opens CIFAR-10 / CIFAR-100 (searching, downloading and extracting as needed). */
export async function loadCifar(variant: CifarVariant, split: Split, opts: CifarOptions = {}): Promise<ArrayDataset> {
  const folder = await locateCifar(variant, split, opts);
  return loadCifarFolder(variant, split, folder, opts);
}
