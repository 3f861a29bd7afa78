/**
 * The train step as one graph: train-mode forward, loss, backward, optimizer update. Parameters,
 * buffers and optimizer slots are graph inputs; their new values are graph outputs, fed back next step.
 */
import { backward } from '../autodiff/backward.js';
import { elideOutputIdentities, pruneDeadNodes } from '../graph/simplify.js';
import { GraphBuilder } from '../graph/builder.js';
import type { Graph } from '../graph/ir.js';
import { depthwiseConvNchwc } from '../graph/nchwc.js';
import { BatchNorm2d } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { frozenTensors, inTrainingMode } from './freeze.js';
import { type DropoutMask, batchNormTrain, crossEntropy, dropoutWithMaskInput, relu6Train } from './composites.js';
import { type OptimizerSpec, STEP_INPUTS, emitUpdate, optimizerSlots } from './optimizers.js';

export interface StepGraphOptions {
  inputSize: [number, number, number];
  numClasses: number;
  labelSmoothing?: number;
  /** Omit to build a graph that computes loss and gradients without updating anything. */
  optimizer?: OptimizerSpec;
  /** Batch size: fixed, or symbolic (default) so the last smaller batch of an epoch runs too. */
  batch?: number | 'N';
  /** Channel block of ORT's NCHWc kernels on this machine (src/runtime/nchwc.ts): depthwise convs use them. */
  nchwcBlock?: number;
  /** Module paths that do not train (src/train/freeze.ts): inference mode, tensors as constants, no update. */
  frozen?: ReadonlySet<string>;
  /** Learning-rate factor per parameter (default 1), e.g. a smaller rate for a pretrained backbone. */
  lrMultiplier?: (param: string) => number;
  /** The loss takes an input `targets` [N, numClasses] of class probabilities (mixup, cutmix) instead of `labels`. */
  softTargets?: boolean;
}

export interface StepGraph {
  graph: Graph;
  params: string[];
  buffers: string[];
  /** Graph input name of each slot: `${slot}/${param}`. */
  slots: { name: string; param: string; slot: string }[];
  masks: DropoutMask[];
  /** Output names: loss, logits; per-parameter gradients (no-optimizer graphs) or new values. */
  outputs: { loss: string; logits: string; grads: Map<string, string>; newValues: Map<string, string> };
  /** What the clean-ups of src/graph/simplify.ts removed: unused nodes, and Identity copies at outputs. */
  removed: { deadNodes: number; outputCopies: number };
}

/** Parameters that the papers' and megvii's recipes do not decay: BatchNorm affine parameters and biases. */
export function noDecayParams(model: Module): Set<string> {
  const out = new Set<string>();
  for (const [path, m] of model.modules()) {
    for (const n of m.parameters.keys()) {
      if (m instanceof BatchNorm2d || n === 'bias') out.add(path ? `${path}.${n}` : n);
    }
  }
  return out;
}

