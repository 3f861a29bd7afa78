/** Element types as stored on disk (safetensors names) and their decoding into host Tensors. */

import { Tensor, numel, type DType, type TensorData } from '../tensor.js';

export type StorageDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const ELEMENT_SIZE: Readonly<Record<StorageDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isStorageDType(s: unknown): s is StorageDType {
  return typeof s === 'string' && Object.hasOwn(ELEMENT_SIZE, s);
}

/** Host dtype a storage dtype decodes to: half types widen to float32, small ints to int32. */
export const HOST_DTYPE: Readonly<Record<StorageDType, DType>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float32',
  BF16: 'float32',
  I64: 'int64',
  I32: 'int32',
  I16: 'int32',
  I8: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
};

export const HOST_ELEMENT_SIZE: Readonly<Record<DType, number>> = {
  float64: 8,
  float32: 4,
  int64: 8,
  int32: 4,
  uint8: 1,
  int8: 1,
  bool: 1,
};

export const STORAGE_DTYPE: Readonly<Record<DType, StorageDType>> = {
  float64: 'F64',
  float32: 'F32',
  int64: 'I64',
  int32: 'I32',
  uint8: 'U8',
  int8: 'I8',
  bool: 'BOOL',
};

type Raw = Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint16Array | Uint8Array;
type Indexable = { [i: number]: number | bigint };

/** Little-endian element view over `bytes` (copied first when misaligned). */
function rawView(dtype: StorageDType, bytes: Uint8Array): Raw {
  const size = ELEMENT_SIZE[dtype];
  // A copy, not bytes.slice(): on a Node Buffer slice() is a view with the same misalignment.
  const b = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  const n = Math.floor(b.byteLength / size);
  switch (dtype) {
    case 'F64': return new Float64Array(b.buffer, b.byteOffset, n);
    case 'F32': return new Float32Array(b.buffer, b.byteOffset, n);
    case 'F16':
    case 'BF16': return new Uint16Array(b.buffer, b.byteOffset, n);
    case 'I64': return new BigInt64Array(b.buffer, b.byteOffset, n);
    case 'I32': return new Int32Array(b.buffer, b.byteOffset, n);
    case 'I16': return new Int16Array(b.buffer, b.byteOffset, n);
    case 'I8': return new Int8Array(b.buffer, b.byteOffset, n);
    case 'U8':
    case 'BOOL': return b;
  }
}

/** Number of elements `bytes` holds as `dtype`. */
export function storageNumel(dtype: StorageDType, bytes: Uint8Array): number {
  return Math.floor(bytes.byteLength / ELEMENT_SIZE[dtype]);
}

/** Elements [first, last] of its storage that a strided view reads (last < first for an empty view). */
export function viewSpan(shape: readonly number[], stride: readonly number[], offset: number): { first: number; last: number } {
  if (numel(shape) === 0) return { first: offset, last: offset - 1 };
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d]! - 1) * stride[d]!;
  return { first: offset, last };
}

const WIDENED: ReadonlySet<StorageDType> = new Set(['F16', 'BF16', 'I16', 'I8']);

/**
 * Bytes decodeTensor allocates for a view, before it allocates them: a copy of the span it reads when
 * `misaligned`, the gathered elements, and the widened copy of half and small-int types. A stride-0 view
 * of a tiny storage costs its full expanded size here, which is what a budget must count.
 */
export function decodeCost(dtype: StorageDType, shape: readonly number[], stride: readonly number[], offset: number, misaligned: boolean): number {
  const n = numel(shape);
  const { first, last } = viewSpan(shape, stride, offset);
  const copy = misaligned ? (last - first + 1) * ELEMENT_SIZE[dtype] : 0;
  return copy + n * ELEMENT_SIZE[dtype] + (WIDENED.has(dtype) ? n * HOST_ELEMENT_SIZE[HOST_DTYPE[dtype]] : 0);
}

/** Whether decodeTensor has to copy `bytes` before viewing them as `dtype`. */
export function isMisaligned(dtype: StorageDType, bytes: Uint8Array): boolean {
  return bytes.byteOffset % ELEMENT_SIZE[dtype] !== 0;
}

/**
 * A contiguous Tensor from the strided view (shape, stride, offset in elements) of a
 * storage. The caller has checked that the view lies inside the storage; only the span it reads is
 * viewed (and copied, when misaligned).
 */
export function decodeTensor(
  dtype: StorageDType,
  bytes: Uint8Array,
  shape: readonly number[],
  stride: readonly number[] = contiguousStrides(shape),
  offset = 0,
): Tensor {
  const size = ELEMENT_SIZE[dtype];
  const { first, last } = viewSpan(shape, stride, offset);
  const raw = rawView(dtype, bytes.subarray(first * size, Math.max(first, last + 1) * size));
  const n = numel(shape);
  let gathered: Raw;
  if (isContiguous(shape, stride)) {
    gathered = raw.slice(0, n);
  } else {
    gathered = new (raw.constructor as new (n: number) => Raw)(n);
    const src = raw as unknown as Indexable;
    const dst = gathered as unknown as Indexable;
    const rank = shape.length;
    const index = new Array<number>(rank).fill(0);
    let at = 0;
    for (let i = 0; i < n; i++) {
      dst[i] = src[at]!;
      // Odometer increment over the multi-index, innermost dimension fastest.
      for (let d = rank - 1; d >= 0; d--) {
        at += stride[d]!;
        if (++index[d]! < shape[d]!) break;
        at -= stride[d]! * shape[d]!;
        index[d] = 0;
      }
    }
  }
  return new Tensor(HOST_DTYPE[dtype], [...shape], widen(dtype, gathered));
}

// Explicit loops, not TypedArray.from(iterable, map): that collects every value in a JS list first.
function widen(dtype: StorageDType, raw: Raw): TensorData {
  switch (dtype) {
    case 'F16': {
      const out = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = halfToFloat((raw as Uint16Array)[i]!);
      return out;
    }
    case 'BF16': {
      const bits = new Uint32Array(raw.length);
      for (let i = 0; i < raw.length; i++) bits[i] = (raw as Uint16Array)[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case 'I16':
    case 'I8': {
      const out = new Int32Array(raw.length);
      out.set(raw as Int16Array | Int8Array);
      return out;
    }
    default:
      return raw as TensorData;
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return strides;
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d]! !== 1 && stride[d]! !== s) return false;
    s *= shape[d]!;
  }
  return true;
}

/** The tensor's data as little-endian bytes (a view, not a copy). */
export function tensorBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
