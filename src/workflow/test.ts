/** `mobilezoo test`: evaluate a checkpoint or weights on a dataset's test split. */
import { resolve } from 'node:path';
import {
  DATASET_INFO,
  DataLoader,
  type Dataset,
  type OpenDatasetOptions,
  type TransformSpec,
  isDatasetName,
  openDataset,
  standardTransform,
  takeSubset,
} from '../data/index.js';
import { InferenceSession } from '../runtime/inference.js';
import { type CheckpointRecord, type ModelSource, loadModel, readCheckpointRecord, weightsRecord } from './checkpoints.js';
import { type EvalResult, evaluateLoader } from './evaluate.js';
import { type TtaMode, withTta } from './tta.js';

export interface TestOptions extends ModelSource {
  /** Default: the checkpoint's dataset (required with weights). */
  dataset?: string;
  dataDir?: string;
  download?: boolean;
  /** Evaluate only the first N test images. */
  limit?: number;
  batchSize?: number;
  threads?: number;
  workers?: number;
  /** Square input size (default: the checkpoint's, else the model's own). */
  input?: number;
  /** Test-time augmentation (default 'none'): the softmax averaged over the views of TTA_DESCRIPTIONS. */
  tta?: TtaMode;
}

export interface TestResult extends EvalResult {
  classNames: string[];
  model: string;
  /** Where the weights came from. */
  weights: string;
  dataset: string;
  inputSize: [number, number, number];
  tta: TtaMode;
}

async function openTestSplit(name: string, o: { dataDir?: string; download?: boolean; record?: CheckpointRecord; size?: number }): Promise<Dataset> {
  if (!isDatasetName(name)) throw new Error(`unknown dataset '${name}'; known: ${Object.keys(DATASET_INFO).join(', ')}`);
  const same = o.record?.dataset.name === name;
  const opts: OpenDatasetOptions & Record<string, unknown> = same ? { ...o.record!.dataset.options } : {};
  opts.download = o.download ?? false;
  opts.progress = true;
  if (o.dataDir) opts.dir = resolve(o.dataDir);
  if (name === 'synthetic') {
    if (!same) Object.assign(opts, { size: o.size ?? 32, seed: 0, numClasses: 10 });
    else opts.length = o.record!.dataset.testSize;
  }
  if (name === 'folder') {
    if (o.dataDir) opts.root = resolve(o.dataDir);
    if (!opts.root) throw new Error('the folder dataset needs --data DIR');
    opts.size ??= o.size ?? 224;
    opts.channels = 3;
  }
  return openDataset(name, 'test', opts);
}

/** Evaluates a checkpoint (or weights + model) on a test split: loss, top-1, top-5, per-class, confusion. */
export async function testModel(o: TestOptions): Promise<TestResult> {
  const record = o.checkpoint ? (await readCheckpointRecord(o.checkpoint)).record : o.weights ? await weightsRecord(o.weights) : undefined;
  const datasetName = o.dataset ?? record?.dataset.name;
  if (!datasetName) throw new Error('--dataset is required with --weights (which test split to evaluate on?)');
  const recordSize = record?.model.inputSize[1];
  let ds = await openTestSplit(datasetName, { dataDir: o.dataDir, download: o.download, record, size: o.input ?? recordSize });
  if (o.limit !== undefined && ds.length > o.limit) ds = takeSubset(ds, o.limit);
  const modelOptions = { ...(o.modelOptions ?? {}) };
  if (!record && o.weights && modelOptions.numClasses === undefined && o.model) modelOptions.numClasses = ds.numClasses;
  const { model, source } = await loadModel({ ...o, modelOptions });
  if (model.numClasses !== ds.numClasses) {
    throw new Error(`${model.modelName} has ${model.numClasses} outputs but ${datasetName} has ${ds.numClasses} classes`);
  }
  const size = o.input ?? recordSize ?? model.inputSize[1];
  const inputSize: [number, number, number] = [3, size, size];
  let transform: TransformSpec;
  if (record) {
    const norm = record.preprocessing;
    transform = [...standardTransform(ds, { train: false, size, channels: 3, normalize: false }), { op: 'normalize', mean: norm.mean, std: norm.std }];
  } else {
    transform = standardTransform(ds, { train: false, size, channels: 3 });
  }
  const loader = new DataLoader(ds, { batchSize: o.batchSize ?? 100, transform, workers: o.workers ?? 1 });
  const session = await InferenceSession.create(model, { inputSize, threads: o.threads });
  try {
    const tta = o.tta ?? 'none';
    const norm = loader.transform.find((s) => s.op === 'normalize');
    const fill = norm?.op === 'normalize' && norm.mean && norm.std ? norm.mean.map((m, c) => -m / norm.std![c]!) : undefined;
    const predict = withTta((x) => session.run(x), tta, { channels: 3, height: size, width: size, numClasses: model.numClasses, fill });
    const r = await evaluateLoader(predict, loader, model.numClasses);
    return { ...r!, classNames: ds.classNames, model: model.modelName, weights: source, dataset: datasetName, inputSize, tta };
  } finally {
    await loader.close();
    await session.dispose();
  }
}

