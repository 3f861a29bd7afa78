/** Test-only: hand-assembles pickles and torch.save-style zips, including hostile ones. */

import { zipSync } from 'fflate';

export class PickleWriter {
  private readonly out: number[] = [];

  op(...bytes: number[]): this {
    this.out.push(...bytes);
    return this;
  }
  private u32(n: number): this {
    return this.op(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  private raw(s: string): this {
    return this.op(...new TextEncoder().encode(s));
  }

  proto(n = 2): this {
    return this.op(0x80, n);
  }
  global(module: string, name: string): this {
    return this.op(0x63).raw(`${module}\n${name}\n`);
  }
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).op(0x93);
  }
  mark(): this {
    return this.op(0x28);
  }
  tuple(): this {
    return this.op(0x74);
  }
  emptyTuple(): this {
    return this.op(0x29);
  }
  emptyDict(): this {
    return this.op(0x7d);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >> 8);
    return this.op(0x4a).u32(n);
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58).u32(b.length).op(...b);
  }
  bool(b: boolean): this {
    return this.op(b ? 0x88 : 0x89);
  }
  none(): this {
    return this.op(0x4e);
  }
  reduce(): this {
    return this.op(0x52);
  }
  setitems(): this {
    return this.op(0x75);
  }
  binput(i: number): this {
    return this.op(0x71, i);
  }
  binget(i: number): this {
    return this.op(0x68, i);
  }
  binpersid(): this {
    return this.op(0x51);
  }
  stop(): this {
    return this.op(0x2e);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A tensor view as torch pickles it: storage ('storage', torch.<type>, key, 'cpu', numel). */
export interface TensorRef {
  kind: 'tensor';
  storageType: string;
  key: string;
  storageNumel: number;
  offset?: number;
  size: number[];
  stride: number[];
}

export const tensorRef = (r: Omit<TensorRef, 'kind'>): TensorRef => ({ kind: 'tensor', ...r });

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
  w.global('torch._utils', '_rebuild_tensor_v2').mark();
  w.mark().str('storage').global('torch', v.storageType).str(v.key).str('cpu').int(v.storageNumel).tuple().binpersid();
  w.int(v.offset ?? 0);
  writeValue(w, v.size);
  writeValue(w, v.stride);
  w.bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
  return w.tuple().reduce();
}

export function pickleOf(v: PyLike): Uint8Array {
  return writeValue(new PickleWriter().proto(2), v).stop().bytes();
}

/** A torch.save-layout zip: `<archive>/data.pkl`, `<archive>/data/<key>`, stored uncompressed. */
export function torchZip(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array> = {},
  extra: Record<string, Uint8Array> = {},
  archive = 'archive',
): Uint8Array {
  const files: Record<string, Uint8Array> = {
    [`${archive}/data.pkl`]: pkl,
    [`${archive}/byteorder`]: new TextEncoder().encode('little'),
    [`${archive}/version`]: new TextEncoder().encode('3\n'),
  };
  for (const [k, b] of Object.entries(storages)) files[`${archive}/data/${k}`] = b;
  Object.assign(files, extra);
  return zipSync(files, { level: 0 });
}

export const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
export const i64Bytes = (values: number[]): Uint8Array =>
  new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
