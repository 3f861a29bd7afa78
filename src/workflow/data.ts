/**
 * What a training run trains on: the dataset's two splits (never downloaded unless asked); at which
 * resolution and with which transforms: model-plan.ts.
 */
import { resolve } from 'node:path';
import { DATASET_INFO, type Dataset, type OpenDatasetOptions, isDatasetName, loadFolderValidation, openDataset, sampleImageSize, splitValidation, takeSubset } from '../data/index.js';
import { ConfigError, type TrainConfig } from './config.js';
import { isSmall, sourcePreprocessing } from './model-plan.js';

export { type ModelPlan, planModel, sourcePreprocessing, trainTransforms } from './model-plan.js';

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
