/**
 * Timing ORT sessions against each other on a shared 2-core machine: warm-up, then the median of as
 * many runs as fit a time budget; two sessions compared in interleaved blocks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Graph } from '../src/graph/ir.js';
import { createSession, type ort } from '../src/runtime/node-backend.js';

export interface TimingOptions {
  /** Wall time to spend measuring one configuration, after warm-up. */
  budgetMs: number;
  minRuns: number;
  maxRuns: number;
  warmup: number;
  /** Rounds of a comparison (blocks of each session). */
  rounds: number;
}

/** Idle time before each comparison block, so the other session's spinning workers go to sleep. */
const PAUSE_MS = 30;

export async function timeRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  const t0 = performance.now();
  await session.run(feeds);
  return performance.now() - t0;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs after warm-up: as many as fit the budget given the warm-up time of one run. */
export const runsFor = (o: TimingOptions, oneRunMs: number) => Math.max(o.minRuns, Math.min(o.maxRuns, Math.round(o.budgetMs / Math.max(oneRunMs, 1e-3))));

/** Median ms per batch of one session. */
export async function measure(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, o: TimingOptions): Promise<{ ms: number; runs: number }> {
  let warm = 0;
  for (let i = 0; i < o.warmup; i++) warm = await timeRun(session, feeds);
  const runs = runsFor(o, warm);
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
export async function compare(a: ort.InferenceSession, b: ort.InferenceSession, feeds: Record<string, ort.Tensor>, o: TimingOptions) {
  let warm = 0;
  for (let i = 0; i < o.warmup; i++) warm = (await timeRun(a, feeds)) + (await timeRun(b, feeds));
  const perBlock = Math.max(5, Math.ceil(runsFor(o, warm / 2) / o.rounds));
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
  for (let r = 0; r < o.rounds; r++) {
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

/** A deterministic uniform [-1, 1) NCHW batch (xorshift), the same on every run. */
export function benchInput(batch: number, size: number): Float32Array {
  const x = new Float32Array(batch * 3 * size * size);
  let s = 0x2545f491;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    x[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return x;
}

/**
 * CPU milliseconds per run of a single-threaded session (process user + system time over `runs`
 * runs after warm-up): the work a graph takes, which other processes on the machine slow down far
 * less than its wall time.
 */
export async function cpuMsPerRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, runs: number, warmup = 2): Promise<number> {
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const start = process.cpuUsage();
  for (let i = 0; i < runs; i++) await session.run(feeds);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / runs;
}

/** compare() on two models, each compiled into its own session with `threads` intra-op threads. */
export async function compareModels(a: Graph | Uint8Array, b: Graph | Uint8Array, feeds: Record<string, ort.Tensor>, threads: number, o: TimingOptions) {
  const sa = await createSession(a, { threads });
  const sb = await createSession(b, { threads });
  try {
    return await compare(sa, sb, feeds, o);
  } finally {
    await sa.release();
    await sb.release();
  }
}
