/**
 * Training on ONNX Runtime: one compiled train-step graph; parameters, buffers and optimizer state live
 * on the host between steps and are fed in / read back each step (no per-step recompilation).
 */
import type ort from 'onnxruntime-node';
import { Rng } from '../nn/init.js';
import type { Network } from '../models/network.js';
import type { Module } from '../nn/module.js';
import { nchwcBlockSize } from '../runtime/nchwc.js';
import { type SessionOptions, createSession, ort as ortModule } from '../runtime/session.js';
import { crossEntropyMean } from '../report/metrics.js';
import { InferenceSession } from '../runtime/inference.js';
import { type StateDict, Tensor } from '../tensor.js';
import { type OptimizerSpec, STEP_INPUTS, optimizerSlots, stepScalars } from './optimizers.js';
import { type ScheduleSpec, learningRate } from './schedules.js';
import { isFrozenTensor } from './freeze.js';
import { type BatchStatisticsGraph, type StepGraph, buildBatchStatisticsGraph, buildStepGraph } from './step-graph.js';

export interface TrainerOptions extends SessionOptions {
  optimizer: OptimizerSpec;
  lr: number;
  schedule?: ScheduleSpec;
  epochs?: number;
  warmupEpochs?: number;
  stepsPerEpoch?: number;
  labelSmoothing?: number;
  /** Seed of the dropout masks. */
  seed?: number;
  /** The schedule's position in (fractional) epochs for the next step; default: steps done / stepsPerEpoch. */
  schedulePosition?: () => number;
  /** Keep an exponential moving average of the weights with this decay (e.g. 0.9999), warmed up as emaDecayAt. */
  emaDecay?: number;
  inputSize?: [number, number, number];
  /** Module paths that do not train (src/train/freeze.ts); setFrozen changes them between steps. */
  frozen?: ReadonlySet<string>;
  /** Learning-rate factor per parameter (default 1). */
  lrMultiplier?: (param: string) => number;
  /** Steps take class probabilities (`targets`, e.g. from mixBatch) instead of labels for the loss. */
  softTargets?: boolean;
}

/**
 * The EMA decay for the update after `updates` earlier ones: min(decay, (1 + updates) / (10 + updates)),
 * TensorFlow's ExponentialMovingAverage with num_updates. Without the warm-up, a decay of 0.9995 still
 * holds 39% of the random initial weights after 2000 steps, whose outputs do not match the trained
 * BatchNorm statistics (measured: 10% Fashion-MNIST test accuracy after two epochs).
 */
export function emaDecayAt(decay: number, updates: number): number {
  return Math.min(decay, (1 + updates) / (10 + updates));
}

export interface StepResult {
  loss: number;
  logits?: Float32Array;
}

type Labels = Int32Array | BigInt64Array | number[];

interface Compiled {
  graph: StepGraph;
  session: ort.InferenceSession;
}

function toInt64(labels: Labels): BigInt64Array {
  return labels instanceof BigInt64Array ? labels : BigInt64Array.from(Array.from(labels, (v) => BigInt(v)));
}

function fromOrt(v: ort.Tensor): Tensor {
  return new Tensor(v.type === 'int64' ? 'int64' : 'float32', v.dims as number[], v.data as Float32Array | BigInt64Array);
}

function ortTensor(t: Tensor): ort.Tensor {
  return new ortModule.Tensor(t.dtype === 'int64' ? 'int64' : 'float32', t.data as Float32Array | BigInt64Array, [...t.shape]);
}

export class Trainer {
  /** Optimizer steps taken (PyTorch's optimizer `step` count). */
  step = 0;
  private readonly rng: Rng;
  private rngDraws = 0;
  /** Compiled step graphs by batch size: a known batch lets depthwise weight gradients skip transposes. */
  private readonly steps = new Map<number, Compiled>();
  private readonly gradSteps = new Map<number, Compiled>();
  private evalSession?: { session: InferenceSession; version: number };
  private version = 0;
  private readonly state = new Map<string, Tensor>();
  private ema?: Map<string, Float32Array>;
  /** BatchNorm statistics measured for the EMA weights, valid while `version` is unchanged. */
  private emaBuffers?: { version: number; values: Map<string, Tensor> };
  private statsSession?: { graph: BatchStatisticsGraph; session: ort.InferenceSession };
  private frozenModules: ReadonlySet<string>;

  private constructor(
    readonly model: Network,
    readonly options: TrainerOptions,
  ) {
    this.rng = new Rng(options.seed ?? 0);
    this.frozenModules = options.frozen ?? new Set();
    this.addSlots();
    if (options.emaDecay) this.ema = new Map(model.namedParameters().map(([n, t]) => [n, t.toFloat32().slice()]));
  }

