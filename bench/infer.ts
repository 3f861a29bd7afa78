// Inference throughput of every family in ONNX Runtime (CPU), and our CIFAR MobileNetV2 against
// torch.onnx.export of the same network (../shared/reference-bench/mobilenet_v2_cifar.onnx).
//
//   node --import tsx bench/infer.ts [--budget-ms 2500] [--quick]
//
// Each configuration: 2 warm-up runs, then the median of as many runs as fit in the time budget
// (at least 5, at most 50). Prints markdown tables. A script, not a test: about 45 s on 2 cores
// (--quick: about 20 s). Timings are only meaningful on an otherwise idle machine.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createModel } from '../src/models/registry.js';
import { summary } from '../src/nn/summary.js';
import { traceInference } from '../src/runtime/inference.js';
import { createSession, ort } from '../src/runtime/node-backend.js';
import { FAMILIES } from './families.js';
import { type TimingOptions, benchInput, compareModels, measure } from './interleave.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const QUICK = args.includes('--quick');
const TIMING: TimingOptions = {
  budgetMs: flag('--budget-ms', QUICK ? 600 : 2500),
  minRuns: QUICK ? 3 : 5,
  maxRuns: 50,
  warmup: 2,
  rounds: QUICK ? 4 : 12,
};
const { budgetMs: BUDGET_MS, minRuns: MIN_RUNS, maxRuns: MAX_RUNS, warmup: WARMUP } = TIMING;
const BATCHES = [1, 32];
const THREADS = [1, 2];
const REFERENCE_ONNX = fileURLToPath(new URL('../../shared/reference-bench/mobilenet_v2_cifar.onnx', import.meta.url));

const input = (batch: number, size: number) => new ort.Tensor('float32', benchInput(batch, size), [batch, 3, size, size]);

const fmt = (v: number, digits = 1) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const started = performance.now();
  const ortVersion = (JSON.parse(readFileSync(new URL('../node_modules/onnxruntime-node/package.json', import.meta.url), 'utf8')) as { version: string }).version;
  console.log(`# mobilezoo inference benchmark`);
  console.log(`node ${process.version}, onnxruntime-node ${ortVersion}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; ` +
    `warm-up ${WARMUP}, then the median of ${MIN_RUNS}-${MAX_RUNS} runs (${BUDGET_MS} ms budget per cell); graph optimization 'all'.\n`);

  const header = `| model | input | params | MMACs/img | ${BATCHES.flatMap((b) => THREADS.map((t) => `b${b} t${t}`)).join(' | ')} |`;
  const rows: string[] = [];
  for (const f of FAMILIES) {
    const model = createModel(f.name, f.options);
    const inputSize: [number, number, number] = [3, f.size, f.size];
    const s = summary(model, inputSize);
    const graph = traceInference(model, { inputSize });
    const cells: string[] = [];
    for (const batch of BATCHES) {
      const feeds = { input: input(batch, f.size) };
      for (const threads of THREADS) {
        const session = await createSession(graph, { threads });
        const { ms, runs } = await measure(session, feeds, TIMING);
        await session.release();
        cells.push(fmt((batch * 1000) / ms, 0));
        process.stderr.write(`${f.label} b${batch} t${threads}: ${fmt(ms, 2)} ms/batch (${runs} runs)\n`);
      }
    }
    rows.push(`| ${f.label} | ${f.size}x${f.size} | ${fmt(s.totalParams / 1e6, 2)}M | ${fmt(s.totalMacs / 1e6, 1)} | ${cells.join(' | ')} |`);
  }
  console.log('## Images/s (ORT CPU; bN = batch, tN = intra-op threads)\n');
  console.log(header);
  console.log(`|${' --- |'.repeat(4 + BATCHES.length * THREADS.length)}`);
  for (const r of rows) console.log(r);

  // Ours vs torch's export of the same network, same process, same input, interleaved runs.
  const ours = traceInference(createModel('mobilenet_v2', { stem: 'cifar', numClasses: 10 }), { inputSize: [3, 32, 32] });
  const reference = new Uint8Array(readFileSync(REFERENCE_ONNX));
  console.log('\n## CIFAR MobileNetV2 (width 1.0, 10 classes, 32x32): mobilezoo graph vs torch.onnx.export graph\n');
  console.log('| batch | threads | mobilezoo ms/batch | torch export ms/batch | time ratio (ours / torch) | per-round ratios | mobilezoo images/s |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  let worst = 0;
  for (const batch of BATCHES) {
    const feeds = { input: input(batch, 32) };
    for (const threads of THREADS) {
      const r = await compareModels(ours, reference, feeds, threads, TIMING);
      worst = Math.max(worst, r.ratio);
      process.stderr.write(`cifar b${batch} t${threads}: ours ${fmt(r.a, 2)} ms, torch export ${fmt(r.b, 2)} ms, ratio ${fmt(r.ratio, 3)} (${r.runs} runs each)\n`);
      console.log(`| ${batch} | ${threads} | ${fmt(r.a, 2)} | ${fmt(r.b, 2)} | ${fmt(r.ratio, 3)} | ${fmt(r.spread[0]!, 2)}-${fmt(r.spread[1]!, 2)} | ${fmt((batch * 1000) / r.a, 0)} |`);
    }
  }
  const load = loadavg().map((l) => fmt(l, 2)).join(', ');
  console.log(`\nWorst ratio ${fmt(worst, 3)} (target <= 1.1). Total time ${fmt((performance.now() - started) / 1000, 0)} s; ` +
    `load average at the end ${load} (this process alone keeps it near the thread count; more means other work shared the CPUs).`);
}

await main();
