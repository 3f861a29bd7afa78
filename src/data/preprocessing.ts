/**
 * The one preprocessing of a model: how an image of any size becomes its input tensor. It is recorded
 * in checkpoints, in exported ONNX metadata and in the browser sidecar, and train (evaluation), test,
 * predict, export and the browser page all apply it through compilePreprocessing.
 *
 * Images enter as uint8 HWC at their own size: RGB with alpha dropped and EXIF orientation applied (what
 * a browser canvas holds), or already one channel (IDX datasets). `transform` then does everything else,
 * in JavaScript, identically everywhere: luma for grayscale models, the fit to the training images'
 * shape (no resampling happens in an image decoder), padding and crops, channel replication,
 * normalization. No Node dependencies: the browser entry imports this module.
 */
import { Rng } from './random.js';
import { type CompiledTransform, type Image, type ImageShape, type TransformSpec, compileTransform, transformOutputShape } from './transforms.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

export interface Preprocessing {
  /** The shape the training images had (`transform`'s fit step brings any image to it). */
  source: { channels: 1 | 3; height: number; width: number };
  /** The complete evaluation transform from an image of any size (resolved: normalize holds mean/std). */
  transform: TransformSpec;
  /** [C, H, W] of the model input. */
  inputSize: [number, number, number];
  /** Per model-input channel, on the [0, 1] scale (as in transform's normalize). */
  mean: number[];
  std: number[];
  /** Images are reduced to luma (and replicated into 3 channels when the model takes RGB). */
  grayscale: boolean;
}

/**
 * The preprocessing of a model trained on images of shape `source` with the (resolved) evaluation
 * transform `evalSpec`, which applies to images of that shape: luma first for 1-channel sources, then
 * the fit to the source shape, then evalSpec.
 */
export function recordPreprocessing(source: ImageShape, evalSpec: TransformSpec): Preprocessing {
  if (source.channels !== 1 && source.channels !== 3) throw new Error(`preprocessing: images must have 1 or 3 channels, got ${source.channels}`);
  const transform: TransformSpec = [
    ...(source.channels === 1 ? [{ op: 'toGrayscale' } as const] : []),
    { op: 'fit', size: [source.height, source.width] },
    ...evalSpec.map((s) => ({ ...s })),
  ];
  return fromTransform({ channels: source.channels, height: source.height, width: source.width }, transform);
}

function fromTransform(source: Preprocessing['source'], transform: TransformSpec): Preprocessing {
  const out = transformOutputShape(transform, { channels: 3, height: source.height, width: source.width });
  const norm = transform.find((s) => s.op === 'normalize');
  if (norm?.op !== 'normalize' || !norm.mean || !norm.std) throw new Error('preprocessing: the transform must end with a resolved normalize (mean and std)');
  return {
    source,
    transform,
    inputSize: [out.channels, out.height, out.width],
    mean: [...norm.mean],
    std: [...norm.std],
    grayscale: source.channels === 1,
  };
}

/**
 * torchvision's ImageNet evaluation (resize the shorter side, by default to crop / 0.875: 256 for 224,
 * center-crop, ImageNet mean/std), written as fit to the resized square then center crop: the same
 * pixels, and the square is what a folder dataset stores for fine-tuning.
 */
export function imagenetPreprocessing(crop = 224, resize = Math.floor((crop * 256) / 224)): Preprocessing {
  return fromTransform({ channels: 3, height: resize, width: resize }, [
    { op: 'fit', size: [resize, resize] },
    { op: 'centerCrop', size: crop },
    { op: 'normalize', mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] },
  ]);
}

/** The same preprocessing for another input size: the recorded steps, then a fit to size x size before the channel and normalize steps. */
export function atInputSize(p: Preprocessing, size: number): Preprocessing {
  if (size === p.inputSize[1] && size === p.inputSize[2]) return p;
  const tail = p.transform.findIndex((s) => s.op === 'grayscaleToRgb' || s.op === 'normalize');
  const transform: TransformSpec = [...p.transform.slice(0, tail), { op: 'fit', size: [size, size] }, ...p.transform.slice(tail)];
  return fromTransform(p.source, transform);
}

