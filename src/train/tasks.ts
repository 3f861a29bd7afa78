/**
 * What `mobilezoo test`, `predict` and `export` do, as library functions: evaluate a checkpoint or
 * weights on a dataset's test split, classify image files, and write a verified eval-mode ONNX model.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import {
  DATASET_INFO,
  DataLoader,
  type Dataset,
  type OpenDatasetOptions,
  type TransformSpec,
  Rng,
  compileTransform,
  decodeImage,
  isDatasetName,
  openDataset,
  standardTransform,
  takeSubset,
} from '../data/index.js';
import { IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD, decodeImageRgb, imagenetEvalTransform } from '../data/imagenet.js';
import { saveFileAtomic } from '../io/checkpoint.js';
import type { Network } from '../models/network.js';
import { toModelProto } from '../onnx/serialize.js';
import { softmax } from '../report/metrics.js';
import { InferenceSession, traceInference } from '../runtime/inference.js';
import { createSession, ort } from '../runtime/session.js';
import { type CheckpointRecord, type ModelSource, loadModel, readCheckpointRecord, weightsRecord } from './checkpoints.js';
import { type TtaMode, withTta } from './tta.js';
import { type EvalResult, evaluateLoader } from './workflow.js';

// ---------------------------------------------------------------------------------------------
// test

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

// ---------------------------------------------------------------------------------------------
// predict

export interface PredictOptions extends ModelSource {
  /** Labels per image (default 5). */
  top?: number;
  threads?: number;
  /** Square input size (default: the checkpoint's, 224 for ImageNet models, else the model's own). */
  input?: number;
}

export interface Prediction {
  file: string;
  top: { index: number; label: string; probability: number }[];
}

export interface PredictResult {
  predictions: Prediction[];
  /** What preprocessing and labels were used. */
  preprocessing: string;
  model: string;
  weights: string;
}

/**
 * Top-k labels for image files. Preprocessing comes from the checkpoint record (decode to the dataset's
 * shape, grayscale if it was, the evaluation transform with its normalization); 1000-class models
 * without a record get ImageNet's (resize 256, center crop 224, ImageNet mean/std) and ImageNet class
 * names; other models without a record: resize + center crop to their input, ImageNet mean/std, and
 * labels "class N".
 */
export async function predictImages(files: string[], o: PredictOptions): Promise<PredictResult> {
  if (files.length === 0) throw new Error('no images given');
  const { model, source, record } = await loadModel(o);
  const k = Math.min(o.top ?? 5, model.numClasses);
  let inputSize: [number, number, number];
  let prepare: (file: string) => Promise<Float32Array>;
  let labels: (i: number) => string;
  let description: string;
  const rng = new Rng(0);
  if (record) {
    const p = record.preprocessing;
    const size = o.input ?? p.inputSize[1];
    inputSize = [3, size, size];
    const src = p.source;
    const spec: TransformSpec = o.input === undefined || size === p.inputSize[1]
      ? p.transform
      : [...standardTransform({ name: record.dataset.name, ...src }, { train: false, size, channels: 3, normalize: false }), { op: 'normalize', mean: p.mean, std: p.std }];
    const t = compileTransform(spec, src);
    prepare = async (file) => t.apply(await decodeImage(file, src.height, src.width, src.channels), rng);
    labels = (i) => record.dataset.classNames[i] ?? `class ${i}`;
    description = `${record.dataset.title}: ${src.channels === 1 ? 'grayscale ' : ''}${src.height}x${src.width}, then ${describeSpec(spec)}`;
  } else {
    const imagenet = model.numClasses === 1000;
    const size = o.input ?? (imagenet ? 224 : model.inputSize[1]);
    inputSize = [3, size, size];
    const spec: TransformSpec = imagenet
      ? imagenetEvalTransform(size)
      : [{ op: 'resize', size }, { op: 'centerCrop', size }, { op: 'normalize', mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] }];
    prepare = async (file) => {
      const img = await decodeImageRgb(file);
      return compileTransform(spec, img).apply(img.data, rng);
    };
    labels = imagenet ? (i) => IMAGENET_CLASSES[i]! : (i) => `class ${i}`;
    description = `${imagenet ? 'ImageNet' : 'ImageNet-normalized'}: ${describeSpec(spec)}`;
  }
  const session = await InferenceSession.create(model, { inputSize, threads: o.threads });
  const per = inputSize[0] * inputSize[1] * inputSize[2];
  const predictions: Prediction[] = [];
  try {
    const BATCH = 16;
    for (let s = 0; s < files.length; s += BATCH) {
      const chunk = files.slice(s, s + BATCH);
      const x = new Float32Array(chunk.length * per);
      for (let i = 0; i < chunk.length; i++) x.set(await prepare(chunk[i]!), i * per);
      const probs = softmax(await session.run(x, chunk.length), model.numClasses);
      chunk.forEach((file, i) => {
        const row = Array.from(probs.subarray(i * model.numClasses, (i + 1) * model.numClasses), (p, index) => ({ index, p }));
        row.sort((a, b) => b.p - a.p || a.index - b.index);
        predictions.push({ file, top: row.slice(0, k).map(({ index, p }) => ({ index, label: labels(index), probability: p })) });
      });
    }
  } finally {
    await session.dispose();
  }
  return { predictions, preprocessing: description, model: model.modelName, weights: source };
}

