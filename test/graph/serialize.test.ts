// ONNX lowering: serializeModel → decodeModel keeps every node, attribute, initializer and shape,
// and ORT runs the result.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/graph/builder.js';
import { Graph, attr } from '../../src/graph/ir.js';
import { OPSET, decodeModel, serializeModel, toModelProto } from '../../src/onnx/serialize.js';
import { createSession, ort } from '../../src/runtime/session.js';
import { Tensor } from '../../src/tensor.js';

// The decoded message with the fields these tests read required (decodeModel gives every repeated field as an array).
type Num = number | { toString(): string };
interface PTensor { name: string; dims: Num[]; dataType: number; rawData: Uint8Array }
interface PValue { name: string; type: { tensorType: { elemType: number; shape: { dim: { dimValue?: Num; dimParam?: string }[] } } } }
interface PAttr { name: string; type: number; i: Num; f: number; ints: Num[]; floats: number[]; s: Uint8Array; t: PTensor }
interface PNode { name: string; opType: string; input: string[]; output: string[]; attribute: PAttr[] }
interface PModel {
  irVersion: Num;
  opsetImport: { domain: string; version: Num }[];
  producerName: string;
  docString: string;
  graph: { node: PNode[]; input: PValue[]; output: PValue[]; initializer: PTensor[]; valueInfo: PValue[] };
}
const decode = (bytes: Uint8Array) => decodeModel(bytes) as unknown as PModel;
const dims = (v: PValue) => v.type.tensorType.shape.dim.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
const attrs = (n: PNode) => Object.fromEntries(n.attribute.map((x) => [x.name, x])) as Record<string, PAttr>;
/** A copy of protobuf bytes (decoded bytes may be an unaligned view into a Node Buffer). */
const buf = (u: Uint8Array) => new Uint8Array(u).buffer;

/** A small graph: Conv(+bias) → Clip → Reshape → Gemm, with a parameter fed as an input. */
function smallGraph(paramMode: 'constant' | 'input' = 'constant'): GraphBuilder {
  const g = new GraphBuilder({ paramMode });
  const x = g.input('input', 'float32', ['N', 2, 4, 4]);
  const w = g.param('conv.weight', Tensor.float32([3, 2, 3, 3], Float32Array.from({ length: 54 }, (_, i) => ((i % 5) - 2) / 10)));
  const b = g.param('conv.bias', Tensor.float32([3], [0.5, -0.25, 0]));
  const y = g.relu6(g.op1('Conv', [x, w, b], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), strides: attr.ints([2, 2]) }));
  const f = g.reshape(y, [0, -1]);
  const fc = g.param('fc.weight', Tensor.float32([5, 12], Float32Array.from({ length: 60 }, (_, i) => Math.sin(i))));
  g.output(g.op1('Gemm', [f, fc], { transB: attr.i(1), alpha: attr.f(0.5) }), 'logits');
  return g;
}

test('round trip: opset, IR version, nodes, attributes, initializers, symbolic dims', () => {
  const g = smallGraph();
  const m = decode(serializeModel(g.graph));
  assert.equal(Number(m.irVersion), 8);
  assert.equal(OPSET, 17);
  assert.deepEqual(m.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', 17]]);
  assert.equal(m.producerName, 'mobilezoo');
  const graph = m.graph;
  assert.deepEqual(graph.node.map((n) => n.opType), g.graph.nodes.map((n) => n.op));
  assert.deepEqual(graph.node.map((n) => n.name), g.graph.nodes.map((n) => n.name));
  assert.deepEqual(graph.node.map((n) => [...n.input]), g.graph.nodes.map((n) => n.inputs));
  assert.deepEqual(graph.node.map((n) => [...n.output]), g.graph.nodes.map((n) => n.outputs));

  const conv = graph.node.find((n) => n.opType === 'Conv')!;
  const a = attrs(conv);
  assert.deepEqual(a.kernel_shape!.ints.map(Number), [3, 3]);
  assert.deepEqual(a.pads!.ints.map(Number), [1, 1, 1, 1]);
  assert.equal(a.kernel_shape!.type, 7 /* INTS */);
  const gemm = graph.node.find((n) => n.opType === 'Gemm')!;
  const ga = attrs(gemm);
  assert.equal(Number(ga.transB!.i), 1);
  assert.equal(ga.transB!.type, 2 /* INT */);
  assert.equal(ga.alpha!.f, 0.5);
  assert.equal(ga.alpha!.type, 1 /* FLOAT */);

  assert.deepEqual(dims(graph.input[0]!), ['N', 2, 4, 4]);
  assert.deepEqual(graph.output.map((o) => o.name), ['logits']);
  assert.deepEqual(dims(graph.output[0]!), ['N', 5]);

  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  assert.deepEqual([...inits.keys()].sort(), [...g.graph.initializers.keys()].sort());
  for (const [name, t] of g.graph.initializers) {
    const p = inits.get(name)!;
    assert.deepEqual(p.dims.map(Number), [...t.shape], name);
    assert.equal(p.dataType, t.dtype === 'float32' ? 1 : 7, name);
    assert.deepEqual([...p.rawData], [...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)], name);
  }
  assert.equal(graph.valueInfo.length, 0, 'no value_info unless asked');
});

