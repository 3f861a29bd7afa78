/** `mobilezoo predict`: top-k labels for image files, with the model's own preprocessing. */
import { describePreprocessing } from '../data/preprocessing.js';
import { type ClassScore, topClasses } from '../report/metrics.js';
import { type ClassifierSource, openClassifier } from './classifier.js';
import { imageBatches, imageFiles } from './image-batches.js';

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
 * Top-k labels for image files (a folder stands for the images in it). Each file is decoded at its own size and goes through the model's
 * preprocessing (src/data/preprocessing.ts): the checkpoint's or ONNX metadata's record; for weights
 * without one, ImageNet's with ImageNet class names for 1000-class models, else a fit to the input with
 * ImageNet statistics and labels "class N".
 */
export async function predictImages(paths: string[], o: PredictOptions): Promise<PredictResult> {
  const files = imageFiles(paths);
  if (files.length === 0) throw new Error('no images given');
  const c = await openClassifier(o, { threads: o.threads, input: o.input });
  const k = Math.min(o.top ?? 5, c.numClasses);
  const predictions: Prediction[] = [];
  try {
    for await (const b of imageBatches(files, c.preprocessing)) {
      const tops = topClasses(await c.run(b.images, b.files.length), c, k);
      b.files.forEach((file, i) => predictions.push({ file, top: tops[i]! }));
    }
  } finally {
    await c.dispose();
  }
  const from = c.record ? c.record.dataset.title : c.metadata ? 'ONNX metadata' : o.mean || o.std ? 'the given normalization' : c.numClasses === 1000 ? 'ImageNet' : 'ImageNet-normalized default';
  return { predictions, preprocessing: `${from}: ${describePreprocessing(c.preprocessing)}`, model: c.model, weights: c.weights };
}
