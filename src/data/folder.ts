/**
 * Image-folder datasets (`root/<class>/**.jpg|jpeg|png|webp`, torchvision ImageFolder order),
 * decoded with sharp and fitted in JavaScript (shorter side → size, then center crop; src/data/decode.ts says
 * why) into contiguous uint8.
 */

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import {
  ArrayDataset,
  DatasetFormatError,
  DatasetNotFoundError,
  computeMeanStd,
  sharedBytes,
  sharedInt32,
  type Split,
} from './dataset.js';
import sharp from 'sharp';
import { decodeImageRgb } from './decode.js';
import { Rng } from './random.js';
import { type TransformSpec, applyGeometry } from './transforms.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export interface FolderOptions {
  /** Root folder: `root/<class>/...`, or `root/train/<class>` + `root/test|val/<class>` (with both, val/ is a validation split). */
  root: string;
  /** Output size (square, or [height, width]). Default 224 for 3 channels, 28 for 1. */
  size?: number | [number, number];
  /** 3 = RGB (default), 1 = grayscale. */
  channels?: 1 | 3;
  /** Fraction of each class held out as the test split when there are no train/test subfolders (default 0.2; 1: every image). */
  testFraction?: number;
  /** Seed of that split (default 0). */
  seed?: number;
  /** Images decoded at once (default 4). */
  concurrency?: number;
  /** Override the per-channel statistics (otherwise computed from the decoded training split). */
  mean?: number[];
  std?: number[];
  /** Dataset name reported (default "folder:<basename>"). */
  name?: string;
  /** Told (once per call) what was left out of the dataset: symbolic links not followed. */
  onNote?: (message: string) => void;
}

