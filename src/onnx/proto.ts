/**
 * The part of ONNX's protobuf schema (onnx.proto, field numbers and names as there) that mobilezoo
 * writes and reads, as plain objects, with its own encoder and decoder.
 *
 * Why not a protobuf library: the engine must load in a browser as plain ES modules with no bundler
 * (`export --web` copies `lib/` as files). protobufjs, under `onnx-proto`, is CommonJS; @bufbuild/protobuf
 * is ESM, but its modules and the code it generates import it by bare specifier, which a page can only
 * resolve with an import map and a copy of the package (and its generated code kept in step with it),
 * where we use a dozen messages. Protobuf's wire format is small and frozen, so one table of fields and
 * one generic encoder/decoder over it is less to keep than a dependency: this module imports nothing.
 *
 * Encoding writes exactly the bytes protobufjs writes for the same object (test/onnx checks it against
 * onnx-proto): fields in field-number order, an optional field when it is not null/undefined, a repeated
 * one when it is not empty, repeated numbers packed. Decoding reads users' files: fields it does not know
 * are skipped, every length is checked against the enclosing message before anything is read or
 * allocated, nesting is bounded, and errors name the field path and byte offset. A decoded message has
 * every repeated field as an array (empty when absent) and its optional fields only when present; bytes
 * fields are views into the input (no copy); int64 values are numbers, or bigints where a number
 * would round.
 */

export type Int64 = number | bigint;

export interface StringStringEntryProto { key?: string; value?: string }

export interface OperatorSetIdProto { domain?: string; version?: Int64 }

export interface TensorShapeDimension { dimValue?: Int64; dimParam?: string; denotation?: string }

export interface TensorShapeProto { dim?: TensorShapeDimension[] }

export interface TypeProtoTensor { elemType?: number; shape?: TensorShapeProto }

/** Only tensor types; sequence, map, optional and sparse types are skipped when decoding. */
export interface TypeProto { tensorType?: TypeProtoTensor; denotation?: string }

export interface ValueInfoProto { name?: string; type?: TypeProto; docString?: string }

export interface TensorSegment { begin?: Int64; end?: Int64 }

export interface TensorProto {
  dims?: Int64[];
  /** A DataType value. */
  dataType?: number;
  segment?: TensorSegment;
  floatData?: number[];
  int32Data?: number[];
  stringData?: Uint8Array[];
  int64Data?: Int64[];
  name?: string;
  rawData?: Uint8Array;
  doubleData?: number[];
  uint64Data?: Int64[];
  docString?: string;
  /** location, offset, length, checksum of data kept in another file (when dataLocation is EXTERNAL). */
  externalData?: StringStringEntryProto[];
  /** A DataLocation value. */
  dataLocation?: number;
}

export interface AttributeProto {
  name?: string;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  docString?: string;
  tp?: TypeProto;
  typeProtos?: TypeProto[];
  /** An AttributeType value. */
  type?: number;
  refAttrName?: string;
}

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  attribute?: AttributeProto[];
  docString?: string;
  domain?: string;
}

export interface TensorAnnotation { tensorName?: string; quantParameterTensorNames?: StringStringEntryProto[] }

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  docString?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  valueInfo?: ValueInfoProto[];
  quantizationAnnotation?: TensorAnnotation[];
}

/** Training info and model-local functions are skipped when decoding. */
export interface ModelProto {
  irVersion?: Int64;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: Int64;
  docString?: string;
  graph?: GraphProto;
  opsetImport?: OperatorSetIdProto[];
  metadataProps?: StringStringEntryProto[];
}

type ArrayKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends readonly unknown[] ? K : never }[keyof T];
type DecodedValue<V> = V extends Uint8Array | string | number | bigint ? V : V extends object ? Decoded<V> : V;
/** A message as the decoder returns it: its repeated fields always present (empty when absent). */
export type Decoded<T> = { [K in Exclude<keyof T, ArrayKeys<T>>]?: DecodedValue<NonNullable<T[K]>> } & {
  [K in ArrayKeys<T>]-?: NonNullable<T[K]> extends readonly (infer E)[] ? DecodedValue<E>[] : never;
};

