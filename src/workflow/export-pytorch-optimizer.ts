/**
 * Our optimizer state (Trainer.optimizerStateDict: `optimizer.<slot>/<param>`, `optimizer.step`) as
 * PyTorch's optimizer state dict for the same optimizer: `state` by parameter index (momentum buffers,
 * Adam moments with their step count) and `param_groups` with our groups (weight decay, none on
 * BatchNorm/bias when set; learning-rate factor of the backbone), PyTorch 1.13's hyper-parameter keys,
 * and each group's parameter names (`param_names`, as PyTorch 2.6's named state dicts), since the
 * indices are only meaningful for groups built in the same order.
 */
import type { Network } from '../models/network.js';
import { classifierName } from '../nn/module.js';
import { type PyValue, pyTuple } from '../io/torch-save.js';
import { isFrozenTensor } from '../train/freeze.js';
import type { OptimizerSpec } from '../train/optimizers.js';
import { noDecayParams } from '../train/step-graph.js';
import { type StateDict, Tensor } from '../tensor.js';

export interface ParamGroup {
  weightDecay: number;
  lrMult: number;
  names: string[];
}

const under = (name: string, prefix: string) => name === prefix || name.startsWith(`${prefix}.`);

/** The parameter groups train.py's param_groups builds: by (weight decay, learning-rate factor), in parameter order. */
export function paramGroups(model: Network, spec: OptimizerSpec, o: { frozen: ReadonlySet<string>; backboneLrMult: number }): ParamGroup[] {
  const noDecay = spec.noDecayBnBias ? noDecayParams(model) : new Set<string>();
  const head = classifierName(model);
  const groups = new Map<string, ParamGroup>();
  for (const [name] of model.namedParameters()) {
    if (isFrozenTensor(name, o.frozen)) continue;
    const weightDecay = noDecay.has(name) ? 0 : spec.weightDecay ?? 0;
    const lrMult = under(name, head) ? 1 : o.backboneLrMult;
    const key = `${weightDecay}/${lrMult}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { weightDecay, lrMult, names: [] }));
    g.names.push(name);
  }
  return [...groups.values()];
}

/** PyTorch 1.13's hyper-parameters of each optimizer (besides lr and weight_decay). */
function hyperParameters(spec: OptimizerSpec): Record<string, PyValue> {
  switch (spec.type) {
    case 'sgd':
      return { momentum: spec.momentum ?? 0, dampening: 0, nesterov: spec.nesterov ?? false, maximize: false, foreach: null, differentiable: false };
    case 'adam':
    case 'adamw': {
      const [b1, b2] = spec.betas ?? [0.9, 0.999];
      return {
        betas: pyTuple(b1, b2), eps: spec.eps ?? 1e-8, amsgrad: false, maximize: false, foreach: null, capturable: false,
        ...(spec.type === 'adam' ? { differentiable: false, fused: false } : {}),
      };
    }
    case 'rmsprop':
      return {
        momentum: spec.momentum ?? 0, alpha: spec.alpha ?? 0.99, eps: spec.eps ?? 1e-8, centered: false, foreach: null, maximize: false, differentiable: false,
        // Not a torch.optim.RMSprop setting: train.py's RMSpropTF puts eps inside the square root.
        ...(spec.tfEps ? { eps_inside_sqrt: true } : {}),
      };
  }
}

/**
 * PyTorch's optimizer state dict of our optimizer state `sd` at learning rate `lr` (the schedule's
 * value for the next step) with base rate `baseLr`.
 */
export function torchOptimizerStateDict(spec: OptimizerSpec, groups: ParamGroup[], sd: StateDict, o: { lr: number; baseLr: number }): PyValue {
  const stepTensor = sd.get('optimizer.step');
  const step = stepTensor ? Number(stepTensor.data[0]) : 0;
  const byParam = new Map<string, Map<string, PyValue>>();
  for (const [k, t] of sd) {
    const slash = k.indexOf('/');
    if (!k.startsWith('optimizer.') || slash < 0) continue;
    const name = k.slice(slash + 1);
    if (!byParam.has(name)) byParam.set(name, new Map());
    byParam.get(name)!.set(k.slice('optimizer.'.length, slash), t);
  }
  const state = new Map<bigint, PyValue>();
  const paramGroups: PyValue[] = [];
  let index = 0n;
  for (const g of groups) {
    const params: bigint[] = [];
    for (const name of g.names) {
      const slots = byParam.get(name);
      if (slots) {
        // Adam keeps its step as a float tensor (PyTorch ≥ 1.12), RMSprop as an int; SGD keeps none.
        if (spec.type === 'adam' || spec.type === 'adamw') slots.set('step', Tensor.float32([], [step]));
        else if (spec.type === 'rmsprop') slots.set('step', BigInt(step));
        state.set(index, slots);
      }
      params.push(index++);
    }
    paramGroups.push({
      lr: o.lr * g.lrMult,
      ...hyperParameters(spec),
      weight_decay: g.weightDecay,
      initial_lr: o.baseLr * g.lrMult,
      lr_mult: g.lrMult,
      params,
      param_names: g.names,
    });
  }
  return { state, param_groups: paramGroups };
}
