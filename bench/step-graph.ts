/**
 * Size of each family's train-step graph (CIFAR stem where the family has one; SGD Nesterov with weight
 * decay, as the fashion-mnist recipe) and what the graph clean-ups removed from it: unused nodes
 * (gradients nobody reads, the input image's first) and the Identity copies at the outputs.
 *   node --import tsx bench/step-graph.ts [--input 28] [--batch 64]
 */
import { parseArgs } from 'node:util';
import { createModel } from '../src/models/registry.js';
import { buildStepGraph } from '../src/train/step-graph.js';

const { values } = parseArgs({ options: { input: { type: 'string', default: '28' }, batch: { type: 'string', default: '64' } } });
const size = Number(values.input);
const models: [string, Record<string, unknown>][] = [
  ['mobilenet_v1', { stem: 'cifar' }],
  ['mobilenet_v2', { stem: 'cifar', widthMult: 0.5 }],
  ['mobilenet_v3_small', {}],
  ['shufflenet_v1', { stem: 'cifar' }],
  ['shufflenet_v2_x0_5', { stem: 'cifar' }],
  ['shufflenet_v2_x1_0', { stem: 'cifar' }],
];
for (const [name, options] of models) {
  const model = createModel(name, { numClasses: 10, ...options });
  const step = buildStepGraph(model, {
    inputSize: [3, size, size], numClasses: 10, batch: Number(values.batch),
    optimizer: { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  });
  const { deadNodes, outputCopies } = step.removed;
  console.log(`${name} ${JSON.stringify(options)}: ${step.graph.nodes.length} nodes, ${step.graph.outputs.length} outputs; removed ${deadNodes} unused nodes and ${outputCopies} output copies`);
}
