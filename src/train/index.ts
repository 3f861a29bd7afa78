/**
 * `mobilezoo/train`: the training engine under Trainer: reverse-mode autodiff over the graph IR (one
 * gradient rule per op), train-mode composites, frozen layers, optimizers, schedules and the step graph.
 *
 * @module mobilezoo/train
 */
export * from '../autodiff/backward.js';
export { type GradRule, gradRules } from '../autodiff/rules.js';
export * from './composites.js';
export * from './freeze.js';
export * from './optimizers.js';
export * from './schedules.js';
export * from './step-graph.js';
export * from './trainer.js';
