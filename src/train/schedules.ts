/** Learning-rate schedules, evaluated per step (epochs may be fractional), with optional linear warmup. */

export type ScheduleSpec =
  | { type: 'constant' }
  | { type: 'cosine'; minLr?: number }
  | { type: 'step'; stepSize: number; gamma?: number }
  | { type: 'exponential'; gamma?: number }
  | { type: 'linear' };

export interface ScheduleOptions {
  baseLr: number;
  /** Total training length in epochs (cosine and linear decay reach their end there). */
  epochs: number;
  warmupEpochs?: number;
  /** Learning rate warmup starts from baseLr × this factor (default 0). */
  warmupStartFactor?: number;
}

/**
 * The learning rate at `epoch` (fractional: epoch + step/stepsPerEpoch).
 * - cosine: torch's CosineAnnealingLR shape, baseLr → minLr over the epochs after warmup
 * - step: ×gamma (default 0.1) every stepSize epochs
 * - exponential: ×gamma (default 0.98, the MobileNetV2 paper) per epoch
 * - linear: linear decay to 0 (megvii's ShuffleNet recipe)
 */
export function learningRate(spec: ScheduleSpec, o: ScheduleOptions, epoch: number): number {
  const warm = o.warmupEpochs ?? 0;
  if (epoch < warm) {
    const start = o.warmupStartFactor ?? 0;
    return o.baseLr * (start + (1 - start) * (epoch / warm));
  }
  const span = Math.max(o.epochs - warm, 1e-9);
  const t = Math.min(Math.max((epoch - warm) / span, 0), 1);
  switch (spec.type) {
    case 'constant': return o.baseLr;
    case 'cosine': {
      const min = spec.minLr ?? 0;
      return min + (o.baseLr - min) * 0.5 * (1 + Math.cos(Math.PI * t));
    }
    case 'step': return o.baseLr * (spec.gamma ?? 0.1) ** Math.floor((epoch - warm) / spec.stepSize);
    case 'exponential': return o.baseLr * (spec.gamma ?? 0.98) ** Math.floor(epoch - warm);
    case 'linear': return o.baseLr * (1 - t);
  }
}

export const SCHEDULE_TYPES = ['constant', 'cosine', 'step', 'exponential', 'linear'] as const;
