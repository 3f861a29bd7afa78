/**
 * Train-mode pieces with hand-written gradients: BatchNorm on batch statistics (with PyTorch's running
 * statistics update), dropout with a mask fed each step, and softmax cross-entropy.
 */
import { defineGradient } from '../autodiff/backward.js';
import type { BatchNormTrainArgs, GraphBuilder } from '../graph/builder.js';
import { attr } from '../graph/ir.js';
import { Tensor } from '../tensor.js';

const AXES = [0, 2, 3];

/** The batch size as a float scalar [1], read from a batch-shaped value at run time. */
export function batchSizeOf(g: GraphBuilder, v: string): string {
  const shape = g.op1('Shape', [v]);
  const n = g.op1('Slice', [shape, g.ints([0]), g.ints([1])]);
  return g.op1('Cast', [n], { to: attr.i(1) });
}

export function batchNormTrain(g: GraphBuilder, a: BatchNormTrainArgs): string {
  const [, c, h, w] = g.shape(a.x) as [string | number, number, number, number];
  const per = [1, c, 1, 1];
  // The forward statistics stay ReduceMean: the two other summation orders tried (ReduceSumSquare for
  // the variance, channelSum below for both) moved enough ReLU6/hardswish kinks to take
  // MobileNetV3-large's gradients past the fixture tolerance (3.5e-3 > 1e-3).
  const reduceMean = (v: string) => g.op1('ReduceMean', [v], { axes: attr.ints(AXES), keepdims: attr.i(1) });
  const reduceSum = (v: string) => channelSum(g, v);
  const mean = reduceMean(a.x);
  const xc = g.sub(a.x, mean);
  const variance = reduceMean(g.mul(xc, xc));
  const invstd = g.op1('Reciprocal', [g.op1('Sqrt', [g.add(variance, g.scalar(a.eps, 'eps'))])]);
  const k = g.mul(g.reshape(a.scale, per), invstd);
  const flat = (v: string) => g.reshape(v, [c]);
  const y = affine(g, xc, flat(k), a.bias);

  // Running statistics, PyTorch's way: momentum-weighted, with the unbiased variance.
  const count = g.mul(batchSizeOf(g, a.x), g.scalar(h * w, 'hw'));
  const unbias = g.div(count, g.sub(count, g.scalar(1, 'one')));
  const m = g.scalar(a.momentum, 'momentum');
  const keep = g.scalar(1 - a.momentum, 'keep');
  const unbiased = g.mul(flat(variance), unbias);
  g.batchStatistics.set(a.runningMean, flat(mean));
  g.batchStatistics.set(a.runningVar, unbiased);
  g.bufferUpdates.set(a.runningMean, g.add(g.mul(a.runningMean, keep), g.mul(flat(mean), m)));
  g.bufferUpdates.set(a.runningVar, g.add(g.mul(a.runningVar, keep), g.mul(unbiased, m)));
  g.bufferUpdates.set(a.numBatchesTracked, g.add(a.numBatchesTracked, g.constant(Tensor.int64([], [1]), 'one')));

  defineGradient(g, y, {
    inputs: [a.x, a.scale, a.bias],
    grad: (g, dy) => {
      const sumDy = reduceSum(dy);
      const sumDyXc = reduceSum(g.mul(dy, xc));
      const invstdC = flat(invstd);
      const dgamma = g.mul(sumDyXc, invstdC);
      // dx = k·(dy − mean(dy) − xc·invstd²·mean(dy·xc)) = dy·k + xc·a + b, with per-channel a and b.
      const invCount = g.op1('Reciprocal', [count]);
      const kC = flat(k);
      const coefA = g.mul(g.mul(g.mul(kC, g.mul(invstdC, invstdC)), sumDyXc), invCount);
      const coefB = g.mul(g.mul(kC, sumDy), invCount);
      const dx = g.sub(affine(g, dy, kC, g.op1('Neg', [coefB])), g.mul(xc, g.reshape(coefA, per)));
      return [dx, dgamma, sumDy];
    },
  });
  return y;
}

/**
 * Per-channel sums [C] of [N, C, H, W]. With a known batch: ones [1, N] times v as [N, C·H·W] (a GEMM),
 * then a sum over H·W. ShuffleNetV2 1.0x, batch 64, 2 threads (bench/profile.ts): the backward's
 * ReduceSum + MatMul + Reshape kernels 72-74 → 52-55 ms per step against ReduceSum over axes 0, 2, 3.
 */
