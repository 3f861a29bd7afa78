/** Eval-mode inference: trace a network with its weights as constants so ORT can fold BatchNorm into Conv. */
import type ort from 'onnxruntime-node';
import { GraphBuilder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import type { Module } from '../nn/module.js';
import { type SessionOptions, createSession, ort as ortModule } from './session.js';

export interface TraceOptions {
  /** [C, H, W] of one input image. */
  inputSize: [number, number, number];
  /** A fixed batch size, or a symbolic one (default). */
  batch?: number | 'N';
}

/** The eval-mode graph of a module: input 'input' [N, C, H, W] → output 'logits'. */
export function traceInference(model: Module, o: TraceOptions): Graph {
  const wasTraining = [...model.modules()].map(([, m]) => m.training);
  model.eval();
  try {
    const g = new GraphBuilder({ paramMode: 'constant' });
    const x = g.input('input', 'float32', [o.batch ?? 'N', ...o.inputSize]);
    g.output(model.call(g, x), 'logits');
    return g.graph;
  } finally {
    [...model.modules()].forEach(([, m], i) => (m.training = wasTraining[i]!));
  }
}

export class InferenceSession {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly inputSize: [number, number, number],
    readonly numOutputs: number,
  ) {}

  /** Compile a module's current weights into an ORT session. */
  static async create(model: Module, o: TraceOptions & SessionOptions): Promise<InferenceSession> {
    const graph = traceInference(model, o);
    const out = graph.outputs[0]!.shape;
    const session = await createSession(graph, o);
    return new InferenceSession(session, o.inputSize, Number(out[out.length - 1]));
  }

  /** Logits for a batch of images, NCHW float32; returns [batch, numOutputs] row-major. */
  async run(images: Float32Array, batch?: number): Promise<Float32Array> {
    const per = this.inputSize[0] * this.inputSize[1] * this.inputSize[2];
    const n = batch ?? images.length / per;
    if (!Number.isInteger(n) || n * per !== images.length) {
      throw new Error(`inference: got ${images.length} values, expected a multiple of ${per} (${this.inputSize.join('x')} per image)`);
    }
    const input = new ortModule.Tensor('float32', images, [n, ...this.inputSize]);
    const result = await this.session.run({ input });
    return result.logits!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
