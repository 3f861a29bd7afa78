/** Dense host tensors: what state dicts, checkpoints, datasets and the runtime exchange. */

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;

/** The data of every shape-only tensor (see Tensor.shapeOnly). */
const NO_VALUES = new Float32Array(0);

export class Tensor {
  /** Number of elements. */
  readonly size: number;

  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly data: TensorData,
  ) {
    this.size = numel(shape);
    if (data.length !== this.size && data !== NO_VALUES) {
      throw new Error(`Tensor: shape [${shape.join(', ')}] needs ${this.size} values, got ${data.length}`);
    }
  }

  /**
   * A float32 tensor with a shape and no values, for dry runs that only size a model (parameter count,
   * layer output shapes) before its weights are allocated; see withoutValues in nn/init.ts.
   */
  static shapeOnly(shape: readonly number[]): Tensor {
    return new Tensor('float32', shape, NO_VALUES);
  }

  /** The tensor itself: a Tensor is a LazyTensor already read. */
  read(): Tensor {
    return this;
  }

  static float32(shape: readonly number[], data?: Float32Array | number[]): Tensor {
    const d = data instanceof Float32Array ? data : data ? Float32Array.from(data) : new Float32Array(numel(shape));
    return new Tensor('float32', shape, d);
  }

  static int64(shape: readonly number[], data: BigInt64Array | number[]): Tensor {
    const d = data instanceof BigInt64Array ? data : BigInt64Array.from(data.map((v) => BigInt(v)));
    return new Tensor('int64', shape, d);
  }

  /** A copy with its own buffer. */
  clone(): Tensor {
    return new Tensor(this.dtype, [...this.shape], this.data.slice() as TensorData);
  }

  /** Values as float32 (copies unless already float32). */
  toFloat32(): Float32Array {
    if (this.data instanceof Float32Array) return this.data;
    if (this.data instanceof BigInt64Array) return Float32Array.from(this.data, (v) => Number(v));
    return Float32Array.from(this.data as ArrayLike<number>);
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** An ordered name → tensor map with PyTorch state_dict key names. */
export type StateDict = Map<string, Tensor>;

/**
 * A tensor whose dtype and shape are known before its values are read (a tensor in a checkpoint file):
 * a state dict can be checked against a model before anything is expanded. Tensor is one, already read.
 */
export interface LazyTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The values (read, decoded and checked against the reader's memory budget on first use). */
  read(): Tensor;
}

/** A state dict whose tensors may not have been read yet. */
export type LazyStateDict = ReadonlyMap<string, LazyTensor>;
