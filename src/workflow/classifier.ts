/**
 * What `test` and `predict` run: a model with its preprocessing and class names, from a checkpoint, a
 * weights file, a bare model, or an exported ONNX file (float or int8, its metadata holding the
 * preprocessing and class names), so every kind of model is measured by the same commands.
 */
import { dirname, join, resolve } from 'node:path';
import { readInputFile } from '../io/input-file.js';
import { IMAGENET_CLASSES } from '../data/imagenet.js';
import { type Preprocessing, IMAGENET_MEAN, atInputSize, IMAGENET_STD, imagenetPreprocessing, parsePreprocessing, recordPreprocessing } from '../data/preprocessing.js';
import type { Network } from '../models/network.js';
import { publishedWeightsOf } from '../models/published-weights.js';
import { decodeModel } from '../onnx/serialize.js';
import { InferenceSession } from '../runtime/inference.js';
import { createSession, nodeBackend, ort } from '../runtime/node-backend.js';
import { ConfigError } from '../config-error.js';
import type { GuardedPath } from '../io/output-guard.js';
import { type CheckpointRecord, type ModelSource, loadModel, readCheckpointRecord } from './checkpoints.js';
import { checkRunMemory } from './model-memory.js';
import type { TrainedOn } from './model-split.js';

export interface ClassifierSource extends ModelSource {
  /** An ONNX file written by `mobilezoo export` or `quantize` (or any image classifier [N, 3, H, W] → [N, K]). */
  onnx?: string;
  /** Class names for weights that do not record them (one per output). */
  classNames?: string[];
  /** The normalization of weights that do not record their preprocessing (per channel, on the [0, 1] scale). */
  mean?: number[];
  std?: number[];
}

/** A preprocessing with another normalization. */
function renormalized(p: Preprocessing, mean: number[], std: number[]): Preprocessing {
  if (mean.length !== p.inputSize[0] || std.length !== p.inputSize[0]) throw new ConfigError(mean.length !== p.inputSize[0] ? 'mean' : 'std', `expected ${p.inputSize[0]} values, one per input channel`);
  if (std.some((s) => !(s > 0))) throw new ConfigError('std', 'expected positive values');
  return { ...p, mean: [...mean], std: [...std], transform: p.transform.map((s) => (s.op === 'normalize' ? { ...s, mean: [...mean], std: [...std] } : s)) };
}

