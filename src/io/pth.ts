/** Reading the zip checkpoints torch.save writes (PyTorch >= 1.6). */

import { unzipSync } from 'fflate';
import { Tensor, numel, shapeString, type StateDict } from '../tensor.js';
import { HOST_DTYPE, HOST_ELEMENT_SIZE, decodeTensor, storageNumel, type StorageDType } from './dtypes.js';
import { BASE_GLOBALS, PyGlobal, describe, unpickle, type GlobalImpl } from './pickle.js';

/** Upper bound on what one checkpoint may expand to in memory (zip entries, materialized tensors). */
export const MAX_CHECKPOINT_BYTES = 4 * 1024 ** 3;

const STORAGE_TYPES: Readonly<Record<string, StorageDType>> = {
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

/** A storage loaded from `<archive>/data/<key>`, as BINPERSID hands it to _rebuild_tensor_v2. */
class Storage {
  constructor(
    readonly key: string,
    readonly dtype: StorageDType,
    readonly bytes: Uint8Array,
  ) {}

  get numel(): number {
    return storageNumel(this.dtype, this.bytes);
  }
}

/** Type markers the pickle names as persistent-id parts or `_rebuild_from_type_v2` types; never called. */
const MARKER = null;

function torchGlobals(budget: { bytes: number }): Map<string, GlobalImpl> {
  const globals = new Map<string, GlobalImpl>(BASE_GLOBALS);
  for (const name of Object.keys(STORAGE_TYPES)) globals.set(`torch.${name}`, MARKER);
  globals.set('torch.Tensor', MARKER);
  globals.set('torch.nn.parameter.Parameter', MARKER);
  globals.set('torch._utils._rebuild_tensor_v2', (args) => rebuildTensor(args, budget));
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

function expectTensor(v: unknown): Tensor {
  if (!(v instanceof Tensor)) throw new Error(`expected a tensor, got ${describe(v)}`);
  return v;
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw new Error(`${what} must be a tuple of non-negative ints, got ${describe(v)}`);
  }
  return v as number[];
}

/** torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
function rebuildTensor(args: unknown[], budget: { bytes: number }): Tensor {
  const [storage, offset] = args;
  if (!(storage instanceof Storage)) throw new Error(`expected a storage, got ${describe(storage)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new Error(`bad storage offset ${describe(offset)}`);
  const size = intList(args[2], 'size');
  const stride = intList(args[3], 'stride');
  if (size.length !== stride.length) throw new Error(`size ${shapeString(size)} and stride ${shapeString(stride)} differ in rank`);
  const n = numel(size);
  if (n > 0) {
    let last = offset as number;
    for (let d = 0; d < size.length; d++) last += (size[d]! - 1) * stride[d]!;
    if (last >= storage.numel) {
      throw new Error(
        `storage data/${storage.key} holds ${storage.numel} elements, but a tensor of size ` +
          `${shapeString(size)} stride ${shapeString(stride)} offset ${offset} reads element ${last}`,
      );
    }
  }
  budget.bytes -= n * HOST_ELEMENT_SIZE[HOST_DTYPE[storage.dtype]];
  if (budget.bytes < 0) throw new Error(`tensors expand to more than ${MAX_CHECKPOINT_BYTES} bytes`);
  return decodeTensor(storage.dtype, storage.bytes, size, stride, offset as number);
}

function isLegacyPickle(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5;
}

function isUnsafeEntryName(name: string): boolean {
  return (
    name.startsWith('/') ||
    name.includes('\\') ||
    /^[a-zA-Z]:/.test(name) ||
    name.split('/').some((part) => part === '..')
  );
}

/** The zip's entries after checking names and sizes; nothing is decompressed before the checks pass. */
function readZip(bytes: Uint8Array, fileName: string): Map<string, Uint8Array> {
  const declared = new Map<string, number>();
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: ({ name, originalSize }) => {
        if (isUnsafeEntryName(name)) throw new Error(`${fileName}: refusing zip entry with unsafe path '${name}'`);
        if (declared.has(name)) throw new Error(`${fileName}: duplicate zip entry '${name}'`);
        total += originalSize;
        if (total > MAX_CHECKPOINT_BYTES) {
          throw new Error(`${fileName}: zip entries expand to more than ${MAX_CHECKPOINT_BYTES} bytes; refusing`);
        }
        declared.set(name, originalSize);
        return true;
      },
    });
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith(`${fileName}:`)) throw e;
    throw new Error(`${fileName}: not a readable zip archive (truncated or corrupt?): ${msg}`);
  }
  const entries = new Map<string, Uint8Array>();
  for (const [name, size] of declared) {
    const data = Object.hasOwn(files, name) ? files[name] : undefined;
    if (!data || data.length !== size) {
      throw new Error(`${fileName}: zip entry '${name}' is truncated (${data?.length ?? 0} of ${size} bytes)`);
    }
    entries.set(name, data);
  }
  return entries;
}

