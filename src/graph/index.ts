/**
 * `mobilezoo/graph`: the graph IR the models are traced to (nodes, shapes, the builder, edits,
 * simplification) and its ONNX serialization, for those who build on it.
 *
 * @module mobilezoo/graph
 */
export * from './ir.js';
export * from './builder.js';
export * from './shapes.js';
export * from './edit.js';
export * from './simplify.js';
export * from '../onnx/serialize.js';