function channelSum(g: GraphBuilder, v: string): string {
  const [n, c, h, w] = g.shape(v) as [string | number, number, number, number];
  if (typeof n !== 'number') return g.op1('ReduceSum', [v, g.ints(AXES, 'axes')], { keepdims: attr.i(0) });
  const ones = g.constant(Tensor.float32([1, n], new Float32Array(n).fill(1)), 'ones');
  const perPosition = g.op1('MatMul', [ones, g.reshape(v, [n, c * h * w])]);
  return g.op1('ReduceSum', [g.reshape(perPosition, [c, h * w]), g.ints([1], 'axes')], { keepdims: attr.i(0) });
}

/** With variance 1 − ε and epsilon ε, inference-mode BatchNormalization divides by exactly 1. */
const AFFINE_EPS = 2 ** -20;

/** x·scale + shift per channel ([C] vectors) in one pass: inference-mode BatchNormalization with mean 0, variance 1. */
function affine(g: GraphBuilder, x: string, scale: string, shift: string): string {
  const c = g.shape(scale)[0] as number;
  const zero = g.mul(shift, g.scalar(0, 'zero'));
  const one = g.constant(Tensor.float32([c], new Float32Array(c).fill(1 - AFFINE_EPS)), 'one');
  return g.op1('BatchNormalization', [x, scale, shift, zero, one], { epsilon: attr.f(AFFINE_EPS) });
}

/**
 * ReLU6 for training: the mask (0 < x < 6) is computed in the forward pass as booleans, so the
 * pre-activation need not stay alive until the backward pass (a quarter of its memory).
 */
export function relu6Train(g: GraphBuilder, x: string): string {
  const y = g.op1('Clip', [x, g.scalar(0, 'zero'), g.scalar(6, 'six')]);
  const mask = g.op1('Equal', [x, y]);
  defineGradient(g, y, { inputs: [x], grad: (g, dy) => [g.mul(dy, g.op1('Cast', [mask], { to: attr.i(1) }))] });
  return y;
}

/** A dropout mask input per dropout layer, drawn on the host each step (seeded), scaled by 1/(1-p). */
export interface DropoutMask {
  name: string;
  p: number;
  /** Features per sample (the mask is [N, features...]). */
  shape: (string | number)[];
}

export function dropoutWithMaskInput(g: GraphBuilder, masks: DropoutMask[]) {
  return (x: string, p: number): string => {
    const name = `dropout_mask_${masks.length}`;
    const shape = g.shape(x);
    masks.push({ name, p, shape });
    return g.mul(x, g.input(name, 'float32', shape));
  };
}

/**
 * Mean softmax cross-entropy against integer labels or, with `targets: 'distribution'`, against a
 * float [N, K] target distribution (what mixup and cutmix make), with optional label smoothing as
 * PyTorch's CrossEntropyLoss(label_smoothing=ε) applies it to either: targets (1−ε)·t + ε/K (timm's
 * smoothed one-hots mixed, the same numbers). Gradient (softmax·Σt − t)/N, which is (softmax − t)/N
 * for rows that sum to 1.
 */
export function crossEntropy(g: GraphBuilder, logits: string, labels: string, numClasses: number, smoothing = 0, targets: 'labels' | 'distribution' = 'labels'): string {
  const logp = g.op1('LogSoftmax', [logits], { axis: attr.i(1) });
  const given = targets === 'distribution'
    ? labels
    : g.op1('OneHot', [labels, g.ints([numClasses], 'depth'), g.constant(Tensor.float32([2], [0, 1]), 'onoff')], { axis: attr.i(-1) });
  const target = smoothing > 0 ? g.add(g.mul(given, g.scalar(1 - smoothing)), g.scalar(smoothing / numClasses)) : given;
  const perSample = g.op1('ReduceSum', [g.mul(target, logp), g.ints([1], 'axes')], { keepdims: attr.i(0) });
  const loss = g.op1('Neg', [g.op1('ReduceMean', [perSample], { axes: attr.ints([0]), keepdims: attr.i(0) })]);
  defineGradient(g, loss, {
    inputs: [logits],
    grad: (g, dloss) => {
      const scale = g.div(dloss, batchSizeOf(g, logits));
      const softmax = g.op1('Exp', [logp]);
      // One-hot rows (smoothed or not) sum to 1; a given distribution may not.
      const weighted = targets === 'distribution' ? g.mul(softmax, g.op1('ReduceSum', [target, g.ints([1], 'axes')], { keepdims: attr.i(1) })) : softmax;
      return [g.mul(g.sub(weighted, target), scale)];
    },
  });
  return loss;
}