export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;

export const AttributeType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, SPARSE_TENSOR: 11, TYPE_PROTO: 13,
  FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10, SPARSE_TENSORS: 12, TYPE_PROTOS: 14,
} as const;

export const DataLocation = { DEFAULT: 0, EXTERNAL: 1 } as const;

// ---- the schema ----

type Scalar = 'string' | 'bytes' | 'int32' | 'int64' | 'uint64' | 'float' | 'double';

interface Field {
  no: number;
  /** The property name (onnx-proto's camelCase). */
  name: string;
  /** The name in onnx.proto, for error messages. */
  protoName: string;
  kind: Scalar | 'message';
  message?: () => Message;
  repeated: boolean;
}

interface Message {
  name: string;
  /** In field-number order, which is the order protobufjs writes them. */
  fields: Field[];
  byNumber: (Field | undefined)[];
  repeated: Field[];
}

/** 'name', 'name[]' (repeated); the kind is a scalar or a message thunk. */
function message(name: string, spec: [number, string, Scalar | (() => Message)][]): Message {
  const fields = spec.map(([no, key, kind]): Field => {
    const repeated = key.endsWith('[]');
    const prop = repeated ? key.slice(0, -2) : key;
    return {
      no, name: prop, protoName: prop.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), repeated,
      kind: typeof kind === 'string' ? kind : 'message', message: typeof kind === 'string' ? undefined : kind,
    };
  }).sort((a, b) => a.no - b.no);
  const byNumber: (Field | undefined)[] = [];
  for (const f of fields) byNumber[f.no] = f;
  return { name, fields, byNumber, repeated: fields.filter((f) => f.repeated) };
}

const STRING_STRING = message('StringStringEntryProto', [[1, 'key', 'string'], [2, 'value', 'string']]);
const OPSET_ID = message('OperatorSetIdProto', [[1, 'domain', 'string'], [2, 'version', 'int64']]);
const DIMENSION = message('TensorShapeProto.Dimension', [[1, 'dimValue', 'int64'], [2, 'dimParam', 'string'], [3, 'denotation', 'string']]);
const SHAPE = message('TensorShapeProto', [[1, 'dim[]', () => DIMENSION]]);
const TYPE_TENSOR = message('TypeProto.Tensor', [[1, 'elemType', 'int32'], [2, 'shape', () => SHAPE]]);
const TYPE = message('TypeProto', [[1, 'tensorType', () => TYPE_TENSOR], [6, 'denotation', 'string']]);
const VALUE_INFO = message('ValueInfoProto', [[1, 'name', 'string'], [2, 'type', () => TYPE], [3, 'docString', 'string']]);
const SEGMENT = message('TensorProto.Segment', [[1, 'begin', 'int64'], [2, 'end', 'int64']]);
const TENSOR = message('TensorProto', [
  [1, 'dims[]', 'int64'], [2, 'dataType', 'int32'], [3, 'segment', () => SEGMENT], [4, 'floatData[]', 'float'],
  [5, 'int32Data[]', 'int32'], [6, 'stringData[]', 'bytes'], [7, 'int64Data[]', 'int64'], [8, 'name', 'string'],
  [9, 'rawData', 'bytes'], [10, 'doubleData[]', 'double'], [11, 'uint64Data[]', 'uint64'], [12, 'docString', 'string'],
  [13, 'externalData[]', () => STRING_STRING], [14, 'dataLocation', 'int32'],
]);
const ATTRIBUTE: Message = message('AttributeProto', [
  [1, 'name', 'string'], [2, 'f', 'float'], [3, 'i', 'int64'], [4, 's', 'bytes'], [5, 't', () => TENSOR],
  [6, 'g', () => GRAPH], [7, 'floats[]', 'float'], [8, 'ints[]', 'int64'], [9, 'strings[]', 'bytes'],
  [10, 'tensors[]', () => TENSOR], [11, 'graphs[]', () => GRAPH], [13, 'docString', 'string'], [14, 'tp', () => TYPE],
  [15, 'typeProtos[]', () => TYPE], [20, 'type', 'int32'], [21, 'refAttrName', 'string'],
]);
const NODE = message('NodeProto', [
  [1, 'input[]', 'string'], [2, 'output[]', 'string'], [3, 'name', 'string'], [4, 'opType', 'string'],
  [5, 'attribute[]', () => ATTRIBUTE], [6, 'docString', 'string'], [7, 'domain', 'string'],
]);
const TENSOR_ANNOTATION = message('TensorAnnotation', [[1, 'tensorName', 'string'], [2, 'quantParameterTensorNames[]', () => STRING_STRING]]);
const GRAPH: Message = message('GraphProto', [
  [1, 'node[]', () => NODE], [2, 'name', 'string'], [5, 'initializer[]', () => TENSOR], [10, 'docString', 'string'],
  [11, 'input[]', () => VALUE_INFO], [12, 'output[]', () => VALUE_INFO], [13, 'valueInfo[]', () => VALUE_INFO],
  [14, 'quantizationAnnotation[]', () => TENSOR_ANNOTATION],
]);
const MODEL = message('ModelProto', [
  [1, 'irVersion', 'int64'], [2, 'producerName', 'string'], [3, 'producerVersion', 'string'], [4, 'domain', 'string'],
  [5, 'modelVersion', 'int64'], [6, 'docString', 'string'], [7, 'graph', () => GRAPH], [8, 'opsetImport[]', () => OPSET_ID],
  [14, 'metadataProps[]', () => STRING_STRING],
]);

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

