/** ONNX Runtime sessions (onnxruntime-node) for compiled graphs. */
import ort from 'onnxruntime-node';
import type { Graph } from '../graph/ir.js';
import { serializeModel } from '../onnx/serialize.js';

export interface SessionOptions {
  /** Intra-op threads (default: ORT's choice, all cores). */
  threads?: number;
  /** ORT graph optimization level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Write an ORT profile (JSON) with this file prefix. */
  profilePrefix?: string;
}

export function ortSessionOptions(o: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: o.optimization ?? 'all',
    intraOpNumThreads: o.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableProfiling: o.profilePrefix !== undefined,
    profileFilePrefix: o.profilePrefix,
  };
}

export async function createSession(model: Graph | Uint8Array, o: SessionOptions = {}): Promise<ort.InferenceSession> {
  const bytes = model instanceof Uint8Array ? model : serializeModel(model);
  return ort.InferenceSession.create(bytes, ortSessionOptions(o));
}

export { ort };
