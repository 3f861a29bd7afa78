/** `mobilezoo export`: a verified eval-mode ONNX model with its class names and preprocessing in the metadata. */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { Rng } from '../data/index.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../data/imagenet.js';
import { saveFileAtomic } from '../io/checkpoint.js';
import type { Network } from '../models/network.js';
import { toModelProto } from '../onnx/serialize.js';
import { traceInference } from '../runtime/inference.js';
import { createSession, ort } from '../runtime/session.js';
import { type CheckpointRecord, type ModelSource, loadModel } from './checkpoints.js';

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

function metadataOf(model: Network, record?: CheckpointRecord): { key: string; value: string }[] {
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