const wireOf: Record<Field['kind'], number> = {
  string: WIRE_BYTES, bytes: WIRE_BYTES, message: WIRE_BYTES, int32: WIRE_VARINT, int64: WIRE_VARINT, uint64: WIRE_VARINT,
  float: WIRE_FIXED32, double: WIRE_FIXED64,
};

/** Repeated numbers are written packed (as protobufjs writes them) and read in either form. */
const packable = (f: Field) => f.repeated && wireOf[f.kind] !== WIRE_BYTES;

// ---- encoding ----

type Obj = Record<string, unknown>;

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

const TWO_32 = 4294967296;

/** A wrong value found while encoding; the path is filled in on the way out (see measure). */
class EncodeError extends Error {
  readonly path: string[] = [];
}

/** A 64-bit varint's value as a bigint (two's complement for negatives); undefined when it fits a uint32. */
function wide(v: Int64, kind: Scalar): bigint | undefined {
  if (typeof v === 'number') {
    if (v >= 0 && v < TWO_32 && Number.isInteger(v)) return undefined;
    if (!Number.isInteger(v)) throw new EncodeError(`must be an integer, got ${v}`);
    v = BigInt(v);
  } else if (typeof v !== 'bigint') {
    throw new EncodeError(`must be a number or bigint, got ${typeof v}`);
  }
  if (kind === 'int32') return BigInt.asUintN(64, BigInt.asIntN(32, v));
  return BigInt.asUintN(64, v);
}

function bigVarintSize(v: bigint): number {
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

function intSize(v: Int64, kind: Scalar): number {
  const w = wide(v, kind);
  return w === undefined ? varintSize(v as number) : bigVarintSize(w);
}

/** Native, and about twice as fast as utf8Length on the names that make up most of a train-step graph. */
const ASCII = /^[\x00-\x7f]*$/;

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3; // a lone surrogate becomes U+FFFD
  }
  return n;
}

/**
 * Pass 1: the byte size of a message's body. Pushes onto `lengths`, in the order pass 2 writes them,
 * the length of every nested message, string and packed array.
 */
