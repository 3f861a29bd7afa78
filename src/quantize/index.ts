/**
 * `mobilezoo/quantize`: the parts of post-training int8 quantization (BatchNorm folding, the HardSwish
 * decomposition, quantization parameters, calibration, the QDQ plan and graph, ORT's optimized graph).
 *
 * @module mobilezoo/quantize
 */
export * from './fold-batchnorm.js';
export * from './decompose.js';
export * from './quant-params.js';
export * from './histogram.js';
export * from './calibration.js';
export * from './op-rules.js';
export * from './plan.js';
export * from './keep-float.js';
export * from './qdq-graph.js';
export * from './family-defaults.js';
export * from './optimized-graph.js';
export * from './quantize-model.js';
