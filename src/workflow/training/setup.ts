/**
 * What a run is made of before its first step: the data and its loaders, the model with its starting
 * weights (initialization, a pretrained source, or a resumed checkpoint's) and input size, and the
 * preprocessing record its checkpoints keep.
 */
import { DataLoader, type TransformSpec, resolveTransform } from '../../data/index.js';
import { type Preprocessing, recordPreprocessing } from '../../data/preprocessing.js';
import type { Network } from '../../models/network.js';
import { summary } from '../../nn/summary.js';
import type { PretrainedRecord, TrainConfig } from '../config.js';
import { type TrainingData, openTrainingData, planModel, sourcePreprocessing, trainTransforms } from '../data.js';
import { buildModel } from '../model-memory.js';
import { loadPretrained, summarizeTensorNames } from '../pretrained.js';
import { type ResumePoint, loadResumedWeights } from './resume.js';

export interface RunLoaders {
  train: DataLoader;
  /** The validation images, un-augmented (absent without a validation split). */
  val?: DataLoader;
  test: DataLoader;
  /** Un-augmented training batches for the EMA weights' BatchNorm statistics (with EMA only). */
  batchNorm?: DataLoader;
}

export interface RunSetup {
  data: TrainingData;
  model: Network;
  modelOptions: Record<string, unknown>;
  inputSize: [number, number, number];
  counts: { totalParams: number; totalMacs: number };
  preprocessing: Preprocessing;
  loaders: RunLoaders;
  pretrained?: PretrainedRecord;
}

/** Opens the data, builds the model with its starting weights and the loaders. */
export async function openRunSetup(config: TrainConfig, o: { workers: number; log: (m: string) => void }, resume?: ResumePoint): Promise<RunSetup> {
  const { log } = o;
  const data = await openTrainingData(config);
  const v = data.validation;
  const held = v ? ` / ${v.size} validation (${v.source === 'folder' ? 'val/' : `${Number((v.fraction * 100).toFixed(2))}% of the training split, stratified, seed ${v.seed}`})` : '';
  log(`dataset: ${data.title}, ${data.train.length} train${held} / ${data.test.length} test images, ${data.train.numClasses} classes`);
  const plan = planModel(config, { height: data.train.height, width: data.train.width, numClasses: data.train.numClasses, title: data.title });
  for (const n of [...data.notes, ...plan.notes]) log(n.startsWith('warning: ') ? n : `note: ${n}`);
  if (resume && JSON.stringify(resume.record.model.inputSize) !== JSON.stringify(plan.inputSize)) {
    throw new Error(`${resume.path}: was trained at input ${resume.record.model.inputSize.join('x')}, this run would use ${plan.inputSize.join('x')}`);
  }
  const modelOptions = resume ? { ...resume.record.model.options } : plan.options;
  // Sized before it is built: a model, input size or batch that cannot fit in memory is refused here.
  const model = buildModel(config.model, modelOptions, resume ? `${resume.path}: model` : 'training', { inputSize: plan.inputSize, batch: config.batchSize, training: true });
  // Weights first: frozen layers are compiled into the train step as constants.
  const pretrained = resume ? resume.record.pretrained : await startFromPretrained(model, config, log);
  if (resume) await loadResumedWeights(model, resume);
  const inputSize = plan.inputSize;
  const counts = summary(model, inputSize);

  const source = sourcePreprocessing(config);
  const transforms = trainTransforms(data.train, inputSize, config.augment, config.randomErasing, source, config.augmentation);
  const loaders = openLoaders(config, data, transforms, o.workers);
  // Test-set normalization uses the training split's statistics.
  const preprocessing = source ?? recordPreprocessing(data.train, resolveTransform(transforms.eval, data.train));
  if (loaders.train.length === 0) {
    await closeLoaders(loaders);
    throw new Error(`no training batches: ${data.train.length} samples with a batch size of ${config.batchSize}`);
  }
  return { data, model, modelOptions, inputSize, counts, preprocessing, loaders, pretrained };
}

/** Loads the pretrained source's matching tensors, logging what was loaded and what kept its initialization. */
async function startFromPretrained(model: Network, config: TrainConfig, log: (m: string) => void): Promise<PretrainedRecord | undefined> {
  const src = config.pretrained;
  if (!src) return undefined;
  const r = await loadPretrained(model, src);
  log(`pretrained: ${src.file} (${src.kind}, sha256 ${src.sha256.slice(0, 12)}…): loaded ${r.loaded.length} tensors: ${summarizeTensorNames(r.loaded)}`);
  if (r.reinitialized.length) log(`pretrained: initialized as ${config.model} does (absent from the file or shaped differently): ${r.reinitialized.join(', ')}`);
  if (r.unexpected.length) log(`pretrained: not in ${config.model}, ignored: ${r.unexpected.length > 12 ? `${r.unexpected.slice(0, 12).join(', ')}, … (${r.unexpected.length})` : r.unexpected.join(', ')}`);
  return { file: src.file, sha256: src.sha256, kind: src.kind, loaded: r.loaded.length, reinitialized: r.reinitialized, unexpected: r.unexpected };
}

function openLoaders(config: TrainConfig, data: TrainingData, transforms: { train: TransformSpec; eval: TransformSpec }, workers: number): RunLoaders {
  const dropLast = data.train.length % config.batchSize === 1; // a 1-sample train batch breaks BatchNorm
  return {
    train: new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed: config.seed, dropLast, transform: transforms.train, workers }),
    ...(data.val ? { val: new DataLoader(data.val, { batchSize: config.batchSize, shuffle: false, transform: transforms.eval, workers }) } : {}),
    test: new DataLoader(data.test, { batchSize: config.batchSize, shuffle: false, transform: transforms.eval, workers }),
    // EMA weights get BatchNorm statistics of their own before each evaluation (Trainer.measureEmaBatchNorm),
    // measured on un-augmented training images: the distribution the test split is drawn from.
    batchNorm: config.emaDecay
      ? new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed: config.seed + 1, transform: transforms.eval, workers })
      : undefined,
  };
}

export async function closeLoaders(l: RunLoaders): Promise<void> {
  await l.train.close();
  await l.val?.close();
  await l.test.close();
  await l.batchNorm?.close();
}
