/**
 * `mobilezoo/workflow`: the application layer, one module per command (train, test, predict, embed,
 * export, quantize, demo) with what they share (config and recipes, checkpoints, data planning,
 * evaluation, the run report), over the engine of `mobilezoo/train`.
 *
 * @module mobilezoo/workflow
 */
export * from './config.js';
export * from './checkpoints.js';
export * from './data.js';
export * from './evaluate.js';
export * from './report.js';
export * from './train.js';
export * from './test.js';
export * from './predict.js';
export * from './export.js';
export * from './demo.js';
export * from './tta.js';
export * from './classifier.js';
export * from './class-map.js';
export * from './pretrained.js';
export * from './embed.js';
export * from './export-web.js';
export * from './export-pth.js';
export * from './quantize.js';
export * from './weights.js';