function measure(m: Obj, type: Message, lengths: number[]): number {
  let size = 0;
  for (const f of type.fields) {
    const v = m[f.name];
    if (v === undefined || v === null) continue;
    const tag = varintSize(f.no << 3);
    let i = -1;
    try {
      if (!f.repeated) {
        size += tag + valueSize(f, v, lengths);
        continue;
      }
      if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new EncodeError('must be an array');
      const a = v as ArrayLike<unknown>;
      if (a.length === 0) continue;
      if (packable(f)) {
        let len = 0;
        if (f.kind === 'float') len = 4 * a.length;
        else if (f.kind === 'double') len = 8 * a.length;
        else for (i = 0; i < a.length; i++) len += intSize(a[i] as Int64, f.kind as Scalar);
        lengths.push(len);
        size += tag + varintSize(len) + len;
      } else {
        for (i = 0; i < a.length; i++) size += tag + valueSize(f, a[i], lengths);
      }
    } catch (e) {
      if (e instanceof EncodeError) e.path.unshift(i >= 0 ? `${f.protoName}[${i}]` : f.protoName);
      throw e;
    }
  }
  return size;
}

function valueSize(f: Field, v: unknown, lengths: number[]): number {
  switch (f.kind) {
    case 'string': {
      if (typeof v !== 'string') throw new EncodeError(`must be a string, got ${typeof v}`);
      const len = ASCII.test(v) ? v.length : utf8Length(v);
      lengths.push(len);
      return varintSize(len) + len;
    }
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new EncodeError('must be a Uint8Array');
      return varintSize(v.length) + v.length;
    case 'message': {
      if (typeof v !== 'object') throw new EncodeError(`must be an object, got ${typeof v}`);
      const at = lengths.length;
      lengths.push(0);
      const len = measure(v as Obj, f.message!(), lengths);
      lengths[at] = len;
      return varintSize(len) + len;
    }
    case 'float':
    case 'double':
      if (typeof v !== 'number') throw new EncodeError(`must be a number, got ${typeof v}`);
      return f.kind === 'float' ? 4 : 8;
    default: return intSize(v as Int64, f.kind);
  }
}

class Writer {
  pos = 0;
  next = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array, readonly lengths: number[]) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  varint(v: number): void {
    const b = this.buf;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    b[this.pos++] = v;
  }

  int(v: Int64, kind: Scalar): void {
    let w = wide(v, kind);
    if (w === undefined) return this.varint(v as number);
    while (w >= 0x80n) {
      this.buf[this.pos++] = Number(w & 0x7fn) | 0x80;
      w >>= 7n;
    }
    this.buf[this.pos++] = Number(w);
  }

  string(s: string): void {
    const len = this.lengths[this.next++]!;
    this.varint(len);
    if (len === s.length) {
      for (let i = 0; i < len; i++) this.buf[this.pos + i] = s.charCodeAt(i);
    } else {
      encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + len));
    }
    this.pos += len;
  }

  message(m: Obj, type: Message): void {
    for (const f of type.fields) {
      const v = m[f.name];
      if (v === undefined || v === null) continue;
      if (!f.repeated) {
        this.varint((f.no << 3) | wireOf[f.kind]);
        this.value(f, v);
        continue;
      }
      const a = v as ArrayLike<unknown>;
      if (a.length === 0) continue;
      if (packable(f)) {
        this.varint((f.no << 3) | WIRE_BYTES);
        this.varint(this.lengths[this.next++]!);
        for (let i = 0; i < a.length; i++) this.value(f, a[i]);
      } else {
        const tag = (f.no << 3) | WIRE_BYTES;
        for (let i = 0; i < a.length; i++) {
          this.varint(tag);
          this.value(f, a[i]);
        }
      }
    }
  }

  value(f: Field, v: unknown): void {
    switch (f.kind) {
      case 'string': return this.string(v as string);
      case 'bytes': {
        const b = v as Uint8Array;
        this.varint(b.length);
        this.buf.set(b, this.pos);
        this.pos += b.length;
        return;
      }
      case 'message':
        this.varint(this.lengths[this.next++]!);
        return this.message(v as Obj, f.message!());
      case 'float':
        this.view.setFloat32(this.pos, v as number, true);
        this.pos += 4;
        return;
      case 'double':
        this.view.setFloat64(this.pos, v as number, true);
        this.pos += 8;
        return;
      default: return this.int(v as Int64, f.kind);
    }
  }
}

