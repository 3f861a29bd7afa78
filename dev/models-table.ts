/** Prints the README's models table from the library's own counts: node --import tsx dev/models-table.ts */
import { createModel } from '../src/models/registry.js';
import { summary } from '../src/nn/summary.js';

const rows: [string, Record<string, unknown>][] = [
  ['mobilenet_v1', { widthMult: 1.0 }], ['mobilenet_v1', { widthMult: 0.5 }], ['mobilenet_v1', { widthMult: 0.25 }],
  ['mobilenet_v2', { widthMult: 1.0 }], ['mobilenet_v2', { widthMult: 0.5 }],
  ['mobilenet_v3_large', {}], ['mobilenet_v3_large', { reducedTail: true }], ['mobilenet_v3_small', {}],
  ['shufflenet_v1', { groups: 3, size: '1.0x' }], ['shufflenet_v1', { groups: 8, size: '1.0x' }], ['shufflenet_v1', { groups: 1, size: '1.0x' }],
  ['shufflenet_v2_x0_5', {}], ['shufflenet_v2_x1_0', {}], ['shufflenet_v2_x1_5', {}], ['shufflenet_v2_x2_0', {}],
  ['mobilenet_v2', { widthMult: 1.0, numClasses: 10, stem: 'cifar' }], ['mobilenet_v2', { widthMult: 0.5, numClasses: 10, stem: 'cifar' }],
  ['shufflenet_v2_x1_0', { numClasses: 10, stem: 'cifar' }],
];
console.log('| model | options | input | params | MMACs |');
console.log('|---|---|---|---:|---:|');
for (const [name, o] of rows) {
  const m = createModel(name, o);
  const s = summary(m, m.inputSize);
  const opts = Object.entries(o).map(([k, v]) => `${k}: ${v}`).join(', ') || '—';
  console.log(`| ${name} | ${opts} | ${m.inputSize.join('x')} | ${s.totalParams.toLocaleString('en-US')} | ${(s.totalMacs / 1e6).toFixed(2)} |`);
}
