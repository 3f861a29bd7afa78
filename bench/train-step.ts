/**
 * One train-step timing in its own process (so peak memory is its own): MobileNetV2 with the CIFAR
 * stem, width 1.0, 10 classes, SGD momentum 0.9 — the network and step of torch_reference.py.
 *   node --import tsx bench/train-step.ts --batch 32 --threads 2 --steps 5 [--model shufflenet_v2_x1_0] [--input 32] [--width 1.0] [--freeze backbone]
 * Prints one JSON line. --freeze takes what `mobilezoo train --freeze` takes (none, backbone, a module path):
 * the frozen step of fine-tuning, to compare with the full step of the same model and batch.
 */
import { parseArgs } from 'node:util';
import { createModel } from '../src/models/registry.js';
import { resolveFreeze } from '../src/train/freeze.js';
import { Trainer } from '../src/train/trainer.js';
import { nodeBackend } from '../src/runtime/node-backend.js';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'mobilenet_v2' }, input: { type: 'string', default: '32' }, width: { type: 'string', default: '1.0' }, batch: { type: 'string', default: '32' }, threads: { type: 'string', default: '1' }, steps: { type: 'string', default: '5' }, freeze: { type: 'string', default: 'none' } } });
const batch = Number(values.batch);
const threads = Number(values.threads);
const steps = Number(values.steps);
const size = Number(values.input);

const model = createModel(values.model!, { numClasses: 10, stem: 'cifar', ...(values.model!.startsWith('mobilenet') ? { widthMult: Number(values.width) } : {}) });
const t0 = performance.now();
const frozen = resolveFreeze(model, values.freeze!);
const trainer = await Trainer.create(model, { optimizer: { type: 'sgd', momentum: 0.9 }, lr: 0.01, backend: nodeBackend({ threads }), batchSize: batch, inputSize: [3, size, size], frozen, ...(process.env.MZ_SPIN ? { spinning: process.env.MZ_SPIN === '1' } : {}) });
const compileMs = performance.now() - t0;
const x = new Float32Array(batch * 3 * size * size);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.5;
const y = Int32Array.from({ length: batch }, (_, i) => i % 10);
// The first two runs of a session are slower (allocation, thread start): warm up like torch_reference.py.
for (let i = 0; i < 2; i++) await trainer.trainStep(x, y);
const times: number[] = [];
for (let i = 0; i < steps; i++) {
  const t = performance.now();
  await trainer.trainStep(x, y);
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
console.log(JSON.stringify({ engine: 'mobilezoo', model: values.model, ...(values.model!.startsWith('mobilenet') ? { width: Number(values.width) } : {}), input: size, threads, batch, freeze: values.freeze, train_step_ms: Number(median.toFixed(2)), compile_ms: Math.round(compileMs) }));
await trainer.dispose();
