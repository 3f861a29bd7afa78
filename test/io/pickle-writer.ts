/** Test-only: hand-assembles pickles and torch.save-style zips, including hostile ones. */

import { PickleWriter } from '../../src/io/pickle-writer.js';
import { pickleTensor, torchZipEntries, type PickledTensor } from '../../src/io/pth-writer.js';
import { alignedStoredZip } from '../../src/io/zip-writer.js';

export { PickleWriter };

/** A tensor view as torch pickles it: storage ('storage', torch.<type>, key, 'cpu', numel). */
export interface TensorRef extends PickledTensor {
  kind: 'tensor';
}

export const tensorRef = (r: PickledTensor): TensorRef => ({ kind: 'tensor', ...r });

export type PyLike = null | boolean | number | string | PyLike[] | Map<string, PyLike> | TensorRef;

/** Emits `v` the way torch.save would (dicts as OrderedDict, tensors via _rebuild_tensor_v2). */
export function writeValue(w: PickleWriter, v: PyLike): PickleWriter {
  if (v === null) return w.none();
  if (typeof v === 'boolean') return w.bool(v);
  if (typeof v === 'number') return w.int(v);
  if (typeof v === 'string') return w.str(v);
  if (Array.isArray(v)) {
    w.mark();
    for (const x of v) writeValue(w, x);
    return w.tuple();
  }
  if (v instanceof Map) {
    w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
    for (const [k, x] of v) writeValue(w.str(k), x);
    return w.setitems();
  }
  return pickleTensor(w, v);
}

export function pickleOf(v: PyLike): Uint8Array {
  return writeValue(new PickleWriter().proto(2), v).stop().bytes();
}

/** A torch.save-layout zip of any pickle and entries: `<archive>/data.pkl`, `<archive>/data/<key>`, then `extra`. */
export function torchZip(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array> = {},
  extra: Record<string, Uint8Array> = {},
  archive = 'archive',
): Uint8Array {
  const entries = torchZipEntries(pkl, new Map(Object.entries(storages)), archive);
  for (const [name, bytes] of Object.entries(extra)) entries.set(name, bytes);
  return alignedStoredZip(entries);
}

export const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
export const i64Bytes = (values: number[]): Uint8Array =>
  new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
