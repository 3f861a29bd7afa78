/** Dense host tensors: what state dicts, checkpoints, datasets and the runtime exchange. */

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;

export class Tensor {
  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly data: TensorData,
  ) {
    const n = numel(shape);
    if (data.length !== n) {
      throw new Error(`Tensor: shape [${shape.join(', ')}] needs ${n} values, got ${data.length}`);
    }
  }

  get size(): number {
    return this.data.length;
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
