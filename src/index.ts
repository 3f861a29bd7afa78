/**
 * mobilezoo: MobileNetV1/V2/V3 and ShuffleNetV1/V2 in TypeScript, with PyTorch state_dict names,
 * inference and training on ONNX Runtime.
 *
 * This entry is the user API: models, loading and saving weights, inference sessions, the Trainer, the
 * commands as functions (train, testModel, predictImages, embedImages, exportOnnx, exportWeb, exportPth,
 * quantizeToOnnx), datasets and preprocessing, int8 quantization. What they are built on has entries of
 * its own: `mobilezoo/graph` (graph IR, ONNX), `mobilezoo/nn` (modules, layers), `mobilezoo/train`
 * (autodiff, optimizers, schedules, step graph), `mobilezoo/io` (torch.save, safetensors, pickle),
 * `mobilezoo/data` (datasets, loaders, transforms), `mobilezoo/report` (metrics, charts, report.html),
 * `mobilezoo/quantize`, `mobilezoo/workflow` (the application layer), and `mobilezoo/web` for browsers.
 *
 * @module mobilezoo
 */

// tensors and errors
export { Tensor, type DType, type StateDict, type TensorData } from './tensor.js';
export { ConfigError } from './config-error.js';

// models
export { createModel, listModels, modelOptionNames, isModelName, type ModelName, type ModelOptionsByName, type ModelListing } from './models/registry.js';
export { Network, type Stem } from './models/network.js';
export { MobileNetV1, type MobileNetV1Options } from './models/mobilenet_v1.js';
export { MobileNetV2, type MobileNetV2Options, type InvertedResidualRow } from './models/mobilenet_v2.js';
export { MobileNetV3, type MobileNetV3Options } from './models/mobilenet_v3.js';
export { ShuffleNetV1, SHUFFLENET_V1_GROUPS, SHUFFLENET_V1_SIZES, type ShuffleNetV1Options, type ShuffleNetV1Groups, type ShuffleNetV1Size } from './models/shufflenet_v1.js';
export { ShuffleNetV2, type ShuffleNetV2Options, type ShuffleNetV2Size } from './models/shufflenet_v2.js';
export { PUBLISHED_WEIGHTS, publishedWeightsOf, type PublishedWeights } from './models/published-weights.js';
export { summary, type Summary, type LayerRow } from './nn/summary.js';

// loading and saving weights
export { loadStateDictFile, savePthFile, saveSafetensorsFile, type LoadStateDictFileOptions } from './io/checkpoint.js';
export { loadCheckpoint } from './io/state-dict-bytes.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';
export { writePth } from './io/pth-writer.js';

// inference, and the runtime under it and the Trainer: onnxruntime-node (mobilezoo/web binds onnxruntime-web)
export { InferenceSession, traceInference, type InferenceSessionOptions, type InferenceOutputs, type FeatureMapInfo, type TraceOptions } from './runtime/inference.js';
export { nodeBackend, createSession, ort, type NodeBackendOptions, type NodeSessionOptions } from './runtime/node-backend.js';
export type { Backend, BackendCapabilities, SessionOptions } from './runtime/backend.js';

// training
export { Trainer, type TrainerOptions, type StepResult } from './train/trainer.js';
export type { OptimizerSpec, OptimizerType } from './train/optimizers.js';
export { SCHEDULE_TYPES, type ScheduleSpec } from './train/schedules.js';
export {
  train, trainFromConfig, openResume, resumeConfig, defaultRunFolder,
  type TrainOptions, type TrainRunOptions, type TrainResult, type TrainEvents, type EpochEvent, type StepEvent, type ResumePoint,
} from './workflow/train.js';
export { resolveTrainConfig, RECIPES, TRAIN_DEFAULTS, MONITORS, OPTIMIZER_TYPES, type TrainConfig, type TrainSettings, type Recipe, type Monitor } from './workflow/config.js';
export { readCheckpointRecord, resolveCheckpoint, loadModel, type CheckpointRecord, type LoadedModel, type ModelSource } from './workflow/checkpoints.js';
export type { EvalResult } from './workflow/evaluate.js';

// the other commands as functions
export { testModel, type TestOptions, type TestResult } from './workflow/test.js';
export { predictImages, type PredictOptions, type PredictResult, type Prediction } from './workflow/predict.js';
export { embedImages, writeEmbeddings, EMBEDDING_FORMATS, type EmbedOptions, type EmbedResult } from './workflow/embed.js';
export { exportOnnx, type ExportOptions, type ExportResult } from './workflow/export.js';
export { exportWeb, type ExportWebOptions, type ExportWebResult } from './workflow/export-web.js';
export { exportPth, type ExportPthOptions, type ExportPthResult } from './workflow/export-pth.js';
export { quantizeToOnnx, type QuantizeCommandOptions, type QuantizeResult } from './workflow/quantize.js';
export { openClassifier, type Classifier, type ClassifierSource } from './workflow/classifier.js';

// datasets and preprocessing
export { openDataset, DATASET_NAMES, DATASET_INFO, isDatasetName, type DatasetName, type OpenDatasetOptions } from './data/index.js';
export { DataLoader, type Batch, type DataLoaderOptions } from './data/loader.js';
export { ArrayDataset, type Dataset, type Sample, type Split } from './data/dataset.js';
export { splitValidation } from './data/validation-split.js';
export { standardTransform, type TransformSpec } from './data/transforms.js';
export { type Preprocessing, imagenetPreprocessing, describePreprocessing, IMAGENET_MEAN, IMAGENET_STD } from './data/preprocessing.js';
export { preprocessImagenet, IMAGENET_CLASSES } from './data/imagenet.js';
export { FASHION_MNIST_CLASSES, MNIST_CLASSES } from './data/mnist.js';
export { CIFAR10_CLASSES, CIFAR100_FINE_CLASSES } from './data/cifar.js';

// int8 quantization
export { quantizeModel, type QuantizeOptions, type QuantizeReport } from './quantize/quantize-model.js';
export { optimizedOpCounts } from './quantize/optimized-graph.js';
export { KEEP_FLOAT_DEFAULTS, defaultKeepFloat } from './quantize/family-defaults.js';