  /** Zero optimizer slots for every trainable parameter that has none (PyTorch's lazily created state). */
  private addSlots(): void {
    for (const [name, t] of this.model.namedParameters()) {
      if (isFrozenTensor(name, this.frozenModules)) continue;
      for (const slot of optimizerSlots(this.options.optimizer)) {
        const key = `${slot}/${name}`;
        if (!this.state.has(key)) this.state.set(key, Tensor.float32(t.shape));
      }
    }
  }

  /** The frozen module paths now. */
  get frozen(): ReadonlySet<string> {
    return this.frozenModules;
  }

  /**
   * Freezes (or unfreezes) layers from the next step on: the step graphs are rebuilt; newly trainable
   * parameters start with zero optimizer state, newly frozen ones drop theirs.
   */
  async setFrozen(frozen: ReadonlySet<string>): Promise<void> {
    if (frozen.size === this.frozenModules.size && [...frozen].every((m) => this.frozenModules.has(m))) return;
    this.frozenModules = new Set(frozen);
    for (const key of [...this.state.keys()]) if (isFrozenTensor(key.slice(key.indexOf('/') + 1), this.frozenModules)) this.state.delete(key);
    this.addSlots();
    for (const c of [...this.steps.values(), ...this.gradSteps.values()]) await c.session.release();
    this.steps.clear();
    this.gradSteps.clear();
    await this.statsSession?.session.release();
    this.statsSession = undefined;
  }

  /** A trainer; with `batchSize` its train step is compiled now rather than at the first step. */
  static async create(model: Network, options: TrainerOptions & { batchSize?: number }): Promise<Trainer> {
    const t = new Trainer(model, options);
    if (options.batchSize) await t.compiled(t.steps, options.batchSize, true);
    return t;
  }

  private async compiled(cache: Map<number, Compiled>, batch: number, withOptimizer: boolean): Promise<Compiled> {
    let c = cache.get(batch);
    if (!c) {
      const graph = buildStepGraph(this.model, {
        inputSize: this.inputSize, numClasses: this.model.numClasses, labelSmoothing: this.options.labelSmoothing,
        optimizer: withOptimizer ? this.options.optimizer : undefined, batch, nchwcBlock: await nchwcBlockSize(),
        frozen: this.frozenModules, lrMultiplier: this.options.lrMultiplier, softTargets: this.options.softTargets,
      });
      // Without memory patterns ORT's arena grows with the tensors alive at once instead of one
      // block per run rounded up to a power of two: half the peak memory at batch 128, a few % slower.
      c = { graph, session: await createSession(graph.graph, { memPattern: false, ...this.options }) };
      // Keep at most two: the full batch and an epoch's last, smaller one.
      if (cache.size >= 2) {
        const [oldest, old] = cache.entries().next().value!;
        cache.delete(oldest);
        await old.session.release();
      }
      cache.set(batch, c);
    }
    return c;
  }

  get inputSize(): [number, number, number] {
    return this.options.inputSize ?? this.model.inputSize;
  }

  /** The learning rate the next step will use. */
  currentLr(): number {
    const perEpoch = this.options.stepsPerEpoch ?? 1;
    return learningRate(this.options.schedule ?? { type: 'constant' }, {
      baseLr: this.options.lr, epochs: this.options.epochs ?? 1, warmupEpochs: this.options.warmupEpochs,
    }, this.options.schedulePosition ? this.options.schedulePosition() : this.step / perEpoch);
  }

  private feeds(images: Float32Array, labels: Labels, g: StepGraph, targets?: Float32Array): Record<string, ort.Tensor> {
    const n = labels.length;
    const per = this.inputSize.reduce((a, b) => a * b, 1);
    if (images.length !== n * per) {
      throw new Error(`trainer: ${images.length} image values for ${n} labels; expected ${n} x ${this.inputSize.join('x')}`);
    }
    const feeds: Record<string, ort.Tensor> = { input: new ortModule.Tensor('float32', images, [n, ...this.inputSize]) };
    if (this.options.softTargets) {
      const k = this.model.numClasses;
      if (targets?.length !== n * k) throw new Error(`trainer: softTargets needs targets of ${n} x ${k} class probabilities, got ${targets ? targets.length : 'none'}`);
      feeds.targets = new ortModule.Tensor('float32', targets, [n, k]);
    } else feeds.labels = new ortModule.Tensor('int64', toInt64(labels), [n]);
    const sd = this.model.stateDict();
    for (const name of [...g.params, ...g.buffers]) feeds[name] = ortTensor(sd.get(name)!);
    for (const m of g.masks) feeds[m.name] = this.dropoutMask(n, m.shape.slice(1) as number[], m.p);
    return feeds;
  }