test('valueInfo option records every intermediate shape (and nothing on the boundary)', () => {
  const g = smallGraph();
  const graph = decode(serializeModel(g.graph, { valueInfo: true, docString: 'hi' })).graph;
  const boundary = new Set(['input', 'logits', ...g.graph.initializers.keys()]);
  const expected = [...g.graph.values.values()].filter((v) => !boundary.has(v.name));
  assert.deepEqual(graph.valueInfo.map((v) => v.name), expected.map((v) => v.name));
  for (const v of graph.valueInfo) assert.deepEqual(dims(v), g.info(v.name).shape, v.name);
  assert.equal(toModelProto(g.graph, { docString: 'hi' }).docString, 'hi');
});

test('parameters fed as graph inputs are inputs, not initializers', () => {
  const g = smallGraph('input');
  const graph = decode(serializeModel(g.graph)).graph;
  assert.deepEqual(graph.input.map((v) => v.name), ['input', 'conv.weight', 'conv.bias', 'fc.weight']);
  assert.deepEqual(dims(graph.input[1]!), [3, 2, 3, 3]);
  const inits = graph.initializer.map((t) => t.name);
  assert.ok(!inits.includes('conv.weight') && !inits.includes('fc.weight'));
  assert.ok(inits.some((n) => n.includes('six')), 'Clip bounds stay constants');
});

test('every attribute kind and dtype survives a round trip', () => {
  const g = new Graph('kinds');
  const t = Tensor.int64([2], [-3, 2 ** 40]);
  g.nodes.push({
    name: 'n', op: 'Custom', inputs: ['a', ''], outputs: ['b'], scope: '',
    attrs: {
      i: attr.i(-7), f: attr.f(1.5), ints: attr.ints([1, -1, 2 ** 33]), floats: attr.floats([0.25, -2]), s: attr.s('héllo'), t: { t },
    },
  });
  g.inputs.push({ name: 'a', dtype: 'uint8', shape: ['B', 3] });
  g.outputs.push({ name: 'b', dtype: 'bool', shape: [1] });
  g.initializers.set('d', new Tensor('float64', [1], Float64Array.from([Math.PI])));
  g.initializers.set('k', new Tensor('int32', [2], Int32Array.from([-1, 7])));
  const m = decode(serializeModel(g));
  const node = m.graph.node[0]!;
  assert.deepEqual([...node.input], ['a', ''], 'an omitted optional input stays an empty name');
  const a = attrs(node);
  assert.equal(Number(a.i!.i), -7);
  assert.equal(a.f!.f, 1.5);
  assert.deepEqual(a.ints!.ints.map(Number), [1, -1, 2 ** 33]);
  assert.deepEqual(a.floats!.floats, [0.25, -2]);
  assert.equal(new TextDecoder().decode(a.s!.s), 'héllo');
  assert.deepEqual(a.t!.t.dims.map(Number), [2]);
  assert.equal(a.t!.t.dataType, 7);
  assert.deepEqual([...new BigInt64Array(buf(a.t!.t.rawData))], [-3n, 2n ** 40n]);
  assert.equal(m.graph.input[0]!.type.tensorType.elemType, 2 /* UINT8 */);
  assert.equal(m.graph.output[0]!.type.tensorType.elemType, 9 /* BOOL */);
  const inits = Object.fromEntries(m.graph.initializer.map((x) => [x.name, x])) as Record<string, PTensor>;
  assert.equal(inits.d!.dataType, 11);
  assert.equal(new Float64Array(buf(inits.d!.rawData))[0], Math.PI);
  assert.equal(inits.k!.dataType, 6);
  assert.deepEqual([...new Int32Array(buf(inits.k!.rawData))], [-1, 7]);
});

test('initializers that are views into a larger buffer serialize only their own bytes', () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['N', 3]);
  const big = Float32Array.from([9, 9, 1, 2, 3, 9]);
  g.output(g.add(x, g.constant(Tensor.float32([3], big.subarray(2, 5)), 'view')), 'y');
  const init = decode(serializeModel(g.graph)).graph.initializer[0]!;
  assert.deepEqual([...new Float32Array(buf(init.rawData))], [1, 2, 3]);
});

test('ORT runs the serialized graph, with and without value_info, and agrees with a hand computation', async () => {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['N', 3]);
  const w = g.constant(Tensor.float32([2, 3], [1, 0, -1, 2, 1, 0]));
  g.output(g.relu6(g.op1('Gemm', [x, w, g.constant(Tensor.float32([2], [0.5, -10]))], { transB: attr.i(1) })), 'y');
  const input = Float32Array.from([1, 2, 3, 4, 5, 6]);
  for (const valueInfo of [false, true]) {
    const s = await createSession(serializeModel(g.graph, { valueInfo }), { threads: 1 });
    const out = (await s.run({ x: new ort.Tensor('float32', input, [2, 3]) })).y!;
    assert.deepEqual(out.dims, [2, 2]);
    // rows: [1-3+0.5, 2+2-10] → clip → [0, 0]; [4-6+0.5, 8+5-10] → [0, 3]
    assert.deepEqual([...(out.data as Float32Array)], [0, 0, 0, 3]);
    await s.release();
  }
});
