/** `mobilezoo predict`: top-k labels for image files, with the model's own preprocessing. */
import { decodeImageRgb } from '../data/decode.js';
import { compilePreprocessing, describePreprocessing } from '../data/preprocessing.js';
import { type ClassScore, topClasses } from '../report/metrics.js';
import { type ClassifierSource, openClassifier } from './classifier.js';

export interface PredictOptions extends ClassifierSource {
  /** Labels per image (default 5). */
  top?: number;
  threads?: number;
  /** Square input size (default: the checkpoint's, 224 for ImageNet models, else the model's own). */
  input?: number;
}

export interface Prediction {
  file: string;
  top: ClassScore[];
}

export interface PredictResult {
  predictions: Prediction[];
  /** What preprocessing and labels were used. */
  preprocessing: string;
  model: string;
  weights: string;
}

/**
 * Top-k labels for image files. Each file is decoded at its own size and goes through the model's
 * preprocessing (src/data/preprocessing.ts): the checkpoint's or ONNX metadata's record; for weights
 * without one, ImageNet's with ImageNet class names for 1000-class models, else a fit to the input with
 * ImageNet statistics and labels "class N".
 */
export async function predictImages(files: string[], o: PredictOptions): Promise<PredictResult> {
  if (files.length === 0) throw new Error('no images given');
  const c = await openClassifier(o, { threads: o.threads, input: o.input });
  const k = Math.min(o.top ?? 5, c.numClasses);
  const prepare = compilePreprocessing(c.preprocessing);
  const per = c.preprocessing.inputSize.reduce((a, b) => a * b, 1);
  const predictions: Prediction[] = [];
  try {
    const BATCH = 16;
    for (let s = 0; s < files.length; s += BATCH) {
      const chunk = files.slice(s, s + BATCH);
      const x = new Float32Array(chunk.length * per);
      for (let i = 0; i < chunk.length; i++) x.set(prepare(await decodeImageRgb(chunk[i]!)), i * per);
      const tops = topClasses(await c.run(x, chunk.length), c, k);
      chunk.forEach((file, i) => predictions.push({ file, top: tops[i]! }));
    }
  } finally {
    await c.dispose();
  }
  const from = c.record ? c.record.dataset.title : c.recorded ? 'ONNX metadata' : c.numClasses === 1000 ? 'ImageNet' : 'ImageNet-normalized default';
  return { predictions, preprocessing: `${from}: ${describePreprocessing(c.preprocessing)}`, model: c.model, weights: c.weights };
}
