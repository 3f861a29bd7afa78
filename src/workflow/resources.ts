/**
 * What this machine can do, and the limits derived from it: memory (see model-memory.ts), ONNX Runtime
 * threads and data-loading workers.
 */
import os from 'node:os';
import { RefusedError } from '../io/refused.js';

/** A value that asks for more than this machine can do (a model size, an input size, threads): refused, exit code 2, like a bad flag. */
export class ResourceLimitError extends RefusedError {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceLimitError';
  }
}

/** Bytes of memory this process can use: the machine's, or its cgroup's limit when lower. */
export function machineMemory(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const total = os.totalmem();
  return constrained > 0 && constrained < total ? constrained : total;
}

/**
 * ONNX Runtime intra-op threads: at most 4 per core, and at least 64 allowed. The pool gains nothing
 * beyond the core count, but a resumed run repeats the thread count of the machine it started on (for
 * bit-identical results), which may have had more cores; thousands of threads never finish a step.
 */
export function maxThreads(): number {
  return Math.max(64, 4 * os.availableParallelism());
}

/**
 * Data-loading worker threads: at most 2 per core, and at least 8 allowed. Each is a V8 isolate with
 * its decoder, transform buffers and prefetched batches (tens of MB); more than the cores only queue.
 */
export function maxWorkers(): number {
  return Math.max(8, 2 * os.availableParallelism());
}

/** Refuses a thread or worker count over its cap; `what` names where it came from (a flag, a checkpoint field). */
export function checkConcurrency(kind: 'threads' | 'workers', n: number | undefined, what: string): void {
  if (n === undefined) return;
  const cap = kind === 'threads' ? maxThreads() : maxWorkers();
  if (!Number.isInteger(n) || n < (kind === 'threads' ? 1 : 0) || n > cap) {
    throw new ResourceLimitError(`${what}: ${n} ${kind} is not between ${kind === 'threads' ? 1 : 0} and ${cap} (${kind === 'threads' ? '4' : '2'} per core on this machine's ${os.availableParallelism()}, at least ${kind === 'threads' ? 64 : 8})`);
  }
}