  private dropoutMask(n: number, featureShape: number[], p: number): ort.Tensor {
    const size = n * featureShape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(size);
    const keep = 1 / (1 - p);
    for (let i = 0; i < size; i++) d[i] = this.rng.uniform() < p ? 0 : keep;
    this.rngDraws += size;
    return new ortModule.Tensor('float32', d, [n, ...featureShape]);
  }

  /**
   * One optimizer step on a batch (NCHW float32 images, integer labels; with the softTargets option the
   * loss takes `targets`, n x numClasses class probabilities, and the labels only size the batch).
   */
  async trainStep(images: Float32Array, labels: Labels, o: { logits?: boolean; targets?: Float32Array } = {}): Promise<StepResult> {
    const { graph: g, session } = await this.compiled(this.steps, labels.length, true);
    const feeds = this.feeds(images, labels, g, o.targets);
    for (const s of g.slots) feeds[s.name] = ortTensor(this.state.get(s.name)!);
    const scalars = stepScalars(this.options.optimizer, this.currentLr(), this.step + 1);
    for (const k of STEP_INPUTS) feeds[k] = new ortModule.Tensor('float32', Float32Array.of(scalars[k]), []);
    const out = await session.run(feeds);
    this.step++;
    this.version++;
    this.writeBack(out, g);
    return { loss: (out.loss!.data as Float32Array)[0]!, logits: o.logits ? (out.logits!.data as Float32Array) : undefined };
  }

  private writeBack(out: ort.InferenceSession.ReturnType, g: StepGraph): void {
    const params = new Map<string, Tensor>();
    for (const [key, outName] of g.outputs.newValues) {
      const v = out[outName]!;
      const t = fromOrt(v);
      if (this.state.has(key)) this.state.set(key, t);
      else params.set(key, t);
    }
    setTensors(this.model, params);
    if (this.ema) {
      const decay = emaDecayAt(this.options.emaDecay!, this.step - 1);
      for (const [n, t] of this.model.namedParameters()) {
        const e = this.ema.get(n)!;
        const d = t.data as Float32Array;
        for (let i = 0; i < e.length; i++) e[i] = decay * e[i]! + (1 - decay) * d[i]!;
      }
    }
  }

  /** Loss, train-mode logits and d loss / d every parameter for a batch; nothing is updated. */
  async lossAndGradients(images: Float32Array, labels: Labels, targets?: Float32Array): Promise<{ loss: number; logits: Float32Array; grads: Map<string, Float32Array>; buffersAfter: Map<string, Tensor> }> {
    const { graph, session } = await this.compiled(this.gradSteps, labels.length, false);
    const out = await session.run(this.feeds(images, labels, graph, targets));
    const grads = new Map<string, Float32Array>();
    for (const [p, name] of graph.outputs.grads) grads.set(p, out[name]!.data as Float32Array);
    const buffersAfter = new Map<string, Tensor>();
    for (const [b, name] of graph.outputs.newValues) {
      const v = out[name]!;
      buffersAfter.set(b, fromOrt(v));
    }
    return { loss: (out.loss!.data as Float32Array)[0]!, logits: out.logits!.data as Float32Array, grads, buffersAfter };
  }

  /** Eval-mode logits with the current weights (a folded inference session, rebuilt after training steps). */
  async predict(images: Float32Array): Promise<Float32Array> {
    if (!this.evalSession || this.evalSession.version !== this.version) {
      await this.evalSession?.session.dispose();
      this.evalSession = { session: await InferenceSession.create(this.model, { inputSize: this.inputSize, threads: this.options.threads }), version: this.version };
    }
    return this.evalSession.session.run(images);
  }

  /** Eval-mode loss (mean cross-entropy) and logits for a batch. */
  async evaluate(images: Float32Array, labels: Labels): Promise<{ loss: number; logits: Float32Array }> {
    const logits = await this.predict(images);
    return { loss: crossEntropyMean(logits, labels, this.model.numClasses), logits };
  }

  /**
   * EMA weights as a state dict, when emaDecay is set: parameters averaged; BatchNorm statistics as
   * measured by measureEmaBatchNorm since the last step, else as trained (which fit the raw weights,
   * not their average).
   */
  emaStateDict(): StateDict | undefined {
    if (!this.ema) return undefined;
    const sd = this.model.stateDict();
    for (const [n, e] of this.ema) sd.set(n, Tensor.float32(sd.get(n)!.shape, e.slice()));
    if (this.emaBuffers?.version === this.version) for (const [n, t] of this.emaBuffers.values) sd.set(n, t.clone());
    return sd;
  }

