/**
 * `mobilezoo embed`: the embedding of each image (the pooled features the classifier takes), with the
 * model's own preprocessing, written as .json, .npy or .safetensors: vectors for nearest-neighbour
 * search, clustering or a small classifier of one's own (what Teachable Machine builds on).
 */
import { extname, resolve } from 'node:path';
import { describePreprocessing } from '../data/preprocessing.js';
import { saveFileAtomic } from '../io/atomic.js';
import { type GuardedPath, refuseOutputsOverInputs } from '../io/output-guard.js';
import { writeNpy } from '../io/npy.js';
import { writeSafetensors } from '../io/safetensors.js';
import { InferenceSession } from '../runtime/inference.js';
import { nodeBackend } from '../runtime/node-backend.js';
import { Tensor } from '../tensor.js';
import type { ModelSource } from './checkpoints.js';
import { classifierInputs } from './classifier.js';
import { openNetworkClassifier } from './export.js';
import { imageBatches, imageFiles } from './image-batches.js';

export interface EmbedOptions extends ModelSource {
  threads?: number;
  /** Square input size (default: the checkpoint's, 224 for ImageNet models, else the model's own). */
  input?: number;
}

export interface EmbedResult {
  files: string[];
  /** Embedding length. */
  dim: number;
  /** [files, dim] row-major. */
  embeddings: Float32Array;
  model: string;
  weights: string;
  preprocessing: string;
  /** The files read (images, model files), which the output must not replace. */
  inputs: GuardedPath[];
}

export const EMBEDDING_FORMATS = ['.json', '.npy', '.safetensors'] as const;

/** Embeddings of image files (a folder stands for the images in it; decoded at their own size, then the model's preprocessing). */
export async function embedImages(paths: string[], o: EmbedOptions): Promise<EmbedResult> {
  const files = imageFiles(paths);
  if (files.length === 0) throw new Error('no images given');
  const c = await openNetworkClassifier({ ...o });
  const session = await InferenceSession.create(c.network, { inputSize: c.preprocessing.inputSize, backend: nodeBackend({ threads: o.threads }) });
  const rows: Float32Array[] = [];
  let dim = 0;
  try {
    for await (const b of imageBatches(files, c.preprocessing)) {
      const e = await session.embed(b.images, b.files.length);
      dim = e.dim;
      rows.push(e.data.slice());
    }
  } finally {
    await session.dispose();
  }
  const embeddings = new Float32Array(files.length * dim);
  let at = 0;
  for (const r of rows) {
    embeddings.set(r, at);
    at += r.length;
  }
  const inputs = [...files.map((f) => ({ path: f, what: 'the image' })), ...(await classifierInputs(o))];
  return { files, dim, embeddings, model: c.model, weights: c.weights, preprocessing: describePreprocessing(c.preprocessing), inputs };
}

/** The embeddings as JSON: model, weights, preprocessing, dim and one { file, embedding } per image. */
export function embeddingsJson(r: EmbedResult): object {
  return {
    model: r.model,
    weights: r.weights,
    preprocessing: r.preprocessing,
    dim: r.dim,
    embeddings: r.files.map((file, i) => ({ file, embedding: Array.from(r.embeddings.subarray(i * r.dim, (i + 1) * r.dim)) })),
  };
}

/** Writes embeddings by extension: .json (embeddingsJson), .npy ([files, dim] float32), .safetensors (`embeddings`, file names in the metadata). */
export async function writeEmbeddings(path: string, r: EmbedResult): Promise<string> {
  refuseOutputsOverInputs([{ path, what: 'the embeddings output' }], r.inputs);
  const ext = extname(path).toLowerCase();
  let bytes: Uint8Array;
  if (ext === '.json') bytes = new TextEncoder().encode(JSON.stringify(embeddingsJson(r)) + '\n');
  else if (ext === '.npy') bytes = writeNpy(r.embeddings, [r.files.length, r.dim]);
  else if (ext === '.safetensors') {
    bytes = writeSafetensors(new Map([['embeddings', Tensor.float32([r.files.length, r.dim], r.embeddings)]]), {
      files: JSON.stringify(r.files), model: r.model, weights: r.weights, preprocessing: r.preprocessing,
    });
  } else throw new Error(`--out ${path}: unknown format '${ext || '(none)'}'; use ${EMBEDDING_FORMATS.join(', ')}`);
  const abs = resolve(path);
  await saveFileAtomic(abs, bytes);
  return abs;
}
