/**
 * BatchNorm folded into the convolution before it (eval mode), so that the graph a quantizer and ORT's
 * int8 kernels see is conv → activation: w' = w·γ/√(var+eps), b' = β + (b − mean)·γ/√(var+eps).
 * Computed in float64 and rounded once to float32, so the folded graph is as close to the unfolded one
 * as float32 allows.
 */
import type { Graph, Node } from '../graph/ir.js';
import { floatAttr } from '../graph/ir.js';
import { addInitializer } from '../graph/edit.js';
import { pruneDeadNodes } from '../graph/simplify.js';
import { Tensor } from '../tensor.js';

export interface BatchNormParams {
  gamma: Tensor;
  beta: Tensor;
  mean: Tensor;
  variance: Tensor;
  eps: number;
}

/** A conv's weight [O, ...] and optional bias [O] with the BatchNorm after it folded in. */
export function foldConvBatchNorm(weight: Tensor, bias: Tensor | undefined, bn: BatchNormParams): { weight: Tensor; bias: Tensor } {
  const out = weight.shape[0]!;
  const per = weight.size / out;
  const w = weight.toFloat32();
  const b = bias?.toFloat32();
  const [gamma, beta, mean, variance] = [bn.gamma, bn.beta, bn.mean, bn.variance].map((t) => t.toFloat32()) as Float32Array[];
  const folded = new Float32Array(weight.size);
  const foldedBias = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    const k = gamma![o]! / Math.sqrt(variance![o]! + bn.eps);
    for (let j = o * per; j < (o + 1) * per; j++) folded[j] = w[j]! * k;
    foldedBias[o] = beta![o]! + ((b?.[o] ?? 0) - mean![o]!) * k;
  }
  return { weight: Tensor.float32(weight.shape, folded), bias: Tensor.float32([out], foldedBias) };
}

/**
 * Folds every inference-mode BatchNormalization whose input is a Conv with constant weights read by
 * nothing else. The conv takes over the BatchNorm's output name; the folded weights are new
 * initializers (`<weight>_bn_folded`), and the originals are dropped once nothing reads them.
 * Returns the number of BatchNorms folded.
 */
export function foldBatchNorms(graph: Graph): number {
  const producers = graph.producers();
  const consumers = graph.consumers();
  const outputs = new Set(graph.outputs.map((v) => v.name));
  const constant = (name: string | undefined) => (name ? graph.initializers.get(name) : undefined);
  const removed = new Set<Node>();
  for (const bn of graph.nodes) {
    if (bn.op !== 'BatchNormalization' || bn.outputs.length !== 1) continue;
    const [x, ...stats] = bn.inputs;
    const conv = producers.get(x!);
    const [gamma, beta, mean, variance] = stats.map(constant);
    if (!conv || conv.op !== 'Conv' || !gamma || !beta || !mean || !variance) continue;
    if (consumers.get(x!)?.length !== 1 || outputs.has(x!)) continue;
    const [input, w, b] = conv.inputs;
    const weight = constant(w);
    if (!weight || (b && !constant(b))) continue;
    const folded = foldConvBatchNorm(weight, constant(b), { gamma, beta, mean, variance, eps: floatAttr(bn.attrs, 'epsilon', 1e-5) });
    const biasName = `${b ?? w!.replace(/weight$/, 'bias')}_bn_folded`;
    conv.inputs = [input!, addInitializer(graph, `${w}_bn_folded`, folded.weight), addInitializer(graph, biasName, folded.bias)];
    conv.outputs = [bn.outputs[0]!];
    graph.values.delete(x!);
    removed.add(bn);
  }
  const kept = graph.nodes.filter((n) => !removed.has(n));
  graph.nodes.splice(0, graph.nodes.length, ...kept);
  pruneDeadNodes(graph);
  return removed.size;
}
