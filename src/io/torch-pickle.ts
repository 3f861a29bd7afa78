/**
 * The pickle side both torch.save formats share. The pickled object names storages by persistent
 * id and rebuilds tensors over them with torch._utils functions. A zip checkpoint has the storage
 * bytes before the pickle is read, a legacy one only after it, so rebuilding yields TensorPlans
 * (which elements of which storage), and materializeTensors turns them into host Tensors once
 * every storage has its bytes.
 */

import { type DType, type LazyTensor, Tensor, shapeString } from '../tensor.js';
import { ELEMENT_SIZE, HOST_DTYPE, decodeCost, decodeTensor, isMisaligned, viewSpan, type StorageDType } from './dtypes.js';
import type { ReadBudget } from './limits.js';
import { BASE_GLOBALS, PyGlobal, describe, unpickleAt, type GlobalImpl } from './pickle.js';

export const STORAGE_TYPES: Readonly<Record<string, StorageDType>> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** The torch.<Name>Storage class that holds `dtype`. */
export function storageTypeName(dtype: StorageDType): string {
  return Object.keys(STORAGE_TYPES).find((name) => STORAGE_TYPES[name] === dtype)!;
}

/**
 * A storage as persistent ids name it. `load` is set by the format once the file has data for it, and
 * gives the storage's first `n` bytes (a zip entry is inflated only that far).
 */
export class StorageRef {
  load: ((n: number) => Uint8Array) | undefined;

  constructor(
    readonly key: string,
    /** How messages name it: `storage data/<key>` in a zip, `storage '<key>'` in a legacy file. */
    readonly label: string,
    readonly dtype: StorageDType,
    readonly numel: number,
  ) {}
}

/** Elements [offset, offset + numel) of a storage: all of it, or a storage view of very old files. */
export class StorageWindow {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly numel: number,
  ) {}

  get label(): string {
    const { storage, offset, numel } = this;
    return offset === 0 && numel === storage.numel ? storage.label : `${storage.label} view [${offset}, ${offset + numel})`;
  }
}

/** Where a pickle's tensors are read from: the file (for messages) and the budget their reading is charged to. */
export interface TorchReadContext {
  fileName: string;
  budget: ReadBudget;
}

/**
 * A tensor as the pickle rebuilt it: a strided view of a storage, read (and charged to the budget) only
 * when `read()` is called; a plan read twice (a memoized tensor) gives the same Tensor.
 */
export class TensorPlan implements LazyTensor {
  private tensor: Tensor | undefined;

  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
    private readonly context: TorchReadContext,
  ) {}

  get dtype(): DType {
    return HOST_DTYPE[this.storage.dtype];
  }

  get shape(): readonly number[] {
    return this.size;
  }

  read(): Tensor {
    if (this.tensor) return this.tensor;
    const { storage, offset, size, stride, context } = this;
    const what = `${context.fileName}: tensor ${shapeString(size)} stride ${shapeString(stride)} of ${storage.label}`;
    if (!storage.load) throw new Error(`${context.fileName}: ${storage.label} is used by a tensor but the file holds no data for it`);
    const { last } = viewSpan(size, stride, offset);
    const bytes = storage.load((last + 1) * ELEMENT_SIZE[storage.dtype]);
    context.budget.take(decodeCost(storage.dtype, size, stride, offset, isMisaligned(storage.dtype, bytes)), what);
    this.tensor = decodeTensor(storage.dtype, bytes, size, stride, offset);
    return this.tensor;
  }
}

/** A storage persistent id: ('storage', torch.<Type>Storage, key, location, numel[, view_metadata]). */
export interface StorageId {
  dtype: StorageDType;
  key: string;
  numel: number;
  /** Legacy format only: None, or (view_key, offset, view_size) in files of PyTorch < 1.0. */
  viewMetadata: unknown;
}

export function parseStorageId(pid: unknown, withViewMetadata: boolean): StorageId {
  const shape = `('storage', type, key, location, numel${withViewMetadata ? ', view_metadata' : ''})`;
  if (!Array.isArray(pid) || pid.length !== (withViewMetadata ? 6 : 5) || pid[0] !== 'storage') {
    throw new Error(`expected ${shape}, got ${describe(pid)}`);
  }
  const [, type, key, , count, viewMetadata] = pid;
  const dtype = type instanceof PyGlobal && type.module === 'torch' && Object.hasOwn(STORAGE_TYPES, type.name)
    ? STORAGE_TYPES[type.name]
    : undefined;
  if (!dtype) throw new Error(`unsupported storage type ${describe(type)}`);
  if (typeof key !== 'string' || !Number.isSafeInteger(count) || (count as number) < 0) {
    throw new Error(`bad storage id: key ${describe(key)}, numel ${describe(count)}`);
  }
  return { dtype, key, numel: count as number, viewMetadata: viewMetadata ?? null };
}

/** The storages a pickle names, one StorageRef per key, checked to agree wherever a key recurs. */
export class StorageTable {
  private readonly refs = new Map<string, StorageRef>();

