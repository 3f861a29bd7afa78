/**
 * Datasets, transforms and batch loading.
 *
 *   const train = await openDataset('cifar10', 'train', { dir: 'data' });
 *   const loader = new DataLoader(train, { batchSize: 128, shuffle: true, seed: 1,
 *     transform: standardTransform(train, { train: true }) });
 *   for (let e = 0; e < epochs; e++) { loader.setEpoch(e); for await (const b of loader) { ... } }
 *   await loader.close();
 *
 * @module mobilezoo/data
 */

import { loadCifar, describeCifarSearch, type CifarOptions } from './cifar.js';
import { type Dataset, type Split } from './dataset.js';
import { loadFolder, type FolderOptions } from './folder.js';
import { loadIdx, describeIdxSearch, type IdxOptions } from './mnist.js';
import { makeSynthetic, type SyntheticOptions } from './synthetic.js';

export * from './dataset.js';
export * from './data-roots.js';
export * from './random.js';
export * from './transforms.js';
export * from './transforms-augment.js';
export * from './transforms-mix.js';
export { BatchLoader, type Batch, type BatchLoaderOptions } from './batch-loader.js';
export { DataLoader, batchTensors, workerEntry, type DataLoaderOptions } from './loader.js';
export {
  loadCifar,
  loadCifarFolder,
  locateCifar,
  describeCifarSearch,
  cifarTrainStats,
  CIFAR10_CLASSES,
  CIFAR100_FINE_CLASSES,
  CIFAR100_COARSE_CLASSES,
  CIFAR_INFO,
  CIFAR_DEFAULT_URL,
  type CifarOptions,
  type CifarVariant,
} from './cifar.js';
export {
  loadIdx,
  loadIdxDir,
  findIdxDir,
  idxSearchDirs,
  describeIdxSearch,
  readIdxImages,
  readIdxLabels,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  IDX_INFO,
  type IdxOptions,
  type IdxVariant,
} from './mnist.js';
export { loadFolder, loadFolderValidation, indexFolder, sampleImageSize, decodeImage, clearFolderCache, folderFiles, IMAGE_EXTENSIONS, type FolderOptions, type FolderIndex } from './folder.js';
export { splitValidation, stratifiedValidationIndices, subsetOf } from './validation-split.js';
export { makeSynthetic, type SyntheticOptions } from './synthetic.js';
export { downloadFile, extractTarGz, md5File, verifyMd5, safeEntryPath, type DownloadOptions, type ExtractOptions } from './download.js';

export const DATASET_NAMES = ['cifar10', 'cifar100', 'fashion-mnist', 'mnist', 'synthetic', 'folder'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export function isDatasetName(name: string): name is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(name);
}

/** Static facts about a dataset (before loading). Folder values depend on its options. */
export const DATASET_INFO: Record<DatasetName, { numClasses: number | null; channels: 1 | 3; height: number | null; width: number | null; title: string }> = {
  cifar10: { numClasses: 10, channels: 3, height: 32, width: 32, title: 'CIFAR-10' },
  cifar100: { numClasses: 100, channels: 3, height: 32, width: 32, title: 'CIFAR-100' },
  'fashion-mnist': { numClasses: 10, channels: 1, height: 28, width: 28, title: 'Fashion-MNIST' },
  mnist: { numClasses: 10, channels: 1, height: 28, width: 28, title: 'MNIST' },
  synthetic: { numClasses: 10, channels: 3, height: 32, width: 32, title: 'synthetic' },
  folder: { numClasses: null, channels: 3, height: 224, width: 224, title: 'image folder' },
};

/**
 * Options for {@link openDataset}; each dataset reads the fields that concern it:
 * - cifar10 / cifar100: dir, download, baseUrl, md5, progress, coarse, env
 * - fashion-mnist / mnist: dir, download, baseUrl, md5 (per file), checkCounts, progress, systemDirs, env
 * - folder: root (or dir), size, channels, testFraction, seed, concurrency, mean, std
 * - synthetic: numClasses, length, channels, size, seed, noise
 */
export interface OpenDatasetOptions
  extends Omit<CifarOptions, 'md5'>,
    Omit<IdxOptions, 'md5'>,
    Omit<Partial<FolderOptions>, 'size'>,
    Omit<SyntheticOptions, 'size'> {
  md5?: string | Record<string, string> | null;
  size?: number | [number, number];
}

/** Opens one split of a dataset by name. Unknown names throw with the list of known ones. */
export async function openDataset(name: string, split: Split, options: OpenDatasetOptions = {}): Promise<Dataset> {
  if (split !== 'train' && split !== 'test') throw new Error(`unknown split "${String(split)}" (expected "train" or "test")`);
  switch (name) {
    case 'cifar10':
    case 'cifar100': {
      const md5 = options.md5;
      if (md5 !== undefined && md5 !== null && typeof md5 !== 'string') throw new Error(`${name}: md5 must be a string`);
      return loadCifar(name, split, { ...options, md5 });
    }
    case 'fashion-mnist':
    case 'mnist': {
      const md5 = options.md5;
      if (typeof md5 === 'string') throw new Error(`${name}: md5 must map file names to checksums`);
      return loadIdx(name, split, { ...options, md5 });
    }
    case 'synthetic':
      return makeSynthetic(split, options);
    case 'folder': {
      const root = options.root ?? options.dir;
      if (!root) throw new Error('folder dataset: pass the image folder as the root (or dir / --data) option');
      return loadFolder(split, { ...options, root });
    }
    default:
      throw new Error(`unknown dataset "${name}"; known datasets: ${DATASET_NAMES.join(', ')}`);
  }
}

/** A message telling where a dataset is looked for and how to get the real data. */
export function describeDatasetSearch(name: string, options: OpenDatasetOptions = {}): string {
  switch (name) {
    case 'cifar10':
    case 'cifar100':
      return describeCifarSearch(name, { ...options, md5: undefined });
    case 'fashion-mnist':
    case 'mnist':
      return describeIdxSearch(name, { ...options, md5: undefined });
    case 'folder':
      return `The image-folder dataset reads ${options.root ?? options.dir ?? '<root>'}/<class>/*.{jpg,jpeg,png,webp} (or <root>/train/<class> and <root>/test|val/<class>); pass the root with --data DIR.`;
    case 'synthetic':
      return 'The synthetic dataset is generated in memory; nothing to download.';
    default:
      return `unknown dataset "${name}"; known datasets: ${DATASET_NAMES.join(', ')}`;
  }
}

