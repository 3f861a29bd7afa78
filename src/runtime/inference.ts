/**
 * Eval-mode inference: trace a network with its weights as constants so ORT can fold BatchNorm into
 * Conv. Besides the logits, a session gives the embedding (what the classifier takes: the pooled
 * features, as tfjs-models' `infer(img, true)` and timm's `num_classes=0`) and the feature maps (the
 * last output at each resolution, as timm's `features_only`, for detection / segmentation heads).
 */
import { GraphBuilder, type ModuleCall } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import { pruneDeadNodes } from '../graph/simplify.js';
import { type Module, classifierName } from '../nn/module.js';
import { type Backend, type RuntimeSession, type RuntimeTensor, type SessionOptions, compileSession } from './backend.js';

/** What the traced graph outputs: 'logits'; 'embedding' ([N, D]); 'features' (feature_0 … feature_k, [N, C, H, W]). */
export type InferenceOutputs = 'logits' | 'embedding' | 'features';

export interface TraceOptions {
  /** [C, H, W] of one input image. */
  inputSize: [number, number, number];
  /** A fixed batch size, or a symbolic one (default). */
  batch?: number | 'N';
  /** Default 'logits'. */
  outputs?: InferenceOutputs;
}

/** One feature map of a 'features' graph: which module gives it, and its shape for one image. */
export interface FeatureMapInfo {
  output: string;
  module: string;
  /** [C, H, W] */
  shape: number[];
  /** Input size / map size. */
  stride: number;
}

const isPooledToOne = (c: ModuleCall) => /Pool/.test(c.type) && c.output.shape.slice(2).every((d) => d === 1);

/**
 * The feature maps of a trace: among the module calls at depth 1 and 2 before the classifier, the last
 * 4-D output at each spatial size (a global pooling to 1x1 is not a feature map).
 */
function featureMapCalls(calls: ModuleCall[], classifier: string): ModuleCall[] {
  const trunk = calls.filter((c) => {
    const depth = c.path.split('.').length;
    return c.path !== '' && depth <= 2 && c.path !== classifier && !c.path.startsWith(`${classifier}.`) && c.output.shape.length === 4 && !isPooledToOne(c);
  });
  const lastAt = new Map<string, ModuleCall>();
  for (const c of trunk) {
    const key = c.output.shape.slice(2).join('x');
    // A container ending with its last child gives the same value: name the child, which completed first.
    if (lastAt.get(key)?.output.name !== c.output.name) lastAt.set(key, c);
  }
  // Order by resolution, largest first (the order the network produces them).
  return [...lastAt.values()].sort((a, b) => Number(b.output.shape[2]) - Number(a.output.shape[2]));
}

/** The eval-mode graph of a module: input 'input' [N, C, H, W] → 'logits', 'embedding' or feature maps. */
export function traceInference(model: Module, o: TraceOptions): Graph {
  return traceWithInfo(model, o).graph;
}

function traceWithInfo(model: Module, o: TraceOptions): { graph: Graph; features: FeatureMapInfo[] } {
  const wasTraining = [...model.modules()].map(([, m]) => m.training);
  model.eval();
  const calls: ModuleCall[] = [];
  try {
    const g = new GraphBuilder({ paramMode: 'constant', onModuleCall: (c) => calls.push(c) });
    const x = g.input('input', 'float32', [o.batch ?? 'N', ...o.inputSize]);
    const logits = model.call(g, x);
    const outputs = o.outputs ?? 'logits';
    const features: FeatureMapInfo[] = [];
    if (outputs === 'logits') g.output(logits, 'logits');
    else {
      const classifier = classifierName(model);
      const head = calls.find((c) => c.path === classifier);
      if (!head) throw new Error(`${model.typeName}: its classifier '${classifier}' was not called`);
      if (outputs === 'embedding') g.output(head.input.name, 'embedding');
      else {
        featureMapCalls(calls, classifier).forEach((c, i) => {
          const shape = c.output.shape.slice(1).map(Number);
          features.push({ output: `feature_${i}`, module: c.path, shape, stride: o.inputSize[1] / shape[1]! });
          g.output(c.output.name, `feature_${i}`);
        });
      }
      // The classifier (and whatever only it needs) is not part of these graphs.
      pruneDeadNodes(g.graph);
    }
    return { graph: g.graph, features };
  } finally {
    [...model.modules()].forEach(([, m], i) => (m.training = wasTraining[i]!));
  }
}

