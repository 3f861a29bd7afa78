/**
 * `mobilezoo/web`: the browser entry, no Node dependencies (tested). The ONNX Runtime module is passed
 * in, as the engine's backend.
 *
 * Classify with a model exported by `mobilezoo export --web` (model.onnx and its sidecar model.json),
 * with the same preprocessing, and the same numbers, as the command line:
 *
 *   import * as ort from 'onnxruntime-web/wasm';
 *   import { createWebClassifier, imageDataOf, webBackend } from 'mobilezoo/web';
 *   const classifier = await createWebClassifier({ model: 'model.onnx', sidecar: 'model.json', backend: webBackend(ort) });
 *   const { top } = await classifier.classify(await imageDataOf(imgElement), 3);
 *
 * Train, with the engine of the command line (the same Trainer, train-step graph and checkpoints):
 *
 *   const model = createModel('mobilenet_v2', { widthMult: 0.5, numClasses: 10, stem: 'cifar' });
 *   const trainer = await Trainer.create(model, { backend: webBackend(ort), optimizer: { type: 'adam' }, lr: 1e-3 });
 *   for await (const b of new BatchLoader(dataset, { batchSize: 64, shuffle: true, transform })) await trainer.trainStep(b.images, b.labels);
 *   const files = trainingCheckpointFiles(trainer, { ... });   // what `mobilezoo test` / `train --resume` read
 */
export * from './classifier.js';
export * from './pixels.js';
export * from './sidecar.js';

// The runtime seam and its web binding.
export type { Backend, BackendCapabilities, RuntimeSession, RuntimeTensor, SessionOptions } from '../runtime/backend.js';
export { type OrtWebModule, type WebBackendOptions, webBackend } from '../runtime/web-backend.js';
export { InferenceSession, type InferenceSessionOptions } from '../runtime/inference.js';

// Models and weights (from bytes: safetensors, torch.save zip and legacy, mobilezoo checkpoints).
export { createModel, listModels, modelOptionNames, type ModelListing } from '../models/registry.js';
export type { Network } from '../models/network.js';
export { summary, type Summary } from '../nn/summary.js';
export { Tensor, type StateDict } from '../tensor.js';
export { loadCheckpoint, stripPrefix } from '../io/state-dict-bytes.js';
export { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../io/safetensors.js';
export { writePth } from '../io/pth-writer.js';

// Training.
export { Trainer, type TrainerOptions, type StepResult, emaDecayAt } from '../train/trainer.js';
export type { OptimizerSpec, OptimizerType } from '../train/optimizers.js';
export { SCHEDULE_TYPES, type ScheduleSpec, learningRate } from '../train/schedules.js';
export { FREEZE_CHOICES, backboneParameters, resolveFreeze } from '../train/freeze.js';
export { RECIPES, TRAIN_DEFAULTS, ConfigError, type TrainConfig, type TrainSettings, resolveTrainConfig, describeOptimization } from '../workflow/config.js';
export { type ModelPlan, planModel, trainTransforms } from '../workflow/model-plan.js';
export { type EvalResult, evaluateLoader } from '../workflow/evaluate.js';
export * from '../workflow/checkpoint-record.js';

// Data: in-memory datasets, batches, augmentations and the one preprocessing.
export { ArrayDataset, type Dataset, type Sample, type Split, computeMeanStd, takeSubset } from '../data/dataset.js';
export { BatchLoader, type Batch, type BatchLoaderOptions } from '../data/batch-loader.js';
export { makeSynthetic, type SyntheticOptions } from '../data/synthetic.js';
export { Rng } from '../data/random.js';
export {
  compileTransform, resolveTransform, standardTransform, transformOutputShape, withAugmentation, augments,
  type AugmentSettings, type CompiledTransform, type Image, type ImageShape, type TransformSpec, type TransformStep,
} from '../data/transforms.js';
export * from '../data/transforms-augment.js';
export * from '../data/transforms-mix.js';
export {
  type Preprocessing, augmentedTransform, compilePreprocessing, describePreprocessing, parsePreprocessing, recordPreprocessing,
} from '../data/preprocessing.js';
export { type ClassScore, topClasses, topK } from '../report/metrics.js';
export type { EpochMetrics } from '../report/csv.js';

// The Trainer in a Web Worker (the page's thread stays responsive).
export { RemoteTrainer, type RemoteTrainerOptions, type WorkerLike } from './trainer-client.js';
export { type PortLike, type TrainerCalls, serveTrainer } from './trainer-worker.js';
