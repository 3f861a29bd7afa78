/**
 * The ONNX metadata of an exported classifier and the eval-mode ONNX bytes of a network with it, without
 * a file system: `export` writes them (export.ts), the teach page offers them for download.
 */
import type { Preprocessing } from '../data/preprocessing.js';
import type { Network } from '../models/network.js';
import { encodeModel, toModelProto } from '../onnx/serialize.js';
import { traceInference } from '../runtime/inference.js';

export interface ClassifierDescription {
  model: string;
  /** The network's createModel options, when there is a network. */
  options?: object;
  /** The dataset name of its checkpoint record. */
  dataset?: string;
  /** What `test` needs to reopen that dataset the way it was split (name, options, sizes). */
  datasetRecord?: object;
  classNames: string[];
  preprocessing: Preprocessing;
}

/**
 * The model's name, options and class names, and its complete preprocessing (src/data/preprocessing.ts),
 * which `test --onnx`, `predict --onnx` and the browser page read back. Mean, std and grayscale are also
 * given on their own for readers of other tools.
 */
export function classifierMetadata(c: ClassifierDescription): { key: string; value: string }[] {
  const p = c.preprocessing;
  const meta: Record<string, string> = {
    'mobilezoo.model': c.model,
    ...(c.options ? { 'mobilezoo.options': JSON.stringify(c.options) } : {}),
    ...(c.dataset ? { 'mobilezoo.dataset': c.dataset } : {}),
    ...(c.datasetRecord ? { 'mobilezoo.dataset_record': JSON.stringify(c.datasetRecord) } : {}),
    'mobilezoo.class_names': JSON.stringify(c.classNames),
    'mobilezoo.preprocessing': JSON.stringify(p),
    'mobilezoo.input_size': JSON.stringify(p.inputSize),
    'mobilezoo.mean': JSON.stringify(p.mean),
    'mobilezoo.std': JSON.stringify(p.std),
    'mobilezoo.grayscale': String(p.grayscale),
  };
  return Object.entries(meta).map(([key, value]) => ({ key, value }));
}

/** The eval-mode graph of a network (BatchNorm in inference form, dropout off, weights as initializers) as ONNX bytes with its metadata. */
export function classifierOnnx(network: Network, c: Omit<ClassifierDescription, 'model' | 'options'>, o: { batch?: number | 'N' } = {}): Uint8Array {
  const graph = traceInference(network, { inputSize: c.preprocessing.inputSize, batch: o.batch ?? 'N' });
  const proto = toModelProto(graph, { docString: `${network.modelName} ${JSON.stringify(network.options)} (mobilezoo, eval mode)` });
  proto.metadataProps = classifierMetadata({ ...c, model: network.modelName, options: network.options });
  return encodeModel(proto);
}