export interface FolderIndex {
  classNames: string[];
  /** Per split: files and labels. */
  train: { files: string[]; labels: number[] };
  test: { files: string[]; labels: number[] };
  /** root/val when root/test exists too: a validation split. */
  val?: { files: string[]; labels: number[] };
  /** 'subfolders' when root/train + root/test|val exist, else 'seeded'. */
  mode: 'subfolders' | 'seeded';
  /** Symbolic links not followed (paths): into another part of the dataset, or loops. */
  skippedLinks: string[];
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Sorted subdirectory names (code-unit order like Python's sorted()), hidden ones skipped. */
function listClassDirs(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => !n.startsWith('.') && isDir(path.join(dir, n)))
    .sort();
}

/** The real path, or undefined for a broken link. */
function realPath(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

const within = (child: string, folder: string) => child === folder || child.startsWith(folder.endsWith(path.sep) ? folder : folder + path.sep);

/** Where a class folder lies: its real path, the dataset root's, and the links left out so far. */
interface ClassScan {
  classReal: string;
  rootReal: string;
  skipped: string[];
  seen: Set<string>;
}

/**
 * All image files under dir (recursive, sorted per folder like os.walk + sorted). Symbolic links are
 * followed when they stay inside the class folder or lead out of the dataset entirely (a dataset
 * assembled from links); a link into another part of the dataset (another class, another split, a
 * folder above) would label those images with this class, and a link to a folder already walked
 * loops: those are not followed, and recorded in scan.skipped.
 */
function listImages(dir: string, scan: ClassScan): string[] {
  const real = fs.realpathSync(dir);
  if (scan.seen.has(real)) return [];
  scan.seen.add(real);
  const names = fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
  const out: string[] = [];
  const subdirs: string[] = [];
  for (const n of names) {
    const p = path.join(dir, n);
    if (fs.lstatSync(p).isSymbolicLink()) {
      const target = realPath(p);
      if (target === undefined) continue; // broken: not an image
      const strays = within(target, scan.rootReal) && !within(target, scan.classReal);
      const loops = isDir(p) && (scan.seen.has(target) || within(real, target));
      if (strays || loops) {
        scan.skipped.push(p);
        continue;
      }
    }
    if (isDir(p)) subdirs.push(p);
    else if (IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase())) out.push(p);
  }
  for (const s of subdirs) out.push(...listImages(s, scan));
  return out;
}

/** The images of one class folder. */
function classImages(classDir: string, rootReal: string, skipped: string[]): string[] {
  if (fs.lstatSync(classDir).isSymbolicLink() && within(fs.realpathSync(classDir), rootReal)) {
    throw new DatasetFormatError(classDir, `is a symbolic link to ${fs.realpathSync(classDir)}, another part of the dataset: its images would be labelled twice (not followed)`);
  }
  return listImages(classDir, { classReal: fs.realpathSync(classDir), rootReal, skipped, seen: new Set() });
}

function scanClasses(dir: string, classNames: string[], rootReal: string, skipped: string[]): { files: string[]; labels: number[] } {
  const files: string[] = [];
  const labels: number[] = [];
  for (const name of listClassDirs(dir)) {
    const label = classNames.indexOf(name);
    if (label < 0) throw new DatasetFormatError(path.join(dir, name), `class "${name}" is not among the training classes`);
    const imgs = classImages(path.join(dir, name), rootReal, skipped);
    for (const f of imgs) {
      files.push(f);
      labels.push(label);
    }
  }
  return { files, labels };
}

/** Scans a folder dataset (no decoding). */
export function indexFolder(opts: Pick<FolderOptions, 'root' | 'testFraction' | 'seed'>): FolderIndex {
  const root = path.resolve(opts.root);
  if (!isDir(root)) throw new DatasetNotFoundError(`image folder ${root} does not exist or is not a directory`);
  const rootReal = fs.realpathSync(root);
  const skippedLinks: string[] = [];
  const trainDir = path.join(root, 'train');
  const testDir = ['test', 'val'].map((n) => path.join(root, n)).find(isDir);
  // Only root/test (or root/val): a test set on its own.
  if (!isDir(trainDir) && testDir && listClassDirs(root).every((n) => path.join(root, n) === testDir || ['test', 'val'].includes(n))) {
    const classNames = listClassDirs(testDir);
    if (classNames.length === 0) throw new DatasetFormatError(testDir, 'no class folders found');
    return { classNames, train: { files: [], labels: [] }, test: scanClasses(testDir, classNames, rootReal, skippedLinks), mode: 'subfolders', skippedLinks };
  }
  if (isDir(trainDir)) {
    const classNames = listClassDirs(trainDir);
    if (classNames.length === 0) throw new DatasetFormatError(trainDir, 'no class folders found');
    const train = scanClasses(trainDir, classNames, rootReal, skippedLinks);
    for (const [i, c] of classNames.entries()) {
      if (!train.labels.includes(i)) {
        throw new DatasetFormatError(path.join(trainDir, c), `no images (${IMAGE_EXTENSIONS.join(', ')}) found for class "${c}"`);
      }
    }
    const test = testDir ? scanClasses(testDir, classNames, rootReal, skippedLinks) : { files: [], labels: [] };
    const valDir = path.join(root, 'val');
    const val = testDir !== valDir && isDir(valDir) ? scanClasses(valDir, classNames, rootReal, skippedLinks) : undefined;
    return { classNames, train, test, ...(val ? { val } : {}), mode: 'subfolders', skippedLinks };
  }
  const classNames = listClassDirs(root);
  if (classNames.length === 0) throw new DatasetFormatError(root, 'no class folders found (expected root/<class>/*.jpg|png|webp)');
  const fraction = opts.testFraction ?? 0.2;
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`testFraction must be in [0, 1], got ${fraction}`);
  const train = { files: [] as string[], labels: [] as number[] };
  const test = { files: [] as string[], labels: [] as number[] };
  for (const [label, c] of classNames.entries()) {
    const files = classImages(path.join(root, c), rootReal, skippedLinks);
    if (files.length === 0) {
      throw new DatasetFormatError(path.join(root, c), `no images (${IMAGE_EXTENSIONS.join(', ')}) found for class "${c}"`);
    }
    const nTest = Math.round(files.length * fraction);
    const perm = Rng.from(opts.seed ?? 0, 'folder-split', c).permutation(files.length);
    const isTest = new Uint8Array(files.length);
    for (let k = 0; k < nTest; k++) isTest[perm[k]] = 1;
    for (let k = 0; k < files.length; k++) {
      const dst = isTest[k] ? test : train;
      dst.files.push(files[k]);
      dst.labels.push(label);
    }
  }
  return { classNames, train, test, mode: 'seeded', skippedLinks };
}

function sizeOf(opts: FolderOptions): [number, number] {
  const s = opts.size ?? ((opts.channels ?? 3) === 3 ? 224 : 28);
  const hw: [number, number] = typeof s === 'number' ? [s, s] : s;
  if (!hw.every((v) => Number.isInteger(v) && v > 0)) throw new RangeError(`invalid image size ${JSON.stringify(s)}`);
  return hw;
}

/**
 * Decodes one image file to HWC uint8 of the given size: luma for 1 channel, then resize so it covers
 * height x width and center-crop (the `toGrayscale` and `fit` transforms, as predict and the browser do).
 */
export async function decodeImage(file: string, height: number, width: number, channels: 1 | 3): Promise<Uint8Array> {
  const img = await decodeImageRgb(file);
  const spec: TransformSpec = [...(channels === 1 ? [{ op: 'toGrayscale' } as const] : []), { op: 'fit', size: [height, width] }];
  return applyGeometry(spec, img).data;
}

