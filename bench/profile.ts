/**
 * Where the train step's time goes: ORT's profiler over a CIFAR-stem model (default MobileNetV2 width
 * 1.0, SGD momentum), steady-state runs only, kernel time per step by forward/backward, op type and, for
 * convolutions and matrix products, depthwise (group = channels) vs other.
 *   node --import tsx bench/profile.ts [--model mobilenet_v2] [--batch 32] [--threads 1] [--nodes 20]
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createModel } from '../src/models/registry.js';
import { Trainer } from '../src/train/trainer.js';
import { nodeBackend } from '../src/runtime/node-backend.js';

const { values } = parseArgs({ options: { model: { type: 'string', default: 'mobilenet_v2' }, batch: { type: 'string', default: '32' }, threads: { type: 'string', default: '1' }, nodes: { type: 'string', default: '0' } } });
const batch = Number(values.batch);
const dir = mkdtempSync(join(tmpdir(), 'mobilezoo-profile-'));
const model = createModel(values.model!, { numClasses: 10, stem: 'cifar' });
const trainer = await Trainer.create(model, { optimizer: { type: 'sgd', momentum: 0.9 }, lr: 0.01, backend: nodeBackend({ threads: Number(values.threads) }), batchSize: batch, profilePrefix: join(dir, 'step') });
const x = new Float32Array(batch * 3 * 32 * 32);
for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.5;
const y = Int32Array.from({ length: batch }, (_, i) => i % 10);
const RUNS = 5;
const WARM = 2;
for (let i = 0; i < RUNS; i++) await trainer.trainStep(x, y);
await trainer.dispose(); // ends profiling, writing the JSON trace

const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8')) as { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }[];
rmSync(dir, { recursive: true });
const runs = events.filter((e) => e.name === 'model_run');
const from = runs[WARM]!.ts;
const steps = runs.length - WARM;
const byCategory = new Map<string, number>();
const byNode = new Map<string, number>();
let total = 0;
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
  const op = e.args?.op_name ?? '?';
  const depthwise = /features\.1\.conv\.0\.0|features\.\d+\.conv\.1\.0/.test(e.name);
  const key = `${e.name.startsWith('grad:') ? 'bwd' : 'fwd'} ${op}${/Conv|MatMul|Gemm/.test(op) ? (depthwise ? ' depthwise' : ' other') : ''}`;
  byCategory.set(key, (byCategory.get(key) ?? 0) + e.dur);
  byNode.set(e.name, (byNode.get(e.name) ?? 0) + e.dur);
  total += e.dur;
}
const ms = (us: number) => (us / 1000 / steps).toFixed(1);
console.log(`batch ${batch}, ${values.threads} thread(s): model_run ${runs.slice(WARM).map((r) => (r.dur / 1000).toFixed(0)).join(', ')} ms; kernel time ${ms(total)} ms/step`);
for (const [k, d] of [...byCategory].sort((a, b) => b[1] - a[1])) console.log(`${k.padEnd(28)} ${ms(d).padStart(7)} ms  ${((100 * d) / total).toFixed(1)}%`);
const top = Number(values.nodes);
if (top) for (const [k, d] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(d).padStart(7)} ms  ${k}`);
