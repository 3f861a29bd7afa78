/**
 * safetensors: 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data.
 */

import { type DType, type LazyStateDict, type LazyTensor, type StateDict, type Tensor, numel, shapeString } from '../tensor.js';
import { ELEMENT_SIZE, HOST_DTYPE, STORAGE_DTYPE, decodeCost, decodeTensor, isMisaligned, isStorageDType, tensorBytes, type StorageDType } from './dtypes.js';
import { ReadBudget } from './limits.js';

/** The reference implementation's limit; anything bigger is not a real header. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface Entry {
  name: string;
  dtype: StorageDType;
  shape: number[];
  begin: number;
  end: number;
}

/** What the header says: the tensors (in data order), the metadata, and how long the data section is. */
export interface SafetensorsHeader {
  entries: Entry[];
  metadata: Record<string, string>;
  /** 8 + the JSON's length: where the data starts. */
  dataStart: number;
  /** Bytes of data the tensors cover (the file must end there). */
  dataLength: number;
}

const failer = (fileName: string) => (msg: string): never => {
  throw new Error(`${fileName}: safetensors: ${msg}`);
};

/** The JSON header's length from the first 8 bytes of a file of `fileSize` bytes, checked to fit in it. */
export function safetensorsHeaderLength(first8: Uint8Array, fileSize: number, fileName: string): number {
  const fail = failer(fileName);
  if (first8.length < 8 || fileSize < 8) fail(`file is truncated (${fileSize} bytes, the header length alone needs 8)`);
  const headerLen = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen} is implausible; not a safetensors file?`);
  if (8 + Number(headerLen) > fileSize) fail(`file is truncated: header declares ${headerLen} bytes but only ${fileSize - 8} follow`);
  return Number(headerLen);
}

/**
 * Parses the JSON header of a file of `fileSize` bytes and checks it against that size, as the reference
 * implementation does: tensors lie back to back from the start of the data, without overlaps or holes,
 * and the last one ends where the file ends. Nothing of the data needs to have been read.
 */
export function parseSafetensorsHeader(json: Uint8Array, fileSize: number, fileName: string): SafetensorsHeader {
  const fail = failer(fileName);
  const dataStart = 8 + json.length;
  const available = fileSize - dataStart;
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

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
    if (begin > end || end > available) {
      bad(`data_offsets [${begin}, ${end}] outside the ${available} data bytes (file truncated?)`);
    }
    if (end - begin !== expected) {
      bad(`${dt} ${shapeString(shape as number[])} needs ${expected} bytes but data_offsets span ${end - begin}`);
    }
    entries.push({ name, dtype: dt, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const [i, cur] of entries.entries()) {
    const prev = entries[i - 1];
    if (prev && cur.begin < prev.end) fail(`tensors '${prev.name}' and '${cur.name}' overlap`);
    if (cur.begin > covered) fail(`data bytes [${covered}, ${cur.begin}) before tensor '${cur.name}' belong to no tensor`);
    covered = Math.max(covered, cur.end);
  }
  if (covered !== available) fail(`the tensors cover ${covered} data bytes but the file has ${available} after the header`);
  return { entries, metadata, dataStart, dataLength: covered };
}

function parse(bytes: Uint8Array, fileName: string): SafetensorsHeader {
  const headerLen = safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length, fileName);
  return parseSafetensorsHeader(bytes.subarray(8, 8 + headerLen), bytes.length, fileName);
}

class SafetensorsTensor implements LazyTensor {
  private tensor: Tensor | undefined;

  constructor(
    private readonly entry: Entry,
    private readonly data: Uint8Array,
    private readonly fileName: string,
    private readonly budget: ReadBudget,
  ) {}

  get dtype(): DType {
    return HOST_DTYPE[this.entry.dtype];
  }

  get shape(): readonly number[] {
    return this.entry.shape;
  }

  read(): Tensor {
    if (this.tensor) return this.tensor;
    const { dtype, shape, begin, end, name } = this.entry;
    const bytes = this.data.subarray(begin, end);
    const contiguous = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    this.budget.take(decodeCost(dtype, shape, contiguous, 0, isMisaligned(dtype, bytes)), `${this.fileName}: tensor '${name}' ${dtype} ${shapeString(shape)}`);
    this.tensor = decodeTensor(dtype, bytes, shape);
    return this.tensor;
  }
}

/** The tensors of a whole safetensors file, in data order, not read yet (reading is charged to `budget`). */
export function openSafetensors(bytes: Uint8Array, fileName: string, budget: ReadBudget): LazyStateDict {
  const { entries, dataStart } = parse(bytes, fileName);
  const data = bytes.subarray(dataStart);
  return new Map(entries.map((e) => [e.name, new SafetensorsTensor(e, data, fileName, budget)]));
}

/** All tensors, in file data order (half types widened to float32). */
export function readSafetensors(bytes: Uint8Array, fileName: string): StateDict {
  return new Map([...openSafetensors(bytes, fileName, ReadBudget.global())].map(([k, t]) => [k, t.read()]));
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
