/** Shared helpers for the quantization tests: small models, real-ish images, logits from ORT. */
import { DataLoader, openDataset, standardTransform, takeSubset } from '../../src/data/index.js';
import { createModel } from '../../src/models/registry.js';
import type { Network } from '../../src/models/network.js';
import { Tensor } from '../../src/tensor.js';
import { buildBatchStatisticsGraph } from '../../src/train/step-graph.js';
import { Trainer } from '../../src/train/trainer.js';
import { type NodeSessionOptions as SessionOptions, createSession, nodeBackend, ort } from '../../src/runtime/node-backend.js';
import type { Graph } from '../../src/graph/ir.js';
import { traceInference } from '../../src/runtime/inference.js';

export const SIZE = 32;
export const INPUT: [number, number, number] = [3, SIZE, SIZE];

/** One small configuration of every family, at 32x32 (CIFAR stem where the family has one that fits). */
export const SMALL_MODELS: { name: string; options: Record<string, unknown> }[] = [
  { name: 'mobilenet_v1', options: { widthMult: 0.25, stem: 'cifar', numClasses: 10 } },
  { name: 'mobilenet_v2', options: { widthMult: 0.25, stem: 'cifar', numClasses: 10 } },
  { name: 'mobilenet_v3_small', options: { stem: 'cifar', numClasses: 10 } },
  { name: 'shufflenet_v1', options: { groups: 3, size: '0.5x', stem: 'cifar', numClasses: 10 } },
  { name: 'shufflenet_v2_x0_5', options: { stem: 'cifar', numClasses: 10 } },
];

export interface Images {
  batches: Float32Array[];
  labels: Int32Array[];
  /** 'fashion-mnist' or, where it is not installed, 'synthetic'. */
  source: string;
}

/**
 * `count` images of a split in batches: Fashion-MNIST (padded to 32x32, gray replicated to 3
 * channels, normalized) where the system has it, else the synthetic dataset.
 */
export async function images(split: 'train' | 'test', count: number, batchSize = 32): Promise<Images> {
  let ds;
  try {
    ds = await openDataset('fashion-mnist', split, {});
  } catch {
    ds = await openDataset('synthetic', split, { size: SIZE, seed: 0, numClasses: 10 });
  }
  const loader = new DataLoader(takeSubset(ds, count), { batchSize, workers: 0, transform: standardTransform(ds, { train: false, size: SIZE, channels: 3 }) });
  const out: Images = { batches: [], labels: [], source: ds.name };
  for await (const b of loader.iterate(0)) {
    out.batches.push(b.images);
    out.labels.push(b.labels);
  }
  await loader.close();
  return out;
}

/**
 * The network with BatchNorm running statistics measured on `batches` (the average of each batch's
 * mean and unbiased variance, as PyTorch's update_bn), so that in eval mode every BatchNorm
 * normalizes its input as it does in training.
 */
export async function withDataStatistics(model: Network, batches: Float32Array[]): Promise<Network> {
  const g = buildBatchStatisticsGraph(model, { inputSize: INPUT });
  const session = await createSession(g.graph, {});
  const sd = model.stateDict();
  const sums = new Map<string, Float64Array>();
  for (const x of batches) {
    const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', x, [x.length / (3 * SIZE * SIZE), ...INPUT]) };
    for (const n of [...g.params, ...g.buffers]) {
      const t = sd.get(n)!;
      feeds[n] = new ort.Tensor(t.dtype === 'int64' ? 'int64' : 'float32', t.data as Float32Array | BigInt64Array, [...t.shape]);
    }
    const out = await session.run(feeds);
    for (const [buffer, v] of g.statistics) {
      const sum = sums.get(buffer) ?? new Float64Array(sd.get(buffer)!.size);
      (out[v]!.data as Float32Array).forEach((x, i) => (sum[i]! += x));
      sums.set(buffer, sum);
    }
  }
  await session.release();
  for (const [buffer, sum] of sums) sd.set(buffer, Tensor.float32(sd.get(buffer)!.shape, Float32Array.from(sum, (v) => v / batches.length)));
  model.loadStateDict(sd);
  return model;
}

