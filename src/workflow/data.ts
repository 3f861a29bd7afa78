/**
 * What a training run trains on and at which resolution: the dataset's two splits (never downloaded
 * unless asked), the model's stem and input size for those images, and the train / evaluation transforms
 * with the preprocessing record that checkpoints keep.
 */
import { resolve } from 'node:path';
import {
  type AugmentSettings,
  DATASET_INFO,
  type Dataset,
  type OpenDatasetOptions,
  type TransformSpec,
  isDatasetName,
  loadFolderValidation,
  openDataset,
  splitValidation,
  sampleImageSize,
  standardTransform,
  takeSubset,
  withAugmentation,
} from '../data/index.js';
import { createModelShapes, modelOptionNames } from '../models/registry.js';
import { type Preprocessing, atInputSize, augmentedTransform, transformForChannels } from '../data/preprocessing.js';
import { ConfigError, type TrainConfig } from './config.js';

/** Datasets whose images are small (≤ 64 px): trained with the CIFAR stem at 32x32 by default. */
function isSmall(shape: { height: number; width: number }): boolean {
  return Math.max(shape.height, shape.width) <= 64;
}

export interface ModelPlan {
  /** createModel options (user options + numClasses, stem, seed). */
  options: Record<string, unknown>;
  /** [3, S, S] */
  inputSize: [number, number, number];
  notes: string[];
}

/**
 * Stem and resolution for a dataset: small images (CIFAR, (Fashion-)MNIST, synthetic) use the CIFAR
 * stem at 32x32 unless --stem is given; with an explicit --stem imagenet they are resized to the
 * model's 224 (or --input), with a note on the cost. Larger images (folders) use the ImageNet stem at
 * 224 unless --input ≤ 64 is given.
 */
export function planModel(
  config: Pick<TrainConfig, 'model' | 'modelOptions' | 'input' | 'seed'> & Partial<Pick<TrainConfig, 'pretrained'>>,
  data: { height: number; width: number; numClasses: number; title: string },
): ModelPlan {
  // A pretrained source sets the input size its preprocessing gives.
  if (config.input === undefined && config.pretrained?.preprocessing) config = { ...config, input: config.pretrained.preprocessing.inputSize[1] };
  const notes: string[] = [];
  const accepted = modelOptionNames(config.model);
  const options: Record<string, unknown> = { ...config.modelOptions, numClasses: data.numClasses };
  if (accepted.includes('seed') && options.seed === undefined) options.seed = config.seed;
  const small = isSmall(data) || (config.input !== undefined && config.input <= 64);
  const stem = (options.stem as string | undefined) ?? (small ? 'cifar' : 'imagenet');
  options.stem = stem;
  const designed = createModelShapes(config.model, options).inputSize[1];
  let size = config.input ?? (stem === 'cifar' ? 32 : designed);
  if (stem === 'imagenet' && isSmall(data) && config.input === undefined) {
    size = designed;
    notes.push(
      `--stem imagenet: ${data.title} images (${data.height}x${data.width}) are resized to ${size}x${size}, ` +
        `about ${Math.round((size / 32) ** 2)}x the compute of the CIFAR stem at 32x32 (use --stem cifar, or --input to pick a size)`,
    );
  }
  return { options, inputSize: [3, size, size], notes };
}

/** Where a run's validation images come from (recorded in checkpoints). */
export type ValidationSource =
  | { source: 'split'; fraction: number; seed: number; size: number }
  | { source: 'folder'; size: number };

export interface TrainingData {
  train: Dataset;
  /** Validation images: held out of the training split, or a folder's val/. */
  val?: Dataset;
  validation?: ValidationSource;
  test: Dataset;
  /** openDataset options (stored in checkpoints). */
  datasetOptions: OpenDatasetOptions & Record<string, unknown>;
  title: string;
  /** What the log should say about the data (each once): symbolic links not followed, a single class allowed. */
  notes: string[];
}

/** The test-sample count used with --limit N and no --test-limit. */
export function defaultTestLimit(limit: number): number {
  return Math.max(1, Math.ceil(limit / 5));
}

/**
 * Opens both splits (never downloading unless config.download), keeps the first `limit` train and
 * `testLimit` (default ceil(limit / 5)) test samples, then holds out the validation images: a folder's
 * val/ (beside test/), else a seeded, class-stratified `valSplit` of the training samples.
 */
