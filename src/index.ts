/**
 * mobilezoo: MobileNetV1/V2/V3 and ShuffleNetV1/V2 as module trees, traced to a graph IR, serialized to
 * ONNX and run (inference and training) on ONNX Runtime. This entry re-exports the public API of every
 * layer:
 *
 * - tensors: Tensor, StateDict
 * - graph IR and ONNX: Graph, GraphBuilder, inferShapes, serializeModel, toModelProto, decodeModel
 * - nn: Module and layers, blocks, summary (per-layer params / MACs)
 * - models: createModel, listModels, the five families
 * - runtime: InferenceSession, traceInference, createSession, ort
 * - io: torch.save / safetensors checkpoints (loadStateDictFile, writeSafetensors, saveFileAtomic, ...)
 * - autodiff and training: backward, buildStepGraph, Trainer, optimizers, schedules
 * - workflow (the commands as library functions): TrainConfig / recipes, train (epoch loop, checkpoints,
 *   reports), testModel, predictImages, exportOnnx
 * - data: openDataset, DataLoader, transforms, Fashion-MNIST / MNIST / CIFAR / folders / synthetic, ImageNet
 * - report: metrics, MetricsCsv, charts, writeReport
 * - quantization: quantizeModel (post-training static int8, ONNX QDQ), BatchNorm folding, calibration,
 *   the per-family keep-float defaults, ORT's optimized-graph op counts
 */

// tensors
export * from './tensor.js';

// graph IR, shape inference, ONNX
export * from './graph/ir.js';
export * from './graph/builder.js';
export * from './graph/shapes.js';
export * from './graph/edit.js';
export * from './onnx/serialize.js';

// nn
export * from './nn/module.js';
export * from './nn/layers.js';
export * from './nn/blocks.js';
export * from './nn/summary.js';
export { Rng as InitRng, fill, constant, normal, uniform, fans, kaimingNormalFanOut, defaultUniform } from './nn/init.js';

// models
export * from './models/network.js';
export * from './models/registry.js';
export * from './models/stem.js';
export * from './models/init.js';
export * from './models/published-weights.js';
export * from './models/mobilenet_v1.js';
export * from './models/mobilenet_v2.js';
export * from './models/mobilenet_v3.js';
export * from './models/shufflenet_v1.js';
export * from './models/shufflenet_v2.js';

// runtime
export * from './runtime/backend.js';
export * from './runtime/node-backend.js';
export * from './runtime/web-backend.js';
export * from './runtime/inference.js';

// io
export * from './io/index.js';

// autodiff and training
export * from './autodiff/backward.js';
export { type GradRule, gradRules } from './autodiff/rules.js';
export * from './train/composites.js';
export * from './train/optimizers.js';
export * from './train/schedules.js';
export * from './train/step-graph.js';
export * from './train/trainer.js';

// the application: one module per command (src/workflow)
export * from './workflow/index.js';

// data
export * from './data/index.js';
export * from './data/imagenet.js';

// report
export * from './report/index.js';

// quantization
export * from './quantize/fold-batchnorm.js';
export * from './quantize/decompose.js';
export * from './quantize/quant-params.js';
export * from './quantize/histogram.js';
export * from './quantize/calibration.js';
export * from './quantize/op-rules.js';
export * from './quantize/plan.js';
export * from './quantize/keep-float.js';
export * from './quantize/qdq-graph.js';
export * from './quantize/family-defaults.js';
export * from './quantize/optimized-graph.js';
export * from './quantize/quantize-model.js';
