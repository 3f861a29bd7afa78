/** Fashion-MNIST and MNIST in IDX format (gzip or raw): search, download, validate, load. */

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import {
  ArrayDataset,
  DatasetFormatError,
  DatasetNotFoundError,
  computeMeanStd,
  sharedBytes,
  sharedInt32,
  type Split,
} from './dataset.js';
import { dataRoots, downloadDefault } from './data-roots.js';
import { downloadFile, joinUrl } from './download.js';

const gunzip = promisify(zlib.gunzip);

export type IdxVariant = 'fashion-mnist' | 'mnist';

export interface IdxOptions {
  /** Directory to search first (the folder holding the files, or a root with a `fashion-mnist/` / `mnist/` subfolder). */
  dir?: string;
  /** Download when not found locally (default true unless MOBILEZOO_OFFLINE=1). */
  download?: boolean;
  /** Base URL for downloads (default env MOBILEZOO_FASHION_MNIST_URL / MOBILEZOO_MNIST_URL, else the canonical one). */
  baseUrl?: string;
  /** Expected MD5 per .gz file name; undefined = the published ones, null = skip checks. */
  md5?: Record<string, string> | null;
  /** Require the canonical 60000/10000 counts (default true). */
  checkCounts?: boolean;
  /** Progress bar on stderr when a TTY (default true). */
  progress?: boolean;
  /** System directories searched last (default: Debian's /usr/share/datasets/fashion-mnist for Fashion-MNIST). */
  systemDirs?: string[];
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

interface IdxInfo {
  title: string;
  subdirs: string[];
  systemDirs: string[];
  url: string;
  urlEnv: string;
  md5: Record<string, string>;
  classNames: string[];
  published: { mean: number[]; std: number[] };
  apt?: string;
}

export const IDX_INFO: Record<IdxVariant, IdxInfo> = {
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    subdirs: ['fashion-mnist', 'FashionMNIST/raw'],
    systemDirs: ['/usr/share/datasets/fashion-mnist'],
    url: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    urlEnv: 'MOBILEZOO_FASHION_MNIST_URL',
    md5: {
      'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
      't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
      't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
    },
    classNames: FASHION_MNIST_CLASSES,
    published: { mean: [0.286], std: [0.353] },
    apt: 'dataset-fashion-mnist',
  },
  mnist: {
    title: 'MNIST',
    subdirs: ['mnist', 'MNIST/raw'],
    systemDirs: [],
    url: 'https://ossci-datasets.s3.amazonaws.com/mnist/',
    urlEnv: 'MOBILEZOO_MNIST_URL',
    md5: {
      'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
      'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
      't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
      't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
    },
    classNames: MNIST_CLASSES,
    published: { mean: [0.1307], std: [0.3081] },
  },
};

/** File names accepted for one IDX file (gzip or raw, dash or dot variant). */
function candidateNames(base: string): string[] {
  const dotted = base.replace(/-(idx\d)/, '.$1');
  return [`${base}.gz`, base, `${dotted}.gz`, dotted];
}

