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

/** A legacy torch.save file: the header pickles, `object` (a pickle), the storage key list, then each storage's count and bytes. */
export function legacyTorchSave(
  object: Uint8Array,
  storages: [key: string, count: number | bigint, data: Uint8Array][] = [],
  header: { magic?: bigint; protocol?: number; littleEndian?: boolean } = {},
): Uint8Array {
  const pickle = () => new PickleWriter().proto(2);
  const sysInfo = pickle().emptyDict().mark().str('protocol_version').int(1001);
  sysInfo.str('little_endian').bool(header.littleEndian ?? true).setitems();
  const parts = [
    pickle().int(header.magic ?? 0x1950a86a20f9469cfc6cn).stop().bytes(),
    pickle().int(header.protocol ?? 1001).stop().bytes(),
    sysInfo.stop().bytes(),
    object,
    pickleOf(storages.map(([key]) => key)),
  ];
  for (const [, count, data] of storages) {
    const n = new Uint8Array(8);
    new DataView(n.buffer).setBigUint64(0, BigInt(count), true);
    parts.push(n, data);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}