  constructor(private readonly labelOf: (key: string) => string) {}

  resolve(id: StorageId): StorageRef {
    const known = this.refs.get(id.key);
    if (!known) {
      const ref = new StorageRef(id.key, this.labelOf(id.key), id.dtype, id.numel);
      this.refs.set(id.key, ref);
      return ref;
    }
    if (known.dtype !== id.dtype || known.numel !== id.numel) {
      throw new Error(
        `${known.label} is named as ${known.numel} ${known.dtype} elements and as ${id.numel} ${id.dtype} elements`,
      );
    }
    return known;
  }

  get(key: string): StorageRef | undefined {
    return this.refs.get(key);
  }
}

/** Type markers the pickle names as persistent-id parts or `_rebuild_from_type_v2` types; never called. */
const MARKER = null;

function torchGlobals(context: TorchReadContext): Map<string, GlobalImpl> {
  const globals = new Map<string, GlobalImpl>(BASE_GLOBALS);
  for (const name of Object.keys(STORAGE_TYPES)) globals.set(`torch.${name}`, MARKER);
  globals.set('torch.Tensor', MARKER);
  globals.set('torch.nn.parameter.Parameter', MARKER);
  // _rebuild_tensor(storage, offset, size, stride) is what files of PyTorch < 0.4 call; _v2 adds
  // requires_grad, backward_hooks (and metadata), none of which a state dict needs.
  globals.set('torch._utils._rebuild_tensor', (args) => rebuildTensor(args, context));
  globals.set('torch._utils._rebuild_tensor_v2', (args) => rebuildTensor(args, context));
  // Parameters load as plain tensors: requires_grad and hooks do not matter for a state dict.
  globals.set('torch._utils._rebuild_parameter', (args) => expectTensor(args[0]));
  globals.set('torch._tensor._rebuild_from_type_v2', ([func, , args]) => {
    if (!(func instanceof PyGlobal) || !func.call || !Array.isArray(args)) {
      throw new Error('expected (func, type, args, state)');
    }
    return expectTensor(func.call(args));
  });
  return globals;
}

function expectTensor(v: unknown): TensorPlan {
  if (!(v instanceof TensorPlan)) throw new Error(`expected a tensor, got ${describe(v)}`);
  return v;
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw new Error(`${what} must be a tuple of non-negative ints, got ${describe(v)}`);
  }
  return v as number[];
}

/**
 * torch._utils._rebuild_tensor[_v2](storage, storage_offset, size, stride, ...), checked to stay inside
 * the storage. Nothing is read: what a view expands to is charged when (if) it is read.
 */
function rebuildTensor(args: unknown[], context: TorchReadContext): TensorPlan {
  const [window, offset] = args;
  if (!(window instanceof StorageWindow)) throw new Error(`expected a storage, got ${describe(window)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new Error(`bad storage offset ${describe(offset)}`);
  const size = intList(args[2], 'size');
  const stride = intList(args[3], 'stride');
  if (size.length !== stride.length) throw new Error(`size ${shapeString(size)} and stride ${shapeString(stride)} differ in rank`);
  const { first, last } = viewSpan(size, stride, offset as number);
  if (last >= first && (!Number.isSafeInteger(last) || last >= window.numel)) {
    throw new Error(
      `${window.label} holds ${window.numel} elements, but a tensor of size ` +
        `${shapeString(size)} stride ${shapeString(stride)} offset ${offset} reads element ${last}`,
    );
  }
  return new TensorPlan(window.storage, window.offset + (offset as number), size, stride, context);
}

/**
 * The object pickle of a torch.save file, starting at byte `start`: only the allow-listed torch
 * globals, storages resolved by `loadStorage`. Tensors come back as TensorPlans.
 */
export function unpickleTorchObject(
  bytes: Uint8Array,
  start: number,
  context: TorchReadContext,
  loadStorage: (pid: unknown) => StorageWindow,
): { value: unknown; end: number } {
  return unpickleAt(bytes, start, { fileName: context.fileName, globals: torchGlobals(context), persistentLoad: loadStorage });
}

/**
 * Replaces, in place, every TensorPlan reachable from `obj` through dicts and lists with its Tensor
 * (read now); a plan reached twice (a memoized tensor) gives the same Tensor.
 */
export function materializeTensors(obj: unknown): unknown {
  const resolve = (v: unknown): unknown => (v instanceof TensorPlan ? v.read() : v);
  const isContainer = (v: unknown): boolean => v instanceof Map || Array.isArray(v);
  // An explicit work list, not recursion: a hostile pickle can nest containers arbitrarily deep.
  const seen = new Set<unknown>();
  const pending: unknown[] = [obj];
  while (pending.length > 0) {
    const v = pending.pop();
    if (seen.has(v)) continue;
    seen.add(v);
    if (v instanceof Map) {
      for (const [k, x] of v) {
        v.set(k, resolve(x));
        if (isContainer(x)) pending.push(x);
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        v[i] = resolve(x);
        if (isContainer(x)) pending.push(x);
      });
    }
  }
  return resolve(obj);
}