function findFile(dir: string, base: string): string | null {
  for (const n of candidateNames(base)) {
    const p = path.join(dir, n);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function splitFiles(split: Split): { images: string; labels: string } {
  return split === 'train'
    ? { images: FILES.trainImages, labels: FILES.trainLabels }
    : { images: FILES.testImages, labels: FILES.testLabels };
}

/** The directories searched, in order, with where each comes from. */
export function idxSearchDirs(variant: IdxVariant, opts: IdxOptions = {}): { path: string; source: string }[] {
  const info = IDX_INFO[variant];
  const env = opts.env ?? process.env;
  const out: { path: string; source: string }[] = [];
  const add = (p: string, source: string) => {
    const abs = path.resolve(p);
    if (!out.some((o) => o.path === abs)) out.push({ path: abs, source });
  };
  for (const r of dataRoots(opts.dir, env)) {
    // Only an explicit dir may itself be the dataset folder: generic roots hold several datasets.
    if (r.source.startsWith('--data')) add(r.path, r.source);
    for (const s of info.subdirs) add(path.join(r.path, s), r.source);
  }
  for (const s of opts.systemDirs ?? info.systemDirs) add(s, 'system');
  return out;
}

/** A human-readable account of where the dataset is looked for and how to get it. */
export function describeIdxSearch(variant: IdxVariant, opts: IdxOptions = {}): string {
  const info = IDX_INFO[variant];
  const env = opts.env ?? process.env;
  const lines = [`${info.title} (files train-images-idx3-ubyte[.gz] etc.) was looked for in:`];
  for (const d of idxSearchDirs(variant, opts)) lines.push(`  - ${d.path}  (${d.source})`);
  const roots = dataRoots(opts.dir, env);
  const how: string[] = [];
  if (info.apt) how.push(`install Debian's package: apt-get install ${info.apt}`);
  how.push(
    `use --download (fetches ${opts.baseUrl ?? env[info.urlEnv] ?? info.url} into ${path.join(roots[0].path, info.subdirs[0])})`,
  );
  how.push('or put the four IDX files in a directory given with --data DIR or MOBILEZOO_DATA=DIR');
  lines.push(`To get the real data: ${how.join('; ')}.`);
  return lines.join('\n');
}

async function readMaybeGz(file: string): Promise<Buffer> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (e) {
    throw new DatasetFormatError(file, `cannot read: ${(e as Error).message}`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = await gunzip(buf);
    } catch (e) {
      throw new DatasetFormatError(file, `corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  return buf;
}

/** Parses and validates an IDX3 ubyte image file. */
export async function readIdxImages(file: string, expectedCount?: number): Promise<{ count: number; rows: number; cols: number; data: Uint8Array }> {
  const buf = await readMaybeGz(file);
  if (buf.length < 16) throw new DatasetFormatError(file, `too short for an IDX image header (${buf.length} bytes)`);
  const magic = buf.readUInt32BE(0);
  if (magic !== 0x00000803) {
    throw new DatasetFormatError(file, `bad IDX magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x00000803 for ubyte images)`);
  }
  const count = buf.readUInt32BE(4);
  const rows = buf.readUInt32BE(8);
  const cols = buf.readUInt32BE(12);
  if (rows !== 28 || cols !== 28) throw new DatasetFormatError(file, `images are ${rows}x${cols}, expected 28x28`);
  const need = 16 + count * rows * cols;
  if (buf.length < need) {
    throw new DatasetFormatError(file, `truncated: header says ${count} images (${need} bytes) but the data is ${buf.length} bytes`);
  }
  if (buf.length > need) throw new DatasetFormatError(file, `${buf.length - need} unexpected trailing bytes after ${count} images`);
  if (expectedCount !== undefined && count !== expectedCount) {
    throw new DatasetFormatError(file, `has ${count} images, expected ${expectedCount}`);
  }
  return { count, rows, cols, data: buf.subarray(16) };
}

/** Parses and validates an IDX1 ubyte label file. */
export async function readIdxLabels(file: string, numClasses: number, expectedCount?: number): Promise<Uint8Array> {
  const buf = await readMaybeGz(file);
  if (buf.length < 8) throw new DatasetFormatError(file, `too short for an IDX label header (${buf.length} bytes)`);
  const magic = buf.readUInt32BE(0);
  if (magic !== 0x00000801) {
    throw new DatasetFormatError(file, `bad IDX magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x00000801 for ubyte labels)`);
  }
  const count = buf.readUInt32BE(4);
  const need = 8 + count;
  if (buf.length < need) {
    throw new DatasetFormatError(file, `truncated: header says ${count} labels but the data is ${buf.length} bytes`);
  }
  if (buf.length > need) throw new DatasetFormatError(file, `${buf.length - need} unexpected trailing bytes after ${count} labels`);
  if (expectedCount !== undefined && count !== expectedCount) {
    throw new DatasetFormatError(file, `has ${count} labels, expected ${expectedCount}`);
  }
  const labels = buf.subarray(8);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= numClasses) throw new DatasetFormatError(file, `label ${labels[i]} at index ${i} is not < ${numClasses}`);
  }
  return labels;
}

/** Finds the directory holding both files of a split, or null. */
export function findIdxDir(variant: IdxVariant, split: Split, opts: IdxOptions = {}): string | null {
  const f = splitFiles(split);
  for (const d of idxSearchDirs(variant, opts)) {
    if (findFile(d.path, f.images) && findFile(d.path, f.labels)) return d.path;
  }
  return null;
}

async function downloadIdx(variant: IdxVariant, opts: IdxOptions): Promise<string> {
  const info = IDX_INFO[variant];
  const env = opts.env ?? process.env;
  const dest = path.join(dataRoots(opts.dir, env)[0].path, info.subdirs[0]);
  const base = opts.baseUrl ?? env[info.urlEnv] ?? info.url;
  for (const b of Object.values(FILES)) {
    if (findFile(dest, b)) continue;
    const name = `${b}.gz`;
    const md5 = opts.md5 === null ? null : (opts.md5 ?? info.md5)[name];
    const url = joinUrl(base, name);
    try {
      await downloadFile(url, path.join(dest, name), { md5, label: name, progress: opts.progress });
    } catch (e) {
      const msg = (e as Error).message;
      if (/MD5 mismatch/.test(msg)) throw e;
      throw new DatasetNotFoundError(`${msg}\n${describeIdxSearch(variant, opts)}`);
    }
  }
  return dest;
}

const statsCache = new Map<string, { mean: number[]; std: number[] }>();

async function statKey(file: string): Promise<string> {
  const st = await fsp.stat(file);
  return `${path.resolve(file)}:${st.size}:${st.mtimeMs}`;
}

/** Loads one split of Fashion-MNIST / MNIST (searching and downloading as needed). */
export async function loadIdx(variant: IdxVariant, split: Split, opts: IdxOptions = {}): Promise<ArrayDataset> {
  const env = opts.env ?? process.env;
  let dir = findIdxDir(variant, split, opts);
  if (!dir) {
    if (!(opts.download ?? downloadDefault(env))) throw new DatasetNotFoundError(describeIdxSearch(variant, opts));
    dir = await downloadIdx(variant, opts);
  }
  return loadIdxDir(variant, split, dir, opts);
}

/** Loads one split from a directory known to contain its files. */
export async function loadIdxDir(
  variant: IdxVariant,
  split: Split,
  dir: string,
  opts: { checkCounts?: boolean } = {},
): Promise<ArrayDataset> {
  const info = IDX_INFO[variant];
  const f = splitFiles(split);
  const imgFile = findFile(dir, f.images);
  const lblFile = findFile(dir, f.labels);
  if (!imgFile || !lblFile) {
    throw new DatasetNotFoundError(`${info.title} ${split} files not found in ${dir}`);
  }
  const expected = opts.checkCounts === false ? undefined : split === 'train' ? 60000 : 10000;
  const [imgs, lbls] = await Promise.all([
    readIdxImages(imgFile, expected),
    readIdxLabels(lblFile, info.classNames.length, expected),
  ]);
  if (imgs.count !== lbls.length) {
    throw new DatasetFormatError(imgFile, `has ${imgs.count} images but ${lblFile} has ${lbls.length} labels`);
  }
  const images = sharedBytes(imgs.data.length);
  images.set(imgs.data);
  const labels = sharedInt32(lbls.length);
  for (let i = 0; i < lbls.length; i++) labels[i] = lbls[i];

  let stats: { mean: number[]; std: number[] };
  if (split === 'train') {
    const key = await statKey(imgFile);
    stats = statsCache.get(key) ?? computeMeanStd(images, 1);
    statsCache.set(key, stats);
  } else {
    const trainFile = findFile(dir, FILES.trainImages);
    if (trainFile) {
      const key = await statKey(trainFile);
      let hit = statsCache.get(key);
      if (!hit) {
        const t = await readIdxImages(trainFile);
        hit = computeMeanStd(t.data, 1);
        statsCache.set(key, hit);
      }
      stats = hit;
    } else stats = info.published;
  }
  return new ArrayDataset(variant, split, images, labels, { channels: 1, height: 28, width: 28 }, info.classNames, stats.mean, stats.std);
}