function describeSpec(spec: TransformSpec): string {
  return spec
    .map((s) => {
      switch (s.op) {
        case 'pad': return `pad ${JSON.stringify(s.padding)}`;
        case 'resize': return `resize ${JSON.stringify(s.size)}`;
        case 'centerCrop': return `center crop ${JSON.stringify(s.size)}`;
        case 'grayscaleToRgb': return 'gray → RGB';
        case 'normalize': return `normalize mean ${fmtList(s.mean)} std ${fmtList(s.std)}`;
        default: return s.op;
      }
    })
    .join(', ');
}

const fmtList = (v?: number[]) => `[${(v ?? []).map((x) => x.toFixed(3)).join(', ')}]`;

// ---------------------------------------------------------------------------------------------
// export

export interface ExportOptions extends ModelSource {
  /** Output .onnx path. */
  out: string;
  /** A fixed batch size (default: symbolic 'N'). */
  batch?: number;
  /** Square input size (default: the checkpoint's, else the model's own). */
  input?: number;
  threads?: number;
}

export interface ExportResult {
  path: string;
  bytes: number;
  model: string;
  weights: string;
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: { name: string; shape: (number | string)[] }[];
  /** The verification run in onnxruntime. */
  check: { batch: number; outputShape: number[]; ms: number };
}

/**
 * Writes the eval-mode graph (BatchNorm in inference form, dropout off, weights as initializers) as
 * ONNX, with class names and normalization in its metadata when known, then loads the file into
 * onnxruntime and runs one batch to verify it.
 */
export async function exportOnnx(o: ExportOptions): Promise<ExportResult> {
  const { model, source, record } = await loadModel(o);
  const size = o.input ?? record?.model.inputSize[1] ?? model.inputSize[1];
  const inputSize: [number, number, number] = [3, size, size];
  if (o.batch !== undefined && (!Number.isInteger(o.batch) || o.batch < 1)) throw new Error(`batch must be a positive integer, got ${o.batch}`);
  const graph = traceInference(model, { inputSize, batch: o.batch ?? 'N' });
  const proto = toModelProto(graph, { docString: `${model.modelName} ${JSON.stringify(model.options)} (mobilezoo, eval mode)` });
  proto.metadataProps = metadataOf(model, record);
  const { onnx } = onnxProto;
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
  const path = resolve(o.out);
  await saveFileAtomic(path, bytes);

  const session = await createSession(new Uint8Array(await readFile(path)), { threads: o.threads });
  try {
    const n = o.batch ?? 2;
    const x = new Float32Array(n * size * size * 3);
    const rng = new Rng(1);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const t0 = performance.now();
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [n, ...inputSize]) });
    const ms = performance.now() - t0;
    const y = out[session.outputNames[0]!]!;
    const dims = [...y.dims].map(Number);
    if (dims.length !== 2 || dims[0] !== n || dims[1] !== model.numClasses) {
      throw new Error(`exported model gives output [${dims.join(', ')}], expected [${n}, ${model.numClasses}]`);
    }
    if (!(y.data as Float32Array).every(Number.isFinite)) throw new Error('exported model gives non-finite logits');
    return {
      path,
      bytes: (await stat(path)).size,
      model: model.modelName,
      weights: source,
      inputs: graph.inputs.map((v) => ({ name: v.name, shape: [...v.shape] })),
      outputs: graph.outputs.map((v) => ({ name: v.name, shape: [...v.shape] })),
      check: { batch: n, outputShape: dims, ms },
    };
  } finally {
    await session.release();
  }
}

/** The ONNX metadata_props an exported model carries: model, options and, with a record, dataset, class names and normalization. */
export function metadataOf(model: Network, record?: CheckpointRecord): { key: string; value: string }[] {
  const meta: Record<string, string> = { 'mobilezoo.model': model.modelName, 'mobilezoo.options': JSON.stringify(model.options) };
  if (record) {
    meta['mobilezoo.dataset'] = record.dataset.name;
    meta['mobilezoo.class_names'] = JSON.stringify(record.dataset.classNames);
    meta['mobilezoo.mean'] = JSON.stringify(record.preprocessing.mean);
    meta['mobilezoo.std'] = JSON.stringify(record.preprocessing.std);
    meta['mobilezoo.grayscale'] = String(record.preprocessing.grayscale);
  } else if (model.numClasses === 1000) {
    meta['mobilezoo.mean'] = JSON.stringify(IMAGENET_MEAN);
    meta['mobilezoo.std'] = JSON.stringify(IMAGENET_STD);
  }
  return Object.entries(meta).map(([key, value]) => ({ key, value }));
}
