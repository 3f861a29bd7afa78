/**
 * Writing state dicts as PyTorch's zip checkpoints (what torch.save writes since 1.6): `archive/data.pkl`,
 * a protocol 2 pickle of an OrderedDict of `_rebuild_tensor_v2` calls over persistent storage ids, and
 * each storage's raw little-endian bytes in `archive/data/<key>`; readable by torch.load(weights_only=True).
 */

import { Tensor, type StateDict } from '../tensor.js';
import { STORAGE_DTYPE, contiguousStrides, tensorBytes } from './dtypes.js';
import { PickleWriter } from './pickle-writer.js';
import { storageTypeName } from './torch-pickle.js';
import { alignedStoredZip } from './zip-writer.js';

/** A tensor as torch.save pickles it: a strided view of storage `key`, named by a persistent id. */
export interface PickledTensor {
  storageType: string;
  key: string;
  storageNumel: number;
  offset?: number;
  size: readonly number[];
  stride: readonly number[];
  /** The legacy format's sixth persistent-id element: None, or (view_key, offset, view_size) before PyTorch 1.0. */
  viewMetadata?: null | readonly [string, number, number];
}

/** torch._utils._rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict()) */
export function pickleTensor(w: PickleWriter, t: PickledTensor): PickleWriter {
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().str('storage').global('torch', t.storageType).str(t.key).str('cpu').int(t.storageNumel);
  if (t.viewMetadata === null) w.none();
  else if (t.viewMetadata) w.mark().str(t.viewMetadata[0]).int(t.viewMetadata[1]).int(t.viewMetadata[2]).tuple();
  w.tuple().binpersid();
  w.int(t.offset ?? 0).intTuple(t.size).intTuple(t.stride);
  w.bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
  return w.tuple().reduce();
}

/** The records of a torch.save zip, in the order torch writes them. */
export function torchZipEntries(pkl: Uint8Array, storages: ReadonlyMap<string, Uint8Array>, archive = 'archive'): Map<string, Uint8Array> {
  const text = (s: string) => new TextEncoder().encode(s);
  const entries = new Map<string, Uint8Array>([
    [`${archive}/data.pkl`, pkl],
    [`${archive}/byteorder`, text('little')],
  ]);
  for (const [key, bytes] of storages) entries.set(`${archive}/data/${key}`, bytes);
  entries.set(`${archive}/version`, text('3\n'));
  return entries;
}

/**
 * `sd` as a torch.save zip checkpoint, keys and order as given. Each tensor gets its own storage,
 * except that one Tensor object under two keys (tied weights) is saved once, as torch.save does.
 */
export function writePth(sd: StateDict): Uint8Array {
  const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  const keys = new Map<Tensor, string>();
  const storages = new Map<string, Uint8Array>();
  for (const [name, t] of sd) {
    let key = keys.get(t);
    if (key === undefined) {
      key = String(keys.size);
      keys.set(t, key);
      storages.set(key, tensorBytes(t));
    }
    w.str(name);
    pickleTensor(w, {
      storageType: storageTypeName(STORAGE_DTYPE[t.dtype]),
      key,
      storageNumel: t.size,
      size: t.shape,
      stride: contiguousStrides(t.shape),
    });
  }
  return alignedStoredZip(torchZipEntries(w.setitems().stop().bytes(), storages));
}
