/**
 * model.json, the sidecar of a model exported for the browser: what an app needs besides the ONNX file
 * (the model's name, its class names and its complete preprocessing record). No Node dependencies.
 */
import { type Preprocessing, parsePreprocessing } from '../data/preprocessing.js';
import { plainFileName } from '../io/file-names.js';

export const SIDECAR_FORMAT = 'mobilezoo-web';
export const SIDECAR_VERSION = 1;

export interface WebSidecar {
  format: typeof SIDECAR_FORMAT;
  version: typeof SIDECAR_VERSION;
  /** Model name (the registry's, or the ONNX file's recorded one). */
  model: string;
  /** Model options, when the model was exported from a network. */
  options?: Record<string, unknown>;
  classNames: string[];
  /** The one preprocessing of the model (src/data/preprocessing.ts), as in its ONNX metadata. */
  preprocessing: Preprocessing;
  /** [C, H, W] of the model input. */
  inputSize: [number, number, number];
  /** The ONNX file beside the sidecar. */
  file: { name: string; bytes: number; input: string; output: string };
  /** What the model was exported from (a checkpoint, weights, a bare model or an ONNX file). */
  source: string;
  /** The mobilezoo version that wrote it. */
  exporter: string;
  /** The page's title (default: the model's name). */
  title?: string;
  /** How the model is quantized, e.g. "int8 (QDQ int8, minmax calibration on 512 images)"; absent for float models. */
  quantization?: string;
}

/** Reads a sidecar from parsed JSON, checking its format, class names and preprocessing. */
export function parseSidecar(v: unknown, source = 'model.json'): WebSidecar {
  const s = v as Partial<WebSidecar> | null;
  if (!s || typeof s !== 'object' || s.format !== SIDECAR_FORMAT) throw new Error(`${source}: not a mobilezoo web sidecar (format must be "${SIDECAR_FORMAT}")`);
  if (s.version !== SIDECAR_VERSION) throw new Error(`${source}: sidecar version ${String(s.version)} is not supported (this module reads version ${SIDECAR_VERSION})`);
  if (!Array.isArray(s.classNames) || !s.classNames.every((n) => typeof n === 'string')) throw new Error(`${source}: classNames must be an array of strings`);
  if (!s.file || typeof s.file.input !== 'string' || typeof s.file.output !== 'string') throw new Error(`${source}: file must name the model's input and output`);
  plainFileName(s.file.name, `${source}: file.name`);
  const preprocessing = parsePreprocessing(s.preprocessing, `${source}: preprocessing`);
  return { ...(s as WebSidecar), preprocessing, inputSize: preprocessing.inputSize };
}