  /**
   * Measures the BatchNorm running statistics of the EMA weights on these batches, as PyTorch's
   * torch.optim.swa_utils.update_bn does: the equally weighted average of each batch's mean and
   * unbiased variance, num_batches_tracked = the number of batches. Returns the number of batches.
   */
  async measureEmaBatchNorm(batches: AsyncIterable<Float32Array> | Iterable<Float32Array>): Promise<number> {
    const ema = this.emaStateDict();
    if (!ema) throw new Error('measureEmaBatchNorm: the trainer keeps no EMA (emaDecay is not set)');
    if (!this.statsSession) {
      const graph = buildBatchStatisticsGraph(this.model, { inputSize: this.inputSize, frozen: this.frozenModules });
      this.statsSession = { graph, session: await createSession(graph.graph, { memPattern: false, ...this.options }) };
    }
    const { graph, session } = this.statsSession;
    const sums = new Map<string, Float64Array>();
    const per = this.inputSize.reduce((a, b) => a * b, 1);
    let count = 0;
    for await (const images of batches) {
      const feeds: Record<string, ort.Tensor> = { input: new ortModule.Tensor('float32', images, [images.length / per, ...this.inputSize]) };
      for (const name of [...graph.params, ...graph.buffers]) feeds[name] = ortTensor(ema.get(name)!);
      const out = await session.run(feeds);
      for (const [buffer, name] of graph.statistics) {
        const v = out[name]!.data as Float32Array;
        let s = sums.get(buffer);
        if (!s) sums.set(buffer, (s = new Float64Array(v.length)));
        for (let i = 0; i < v.length; i++) s[i] += v[i]!;
      }
      count++;
    }
    if (count === 0) throw new Error('measureEmaBatchNorm: no batches');
    const values = new Map<string, Tensor>();
    for (const [buffer, s] of sums) values.set(buffer, Tensor.float32([s.length], Float32Array.from(s, (v) => v / count)));
    for (const [name, t] of ema) {
      if (name.endsWith('num_batches_tracked') && values.has(name.replace(/num_batches_tracked$/, 'running_mean'))) values.set(name, Tensor.int64(t.shape, [count]));
    }
    this.emaBuffers = { version: this.version, values };
    return count;
  }

  /** Everything needed to resume exactly: optimizer slots (`optimizer.<slot>/<param>`), step, RNG position. */
  optimizerStateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const [k, t] of this.state) sd.set(`optimizer.${k}`, t);
    if (this.ema) for (const [n, e] of this.ema) sd.set(`ema.${n}`, Tensor.float32(this.model.stateDict().get(n)!.shape, e));
    sd.set('optimizer.step', Tensor.int64([], [this.step]));
    sd.set('optimizer.rng_draws', Tensor.int64([], [this.rngDraws]));
    return sd;
  }

  loadOptimizerStateDict(sd: StateDict): void {
    for (const [k, t] of sd) {
      if (k.startsWith('optimizer.') && this.state.has(k.slice(10))) this.state.set(k.slice(10), t.clone());
      if (k.startsWith('ema.') && this.ema) this.ema.set(k.slice(4), t.toFloat32().slice());
    }
    const step = sd.get('optimizer.step');
    if (step) this.step = Number(step.data[0]);
    const draws = Number(sd.get('optimizer.rng_draws')?.data[0] ?? 0);
    this.rng.reset(this.options.seed ?? 0);
    this.rng.skip(draws);
    this.rngDraws = draws;
    this.version++;
  }

  async dispose(): Promise<void> {
    for (const c of [...this.steps.values(), ...this.gradSteps.values()]) await c.session.release();
    await this.statsSession?.session.release();
    this.statsSession = undefined;
    this.steps.clear();
    this.gradSteps.clear();
    await this.evalSession?.session.dispose();
  }
}

/** Replace tensors in a module tree by full name, without the checks of loadStateDict. */
function setTensors(model: Module, values: Map<string, Tensor>): void {
  for (const [path, m] of model.modules()) {
    const prefix = path ? `${path}.` : '';
    for (const n of m.parameters.keys()) {
      const v = values.get(prefix + n);
      if (v) m.parameters.set(n, v);
    }
    for (const n of m.buffers.keys()) {
      const v = values.get(prefix + n);
      if (v) m.buffers.set(n, v);
    }
  }
}
