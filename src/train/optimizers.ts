/**
 * Optimizers with PyTorch's update rules, written as graph ops so the update runs inside the train
 * step. Hyper-parameters that change during training (the learning rate, Adam's bias corrections)
 * are scalar inputs fed each step; the rest are constants.
 */
import type { GraphBuilder } from '../graph/builder.js';
import { Tensor } from '../tensor.js';

export type OptimizerSpec =
  | { type: 'sgd'; momentum?: number; nesterov?: boolean; weightDecay?: number; noDecayBnBias?: boolean }
  | { type: 'adam' | 'adamw'; betas?: [number, number]; eps?: number; weightDecay?: number; noDecayBnBias?: boolean }
  | { type: 'rmsprop'; alpha?: number; eps?: number; momentum?: number; weightDecay?: number; tfEps?: boolean; noDecayBnBias?: boolean };

export type OptimizerType = OptimizerSpec['type'];

/** Per-parameter state slots each optimizer keeps (PyTorch's names). */
export function optimizerSlots(spec: OptimizerSpec): string[] {
  switch (spec.type) {
    case 'sgd': return (spec.momentum ?? 0) > 0 ? ['momentum_buffer'] : [];
    case 'adam':
    case 'adamw': return ['exp_avg', 'exp_avg_sq'];
    case 'rmsprop': return (spec.momentum ?? 0) > 0 ? ['square_avg', 'momentum_buffer'] : ['square_avg'];
  }
}

/** Scalar inputs the host feeds every step. */
export const STEP_INPUTS = ['lr', 'bias_correction1', 'bias_correction2_sqrt'] as const;

export interface ParamUpdate {
  /** New parameter value. */
  param: string;
  /** New slot values by slot name. */
  slots: Map<string, string>;
}

/**
 * Emit the update of one parameter. `slot(name)` is the slot's current value (a graph input);
 * `decay` is this parameter's weight decay (0 where excluded).
 */
export function emitUpdate(
  g: GraphBuilder, spec: OptimizerSpec, p: string, grad: string, slot: (name: string) => string, decay: number,
  scalars: Record<(typeof STEP_INPUTS)[number], string>,
): ParamUpdate {
  // Constants with the parameter's rank (see buildStepGraph).
  const rank = g.dims(p).length;
  const c = (v: number) => g.constant(Tensor.float32(new Array<number>(rank).fill(1), [v]), 'c');
  const slots = new Map<string, string>();
  const lr = scalars.lr;
  let d = grad;
  switch (spec.type) {
    case 'sgd': {
      if (decay) d = g.add(d, g.mul(p, c(decay)));
      const mu = spec.momentum ?? 0;
      if (mu > 0) {
        const buf = g.add(g.mul(slot('momentum_buffer'), c(mu)), d);
        slots.set('momentum_buffer', buf);
        d = spec.nesterov ? g.add(d, g.mul(buf, c(mu))) : buf;
      }
      return { param: g.sub(p, g.mul(d, lr)), slots };
    }
    case 'adam':
    case 'adamw': {
      const [b1, b2] = spec.betas ?? [0.9, 0.999];
      let base = p;
      if (decay && spec.type === 'adamw') base = g.mul(p, g.sub(c(1), g.mul(lr, c(decay))));
      if (decay && spec.type === 'adam') d = g.add(d, g.mul(p, c(decay)));
      const m = g.add(g.mul(slot('exp_avg'), c(b1)), g.mul(d, c(1 - b1)));
      const v = g.add(g.mul(slot('exp_avg_sq'), c(b2)), g.mul(g.mul(d, d), c(1 - b2)));
      slots.set('exp_avg', m).set('exp_avg_sq', v);
      const denom = g.add(g.div(g.op1('Sqrt', [v]), scalars.bias_correction2_sqrt), c(spec.eps ?? 1e-8));
      const stepSize = g.div(lr, scalars.bias_correction1);
      return { param: g.sub(base, g.mul(g.div(m, denom), stepSize)), slots };
    }
    case 'rmsprop': {
      if (decay) d = g.add(d, g.mul(p, c(decay)));
      const alpha = spec.alpha ?? 0.99;
      const eps = c(spec.eps ?? 1e-8);
      const sq = g.add(g.mul(slot('square_avg'), c(alpha)), g.mul(g.mul(d, d), c(1 - alpha)));
      slots.set('square_avg', sq);
      // TF's RMSprop puts epsilon inside the square root (the MobileNetV3 recipe); PyTorch's outside.
      const avg = spec.tfEps ? g.op1('Sqrt', [g.add(sq, eps)]) : g.add(g.op1('Sqrt', [sq]), eps);
      const mu = spec.momentum ?? 0;
      let stepDir = g.div(d, avg);
      if (mu > 0) {
        stepDir = g.add(g.mul(slot('momentum_buffer'), c(mu)), stepDir);
        slots.set('momentum_buffer', stepDir);
      }
      return { param: g.sub(p, g.mul(stepDir, lr)), slots };
    }
  }
}

/** Host-side scalars for step t (1-based). */
export function stepScalars(spec: OptimizerSpec, lr: number, t: number): Record<(typeof STEP_INPUTS)[number], number> {
  if (spec.type === 'adam' || spec.type === 'adamw') {
    const [b1, b2] = spec.betas ?? [0.9, 0.999];
    return { lr, bias_correction1: 1 - b1 ** t, bias_correction2_sqrt: Math.sqrt(1 - b2 ** t) };
  }
  return { lr, bias_correction1: 1, bias_correction2_sqrt: 1 };
}