const encoder = new TextEncoder();

function encode(m: object, type: Message): Uint8Array {
  const lengths: number[] = [];
  let size: number;
  try {
    size = measure(m as Obj, type, lengths);
  } catch (e) {
    if (!(e instanceof EncodeError)) throw e;
    throw new Error(`ONNX encode: ${[type.name, ...e.path].join('.')} ${e.message}`);
  }
  const w = new Writer(new Uint8Array(size), lengths);
  w.message(m as Obj, type);
  if (w.pos !== size) throw new Error(`ONNX encode: wrote ${w.pos} bytes of the ${size} measured (a message changed while encoding?)`);
  return w.buf;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return encode(model, MODEL);
}

// ---- decoding ----

/** Protobuf's own default nesting limit; ONNX nests GraphProtos only through control-flow attributes. */
const MAX_DEPTH = 100;

class DecodeError extends Error {
  readonly path: string[] = [];
  constructor(readonly detail: string, readonly offset: number) {
    super(detail);
  }
}

const decoder = new TextDecoder();

class Reader {
  pos = 0;
  end: number;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.end = buf.length;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A varint as a number, exact up to 2^53 (larger values only serve to fail a bounds check). */
  varint(): number {
    const b = this.buf;
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError('a varint runs past the end of its message', this.pos);
      const byte = b[this.pos++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
    }
    throw new DecodeError('a varint longer than 10 bytes', this.pos - 10);
  }

  int(kind: Scalar): Int64 {
    const start = this.pos;
    const v = this.varint();
    if (kind === 'int32') {
      // The low 32 bits, which the first 5 bytes hold exactly.
      let low = 0;
      for (let i = 0, mul = 1; i < Math.min(5, this.pos - start); i++, mul *= 128) low += (this.buf[start + i]! & 0x7f) * mul;
      return low | 0;
    }
    if (this.pos - start <= 7) return v; // 49 bits: exact, and non-negative as int64 too
    let w = 0n;
    for (let p = this.pos - 1; p >= start; p--) w = (w << 7n) | BigInt(this.buf[p]! & 0x7f);
    w = kind === 'int64' ? BigInt.asIntN(64, w) : BigInt.asUintN(64, w);
    return w >= -BigInt(Number.MAX_SAFE_INTEGER) && w <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(w) : w;
  }

  /** A length prefix, checked against the enclosing message; returns the end of the data it covers. */
  length(): number {
    const at = this.pos;
    const len = this.varint();
    if (len > this.end - this.pos) {
      throw new DecodeError(`length ${len} runs past the end of its message (${this.end - this.pos} bytes left of ${this.buf.length})`, at);
    }
    return this.pos + len;
  }

  string(): string {
    const end = this.length();
    const s = decoder.decode(this.buf.subarray(this.pos, end));
    this.pos = end;
    return s;
  }

  bytes(): Uint8Array {
    const end = this.length();
    const v = this.buf.subarray(this.pos, end);
    this.pos = end;
    return v;
  }

  fixed(kind: 'float' | 'double'): number {
    const n = kind === 'float' ? 4 : 8;
    if (this.end - this.pos < n) throw new DecodeError(`a ${kind} runs past the end of its message`, this.pos);
    const v = kind === 'float' ? this.view.getFloat32(this.pos, true) : this.view.getFloat64(this.pos, true);
    this.pos += n;
    return v;
  }

