/** `mobilezoo predict`: top-k labels for image files. */
import { type TransformSpec, Rng, compileTransform, decodeImage, standardTransform } from '../data/index.js';
import { IMAGENET_CLASSES, IMAGENET_MEAN, IMAGENET_STD, decodeImageRgb, imagenetEvalTransform } from '../data/imagenet.js';
import { softmax } from '../report/metrics.js';
import { InferenceSession } from '../runtime/inference.js';
import { type ModelSource, loadModel } from './checkpoints.js';

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

