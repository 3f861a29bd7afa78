/** Batch assembly shared by the main thread and the loader's worker threads (no heavy imports). */

import { Rng, mixSeed } from './random.js';
import { compileTransform, type CompiledTransform, type ImageShape, type TransformSpec } from './transforms.js';

/** What a worker needs once: shared raw images and the (resolved) transform. */
export interface AssemblerInit {
  images: Uint8Array;
  shape: ImageShape;
  spec: TransformSpec;
  seed: number;
}

export interface BatchJob {
  id: number;
  epoch: number;
  /** Position of the batch's first sample within the epoch. */
  start: number;
  indices: Int32Array;
}

/** The per-sample augmentation RNG: a function of (seed, epoch, position in epoch) only. */
export function sampleRng(seed: number, epoch: number, position: number): Rng {
  return new Rng(mixSeed(seed, 'augment', epoch, position));
}

export class Assembler {
  readonly transform: CompiledTransform;

  constructor(
    private readonly getImage: (i: number) => Uint8Array,
    shape: ImageShape,
    spec: TransformSpec,
    private readonly seed: number,
  ) {
    this.transform = compileTransform(spec, shape);
  }

  static fromBuffer(init: AssemblerInit): Assembler {
    const size = init.shape.channels * init.shape.height * init.shape.width;
    return new Assembler((i) => init.images.subarray(i * size, (i + 1) * size), init.shape, init.spec, init.seed);
  }

  assemble(job: Omit<BatchJob, 'id'>): Float32Array {
    const out = new Float32Array(job.indices.length * this.transform.outputSize);
    for (let j = 0; j < job.indices.length; j++) {
      const rng = sampleRng(this.seed, job.epoch, job.start + j);
      this.transform.applyInto(this.getImage(job.indices[j]), rng, out, j * this.transform.outputSize);
    }
    return out;
  }
}
