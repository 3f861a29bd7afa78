/** ONNX Runtime sessions (onnxruntime-node) for compiled graphs. */
import ort from 'onnxruntime-node';
import type { Graph } from '../graph/ir.js';
import { serializeModel } from '../onnx/serialize.js';

export interface SessionOptions {
  /** Intra-op threads (default: ORT's choice, all cores). */
  threads?: number;
  /** ORT graph optimization level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Use ORT's CPU memory arena (default true; false returns memory to the system between runs). */
  memArena?: boolean;
  /** Let idle intra-op threads spin waiting for work (ORT's default true). */
  spinning?: boolean;
  /** ORT's memory pattern planning (default true). */
  memPattern?: boolean;
  /** Write an ORT profile (JSON) with this file prefix. */
  profilePrefix?: string;
  /**
   * The folder of the model file the bytes came from: its external data files are looked up there (ORT
   * refuses any that resolve outside it); without it ORT looks in the working directory.
   */
  modelFolder?: string;
}

export function ortSessionOptions(o: SessionOptions = {}): ort.InferenceSession.SessionOptions {
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

export async function createSession(model: Graph | Uint8Array, o: SessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : serializeModel(model);
  return ort.InferenceSession.create(bytes, ortSessionOptions(o));
}

export { ort };
