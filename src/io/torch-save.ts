/**
 * torch.save of any value a checkpoint holds besides a flat state dict (an optimizer's state dict:
 * nested dicts with integer keys, lists, tuples, floats, tensors), as PyTorch's zip format that
 * torch.load(weights_only=True) and our reader (readCheckpointObject) read.
 *
 * Python's types do not map one to one onto JavaScript's, so the value says which it means: a number
 * is a Python float, a bigint a Python int, an array a list, `pyTuple(...)` a tuple, a Map (string or
 * bigint keys) or a plain object a dict, a Tensor a tensor.
 */
import { Tensor } from '../tensor.js';
import { STORAGE_DTYPE, contiguousStrides, tensorBytes } from './dtypes.js';
import { PickleWriter } from './pickle-writer.js';
import { pickleTensor, torchZipEntries } from './pth-writer.js';
import { storageTypeName } from './torch-pickle.js';
import { alignedStoredZip } from './zip-writer.js';

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export const pyTuple = (...items: PyValue[]): PyTuple => new PyTuple(items);

export type PyValue =
  | null
  | boolean
  | string
  | number
  | bigint
  | Tensor
  | PyTuple
  | PyValue[]
  | Map<string | bigint, PyValue>
  | { [key: string]: PyValue };

const BINFLOAT = 0x47;
const EMPTY_LIST = 0x5d;
const APPENDS = 0x65;

/** Pickles `value`; tensors become persistent storage ids, their bytes collected in `storages`. */
function pickleValue(w: PickleWriter, value: PyValue, storages: Map<Tensor, string>): void {
  if (value === null) w.none();
  else if (typeof value === 'boolean') w.bool(value);
  else if (typeof value === 'string') w.str(value);
  else if (typeof value === 'bigint') w.int(value);
  else if (typeof value === 'number') {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, false);
    w.op(BINFLOAT, ...b);
  } else if (value instanceof Tensor) {
    let key = storages.get(value);
    if (key === undefined) storages.set(value, (key = String(storages.size)));
    pickleTensor(w, { storageType: storageTypeName(STORAGE_DTYPE[value.dtype]), key, storageNumel: value.size, size: value.shape, stride: contiguousStrides(value.shape) });
  } else if (value instanceof PyTuple) {
    if (value.items.length === 0) w.emptyTuple();
    else {
      w.mark();
      for (const v of value.items) pickleValue(w, v, storages);
      w.tuple();
    }
  } else if (Array.isArray(value)) {
    w.op(EMPTY_LIST);
    if (value.length > 0) {
      w.mark();
      for (const v of value) pickleValue(w, v, storages);
      w.op(APPENDS);
    }
  } else {
    const entries: [string | bigint, PyValue][] = value instanceof Map ? [...value] : Object.entries(value);
    w.emptyDict();
    if (entries.length > 0) {
      w.mark();
      for (const [k, v] of entries) {
        pickleValue(w, k, storages);
        pickleValue(w, v, storages);
      }
      w.setitems();
    }
  }
}

/** `value` as the bytes of torch.save(value): a zip with the pickle and one storage per tensor. */
export function writeTorchSave(value: PyValue): Uint8Array {
  const storages = new Map<Tensor, string>();
  const w = new PickleWriter().proto(2);
  pickleValue(w, value, storages);
  const data = new Map<string, Uint8Array>();
  for (const [t, key] of storages) data.set(key, tensorBytes(t));
  return alignedStoredZip(torchZipEntries(w.stop().bytes(), data));
}
