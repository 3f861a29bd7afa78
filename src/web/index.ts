/**
 * `mobilezoo/web`: the browser entry. A model exported with `mobilezoo export --web` (model.onnx and
 * its sidecar model.json) classifies images with the same preprocessing, and the same numbers, as the
 * command line. No Node dependencies; the ONNX Runtime module is passed in, as the engine's backend:
 *
 *   import * as ort from 'onnxruntime-web/wasm';
 *   import { createWebClassifier, imageDataOf, webBackend } from 'mobilezoo/web';
 *   const classifier = await createWebClassifier({ model: 'model.onnx', sidecar: 'model.json', backend: webBackend(ort) });
 *   const { top } = await classifier.classify(await imageDataOf(imgElement), 3);
 */
export * from './classifier.js';
export * from './pixels.js';
export * from './sidecar.js';
export type { Backend, BackendCapabilities, RuntimeSession, RuntimeTensor, SessionOptions } from '../runtime/backend.js';
export { type OrtWebModule, type WebBackendOptions, webBackend } from '../runtime/web-backend.js';
export { compilePreprocessing, describePreprocessing, parsePreprocessing, type Preprocessing } from '../data/preprocessing.js';
export type { Image, TransformSpec, TransformStep } from '../data/transforms.js';
export type { ClassScore } from '../report/metrics.js';
