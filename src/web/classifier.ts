/**
 * An exported model (model.onnx + its sidecar model.json) as a classifier on any of the engine's
 * backends (src/runtime/backend.ts): onnxruntime-web in a browser (webBackend), onnxruntime-node
 * (nodeBackend). The backend is a parameter, so this module imports no runtime; inputs are made by the
 * model's one preprocessing (src/data/preprocessing.ts), the same code and numbers as the command line.
 */
import { compilePreprocessing } from '../data/preprocessing.js';
import type { Image } from '../data/transforms.js';
import { type ClassScore, topClasses } from '../report/metrics.js';
import type { Backend, SessionOptions } from '../runtime/backend.js';
import { rgbFromRgba } from './pixels.js';
import { type WebSidecar, parseSidecar } from './sidecar.js';

/** Pixels as a canvas gives them (RGBA, e.g. ImageData). */
export interface RgbaPixels {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

export interface WebClassifierOptions {
  /** The ONNX file: its bytes, or a URL to fetch. */
  model: ArrayBuffer | Uint8Array | string;
  /** The sidecar: parsed model.json, or a URL to fetch. */
  sidecar: unknown;
  /** The runtime: webBackend(ort) with onnxruntime-web's module, nodeBackend() in Node. */
  backend: Backend;
  /** The session's settings (default: all graph optimizations). */
  sessionOptions?: SessionOptions;
}

export interface Classification {
  top: ClassScore[];
  /** Milliseconds spent in the preprocessing and in the model. */
  ms: { preprocess: number; inference: number };
}

export interface WebClassifier {
  readonly sidecar: WebSidecar;
  /** The model input of an image (uint8 RGB or grayscale HWC, or RGBA pixels: alpha is dropped). */
  preprocess(image: Image | RgbaPixels): Float32Array;
  /** The logits of one preprocessed input. */
  logits(input: Float32Array): Promise<Float32Array>;
  /** The k (default 5) most probable classes of an image. */
  classify(image: Image | RgbaPixels, k?: number): Promise<Classification>;
  release(): Promise<void>;
}

async function fetchOk(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${r.statusText}`);
  return r;
}

const isImage = (x: Image | RgbaPixels): x is Image => 'channels' in x;

export async function createWebClassifier(o: WebClassifierOptions): Promise<WebClassifier> {
  const sidecar = typeof o.sidecar === 'string' ? parseSidecar(await (await fetchOk(o.sidecar)).json(), o.sidecar) : parseSidecar(o.sidecar);
  const bytes = typeof o.model === 'string' ? new Uint8Array(await (await fetchOk(o.model)).arrayBuffer()) : new Uint8Array(o.model);
  const session = await o.backend.createSession(bytes, o.sessionOptions);
  const prepare = compilePreprocessing(sidecar.preprocessing);
  const { input, output } = sidecar.file;
  const numClasses = sidecar.classNames.length;

  const preprocess = (image: Image | RgbaPixels) => prepare(isImage(image) ? image : rgbFromRgba(image));
  const logits = async (x: Float32Array) => {
    const out = await session.run({ [input]: o.backend.tensor('float32', x, [1, ...sidecar.inputSize]) });
    const y = out[output];
    if (!y || !(y.data instanceof Float32Array) || y.data.length !== numClasses) {
      throw new Error(`model output '${output}' is not ${numClasses} float32 logits (the sidecar's class count)`);
    }
    return y.data;
  };
  return {
    sidecar,
    preprocess,
    logits,
    async classify(image, k = 5) {
      const t0 = performance.now();
      const x = preprocess(image);
      const t1 = performance.now();
      const y = await logits(x);
      const t2 = performance.now();
      return { top: topClasses(y, { numClasses, classNames: sidecar.classNames }, Math.min(k, numClasses))[0]!, ms: { preprocess: t1 - t0, inference: t2 - t1 } };
    },
    release: () => session.release(),
  };
}
