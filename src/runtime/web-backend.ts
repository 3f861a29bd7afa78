/**
 * The web binding of the engine's backend (src/runtime/backend.ts): the onnxruntime-web module a page
 * (or a Web Worker, or Node) imports and passes in, so that this module imports no runtime. Its wasm
 * build has no NCHWc kernels. Threads are a setting of the module, read once when its wasm starts:
 * several need SharedArrayBuffer, which a page has only when it is cross-origin isolated (COOP + COEP
 * headers), so the default there is up to 4 threads when isolated and 1 otherwise.
 */
import type { Backend, OrtModule, SessionOptions } from './backend.js';

/** onnxruntime-web's module: the runtime plus its wasm settings. */
export type OrtWebModule = OrtModule & { env: { wasm: { numThreads?: number; wasmPaths?: unknown } } };

export interface WebBackendOptions {
  /** wasm threads (default: up to 4 where cross-origin isolated, else 1). */
  threads?: number;
  /** Where onnxruntime-web's .wasm and .mjs loader are (a URL prefix; default: beside onnxruntime-web's own module). */
  wasmPaths?: string;
  /** Execution provider (default 'wasm'; 'webgpu' needs onnxruntime-web's WebGPU build and a browser with WebGPU). */
  executionProvider?: 'wasm' | 'webgpu';
}

/** The thread count each onnxruntime-web module started its wasm with. */
const started = new WeakMap<object, number>();

function defaultThreads(): number {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  return g.crossOriginIsolated ? Math.min(4, g.navigator?.hardwareConcurrency || 1) : 1;
}

/** The engine's backend on an onnxruntime-web module (`import * as ort from 'onnxruntime-web'`). */
export function webBackend(ort: OrtWebModule, o: WebBackendOptions = {}): Backend {
  const threads = o.threads ?? started.get(ort) ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`webBackend: threads must be a positive integer, got ${threads}`);
  const ep = o.executionProvider ?? 'wasm';
  const settle = () => {
    const before = started.get(ort);
    if (before !== undefined && before !== threads) {
      throw new Error(`webBackend: onnxruntime-web already runs on ${before} thread${before === 1 ? '' : 's'} (its wasm reads numThreads once); ${threads} cannot be had in this page or worker`);
    }
    if (before === undefined) {
      ort.env.wasm.numThreads = threads;
      if (o.wasmPaths !== undefined) ort.env.wasm.wasmPaths = o.wasmPaths;
      started.set(ort, threads);
    }
  };
  return {
    name: `onnxruntime-web ${ort.env.versions?.web ?? ort.env.versions?.common ?? ''} ${ep}`,
    threads,
    createSession: async (bytes, s: SessionOptions = {}) => {
      settle();
      const options: Record<string, unknown> = { executionProviders: [ep], graphOptimizationLevel: s.optimization ?? 'all' };
      if (s.memArena !== undefined) options.enableCpuMemArena = s.memArena;
      if (s.memPattern !== undefined) options.enableMemPattern = s.memPattern;
      return ort.InferenceSession.create(bytes, options);
    },
    tensor: (type, data, dims) => new ort.Tensor(type, data, dims),
    capabilities: async () => ({}),
  };
}
