// fp32 vs int8 (QDQ, src/quantize) inference in ONNX Runtime (CPU), in one process, interleaved as
// bench/infer.ts does: every family at 224 and the CIFAR MobileNetV2 at 32, batch 1 and 16, 1 and 2
// threads, plus both model files' sizes.
//
//   node --import tsx bench/int8.ts [--json] [--quick] [--budget-ms 2500] [--models mobilenet_v2,...]
//     [--keep-float '["DepthwiseConv"]'] [--batches 1,16] [--threads 1,2]
//
// The networks have their random initial weights, and calibration runs on 8 random-normal images: this
// measures speed only (the int8 kernels' time does not depend on the values). Accuracy is
// bench/int8-accuracy.ts. Timings are only meaningful on an otherwise idle machine.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Rng } from '../src/data/random.js';
import { createModel } from '../src/models/registry.js';
import { serializeModel } from '../src/onnx/serialize.js';
import { quantizeModel } from '../src/quantize/quantize-model.js';
import { traceInference } from '../src/runtime/inference.js';
import { ort } from '../src/runtime/node-backend.js';
import { FAMILIES } from './families.js';
import { type TimingOptions, benchInput, compareModels } from './interleave.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    'budget-ms': { type: 'string' },
    models: { type: 'string' },
    'keep-float': { type: 'string' },
    batches: { type: 'string', default: '1,16' },
    threads: { type: 'string', default: '1,2' },
  },
});
const QUICK = values.quick!;
const TIMING: TimingOptions = {
  budgetMs: Number(values['budget-ms'] ?? (QUICK ? 600 : 2500)),
  minRuns: QUICK ? 3 : 5,
  maxRuns: 50,
  warmup: 2,
  rounds: QUICK ? 4 : 8,
};
const list = (s: string) => s.split(',').map(Number);
const BATCHES = list(values.batches!);
const THREADS = list(values.threads!);
const wanted = values.models?.split(',');
const families = FAMILIES.filter((f) => !wanted || wanted.includes(f.name) || wanted.includes(f.label));
const keepFloat = values['keep-float'] === undefined ? undefined : (JSON.parse(values['keep-float']) as string[]);

const fmt = (v: number, digits = 1) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const say = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);

function calibrationImages(size: number): Float32Array[] {
  const rng = new Rng(7);
  return [0, 1].map(() => Float32Array.from({ length: 4 * 3 * size * size }, () => rng.normal()));
}

const ortVersion = (JSON.parse(readFileSync(new URL('../node_modules/onnxruntime-node/package.json', import.meta.url), 'utf8')) as { version: string }).version;
const started = performance.now();
say(`# fp32 vs int8 inference\nnode ${process.version}, onnxruntime-node ${ortVersion}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; ` +
  `graph optimization 'all'; ${TIMING.rounds} interleaved rounds per cell, ${TIMING.budgetMs} ms budget; random weights, 8 random calibration images.\n`);
say('| model | input | keep float | fp32 MB | int8 MB | size ratio | batch | threads | fp32 ms | int8 ms | speed-up (fp32/int8) | per-round |');
say('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const targets: string[] = [];
for (const f of families) {
  const model = createModel(f.name, f.options);
  const inputSize: [number, number, number] = [3, f.size, f.size];
  const fp32 = serializeModel(traceInference(model, { inputSize }));
  const { bytes: int8, report } = await quantizeModel(model, { inputSize, calibration: calibrationImages(f.size), keepFloat });
  for (const batch of BATCHES) {
    const feeds = { input: new ort.Tensor('float32', benchInput(batch, f.size), [batch, ...inputSize]) };
    for (const threads of THREADS) {
      const r = await compareModels(fp32, int8, feeds, threads, TIMING);
      const row = {
        model: f.label, input: `${f.size}x${f.size}`, batch, threads, fp32_ms: Number(r.a.toFixed(3)), int8_ms: Number(r.b.toFixed(3)),
        fp32_bytes: fp32.length, int8_bytes: int8.length, speedup: Number(r.ratio.toFixed(3)), keep_float: report.keepFloat,
      };
      if (values.json) console.log(JSON.stringify(row));
      if (f.name === 'mobilenet_v2' && f.size === 224 && batch === 16 && threads === 2) {
        targets.push(`MobileNetV2 224, batch 16, 2 threads: int8 ${fmt(r.ratio, 2)}x fp32's images/s (target >= 1.5); int8 file ${fmt(int8.length / fp32.length, 3)}x fp32's (target <= 0.35)`);
      }
      say(`| ${f.label} | ${row.input} | ${report.keepFloat.join(', ') || '—'} | ${fmt(fp32.length / 1e6, 2)} | ${fmt(int8.length / 1e6, 2)} | ${fmt(int8.length / fp32.length, 3)} | ` +
        `${batch} | ${threads} | ${fmt(r.a, 2)} | ${fmt(r.b, 2)} | ${fmt(r.ratio, 2)} | ${fmt(r.spread[0]!, 2)}-${fmt(r.spread[1]!, 2)} |`);
    }
  }
}
for (const t of targets) say(`\n${t}`);
say(`\nTotal ${fmt((performance.now() - started) / 1000, 0)} s; load average at the end ${loadavg().map((l) => fmt(l, 2)).join(', ')} ` +
  '(this process alone keeps it near the thread count; more means other work shared the CPUs).');