/** Logits of a model (graph or ONNX bytes) for each batch, concatenated. */
export async function logits(model: Graph | Uint8Array, batches: Float32Array[], o: SessionOptions = {}): Promise<Float32Array> {
  const session = await createSession(model, { threads: 1, ...o });
  const parts: Float32Array[] = [];
  for (const x of batches) parts.push((await session.run({ input: new ort.Tensor('float32', x, [x.length / (3 * SIZE * SIZE), ...INPUT]) })).logits!.data as Float32Array);
  await session.release();
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  return all;
}

/** ‖a − b‖ / ‖b‖. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** Row-wise argmax of [n, k] logits. */
export function argmax(x: Float32Array, k: number): number[] {
  return Array.from({ length: x.length / k }, (_, r) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (x[r * k + j]! > x[r * k + best]!) best = j;
    return best;
  });
}

/**
 * The network with its last linear layer replaced by a nearest-class-mean classifier over its own
 * (fp32, randomly initialized) features of `train`: logit_k(x) = (μ_k − μ)·x − (|μ_k|² − |μ|²)/2 over
 * σ² (the features' mean variance), with μ_k the class means and μ their mean. A classifier fit to real
 * data in one pass, so that its logits separate the classes of real images, without the cost of
 * training; without a bias (ShuffleNetV1) only the projection is set.
 */
export async function withClassMeanHead(model: Network, train: Images): Promise<Network> {
  const graph = traceInference(model, { inputSize: INPUT });
  const head = graph.nodes.filter((n) => n.op === 'Gemm').at(-1)!;
  const [features, weight, bias] = head.inputs as [string, string, string | undefined];
  graph.outputs.push(graph.info(features));
  const session = await createSession(graph, { threads: 1 });
  const k = model.numClasses;
  const d = graph.info(features).shape[1] as number;
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  let sq = 0;
  let total = 0;
  for (const [b, x] of train.batches.entries()) {
    const f = (await session.run({ input: new ort.Tensor('float32', x, [x.length / (3 * SIZE * SIZE), ...INPUT]) }))[features]!.data as Float32Array;
    train.labels[b]!.forEach((label, r) => {
      counts[label]! += 1;
      for (let j = 0; j < d; j++) sums[label * d + j]! += f[r * d + j]!;
    });
    for (const v of f) sq += v * v;
    total += f.length;
  }
  await session.release();
  const means = Array.from({ length: k }, (_, c) => Float64Array.from({ length: d }, (_, j) => sums[c * d + j]! / Math.max(1, counts[c]!)));
  const mu = Float64Array.from({ length: d }, (_, j) => means.reduce((s, m) => s + m[j]!, 0) / k);
  const norm2 = (v: Float64Array) => v.reduce((s, x) => s + x * x, 0);
  const variance = sq / total - norm2(mu) / d;
  const sd = model.stateDict();
  sd.set(weight, Tensor.float32([k, d], Float32Array.from({ length: k * d }, (_, i) => (means[Math.floor(i / d)]![i % d]! - mu[i % d]!) / variance)));
  if (bias) sd.set(bias, Tensor.float32([k], means.map((m) => -(norm2(m) - norm2(mu)) / (2 * variance))));
  model.loadStateDict(sd);
  return model;
}

/**
 * A network trained briefly on `train` (SGD with Nesterov momentum, one step per batch), then given
 * BatchNorm statistics of its final weights on the first batches: after a few dozen steps the running
 * averages still remember the first steps' weights. Trained weights, unlike random ones, do not
 * amplify small perturbations layer after layer, which is what int8's agreement with fp32 rests on.
 */
export async function trainedModel(name: string, options: Record<string, unknown>, train: Images, steps = train.batches.length): Promise<Network> {
  const model = createModel(name, options);
  const trainer = await Trainer.create(model, { optimizer: { type: 'sgd', momentum: 0.9, nesterov: true }, lr: 0.05, backend: nodeBackend({ threads: 2 }), seed: 0 });
  for (let i = 0; i < steps; i++) await trainer.trainStep(train.batches[i % train.batches.length]!, train.labels[i % train.batches.length]!);
  await trainer.dispose();
  return withDataStatistics(model, train.batches.slice(0, 8));
}
