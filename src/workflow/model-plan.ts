/**
 * A training run's model and transforms for its images: the stem and input size for the dataset's
 * image size, and the train / evaluation transforms with the preprocessing record that checkpoints keep.
 * No Node dependencies (a page plans a run as the command line does).
 */
import type { Dataset } from '../data/dataset.js';
import { type AugmentSettings, type TransformSpec, standardTransform, withAugmentation } from '../data/transforms.js';
import { createModelShapes, modelOptionNames } from '../models/registry.js';
import { type Preprocessing, atInputSize, augmentedTransform, transformForChannels } from '../data/preprocessing.js';
import type { TrainConfig } from './config.js';

/** Datasets whose images are small (≤ 64 px): trained with the CIFAR stem at 32x32 by default. */
export function isSmall(shape: { height: number; width: number }): boolean {
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
