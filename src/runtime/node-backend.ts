/**
 * The Node binding of the engine's backend (src/runtime/backend.ts): onnxruntime-node's CPU execution
 * provider, whose sessions take their intra-op thread count, and its NCHWc kernels, probed once. The
 * only module that imports onnxruntime-node; Node callers that need ORT itself (export, quantize) take
 * `ort` and createSession from here.
 */
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import { serializeModel } from '../onnx/serialize.js';
import type { Backend, BackendCapabilities, SessionOptions } from './backend.js';

export interface NodeBackendOptions {
  /** Intra-op threads of every session (default: ORT's choice, all cores). */
  threads?: number;
}

/** A session's settings in onnxruntime-node, its thread count included. */
export interface NodeSessionOptions extends SessionOptions, NodeBackendOptions {
  /**
   * The folder of the model file the bytes came from: its external data files are looked up there (ORT
   * refuses any that resolve outside it); without it ORT looks in the working directory.
   */
  modelFolder?: string;
}

export function ortSessionOptions(o: NodeSessionOptions = {}): ort.InferenceSession.SessionOptions {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: o.optimization ?? 'all',
    interOpNumThreads: 1,
    executionMode: 'sequential',
  };
  if (o.memArena !== undefined) options.enableCpuMemArena = o.memArena;
  if (o.memPattern !== undefined) options.enableMemPattern = o.memPattern;
  const session: Record<string, unknown> = {};
  if (o.spinning !== undefined) session.intra_op = { allow_spinning: o.spinning ? '1' : '0' };
  if (o.modelFolder !== undefined) session.model_external_initializers_file_folder_path = o.modelFolder;
  if (Object.keys(session).length > 0) options.extra = { session };
  // ORT rejects keys that are present but undefined.
  if (o.threads !== undefined) options.intraOpNumThreads = o.threads;
  if (o.profilePrefix !== undefined) Object.assign(options, { enableProfiling: true, profileFilePrefix: o.profilePrefix });
  return options;
}

/** An onnxruntime-node session of a graph or of ONNX bytes. */
export async function createSession(model: Graph | Uint8Array, o: NodeSessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : serializeModel(model);
  return ort.InferenceSession.create(bytes, ortSessionOptions(o));
}

/** The engine's backend on onnxruntime-node. */
export function nodeBackend(o: NodeBackendOptions = {}): Backend {
  return {
    name: `onnxruntime-node ${ort.env.versions.node ?? ort.env.versions.common} cpu`,
    threads: o.threads,
    createSession: (bytes, s = {}) => createSession(bytes, { ...s, threads: o.threads }),
    tensor: (type, data, dims) => new ort.Tensor(type, data, dims),
    capabilities: async (): Promise<BackendCapabilities> => ({ nchwcBlock: await nchwcBlockSize() }),
  };
}

let cached: Promise<number | undefined> | undefined;

/**
 * The channel block of ORT's NCHWc kernels on this machine (about twice as fast as its NCHW kernels
 * for depthwise convolutions; 8 with AVX2, 16 with AVX-512), or undefined where there are none or
 * MOBILEZOO_NCHWC=0 turns them off. Asked of ORT once.
 */
export function nchwcBlockSize(): Promise<number | undefined> {
  if (process.env.MOBILEZOO_NCHWC === '0') return Promise.resolve(undefined);
  cached ??= probe();
  return cached;
}

/** ReorderInput pads the channels (a multiple of 4) to a whole block: 4 channels in, one block out. */
async function probe(): Promise<number | undefined> {
  try {
    const g = new GraphBuilder({ nchwcBlock: 4 });
    const x = g.input('x', 'float32', [1, 4, 1, 1]);
    const y = g.op1('nchwc.ReorderInput', [x]);
    // The block is what we are asking, so the output's channel count is left open.
    g.info(y).shape[1] = 'block';
    g.output(y, 'y');
    const session = await createSession(g.graph, { threads: 1, optimization: 'disabled' });
    try {
      const { y } = await session.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
      const block = y!.dims[1]!;
      return block > 4 ? block : undefined;
    } finally {
      await session.release();
    }
  } catch {
    return undefined;
  }
}

export { ort };