export interface InferenceSessionOptions extends Omit<TraceOptions, 'outputs'>, SessionOptions {
  /** The runtime (src/runtime/backend.ts): nodeBackend() in Node, webBackend(ort) in a browser. */
  backend: Backend;
}

export class InferenceSession {
  private embedding?: Promise<RuntimeSession>;
  private features?: Promise<{ session: RuntimeSession; maps: FeatureMapInfo[] }>;

  private constructor(
    readonly session: RuntimeSession,
    readonly inputSize: [number, number, number],
    readonly numOutputs: number,
    private readonly model: Module,
    private readonly options: InferenceSessionOptions,
  ) {}

  /** Compile a module's current weights into a session of the backend. */
  static async create(model: Module, o: InferenceSessionOptions): Promise<InferenceSession> {
    const graph = traceInference(model, o);
    const out = graph.outputs[0]!.shape;
    const session = await compileSession(o.backend, graph, o);
    return new InferenceSession(session, o.inputSize, Number(out[out.length - 1]), model, o);
  }

  private input(images: Float32Array, batch?: number): RuntimeTensor {
    const per = this.inputSize[0] * this.inputSize[1] * this.inputSize[2];
    const n = batch ?? images.length / per;
    if (!Number.isInteger(n) || n * per !== images.length) {
      throw new Error(`inference: got ${images.length} values, expected a multiple of ${per} (${this.inputSize.join('x')} per image)`);
    }
    return this.options.backend.tensor('float32', images, [n, ...this.inputSize]);
  }

  /** Logits for a batch of images, NCHW float32; returns [batch, numOutputs] row-major. */
  async run(images: Float32Array, batch?: number): Promise<Float32Array> {
    const result = await this.session.run({ input: this.input(images, batch) });
    return result.logits!.data as Float32Array;
  }

  /**
   * The embedding of each image: the classifier's input (pooled features), [batch, dim] row-major. Its
   * graph is compiled on first use, with the module's weights at that time.
   */
  async embed(images: Float32Array, batch?: number): Promise<{ dim: number; data: Float32Array }> {
    this.embedding ??= compileSession(this.options.backend, traceInference(this.model, { inputSize: this.inputSize, outputs: 'embedding' }), this.options);
    const out = (await (await this.embedding).run({ input: this.input(images, batch) })).embedding!;
    return { dim: Number(out.dims[1]), data: out.data as Float32Array };
  }

  /** Feature maps, largest resolution first (see featureMapCalls): module path, [batch, C, H, W] and data; compiled on first use like embed. */
  async featureMaps(images: Float32Array, batch?: number): Promise<(FeatureMapInfo & { dims: number[]; data: Float32Array })[]> {
    this.features ??= (async () => {
      const { graph, features } = traceWithInfo(this.model, { inputSize: this.inputSize, outputs: 'features' });
      return { session: await compileSession(this.options.backend, graph, this.options), maps: features };
    })();
    const { session, maps } = await this.features;
    const out = await session.run({ input: this.input(images, batch) });
    return maps.map((m) => ({ ...m, dims: [...out[m.output]!.dims].map(Number), data: out[m.output]!.data as Float32Array }));
  }

  async dispose(): Promise<void> {
    await this.session.release();
    if (this.embedding) await (await this.embedding).release();
    if (this.features) await (await this.features).session.release();
  }
}
