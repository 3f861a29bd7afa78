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
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createModel } from '../src/models/registry.js';
import { summary } from '../src/nn/summary.js';
import { traceInference } from '../src/runtime/inference.js';
import { createSession, ort } from '../src/runtime/session.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const QUICK = args.includes('--quick');
/** Wall time to spend measuring one configuration, after warm-up. */
const BUDGET_MS = flag('--budget-ms', QUICK ? 600 : 2500);
const MIN_RUNS = QUICK ? 3 : 5;
const MAX_RUNS = 50;
const WARMUP = 2;
/** Idle time before each comparison block, so the other session's spinning workers go to sleep. */
const PAUSE_MS = 30;
const BATCHES = [1, 32];
const THREADS = [1, 2];
const REFERENCE_ONNX = fileURLToPath(new URL('../../shared/reference-bench/mobilenet_v2_cifar.onnx', import.meta.url));

interface Family {
  label: string;
  name: string;
  options: Record<string, unknown>;
  size: number;
}

const FAMILIES: Family[] = [
  { label: 'mobilenet_v1', name: 'mobilenet_v1', options: {}, size: 224 },
  { label: 'mobilenet_v2', name: 'mobilenet_v2', options: {}, size: 224 },
  { label: 'mobilenet_v3_large', name: 'mobilenet_v3_large', options: {}, size: 224 },
  { label: 'mobilenet_v3_small', name: 'mobilenet_v3_small', options: {}, size: 224 },
  { label: 'shufflenet_v1 (g3 1.0x)', name: 'shufflenet_v1', options: {}, size: 224 },
  { label: 'shufflenet_v2_x1_0', name: 'shufflenet_v2_x1_0', options: {}, size: 224 },
  { label: 'mobilenet_v2 CIFAR stem, 10 classes', name: 'mobilenet_v2', options: { stem: 'cifar', numClasses: 10 }, size: 32 },
];

function input(batch: number, size: number): ort.Tensor {
  const n = batch * 3 * size * size;
  const x = new Float32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    x[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return new ort.Tensor('float32', x, [batch, 3, size, size]);
}

async function timeRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  const t0 = performance.now();
  await session.run(feeds);
  return performance.now() - t0;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs after warm-up: as many as fit the budget given the warm-up time of one run. */
const runsFor = (oneRunMs: number) => Math.max(MIN_RUNS, Math.min(MAX_RUNS, Math.round(BUDGET_MS / Math.max(oneRunMs, 1e-3))));

/** Median ms per batch of one session. */
async function measure(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<{ ms: number; runs: number }> {
  let warm = 0;
  for (let i = 0; i < WARMUP; i++) warm = await timeRun(session, feeds);
  const runs = runsFor(warm);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeRun(session, feeds));
  return { ms: median(times), runs };
}

/**
 * Two sessions on the same input, interleaved in short blocks (order alternating by round).
 *
 * ORT's intra-op workers keep spinning for a while after a run; with 2 threads on 2 cores the idle
 * session's spinning worker would take a core from the running one (halving its speed), so
 * alternating single runs would measure that overlap, not the graphs. Each block therefore starts
 * with a pause (the other session's workers go to sleep) and one untimed run (ours wake up).
 *
 * The ratio is the median over rounds of (median of a's block / median of b's adjacent block): a burst
 * of background load spoils a few rounds, not the result.
 */
async function compare(a: ort.InferenceSession, b: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  let warm = 0;
  for (let i = 0; i < WARMUP; i++) warm = (await timeRun(a, feeds)) + (await timeRun(b, feeds));
  const rounds = QUICK ? 4 : 12;
  const perBlock = Math.max(5, Math.ceil(runsFor(warm / 2) / rounds));
  const ta: number[] = [];
  const tb: number[] = [];
  const ratios: number[] = [];
  const block = async (session: ort.InferenceSession, all: number[]) => {
    await sleep(PAUSE_MS);
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < perBlock; i++) times.push(await timeRun(session, feeds));
    all.push(...times);
    return median(times);
  };
  for (let r = 0; r < rounds; r++) {
    let ma: number;
    let mb: number;
    if (r % 2 === 0) {
      ma = await block(a, ta);
      mb = await block(b, tb);
    } else {
      mb = await block(b, tb);
      ma = await block(a, ta);
    }
    ratios.push(ma / mb);
  }
  return { a: median(ta), b: median(tb), ratio: median(ratios), spread: [Math.min(...ratios), Math.max(...ratios)], runs: ta.length };
}

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
        const { ms, runs } = await measure(session, feeds);
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
      const a = await createSession(ours, { threads });
      const b = await createSession(reference, { threads });
      const r = await compare(a, b, feeds);
      await a.release();
      await b.release();
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