async function decodeAll(
  files: string[],
  out: Uint8Array,
  height: number,
  width: number,
  channels: 1 | 3,
  concurrency: number,
): Promise<void> {
  const size = height * width * channels;
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < files.length) {
      const i = next++;
      try {
        out.set(await decodeImage(files[i], height, width, channels), i * size);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const n = Math.max(1, Math.min(concurrency, files.length));
  await Promise.all(Array.from({ length: n }, worker));
}

const decodeCache = new Map<string, Promise<{ images: Uint8Array; labels: Int32Array }>>();

/** Forgets all decoded folder images held in memory. */
export function clearFolderCache(): void {
  decodeCache.clear();
}

async function decodeSplit(
  opts: FolderOptions,
  index: FolderIndex,
  split: Split | 'val',
): Promise<{ images: Uint8Array; labels: Int32Array }> {
  const [h, w] = sizeOf(opts);
  const channels = opts.channels ?? 3;
  const part = index[split]!;
  const stamp = part.files.map((f) => {
    const st = fs.statSync(f);
    return `${f}:${st.size}:${st.mtimeMs}`;
  });
  const key = JSON.stringify([h, w, channels, stamp]);
  let p = decodeCache.get(key);
  if (!p) {
    p = (async () => {
      const images = sharedBytes(part.files.length * h * w * channels);
      await decodeAll(part.files, images, h, w, channels, opts.concurrency ?? 4);
      const labels = sharedInt32(part.labels.length);
      labels.set(part.labels);
      return { images, labels };
    })();
    decodeCache.set(key, p);
    p.catch(() => decodeCache.delete(key));
  }
  return p;
}

/** Opens one split of an image-folder dataset (decodes all of its images, cached in memory). */
export async function loadFolder(split: Split, opts: FolderOptions): Promise<ArrayDataset> {
  const index = indexFolder(opts);
  const skipped = index.skippedLinks;
  if (skipped.length) {
    opts.onNote?.(
      `${path.resolve(opts.root)}: ${skipped.length} symbolic link${skipped.length === 1 ? '' : 's'} not followed (into another part of the dataset, or a loop): ` +
        `${skipped.slice(0, 3).join(', ')}${skipped.length > 3 ? ', …' : ''}`,
    );
  }
  const [h, w] = sizeOf(opts);
  const channels = opts.channels ?? 3;
  if (split === 'test' && index.mode === 'subfolders' && index.test.files.length === 0) {
    throw new DatasetNotFoundError(`${opts.root}: has a train/ folder but no test/ or val/ folder with images`);
  }
  const data = await decodeSplit(opts, index, split);
  let mean = opts.mean;
  let std = opts.std;
  if (!mean || !std) {
    // A test-only folder has no training split: its statistics are the test images' own.
    const train = split === 'train' || index.train.files.length === 0 ? data : await decodeSplit(opts, index, 'train');
    const st = computeMeanStd(train.images, channels);
    mean ??= st.mean;
    std ??= st.std;
  }
  const name = opts.name ?? `folder:${path.basename(path.resolve(opts.root))}`;
  return new ArrayDataset(name, split, data.images, data.labels, { channels, height: h, width: w }, index.classNames, mean, std);
}

/** The validation split of a folder with train/, val/ and test/ (val/'s images, the training split's statistics); undefined without one. */
export async function loadFolderValidation(opts: FolderOptions): Promise<ArrayDataset | undefined> {
  const index = indexFolder(opts);
  if (!index.val || index.val.files.length === 0) return undefined;
  const train = await loadFolder('train', opts);
  const data = await decodeSplit(opts, index, 'val');
  return new ArrayDataset(train.name, 'test', data.images, data.labels, train.shape, index.classNames, train.mean, train.std);
}

/**
 * The largest height and width among up to `sample` of a folder's training images, spread over its
 * classes (image headers only, nothing decoded): what the default training resolution is chosen from.
 */
export async function sampleImageSize(opts: Pick<FolderOptions, 'root' | 'testFraction' | 'seed'>, sample = 16): Promise<{ height: number; width: number }> {
  const files = indexFolder(opts).train.files;
  const step = Math.max(1, Math.floor(files.length / sample));
  let height = 0;
  let width = 0;
  for (let i = 0; i < files.length && i < step * sample; i += step) {
    const m = await sharp(files[i]!).metadata().catch((e: Error) => {
      throw new DatasetFormatError(files[i]!, `cannot read image header: ${e.message}`);
    });
    // EXIF orientations 5-8 swap the axes.
    const swap = (m.orientation ?? 1) >= 5;
    height = Math.max(height, (swap ? m.width : m.height) ?? 0);
    width = Math.max(width, (swap ? m.height : m.width) ?? 0);
  }
  return { height, width };
}

/** Lists the files a split would use, without decoding (for reports / dry runs). */
export async function folderFiles(split: Split, opts: FolderOptions): Promise<{ file: string; label: number }[]> {
  const index = indexFolder(opts);
  await fsp.access(path.resolve(opts.root));
  return index[split].files.map((file, i) => ({ file, label: index[split].labels[i] }));
}
