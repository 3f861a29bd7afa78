/** `mobilezoo/nn`: modules with PyTorch state_dict names, layers, blocks, initializers, per-layer summary.
 *
 * @module mobilezoo/nn
 */
export * from './module.js';
export * from './layers.js';
export * from './blocks.js';
export * from './summary.js';
export { Rng as InitRng, fill, constant, normal, uniform, fans, kaimingNormalFanOut, defaultUniform } from './init.js';
export * from '../models/init.js';
export * from '../models/stem.js';