export interface Classifier {
  /** Model name (the registry's, or the ONNX file's recorded one). */
  readonly model: string;
  /** Where the weights came from. */
  readonly weights: string;
  readonly numClasses: number;
  /** Class names: the record's or metadata's, ImageNet's for 1000 classes, else "class i". */
  readonly classNames: string[];
  /** The checkpoint record, when there is one. */
  readonly record?: CheckpointRecord;
  /** The Network, for sources that are not ONNX files. */
  readonly network?: Network;
  /** The input and output names, for ONNX files. */
  readonly io?: { input: string; output: string };
  /** The metadata_props of an ONNX file. */
  readonly metadata?: ReadonlyMap<string, string>;
  /** True when the preprocessing came with the model (record or metadata), not a default. */
  readonly recorded: boolean;
  /** What inputs are made of; may be replaced before the first run when not recorded. */
  preprocessing: Preprocessing;
  /** Logits [n, numClasses] for NCHW float32 images of preprocessing.inputSize. */
  run(images: Float32Array, n?: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** The files a classifier source reads (a checkpoint's tensor files too), which no output may replace. */
export async function classifierInputs(src: ClassifierSource): Promise<GuardedPath[]> {
  const files: GuardedPath[] = [];
  if (src.onnx) files.push({ path: src.onnx, what: 'the ONNX model' });
  if (src.weights) files.push({ path: src.weights, what: 'the weights' });
  if (src.checkpoint) {
    files.push({ path: src.checkpoint, what: 'the checkpoint' });
    try {
      const { record, dir } = await readCheckpointRecord(src.checkpoint);
      for (const [kind, name] of Object.entries(record.files)) {
        if (name) files.push({ path: join(dir, name), what: `the ${kind} file of the checkpoint ${src.checkpoint}` });
      }
    } catch {
      /* an unreadable checkpoint is reported when it is opened */
    }
  }
  return files;
}

/**
 * Preprocessing for a model that came without one: ImageNet's for 1000 classes (with the resize its
 * published weights were measured with, when `weights` is one of PUBLISHED_WEIGHTS), else a fit to its
 * input with ImageNet statistics.
 */
export function defaultPreprocessing(numClasses: number, size: number, weights?: string): Preprocessing {
  const published = weights ? publishedWeightsOf(weights) : undefined;
  if (numClasses === 1000) return published && size === published.crop ? imagenetPreprocessing(published.crop, published.resize) : imagenetPreprocessing(size);
  return recordPreprocessing({ channels: 3, height: size, width: size }, [{ op: 'normalize', mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] }]);
}

/** Recorded class names must name every output: a record or metadata that disagrees is an error naming the file. */
export function checkClassNames(names: readonly string[], numClasses: number, file: string, where: string): void {
  if (!Array.isArray(names) || names.length !== numClasses || !names.every((n) => typeof n === 'string')) {
    const count = Array.isArray(names) ? `${names.length} class names` : 'no list of class names';
    throw new Error(`${file}: ${where} has ${count} for the model's ${numClasses} outputs`);
  }
}

function genericNames(numClasses: number): string[] {
  return numClasses === 1000 ? [...IMAGENET_CLASSES] : Array.from({ length: numClasses }, (_, i) => `class ${i}`);
}

/** Opens a classifier; `input` sets a square input size other than the recorded one. */
export async function openClassifier(src: ClassifierSource, o: { threads?: number; input?: number; batch?: number } = {}): Promise<Classifier> {
  if (src.onnx) {
    if (src.checkpoint || src.weights) throw new Error('give one of --onnx, --checkpoint, --weights');
    return openOnnxClassifier(src.onnx, o);
  }
  const { model, source, record } = await loadModel(src);
  if (record) checkClassNames(record.dataset.classNames, model.numClasses, src.checkpoint ?? src.weights ?? source, 'the record\'s dataset.classNames');
  const size = o.input ?? record?.model.inputSize[1] ?? (model.numClasses === 1000 ? 224 : model.inputSize[1]);
  checkRunMemory(model, { inputSize: [model.inputSize[0], size, size], batch: o.batch ?? 1, training: false }, o.input !== undefined ? `\`input\` ${o.input}` : o.batch !== undefined ? `\`batch\` ${o.batch}` : source);
  if (record && (src.classNames || src.mean || src.std)) throw new ConfigError(src.classNames ? 'classNames' : 'mean', `${source} records its class names and preprocessing`);
  if (src.classNames && src.classNames.length !== model.numClasses) throw new ConfigError('classNames', `${src.classNames.length} names for the ${model.numClasses} outputs of ${model.modelName}`);
  let preprocessing = record ? atInputSize(record.preprocessing, size) : defaultPreprocessing(model.numClasses, size, src.weights);
  if (src.mean || src.std) preprocessing = renormalized(preprocessing, src.mean ?? preprocessing.mean, src.std ?? preprocessing.std);
  let session: InferenceSession | undefined;
  let sessionFor: Preprocessing | undefined;
  const c: Classifier = {
    model: model.modelName,
    weights: source,
    numClasses: model.numClasses,
    classNames: record?.dataset.classNames ?? src.classNames ?? genericNames(model.numClasses),
    record,
    network: model,
    recorded: record !== undefined || src.mean !== undefined || src.std !== undefined,
    preprocessing,
    async run(images, n) {
      if (!session || sessionFor !== c.preprocessing) {
        await session?.dispose();
        session = await InferenceSession.create(model, { inputSize: c.preprocessing.inputSize, backend: nodeBackend({ threads: o.threads }) });
        sessionFor = c.preprocessing;
      }
      return session.run(images, n);
    },
    async dispose() {
      await session?.dispose();
      session = undefined;
    },
  };
  return c;
}

/** The dataset a classifier was trained on: its checkpoint's, or what an exported model's metadata recorded. */
export function trainedOn(c: Classifier): { dataset: TrainedOn } | undefined {
  if (c.record) return c.record;
  const v = c.metadata?.get('mobilezoo.dataset_record');
  if (!v) return undefined;
  try {
    return { dataset: JSON.parse(v) as TrainedOn };
  } catch {
    throw new Error(`${c.weights}: metadata mobilezoo.dataset_record is not valid JSON`);
  }
}

/** The mobilezoo.* metadata of an ONNX model (empty for files from elsewhere). */
export function onnxMetadata(bytes: Uint8Array): Map<string, string> {
  return new Map(decodeModel(bytes).metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
}

/** Protocol buffers cannot hold more: ONNX Runtime refuses larger model files. */
const MAX_ONNX_BYTES = 2 * 1024 ** 3;

/** An ONNX file's bytes and metadata_props, with errors naming the file. */
export async function readOnnxFile(file: string): Promise<{ path: string; bytes: Uint8Array; meta: Map<string, string> }> {
  const path = resolve(file);
  const bytes = await readInputFile(file, MAX_ONNX_BYTES, 'an ONNX model');
  try {
    return { path, bytes, meta: onnxMetadata(bytes) };
  } catch (e) {
    throw new Error(`${file}: not an ONNX model (${(e as Error).message})`);
  }
}

async function openOnnxClassifier(file: string, o: { threads?: number; input?: number }): Promise<Classifier> {
  const { path, bytes, meta } = await readOnnxFile(file);
  let session: ort.InferenceSession;
  try {
    // External data files resolve against the model's folder (and must stay in it), not the working directory.
    session = await createSession(bytes, { threads: o.threads, modelFolder: dirname(path) });
  } catch (e) {
    throw new Error(`${file}: ONNX Runtime cannot load it: ${(e as Error).message}`);
  }
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const json = <T>(key: string): T | undefined => {
    const v = meta.get(key);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      throw new Error(`${file}: metadata ${key} is not valid JSON`);
    }
  };
  const recordedPre = json<unknown>('mobilezoo.preprocessing');
  let preprocessing = recordedPre ? parsePreprocessing(recordedPre, `${file}: metadata mobilezoo.preprocessing`) : undefined;
  // The input's fixed size, when the file fixes it ([N, 3, H, W]).
  const dims = await probeInput(session, inputName, preprocessing?.inputSize);
  const numClasses = dims.numClasses;
  if (o.input !== undefined && o.input !== dims.inputSize[1]) {
    throw new Error(`${file}: the model takes ${dims.inputSize.slice(1).join('x')} inputs; --input ${o.input} cannot change an exported model (export it again with --input)`);
  }
  preprocessing ??= defaultPreprocessing(numClasses, dims.inputSize[1]);
  const names = json<string[]>('mobilezoo.class_names');
  if (names) checkClassNames(names, numClasses, file, 'the metadata mobilezoo.class_names');
  const c: Classifier = {
    model: meta.get('mobilezoo.model') ?? 'onnx',
    weights: path,
    numClasses,
    classNames: names ?? genericNames(numClasses),
    io: { input: inputName, output: outputName },
    metadata: meta,
    recorded: recordedPre !== undefined,
    preprocessing,
    async run(images, n) {
      const [ch, h, w] = c.preprocessing.inputSize;
      const count = n ?? images.length / (ch * h * w);
      const out = await session.run({ [inputName]: new ort.Tensor('float32', images, [count, ch, h, w]) });
      return out[outputName]!.data as Float32Array;
    },
    async dispose() {
      await session.release();
    },
  };
  return c;
}

/**
 * The input size and class count of an ONNX classifier: from the preprocessing metadata when present,
 * else from a fixed input shape; the class count from one run on zeros.
 */
async function probeInput(session: ort.InferenceSession, inputName: string, recorded?: [number, number, number]): Promise<{ inputSize: [number, number, number]; numClasses: number }> {
  let inputSize = recorded;
  if (!inputSize) {
    const meta = session.inputMetadata.find((m) => m.name === inputName);
    const shape = meta?.isTensor ? meta.shape : undefined;
    const fixed = shape?.slice(1).every((d) => typeof d === 'number') ? (shape.slice(1) as number[]) : undefined;
    if (!fixed || fixed.length !== 3) throw new Error(`ONNX model: input '${inputName}' has no fixed [3, H, W] shape and no mobilezoo.preprocessing metadata`);
    inputSize = fixed as [number, number, number];
  }
  const [ch, h, w] = inputSize;
  const out = await session.run({ [inputName]: new ort.Tensor('float32', new Float32Array(ch * h * w), [1, ch, h, w]) });
  const y = out[session.outputNames[0]!]!;
  return { inputSize, numClasses: Number(y.dims[y.dims.length - 1]) };
}
