/**
 * safetensors: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data.
 */

import { numel, shapeString, type StateDict } from '../tensor.js';
import { ELEMENT_SIZE, STORAGE_DTYPE, decodeTensor, isStorageDType, tensorBytes, type StorageDType } from './dtypes.js';

/** The reference implementation's limit; anything bigger is not a real header. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface Entry {
  name: string;
  dtype: StorageDType;
  shape: number[];
  begin: number;
  end: number;
}

interface Parsed {
  entries: Entry[];
  metadata: Record<string, string>;
  data: Uint8Array;
}

function parse(bytes: Uint8Array, fileName: string): Parsed {
  const fail = (msg: string): never => {
    throw new Error(`${fileName}: safetensors: ${msg}`);
  };
  if (bytes.length < 8) fail(`file is truncated (${bytes.length} bytes, the header length alone needs 8)`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen} is implausible; not a safetensors file?`);
  const dataStart = 8 + Number(headerLen);
  if (dataStart > bytes.length) {
    fail(`file is truncated: header declares ${headerLen} bytes but only ${bytes.length - 8} follow`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const data = bytes.subarray(dataStart);

  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info) ||
          !Object.values(info).every((v) => typeof v === 'string')) {
        fail('__metadata__ must be an object of strings');
      }
      metadata = { ...(info as Record<string, string>) };
      continue;
    }
    const bad = (msg: string): never => fail(`tensor '${name}': ${msg}`);
    if (typeof info !== 'object' || info === null) bad('entry is not an object');
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (!isStorageDType(dtype)) bad(`unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad('shape must be a list of non-negative ints');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      bad('data_offsets must be [begin, end]');
    }
    const [begin, end] = offsets as [number, number];
    const dt = dtype as StorageDType;
    const expected = numel(shape as number[]) * ELEMENT_SIZE[dt];
    if (begin > end || end > data.length) {
      bad(`data_offsets [${begin}, ${end}] outside the ${data.length} data bytes (file truncated?)`);
    }
    if (end - begin !== expected) {
      bad(`${dt} ${shapeString(shape as number[])} needs ${expected} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, dtype: dt, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < entries.length; i++) {
    const prev = entries[i - 1]!;
    const cur = entries[i]!;
    if (cur.begin < prev.end) fail(`tensors '${prev.name}' and '${cur.name}' overlap`);
  }
  return { entries, metadata, data };
}

/** All tensors, in file data order (half types widened to float32). */
export function readSafetensors(bytes: Uint8Array, fileName: string): StateDict {
  const { entries, data } = parse(bytes, fileName);
  const sd: StateDict = new Map();
  for (const e of entries) sd.set(e.name, decodeTensor(e.dtype, data.subarray(e.begin, e.end), e.shape));
  return sd;
}

/** The `__metadata__` string map (empty when absent). */
export function readSafetensorsMetadata(bytes: Uint8Array, fileName: string): Record<string, string> {
  return parse(bytes, fileName).metadata;
}

/** Serializes tensors in map order, data packed back to back. */
export function writeSafetensors(sd: StateDict, metadata?: Record<string, string>): Uint8Array {
  // No prototype, so a tensor named '__proto__' is an ordinary key.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  let offset = 0;
  for (const [name, t] of sd) {
    if (name === '__metadata__') throw new Error(`writeSafetensors: '__metadata__' cannot be a tensor name`);
    const size = t.data.byteLength;
    header[name] = { dtype: STORAGE_DTYPE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of sd.values()) {
    out.set(tensorBytes(t), at);
    at += t.data.byteLength;
  }
  return out;
}
