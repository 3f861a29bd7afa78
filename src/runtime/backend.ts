/**
 * The runtime seam of the engine, as ONNX Runtime itself draws it (onnxruntime-common owns
 * InferenceSession, Tensor and their types; onnxruntime-node and onnxruntime-web are backends): the
 * trainer, inference sessions and the web classifier create sessions from ONNX bytes, make tensors and
 * ask what the runtime can do through a Backend, and import no runtime. The bindings are
 * node-backend.ts (onnxruntime-node, Node only) and web-backend.ts (the onnxruntime-web module a page
 * passes in).
 */
import type { Graph } from '../graph/ir.js';
import { serializeModel } from '../onnx/serialize.js';

export type TensorType = 'float32' | 'int64';
export type RuntimeData = Float32Array | BigInt64Array;

/** A tensor as onnxruntime-common gives it. */
export interface RuntimeTensor {
  readonly type: string;
  readonly data: unknown;
  readonly dims: readonly number[];
}

export type Feeds = Record<string, RuntimeTensor>;

export interface RuntimeSession {
  run(feeds: Feeds): Promise<Record<string, RuntimeTensor>>;
  release(): Promise<void>;
}

/** Settings of one session; a binding applies those its runtime has. */
export interface SessionOptions {
  /** Graph optimization level (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Use the runtime's CPU memory arena (default true; false returns memory to the system between runs). */
  memArena?: boolean;
  /** Let idle intra-op threads spin waiting for work (ORT's default true; onnxruntime-node only). */
  spinning?: boolean;
  /** Memory pattern planning (default true). */
  memPattern?: boolean;
  /** Write an ORT profile (JSON) with this file prefix (onnxruntime-node only). */
  profilePrefix?: string;
}

/** What a backend can do beyond the standard ONNX operators. */
export interface BackendCapabilities {
  /**
   * Channel block of ORT's NCHWc kernels (domain com.microsoft.nchwc: 8 with AVX2, 16 with AVX-512),
   * which the train step uses for depthwise convolutions; undefined where there are none (wasm).
   */
  nchwcBlock?: number;
}

export interface Backend {
  /** The runtime and where it runs, for reports ('onnxruntime-node 1.30.0 cpu', 'onnxruntime-web 1.30.0 wasm'). */
  readonly name: string;
  /** Intra-op threads of its sessions (undefined: the runtime's choice). */
  readonly threads?: number;
  createSession(model: Uint8Array, o?: SessionOptions): Promise<RuntimeSession>;
  tensor(type: TensorType, data: RuntimeData, dims: readonly number[]): RuntimeTensor;
  capabilities(): Promise<BackendCapabilities>;
}

/** A session of a graph (serialized here) or of ONNX bytes. */
export function compileSession(backend: Backend, model: Graph | Uint8Array, o: SessionOptions = {}): Promise<RuntimeSession> {
  return backend.createSession(model instanceof Uint8Array ? model : serializeModel(model), o);
}

/**
 * The part of an ONNX Runtime JavaScript module (onnxruntime-common's API) that the bindings use:
 * onnxruntime-node, onnxruntime-web and onnxruntime-react-native all have it.
 */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: object): Promise<RuntimeSession> };
  Tensor: new (type: TensorType, data: RuntimeData, dims: readonly number[]) => RuntimeTensor;
  env: { versions?: Record<string, string | undefined> };
}