  skip(wire: number, no: number, depth: number): void {
    switch (wire) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_FIXED64:
      case WIRE_FIXED32: {
        const n = wire === WIRE_FIXED64 ? 8 : 4;
        if (this.end - this.pos < n) throw new DecodeError(`unknown field ${no} runs past the end of its message`, this.pos);
        this.pos += n;
        return;
      }
      case WIRE_BYTES: this.pos = this.length(); return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_DEPTH) throw new DecodeError(`groups nested deeper than ${MAX_DEPTH}`, this.pos);
        for (;;) {
          const at = this.pos;
          const tag = this.tag();
          if ((tag & 7) === WIRE_END_GROUP) {
            if (tag >>> 3 !== no) throw new DecodeError(`group ${no} ended by field ${tag >>> 3}`, at);
            return;
          }
          this.skip(tag & 7, tag >>> 3, depth + 1);
        }
      }
      default: throw new DecodeError(`field ${no} has wire type ${wire}, which protobuf does not define`, this.pos);
    }
  }

  tag(): number {
    const at = this.pos;
    const tag = this.varint();
    if (tag > 0xffffffff || tag >>> 3 === 0) throw new DecodeError(`invalid field tag ${tag}`, at);
    return tag;
  }

  message(type: Message, depth: number): Obj {
    if (depth > MAX_DEPTH) throw new DecodeError(`messages nested deeper than ${MAX_DEPTH}`, this.pos);
    const m: Obj = {};
    for (const f of type.repeated) m[f.name] = [];
    while (this.pos < this.end) {
      const at = this.pos;
      const tag = this.tag();
      const wire = tag & 7;
      const f = type.byNumber[tag >>> 3];
      if (!f) {
        if (wire === WIRE_END_GROUP) throw new DecodeError(`an end-group tag (field ${tag >>> 3}) outside a group`, at);
        this.skip(wire, tag >>> 3, depth);
        continue;
      }
      const packed = f.repeated && wire === WIRE_BYTES && packable(f);
      try {
        if (!f.repeated) {
          this.expectWire(f, wire, at);
          m[f.name] = this.value(f, depth);
        } else if (packed) {
          const list = m[f.name] as unknown[];
          const end = this.length();
          const outer = this.end;
          this.end = end;
          while (this.pos < end) list.push(this.value(f, depth));
          this.end = outer;
        } else {
          this.expectWire(f, wire, at);
          (m[f.name] as unknown[]).push(this.value(f, depth));
        }
      } catch (e) {
        if (e instanceof DecodeError) {
          e.path.unshift(f.repeated && !packed ? `${f.protoName}[${(m[f.name] as unknown[]).length}]` : f.protoName);
        }
        throw e;
      }
    }
    return m;
  }

  expectWire(f: Field, wire: number, at: number): void {
    if (wire !== wireOf[f.kind]) throw new DecodeError(`wire type ${wire} where ${f.kind} takes ${wireOf[f.kind]}`, at);
  }

  value(f: Field, depth: number): unknown {
    switch (f.kind) {
      case 'string': return this.string();
      case 'bytes': return this.bytes();
      case 'message': {
        const end = this.length();
        const outer = this.end;
        this.end = end;
        const v = this.message(f.message!(), depth + 1);
        this.end = outer;
        return v;
      }
      case 'float':
      case 'double': return this.fixed(f.kind);
      default: return this.int(f.kind);
    }
  }
}

/** Decodes an ONNX model; throws an Error naming the malformed field's path and byte offset. */
export function decodeModel(bytes: Uint8Array): Decoded<ModelProto> {
  if (!(bytes instanceof Uint8Array)) throw new Error('ONNX decode: expected the model as a Uint8Array');
  try {
    return new Reader(bytes).message(MODEL, 0) as Decoded<ModelProto>;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    const where = ['ModelProto', ...e.path].join('.').replace(/\.\[/g, '[');
    throw new Error(`malformed ONNX model: ${where} at byte ${e.offset}: ${e.detail}`);
  }
}