export function buildStepGraph(model: Module, o: StepGraphOptions): StepGraph {
  const frozen = o.frozen ?? new Set<string>();
  const g = new GraphBuilder({ paramMode: 'input', nchwcBlock: o.nchwcBlock, constants: frozenTensors(model, frozen) });
  const masks: DropoutMask[] = [];
  g.batchNormTrain = (a) => batchNormTrain(g, a);
  g.relu6Train = (x) => relu6Train(g, x);
  g.dropout = dropoutWithMaskInput(g, masks);
  if (o.nchwcBlock) g.depthwiseConvTrain = (x, w, attrs) => depthwiseConvNchwc(g, x, w, attrs);
  const batch = o.batch ?? 'N';
  const logits = inTrainingMode(model, frozen, () => model.call(g, g.input('input', 'float32', [batch, ...o.inputSize])));
  const loss = o.softTargets
    ? crossEntropy(g, logits, g.input('targets', 'float32', [batch, o.numClasses]), o.numClasses, o.labelSmoothing ?? 0, 'distribution')
    : crossEntropy(g, logits, g.input('labels', 'int64', [batch]), o.numClasses, o.labelSmoothing ?? 0);

  const isInput = (n: string) => g.params.has(n) && !g.graph.initializers.has(n);
  const paramNames = model.namedParameters().map(([n]) => n).filter(isInput);
  const bufferNames = model.namedBuffers().map(([n]) => n).filter(isInput);
  const grads = backward(g, loss, paramNames);

  g.output(loss, 'loss');
  g.output(logits, 'logits');
  const outGrads = new Map<string, string>();
  const newValues = new Map<string, string>();
  const slots: StepGraph['slots'] = [];

  if (!o.optimizer) {
    for (const p of paramNames) {
      const d = grads.get(p);
      if (d) outGrads.set(p, g.output(d, `grad/${p}`));
    }
  } else {
    const spec = o.optimizer;
    const scalars = Object.fromEntries(STEP_INPUTS.map((s) => [s, g.input(s, 'float32', [])])) as Record<(typeof STEP_INPUTS)[number], string>;
    const noDecay = spec.noDecayBnBias ? noDecayParams(model) : new Set<string>();
    const slotNames = optimizerSlots(spec);
    const scalarsByRank = new Map<number, typeof scalars>();
    const scaledLr = new Map<string, string>();
    for (const p of paramNames) {
      const d = grads.get(p);
      if (!d) continue;
      const slot = (s: string) => {
        const name = `${s}/${p}`;
        if (!g.graph.values.has(name)) {
          g.input(name, 'float32', g.shape(p));
          slots.push({ name, param: p, slot: s });
        }
        return name;
      };
      slotNames.forEach(slot);
      // Scalars enter the update with the parameter's rank: ORT's elementwise kernels broadcast a
      // rank-0 scalar over a shape ending in 1s (a 1x1 conv weight [O, I, 1, 1]) one element at a
      // time, 50x slower (28 ms a step at batch 32 before this).
      const rank = g.dims(p).length;
      if (!scalarsByRank.has(rank)) {
        const ones = new Array<number>(rank).fill(1);
        scalarsByRank.set(rank, Object.fromEntries(STEP_INPUTS.map((k) => [k, g.reshape(scalars[k], ones)])) as typeof scalars);
      }
      const rankScalars = scalarsByRank.get(rank)!;
      const mult = o.lrMultiplier?.(p) ?? 1;
      // One scaled learning rate per rank and factor, shared by the parameters that use it.
      const key = `${rank}:${mult}`;
      if (mult !== 1 && !scaledLr.has(key)) scaledLr.set(key, g.mul(rankScalars.lr, g.constant(Tensor.float32(g.dims(rankScalars.lr), [mult]), 'lr_mult')));
      const scalarsOfP = mult === 1 ? rankScalars : { ...rankScalars, lr: scaledLr.get(key)! };
      const u = emitUpdate(g, spec, p, d, slot, noDecay.has(p) ? 0 : spec.weightDecay ?? 0, scalarsOfP);
      newValues.set(p, g.output(u.param, `new/${p}`));
      for (const [s, v] of u.slots) newValues.set(`${s}/${p}`, g.output(v, `new/${s}/${p}`));
    }
  }
  for (const b of bufferNames) {
    const v = g.bufferUpdates.get(b);
    if (v) newValues.set(b, g.output(v, `new/${b}`));
  }
  const removed = { deadNodes: pruneDeadNodes(g.graph), outputCopies: elideOutputIdentities(g.graph) };
  return { graph: g.graph, params: paramNames, buffers: bufferNames, slots, masks, outputs: { loss: 'loss', logits: 'logits', grads: outGrads, newValues }, removed };
}

export interface BatchStatisticsGraph {
  graph: Graph;
  params: string[];
  buffers: string[];
  /** Output name of each running-statistics buffer's batch value (mean, or unbiased variance). */
  statistics: Map<string, string>;
}

/**
 * A train-mode forward pass that outputs each BatchNorm's batch mean and unbiased variance (what
 * PyTorch's running statistics average), for measuring statistics of weights that were never trained
 * with them, such as an EMA of the weights. Dropout is left out: no BatchNorm follows it in these networks.
 */
export function buildBatchStatisticsGraph(model: Module, o: { inputSize: [number, number, number]; batch?: number | 'N'; frozen?: ReadonlySet<string> }): BatchStatisticsGraph {
  const frozen = o.frozen ?? new Set<string>();
  const g = new GraphBuilder({ paramMode: 'input', constants: frozenTensors(model, frozen) });
  g.batchNormTrain = (a) => batchNormTrain(g, a);
  inTrainingMode(model, frozen, () => model.call(g, g.input('input', 'float32', [o.batch ?? 'N', ...o.inputSize])));
  const statistics = new Map<string, string>();
  for (const [buffer, v] of g.batchStatistics) statistics.set(buffer, g.output(v, `batch/${buffer}`));
  pruneDeadNodes(g.graph);
  elideOutputIdentities(g.graph);
  const used = (n: string) => g.params.has(n) && !g.graph.initializers.has(n);
  return {
    graph: g.graph,
    params: model.namedParameters().map(([n]) => n).filter(used),
    buffers: model.namedBuffers().map(([n]) => n).filter(used),
    statistics,
  };
}