/**
 * The transform for images that are already decoded with `channels` (a dataset's): a 1-channel dataset
 * shown to an RGB model is replicated into 3 channels first. `spec` defaults to the evaluation transform.
 */
export function transformForChannels(p: Preprocessing, channels: number, spec: TransformSpec = p.transform): TransformSpec {
  if (channels === 1 && !p.grayscale) return [{ op: 'grayscaleToRgb' }, ...spec];
  return spec;
}

/**
 * The training transform that goes with a preprocessing (for fine-tuning on it): its center crop
 * becomes a random crop (ImageNet's 224 of 256), or without one a random crop with padding of 1/16
 * of the size is added after the geometric steps (the small-image recipe: 32 of 28 padded by 2, then
 * shifted by up to 2); then an optional horizontal flip and random erasing.
 */
export function augmentedTransform(p: Preprocessing, o: { flip: boolean; randomErasing?: number }): TransformSpec {
  const spec: TransformSpec = p.transform.map((s) => (s.op === 'centerCrop' ? { op: 'randomCrop', size: s.size } : { ...s }));
  const tail = spec.findIndex((s) => s.op === 'grayscaleToRgb' || s.op === 'normalize');
  const extra: TransformSpec = [];
  if (!p.transform.some((s) => s.op === 'centerCrop')) {
    const size = transformOutputShape(spec.slice(0, tail), { channels: 3, height: p.source.height, width: p.source.width });
    extra.push({ op: 'randomCrop', size: [size.height, size.width], padding: Math.max(1, Math.round(Math.min(size.height, size.width) / 16)) });
  }
  if (o.flip) extra.push({ op: 'hflip', p: 0.5 });
  const out = [...spec.slice(0, tail), ...extra, ...spec.slice(tail)];
  if (o.randomErasing) out.push({ op: 'randomErasing', p: o.randomErasing });
  return out;
}

/** Applies a preprocessing to images of any size and channel count (1 or 3): CHW float32 model inputs. */
export function compilePreprocessing(p: Preprocessing): (image: Image) => Float32Array {
  const compiled = new Map<string, CompiledTransform>();
  // Evaluation transforms draw no random numbers; apply() still takes a generator.
  const rng = new Rng(0);
  return (image) => {
    const key = `${image.channels}x${image.height}x${image.width}`;
    let t = compiled.get(key);
    if (!t) {
      t = compileTransform(transformForChannels(p, image.channels), image);
      compiled.set(key, t);
    }
    return t.apply(image.data, rng);
  };
}

/** Reads a Preprocessing from parsed JSON (a checkpoint record, ONNX metadata, the web sidecar), checking its shape. */
export function parsePreprocessing(v: unknown, source: string): Preprocessing {
  const p = v as Partial<Preprocessing> | null;
  if (!p || typeof p !== 'object' || !Array.isArray(p.transform) || !p.source || typeof p.source !== 'object') {
    throw new Error(`${source}: no valid preprocessing record (expected { source, transform, ... })`);
  }
  try {
    return fromTransform(p.source, p.transform);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
}

/** One line for logs: "grayscale, fit 28x28, pad 2, gray → RGB, normalize mean [...] std [...]". */
export function describePreprocessing(p: Preprocessing): string {
  const fmt = (v?: number[]) => `[${(v ?? []).map((x) => x.toFixed(3)).join(', ')}]`;
  const size = (s: number | number[]) => (typeof s === 'number' ? String(s) : s.join('x'));
  return p.transform
    .map((s) => {
      switch (s.op) {
        case 'toGrayscale': return 'grayscale';
        case 'fit': return `fit ${size(s.size)}`;
        case 'pad': return `pad ${JSON.stringify(s.padding)}`;
        case 'resize': return `resize ${size(s.size)}`;
        case 'centerCrop': return `center crop ${size(s.size)}`;
        case 'grayscaleToRgb': return 'gray → RGB';
        case 'normalize': return `normalize mean ${fmt(s.mean)} std ${fmt(s.std)}`;
        default: return s.op;
      }
    })
    .join(', ');
}
