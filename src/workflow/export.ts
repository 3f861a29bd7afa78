/** `mobilezoo export`: a verified eval-mode ONNX model with its class names and preprocessing in the metadata. */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Rng } from '../data/index.js';
import { saveFileAtomic } from '../io/atomic.js';
import { refuseOutputsOverInputs } from '../io/output-guard.js';
import type { Network } from '../models/network.js';
import { encodeModel, toModelProto } from '../onnx/serialize.js';
import { traceInference } from '../runtime/inference.js';
import { createSession, ort } from '../runtime/node-backend.js';
import type { CheckpointRecord } from './checkpoints.js';
import { type Classifier, type ClassifierSource, classifierInputs, openClassifier } from './classifier.js';
import { classifierMetadata } from './model-metadata.js';
import type { TrainedOn } from './model-split.js';

export interface ExportOptions extends ClassifierSource {
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
 * The metadata an exported model carries: model name and options, class names, and the complete
 * preprocessing (src/data/preprocessing.ts), which `test --onnx`, `predict --onnx` and the browser page
 * read back. Mean, std and grayscale are also given on their own for readers of other tools.
 */
export function modelMetadata(c: Classifier): { key: string; value: string }[] {
  return classifierMetadata({
    model: c.model, options: c.network?.options, dataset: c.record?.dataset.name, datasetRecord: c.record ? trainedOn(c.record) : undefined,
    classNames: c.classNames, preprocessing: c.preprocessing,
  });
}

/** What `test` needs to reopen a checkpoint's dataset the way it was split (kept in exported models). */
function trainedOn(r: CheckpointRecord): TrainedOn {
  const { name, options, trainSize, testSize } = r.dataset;
  return { name, options, trainSize, testSize };
}

/** The network of a classifier source (export and quantize need one: an ONNX file is already exported). */
export async function openNetworkClassifier(o: ClassifierSource & { input?: number; threads?: number; batch?: number }): Promise<Classifier & { network: Network }> {
  if (o.onnx) throw new Error('--onnx: give the checkpoint, weights or model to export, not an ONNX file');
  const c = await openClassifier(o, { input: o.input, threads: o.threads, batch: o.batch });
  return c as Classifier & { network: Network };
}

/**
 * Writes the eval-mode graph (BatchNorm in inference form, dropout off, weights as initializers) as
 * ONNX with modelMetadata, then loads the file into onnxruntime and runs one batch to verify it.
 */
export async function exportOnnx(o: ExportOptions): Promise<ExportResult> {
  refuseOutputsOverInputs([{ path: o.out, what: 'the ONNX output' }], await classifierInputs(o));
  const c = await openNetworkClassifier(o);
  const model = c.network;
  const source = c.weights;
  const inputSize = c.preprocessing.inputSize;
  if (o.batch !== undefined && (!Number.isInteger(o.batch) || o.batch < 1)) throw new Error(`batch must be a positive integer, got ${o.batch}`);
  const graph = traceInference(model, { inputSize, batch: o.batch ?? 'N' });
  const proto = toModelProto(graph, { docString: `${model.modelName} ${JSON.stringify(model.options)} (mobilezoo, eval mode)` });
  proto.metadataProps = modelMetadata(c);
  const bytes = encodeModel(proto);
  const path = resolve(o.out);
  await saveFileAtomic(path, bytes);

  const check = await verifyOnnxClassifier(new Uint8Array(await readFile(path)), inputSize, model.numClasses, { batch: o.batch ?? 2, threads: o.threads, what: 'exported model' });
  return {
    path,
    bytes: (await stat(path)).size,
    model: model.modelName,
    weights: source,
    inputs: graph.inputs.map((v) => ({ name: v.name, shape: [...v.shape] })),
    outputs: graph.outputs.map((v) => ({ name: v.name, shape: [...v.shape] })),
    check,
  };
}

/**
 * Loads a written classifier file into onnxruntime and runs one batch of random images: the output must
 * be finite [batch, numClasses]. Returns the batch, the output shape and the run's time.
 */
export async function verifyOnnxClassifier(
  bytes: Uint8Array, inputSize: [number, number, number], numClasses: number, o: { batch?: number; threads?: number; what: string },
): Promise<{ batch: number; outputShape: number[]; ms: number }> {
  const session = await createSession(bytes, { threads: o.threads });
  try {
    const n = o.batch ?? 2;
    const x = new Float32Array(n * inputSize.reduce((a, b) => a * b, 1));
    const rng = new Rng(1);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const t0 = performance.now();
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [n, ...inputSize]) });
    const ms = performance.now() - t0;
    const y = out[session.outputNames[0]!]!;
    const dims = [...y.dims].map(Number);
    if (dims.length !== 2 || dims[0] !== n || dims[1] !== numClasses) {
      throw new Error(`${o.what} gives output [${dims.join(', ')}], expected [${n}, ${numClasses}]`);
    }
    if (!(y.data as Float32Array).every(Number.isFinite)) throw new Error(`${o.what} gives non-finite logits`);
    return { batch: n, outputShape: dims, ms };
  } finally {
    await session.release();
  }
}