export async function openTrainingData(config: TrainConfig): Promise<TrainingData> {
  if (!isDatasetName(config.dataset)) {
    throw new Error(`unknown dataset '${config.dataset}'; known: ${Object.keys(DATASET_INFO).join(', ')}`);
  }
  const testLimit = config.testLimit ?? (config.limit !== undefined ? defaultTestLimit(config.limit) : undefined);
  const o: OpenDatasetOptions & Record<string, unknown> = { download: config.download, progress: true };
  if (config.dataDir) o.dir = resolve(config.dataDir);
  if (config.dataset === 'synthetic') {
    Object.assign(o, { size: config.input ?? 32, seed: 0, numClasses: 10 });
    if (config.limit !== undefined) Object.assign(o, { trainLength: config.limit });
  }
  if (config.dataset === 'folder') {
    o.root = resolve(config.dataDir!);
    const source = sourcePreprocessing(config)?.source;
    if (source) {
      // Stored as the pretrained model's training images were, so its preprocessing applies unchanged.
      o.size = [source.height, source.width];
      o.channels = source.channels;
    } else {
      // Decode straight at the training resolution: --input, else 32 with the CIFAR stem or for small
      // images (at most 64 px, like CIFAR and MNIST exported as files), else 224.
      const stem = config.modelOptions.stem as string | undefined;
      o.size = config.input ?? (stem === 'cifar' || (stem === undefined && isSmall(await sampleImageSize({ root: o.root as string }))) ? 32 : 224);
      o.channels = 3;
    }
  }
  const notes = new Set<string>();
  const onNote = (m: string) => notes.add(m);
  const open = (split: 'train' | 'test', length?: number) =>
    openDataset(config.dataset, split, { ...o, ...(config.dataset === 'synthetic' && length !== undefined ? { length } : {}), onNote });
  let train = await open('train', config.limit);
  let test = await open('test', testLimit);
  if (config.limit !== undefined && train.length > config.limit) train = takeSubset(train, config.limit);
  if (testLimit !== undefined && test.length > testLimit) test = takeSubset(test, testLimit);
  const title = config.dataset === 'folder' ? train.name : DATASET_INFO[config.dataset].title;
  if (train.numClasses < 2) {
    const what = `${title} has ${train.numClasses} class${train.numClasses === 1 ? ` (${JSON.stringify(train.classNames[0])})` : 'es'}`;
    if (!config.allowSingleClass || train.numClasses === 0) {
      throw new ConfigError(config.dataset === 'folder' ? '--data' : '--dataset', `${what}: a classifier needs at least 2 (a folder of images per class); --allow-single-class trains anyway`);
    }
    notes.add(`warning: ${what}: every prediction will be that class (loss and accuracy say nothing)`);
  }
  let val: Dataset | undefined;
  let validation: ValidationSource | undefined;
  const valSplit = config.valSplit ?? 0;
  if (valSplit > 0 && config.dataset === 'folder') {
    val = await loadFolderValidation(o as OpenDatasetOptions & { root: string });
    if (val) validation = { source: 'folder', size: val.length };
  }
  if (valSplit > 0 && !val) {
    if (train.length < 2) throw new Error(`${title}: ${train.length} training image${train.length === 1 ? '' : 's'} cannot spare a validation split (set valSplit to 0)`);
    ({ train, val } = splitValidation(train, valSplit, config.seed));
    validation = { source: 'split', fraction: valSplit, seed: config.seed, size: val.length };
  }
  return { train, test, ...(val ? { val, validation } : {}), datasetOptions: o, title, notes: [...notes] };
}

/** The preprocessing a run inherits from its pretrained source (at --input when given), if any. */
export function sourcePreprocessing(config: Pick<TrainConfig, 'input'> & Partial<Pick<TrainConfig, 'pretrained'>>): Preprocessing | undefined {
  const p = config.pretrained?.preprocessing;
  return p && config.input !== undefined ? atInputSize(p, config.input) : p;
}

/**
 * Train and evaluation transforms for the model input (grayscale → RGB, pad/resize, augmentation):
 * the dataset's usual recipe, or with `source` (a pretrained model's preprocessing) that one, its
 * normalization included, with augmentedTransform for training; `augmentation` adds torchvision's
 * augmentations to the training transform (withAugmentation).
 */
export function trainTransforms(ds: Pick<Dataset, 'name' | 'channels' | 'height' | 'width'>, inputSize: [number, number, number], augment: boolean, randomErasing = 0, source?: Preprocessing, augmentation?: AugmentSettings): { train: TransformSpec; eval: TransformSpec } {
  const augmented = (spec: TransformSpec) => (augmentation ? withAugmentation(spec, augmentation, ds) : spec);
  if (source) {
    const evalSpec = transformForChannels(source, ds.channels);
    return { eval: evalSpec, train: augment ? transformForChannels(source, ds.channels, augmented(augmentedTransform(source, { flip: true, randomErasing }))) : evalSpec };
  }
  const size = inputSize[1];
  const evalSpec = standardTransform(ds, { train: false, size, channels: 3 });
  return { train: augment ? augmented(standardTransform(ds, { train: true, size, channels: 3, randomErasing })) : evalSpec, eval: evalSpec };
}