/**
 * The object torch.save pickled (usually an OrderedDict of tensors, sometimes a dict
 * wrapping one), with dicts as Maps and tensors as contiguous host Tensors.
 */
export function readCheckpointObject(bytes: Uint8Array, fileName: string): unknown {
  if (isLegacyPickle(bytes)) {
    throw new Error(
      `${fileName}: legacy (pre-1.6) torch.save format is not supported; ` +
        're-save with torch.save(..., _use_new_zipfile_serialization=True)',
    );
  }
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new Error(`${fileName}: not a torch.save zip checkpoint (no 'PK' signature)`);
  }
  if (bytes.length < 22) throw new Error(`${fileName}: truncated: ${bytes.length} bytes is too short for a zip archive`);
  const entries = readZip(bytes, fileName);
  const pkls = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    throw new Error(`${fileName}: expected exactly one '<archive>/data.pkl' entry, found ${pkls.length}`);
  }
  const prefix = pkls[0]!.slice(0, -'data.pkl'.length);
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder && new TextDecoder().decode(byteorder).trim() !== 'little') {
    throw new Error(`${fileName}: big-endian checkpoints are not supported`);
  }

  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw new Error(`expected ('storage', type, key, location, numel), got ${describe(pid)}`);
    }
    const [, type, key, , count] = pid;
    const dtype = type instanceof PyGlobal && type.module === 'torch' && Object.hasOwn(STORAGE_TYPES, type.name)
      ? STORAGE_TYPES[type.name]
      : undefined;
    if (!dtype) throw new Error(`unsupported storage type ${describe(type)}`);
    if (typeof key !== 'string' || !Number.isSafeInteger(count)) throw new Error(`bad storage id ${describe(pid)}`);
    const cached = storages.get(key);
    if (cached) return cached;
    const data = entries.get(`${prefix}data/${key}`);
    if (!data) throw new Error(`missing storage entry '${prefix}data/${key}'`);
    const storage = new Storage(key, dtype, data);
    if (storage.numel < (count as number)) {
      throw new Error(
        `storage '${prefix}data/${key}' has ${data.length} bytes but ${count} ${dtype} elements were declared`,
      );
    }
    storages.set(key, storage);
    return storage;
  };

  const budget = { bytes: MAX_CHECKPOINT_BYTES };
  return unpickle(entries.get(pkls[0]!)!, { fileName, globals: torchGlobals(budget), persistentLoad });
}

const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model'];

/**
 * The state dict inside a checkpoint object: the object itself when it is a dict of
 * tensors, else the dict under `state_dict` / `model_state_dict` / `model`.
 */
export function stateDictFromObject(obj: unknown, fileName: string): StateDict {
  let d = obj;
  for (;;) {
    if (!(d instanceof Map)) throw new Error(`${fileName}: expected a dict of tensors, got ${describe(d)}`);
    const onlyTensors = [...d.values()].every((v) => v instanceof Tensor);
    const key = WRAPPER_KEYS.find((k) => d instanceof Map && d.get(k) instanceof Map);
    if (onlyTensors || key === undefined) break;
    d = d.get(key);
  }
  const sd: StateDict = new Map();
  for (const [k, v] of d) {
    if (typeof k !== 'string') throw new Error(`${fileName}: state dict key ${describe(k)} is not a string`);
    if (!(v instanceof Tensor)) throw new Error(`${fileName}: state dict entry '${k}' is ${describe(v)}, not a tensor`);
    sd.set(k, v);
  }
  return sd;
}

/** The state dict in a torch.save zip checkpoint (unwrapping `{'state_dict': ...}`-style dicts; keys as stored). */
export function readPth(bytes: Uint8Array, fileName: string): StateDict {
  return stateDictFromObject(readCheckpointObject(bytes, fileName), fileName);
}
