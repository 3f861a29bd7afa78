/** Lowers the graph IR to an ONNX ModelProto (src/onnx/proto.ts: onnx.proto's messages and their encoding). */
import { type Attr, type Graph, type ValueInfo, opDomain } from '../graph/ir.js';
import type { DType, Tensor } from '../tensor.js';
import { type AttributeProto, AttributeType, DataType, type ModelProto, type TensorProto, type ValueInfoProto, encodeModel } from './proto.js';

export { type Decoded, type ModelProto, decodeModel, encodeModel } from './proto.js';

export const OPSET = 17;
/** IR version 8 is the one that goes with opset 17. */
const IR_VERSION = 8;

const elemTypes: Record<DType, number> = {
  float32: DataType.FLOAT,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  int32: DataType.INT32,
  int64: DataType.INT64,
  bool: DataType.BOOL,
  float64: DataType.DOUBLE,
};

export function onnxElemType(dtype: DType): number {
  return elemTypes[dtype];
}

function tensorProto(name: string, t: Tensor): TensorProto {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return { name, dims: [...t.shape], dataType: elemTypes[t.dtype], rawData: bytes };
}

function attributeProto(name: string, a: Attr): AttributeProto {
  const T = AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  if ('floats' in a) return { name, type: T.FLOATS, floats: a.floats };
  if ('s' in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
  return { name, type: T.TENSOR, t: tensorProto(name, a.t) };
}

function valueInfo(v: ValueInfo): ValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: elemTypes[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export interface SerializeOptions {
  /** Also record every intermediate value's inferred shape (helps ORT plan memory; larger file). */
  valueInfo?: boolean;
  docString?: string;
}

export function toModelProto(g: Graph, options: SerializeOptions = {}): ModelProto {
  const graphInputs = new Set(g.inputs.map((v) => v.name));
  const boundary = new Set([...graphInputs, ...g.outputs.map((v) => v.name), ...g.initializers.keys()]);
  const extraDomains = new Set(g.nodes.map((n) => opDomain(n.op).domain).filter((d) => d !== ''));
  return {
    irVersion: IR_VERSION,
    // ORT's contrib domains are at version 1.
    opsetImport: [{ domain: '', version: OPSET }, ...[...extraDomains].map((domain) => ({ domain, version: 1 }))],
    producerName: 'mobilezoo',
    producerVersion: '0.1.0',
    docString: options.docString ?? '',
    graph: {
      name: g.name,
      node: g.nodes.map((n) => ({
        name: n.name,
        ...opDomain(n.op),
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, a]) => attributeProto(k, a)),
      })),
      input: g.inputs.map(valueInfo),
      output: g.outputs.map(valueInfo),
      initializer: [...g.initializers].filter(([name]) => !graphInputs.has(name)).map(([name, t]) => tensorProto(name, t)),
      valueInfo: options.valueInfo ? [...g.values.values()].filter((v) => !boundary.has(v.name)).map(valueInfo) : [],
    },
  };
}

export function serializeModel(g: Graph, options: SerializeOptions = {}): Uint8Array {
  return encodeModel(toModelProto(g, options));
}
