/** Seeded weight initialisers with PyTorch's formulas (values differ from PyTorch's RNG, distributions match). */
import { Tensor, numel } from '../tensor.js';

/**
 * mulberry32, whose state is a counter: `skip` jumps ahead in O(1), so the trainer's dropout masks resume
 * exactly mid-run. Data pipelines use the xoshiro128** `Rng` of src/data/random.ts (longer period,
 * per-epoch streams from mixSeed). Merging them would change every seeded result recorded so far
 * (initial weights, augmentation, the README's figures).
 */
export class Rng {
  private s: number;
  private spare: number | undefined;
  constructor(seed = 0) {
    this.s = (seed >>> 0) ^ 0x9e3779b9;
  }
  reset(seed = 0): void {
    this.s = (seed >>> 0) ^ 0x9e3779b9;
    this.spare = undefined;
  }
  /** Jump ahead as if uniform() had been called `draws` times (mulberry32's state is a counter). */
  skip(draws: number): void {
    this.s = (this.s + Math.imul(draws % 4294967296, 0x6d2b79f5)) >>> 0;
  }
  /** mulberry32: uniform in [0, 1). */
  uniform(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const u = 1 - this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }
}

let shapesOnly = false;

/**
 * Runs `build` (a model constructor) with initializers that make shape-only tensors: nothing is drawn
 * from any generator and no weights are allocated, so a model far too large to build can still be
 * sized (its parameter count, its layers' output shapes) first.
 */
export function withoutValues<T>(build: () => T): T {
  const outer = shapesOnly;
  shapesOnly = true;
  try {
    return build();
  } finally {
    shapesOnly = outer;
  }
}

export function fill(shape: number[], f: () => number): Tensor {
  if (shapesOnly) return Tensor.shapeOnly(shape);
  const d = new Float32Array(numel(shape));
  for (let i = 0; i < d.length; i++) d[i] = f();
  return Tensor.float32(shape, d);
}

export const constant = (shape: number[], v: number) => fill(shape, () => v);
export const normal = (rng: Rng, shape: number[], std: number, mean = 0) => fill(shape, () => mean + std * rng.normal());
export const uniform = (rng: Rng, shape: number[], bound: number) => fill(shape, () => (2 * rng.uniform() - 1) * bound);

/** fan_in and fan_out of a conv weight [out, in/groups, kh, kw] or linear weight [out, in]. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

/** torch.nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu'). */
export function kaimingNormalFanOut(rng: Rng, shape: number[]): Tensor {
  return normal(rng, shape, Math.sqrt(2 / fans(shape).fanOut));
}

/** PyTorch's default for Conv2d/Linear: kaiming_uniform_(a=sqrt(5)), i.e. U(±1/sqrt(fan_in)), bias likewise. */
export function defaultUniform(rng: Rng, shape: number[], fanIn: number): Tensor {
  return uniform(rng, shape, fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0);
}
