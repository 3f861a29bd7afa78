// src/onnx/proto.ts against onnx-proto (protobufjs compiled from onnx.proto 1.10.2, the codec it
// replaced): the same bytes for every family's inference and train-step graphs, the same decoded
// messages for those, a torch.onnx.export file, an int8 model and ORT's optimized graphs; and clear
// errors, never a crash or a large allocation, for truncated and hostile input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { Graph, attr } from '../../src/graph/ir.js';
import { createModel } from '../../src/models/registry.js';
import { type ModelProto, decodeModel, encodeModel } from '../../src/onnx/proto.js';
import { toModelProto } from '../../src/onnx/serialize.js';
import { quantizeModel } from '../../src/quantize/quantize-model.js';
import { traceInference } from '../../src/runtime/inference.js';
import { ort, ortSessionOptions } from '../../src/runtime/node-backend.js';
import { Tensor } from '../../src/tensor.js';
import { NO_FIXTURES, REFERENCE_BENCH_ONNX } from '../reference-fixtures.js';
import { buildStepGraph } from '../../src/train/step-graph.js';

const { onnx } = onnxProto;
const here = dirname(fileURLToPath(import.meta.url));
const TORCH_EXPORT = REFERENCE_BENCH_ONNX;
const INPUT: [number, number, number] = [3, 32, 32];

/** One small configuration of every family. */
const FAMILIES: [string, Record<string, unknown>][] = [
  ['mobilenet_v1', { widthMult: 0.25, stem: 'cifar' }],
  ['mobilenet_v2', { widthMult: 0.25, stem: 'cifar' }],
  ['mobilenet_v3_large', { widthMult: 0.25, stem: 'cifar' }],
  ['mobilenet_v3_small', { widthMult: 0.25, stem: 'cifar' }],
  ['shufflenet_v1', { groups: 3, size: '0.5x', stem: 'cifar' }],
  ['shufflenet_v2_x0_5', { stem: 'cifar' }],
];

const theirBytes = (m: ModelProto) => onnx.ModelProto.encode(onnx.ModelProto.create(m as onnxProto.onnx.IModelProto)).finish();

/**
 * A comparable form of a decoded message, the same for protobufjs's objects and ours: integers (Long,
 * bigint or number) as bigints, bytes as their length and hash, empty arrays dropped (protobufjs knows
 * a few repeated fields we skip; a non-empty one would show).
 */
function normal(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return `${v.length} bytes ${createHash('sha1').update(v).digest('hex')}`;
  if ('low' in v && 'high' in v && 'unsigned' in v) return BigInt(String(v));
  if (Array.isArray(v)) return v.map(normal);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (Array.isArray(x) && x.length === 0) continue;
    out[k] = normal(x);
  }
  return out;
}

function assertSameDecoding(bytes: Uint8Array, what: string): void {
  assert.deepStrictEqual(normal(decodeModel(bytes)), normal(onnx.ModelProto.decode(bytes)), what);
}

function assertSameEncoding(m: ModelProto, what: string): Uint8Array {
  const ours = encodeModel(m);
  const theirs = theirBytes(m);
  assert.equal(ours.length, theirs.length, `${what}: size`);
  assert.ok(Buffer.from(ours).equals(Buffer.from(theirs)), `${what}: bytes differ`);
  return ours;
}

const METADATA = [{ key: 'mobilezoo.model', value: 'x' }, { key: 'mobilezoo.class_names', value: '["T-shirt/top","Größe ✓"]' }];

test('every family: inference and train-step graphs encode to onnx-proto\'s bytes and decode as onnx-proto decodes them', () => {
  for (const [name, options] of FAMILIES) {
    const model = createModel(name, { numClasses: 10, ...options });
    const eval_ = toModelProto(traceInference(model, { inputSize: INPUT, batch: 'N' }), { docString: `${name} eval` });
    eval_.metadataProps = METADATA;
    assertSameDecoding(assertSameEncoding(eval_, `${name} inference`), `${name} inference`);
    const sgd = buildStepGraph(model, { inputSize: INPUT, numClasses: 10, batch: 8, optimizer: { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4 } });
    assertSameDecoding(assertSameEncoding(toModelProto(sgd.graph, { valueInfo: true }), `${name} SGD step`), `${name} SGD step`);
  }
  // NCHWc depthwise kernels (com.microsoft.nchwc nodes and opset import), AdamW.
  const v2 = createModel('mobilenet_v2', { numClasses: 10, widthMult: 0.25, stem: 'cifar' });
  const adam = buildStepGraph(v2, { inputSize: INPUT, numClasses: 10, batch: 4, nchwcBlock: 8, optimizer: { type: 'adamw', weightDecay: 0.01 } });
  const m = toModelProto(adam.graph);
  assert.ok(m.opsetImport!.length > 1 && m.graph!.node!.some((n) => n.domain === 'com.microsoft.nchwc'), 'the graph uses the NCHWc domain');
  assertSameDecoding(assertSameEncoding(m, 'NCHWc AdamW step'), 'NCHWc AdamW step');
});

test('every attribute kind, dtype and int64 extreme encodes and decodes as onnx-proto does', () => {
  const g = new Graph('kinds');
  g.nodes.push({
    name: 'n', op: 'Custom', inputs: ['a', ''], outputs: ['b'], scope: '',
    attrs: {
      i: attr.i(-7), big: attr.i(2 ** 53 - 1), f: attr.f(1.5), nan: attr.f(NaN), tiny: attr.f(1e-45),
      ints: attr.ints([0, 1, -1, 127, 128, 2 ** 31, -(2 ** 31), 2 ** 33, -(2 ** 53) + 1]), floats: attr.floats([0.25, -2, Infinity]),
      s: attr.s('héllo 😀'), empty: attr.s(''), t: { t: Tensor.int64([2], [-3, 2 ** 40]) },
    },
  });
  g.inputs.push({ name: 'a', dtype: 'uint8', shape: ['B', 3, 0] });
  g.outputs.push({ name: 'b', dtype: 'bool', shape: [1] });
  g.initializers.set('d', new Tensor('float64', [1], Float64Array.from([Math.PI])));
  g.initializers.set('k', new Tensor('int32', [2], Int32Array.from([-1, 7])));
  g.initializers.set('scalar', Tensor.float32([], [2]));
  g.initializers.set('none', Tensor.float32([0], []));
  const m = toModelProto(g);
  // Fields toModelProto never writes, as other producers write them.
  m.modelVersion = 3;
  m.domain = 'ai.example';
  m.graph!.docString = 'doc';
  m.graph!.initializer!.push(
    { name: 'typed', dims: [2, 2], dataType: 1, floatData: [1, -0, 3.5, 1e30], segment: { begin: 0, end: 4 } },
    { name: 'ints', dims: [3], dataType: 6, int32Data: [-1, 0, 2 ** 31 - 1] },
    { name: 'longs', dims: [3], dataType: 7, int64Data: [-1, 2 ** 53 - 1, -(2 ** 53) + 1] },
    { name: 'doubles', dims: [1], dataType: 11, doubleData: [-0.1] },
    { name: 'ulongs', dims: [2], dataType: 13, uint64Data: [0, 2 ** 52] },
    { name: 'strs', dims: [2], dataType: 8, stringData: [new TextEncoder().encode('a'), new Uint8Array(0)] },
    { name: 'ext', dims: [4], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '0' }, { key: 'length', value: '16' }] },
  );
  m.graph!.node![0]!.attribute!.push(
    { name: 'g', type: 5, g: { name: 'sub', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }] } },
    { name: 'ss', type: 8, strings: [new Uint8Array([1, 2]), new Uint8Array(0)] },
    { name: 'ts', type: 9, tensors: [{ dims: [1], dataType: 1, rawData: new Uint8Array(4) }] },
    { name: 'tp', type: 13, tp: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N', denotation: 'DATA_BATCH' }] } } } },
    { name: 'ref', type: 2, refAttrName: 'outer', docString: 'd' },
  );
  m.graph!.quantizationAnnotation = [{ tensorName: 'b', quantParameterTensorNames: [{ key: 'SCALE_TENSOR', value: 's' }] }];
  const bytes = assertSameEncoding(m, 'all kinds');
  assertSameDecoding(bytes, 'all kinds');

  const d = decodeModel(bytes);
  const a = Object.fromEntries(d.graph!.node[0]!.attribute.map((x) => [x.name, x]));
  assert.equal(a.i!.i, -7);
  assert.equal(a.big!.i, 2 ** 53 - 1);
  assert.deepEqual(a.ints!.ints, [0, 1, -1, 127, 128, 2 ** 31, -(2 ** 31), 2 ** 33, -(2 ** 53) + 1]);
  assert.ok(Number.isNaN(a.nan!.f));
  assert.equal(new TextDecoder().decode(a.s!.s), 'héllo 😀');
  assert.equal(d.graph!.initializer.find((t) => t.name === 'ext')!.externalData[0]!.value, 'w.bin');
});

test('int64 values a number cannot hold decode as exact bigints and encode back to the same bytes', () => {
  const max = 2n ** 63n - 1n;
  const min = -(2n ** 63n);
  const m: ModelProto = { irVersion: 8, graph: { node: [{ opType: 'Slice', attribute: [{ name: 'ends', type: 7, ints: [max, min, 2n ** 53n + 1n, 5n] }] }] } };
  const bytes = encodeModel(m);
  const ints = decodeModel(bytes).graph!.node[0]!.attribute[0]!.ints;
  assert.deepEqual(ints, [max, min, 2n ** 53n + 1n, 5]);
  assert.deepEqual([...encodeModel(decodeModel(bytes))], [...bytes]);
  // onnx-proto reads them as the same 64-bit values.
  const theirs = onnx.ModelProto.decode(bytes).graph!.node![0]!.attribute![0]!.ints!.map((x) => BigInt(String(x)));
  assert.deepEqual(theirs, [max, min, 2n ** 53n + 1n, 5n]);
});

test('a torch.onnx.export model (unpacked repeated fields, as C++ protobuf writes them) decodes as onnx-proto decodes it', { skip: NO_FIXTURES }, () => {
  const bytes = new Uint8Array(readFileSync(TORCH_EXPORT));
  assertSameDecoding(bytes, 'torch export');
  const m = decodeModel(bytes);
  assert.equal(m.producerName, 'pytorch');
  const stem = m.graph!.initializer.find((t) => t.name === 'onnx::Conv_538')!;
  assert.deepEqual([stem.dims, stem.dataType, stem.rawData!.length], [[32, 3, 3, 3], 1, 32 * 27 * 4]);
  assert.deepEqual(m.graph!.input[0]!.type!.tensorType!.shape!.dim, [{ dimParam: 'batch' }, { dimValue: 3 }, { dimValue: 32 }, { dimValue: 32 }]);
});

test('an int8 QDQ model from quantize and ORT\'s optimized graphs of it decode as onnx-proto decodes them', async () => {
  const model = createModel('mobilenet_v2', { numClasses: 10, widthMult: 0.25, stem: 'cifar' });
  const batch = Float32Array.from({ length: 4 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37));
  const { bytes } = await quantizeModel(model, { inputSize: INPUT, calibration: [batch], metadata: METADATA, threads: 1 });
  assertSameDecoding(bytes, 'int8 QDQ model');
  assert.deepEqual(decodeModel(bytes).metadataProps, METADATA);
  const dir = mkdtempSync(join(tmpdir(), 'mobilezoo-proto-'));
  try {
    for (const optimization of ['extended', 'all'] as const) {
      const path = join(dir, `${optimization}.onnx`);
      const s = await ort.InferenceSession.create(bytes, { ...ortSessionOptions({ threads: 1, optimization }), optimizedModelFilePath: path });
      await s.release();
      const optimized = new Uint8Array(readFileSync(path));
      assertSameDecoding(optimized, `ORT-optimized (${optimization})`);
      assert.ok(decodeModel(optimized).graph!.node.some((n) => n.opType === 'QLinearConv'), optimization);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- malformed input ----

/** Hand-built protobuf: tag bytes and length prefixes. */
function varint(v: number | bigint): number[] {
  let w = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (w >= 0x80n) {
    out.push(Number(w & 0x7fn) | 0x80);
    w >>= 7n;
  }
  out.push(Number(w));
  return out;
}
const field = (no: number, wire: number) => varint((no << 3) | wire);
const ld = (no: number, body: number[]) => [...field(no, 2), ...varint(body.length), ...body];
const bytesOf = (...parts: number[][]) => new Uint8Array(parts.flat());
const malformed = (bytes: Uint8Array, pattern: RegExp) => assert.throws(() => decodeModel(bytes), (e: Error) => {
  assert.match(e.message, /^malformed ONNX model: ModelProto/);
  assert.match(e.message, pattern);
  return true;
});

function smallModelBytes(): Uint8Array {
  const g = new Graph('small');
  g.nodes.push({ name: 'relu', op: 'Relu', inputs: ['x'], outputs: ['y'], scope: '', attrs: { alpha: attr.f(0.5) } });
  g.inputs.push({ name: 'x', dtype: 'float32', shape: ['N', 4] });
  g.outputs.push({ name: 'y', dtype: 'float32', shape: ['N', 4] });
  g.initializers.set('w', Tensor.float32([2, 2], [1, 2, 3, 4]));
  const m = toModelProto(g, { docString: 'doc' });
  m.metadataProps = METADATA;
  return encodeModel(m);
}

test('every truncation of a model either decodes (cut at a field boundary) or names what it cut', () => {
  const bytes = smallModelBytes();
  let errors = 0;
  for (let n = 0; n < bytes.length; n++) {
    const cut = bytes.subarray(0, n);
    let ok = true;
    try {
      decodeModel(cut);
    } catch (e) {
      ok = false;
      errors++;
      assert.match((e as Error).message, /^malformed ONNX model: ModelProto(\.[a-z_]+(\[\d+\])?)* at byte \d+: (length \d+ runs past the end of its message|a varint runs past|a float runs past)/, `cut at ${n}`);
    }
    // protobufjs agrees on which cuts are valid messages.
    let theirs = true;
    try {
      onnx.ModelProto.decode(cut);
    } catch {
      theirs = false;
    }
    assert.equal(ok, theirs, `cut at ${n}`);
  }
  assert.ok(errors > bytes.length * 0.9, `${errors} of ${bytes.length} cuts fail`);
  malformed(bytes.subarray(0, bytes.length - 30), /^malformed ONNX model: ModelProto\.metadata_props\[1\] at byte \d+: length \d+ runs past the end/);
});

test('lengths beyond the data, bad varints, wire types and tags, and deep nesting are errors naming the field', () => {
  // A graph claiming 1 TB, and an initializer's raw_data claiming more than its tensor holds.
  malformed(bytesOf(field(7, 2), varint(2 ** 40), [1, 2, 3]), /ModelProto\.graph at byte 1: length 1099511627776 runs past the end of its message \(3 bytes left of 10\)/);
  const tensor = [...ld(8, [0x77]), ...field(9, 2), ...varint(1000), 0, 0, 0, 0];
  malformed(bytesOf(ld(7, ld(5, tensor))), /ModelProto\.graph\.initializer\[0\]\.raw_data at byte \d+: length 1000 runs past/);
  // Packed dims whose length overruns the tensor; an 11-byte varint; a float cut short.
  malformed(bytesOf(ld(7, ld(5, [...field(1, 2), 50, 1, 2]))), /graph\.initializer\[0\]\.dims at byte \d+: length 50 runs past/);
  malformed(bytesOf(field(1, 0), Array(10).fill(0xff), [1]), /ModelProto\.ir_version at byte 1: a varint longer than 10 bytes/);
  malformed(bytesOf(ld(7, ld(1, ld(5, [...field(2, 5), 0, 0])))), /graph\.node\[0\]\.attribute\[0\]\.f at byte \d+: a float runs past/);
  // A known field with the wrong wire type; wire types 6 and 7; field number 0; a stray end-group.
  malformed(bytesOf(field(1, 2), [1, 0]), /ModelProto\.ir_version at byte 0: wire type 2 where int64 takes 0/);
  malformed(bytesOf(field(99, 6)), /ModelProto at byte 2: field 99 has wire type 6/);
  malformed(bytesOf([0x00, 0x01]), /ModelProto at byte 0: invalid field tag 0/);
  malformed(bytesOf(field(99, 4)), /end-group tag \(field 99\) outside a group/);
  // Subgraphs nested past protobuf's limit of 100 (each level: graph → node → attribute → g).
  let graph: number[] = [];
  for (let i = 0; i < 40; i++) graph = ld(1, ld(5, ld(6, graph)));
  malformed(bytesOf(ld(7, graph)), /messages nested deeper than 100/);
  // Non-bytes input.
  assert.throws(() => decodeModel([1, 2] as unknown as Uint8Array), /expected the model as a Uint8Array/);
});

test('unknown fields of every wire type are skipped; repeated numbers are read packed or unpacked', () => {
  const bytes = smallModelBytes();
  const unknown = bytesOf(field(99, 0), varint(-1), field(100, 1), Array(8).fill(7), ld(101, [1, 2, 3]), field(102, 5), [0, 0, 0, 0],
    field(103, 3), field(1, 0), [5], ld(2, [9]), field(103, 4));
  const withUnknown = new Uint8Array([...unknown, ...bytes, ...unknown]);
  assert.deepStrictEqual(normal(decodeModel(withUnknown)), normal(decodeModel(bytes)));
  malformed(bytesOf(field(103, 3), field(1, 0), [5], field(104, 4)), /group 103 ended by field 104/);
  // dims 2, 3 unpacked; ints 1, 2 packed then 3 unpacked, which protobuf concatenates.
  const m = decodeModel(bytesOf(ld(7, [...ld(5, [...field(1, 0), 2, ...field(1, 0), 3]), ...ld(1, ld(5, [...ld(8, [1, 2]), ...field(8, 0), 3]))])));
  assert.deepEqual(m.graph!.initializer[0]!.dims, [2, 3]);
  assert.deepEqual(m.graph!.node[0]!.attribute[0]!.ints, [1, 2, 3]);
});

test('encoding rejects values of the wrong type, naming the field', () => {
  assert.throws(() => encodeModel({ graph: { node: [{ name: 7 as unknown as string }] } }), /ModelProto\.graph\.node\[0\]\.name must be a string/);
  assert.throws(() => encodeModel({ graph: { initializer: [{ dims: [1.5] }] } }), /ModelProto\.graph\.initializer\[0\]\.dims\[0\] must be an integer, got 1\.5/);
  assert.throws(() => encodeModel({ graph: { initializer: [{ rawData: [1] as unknown as Uint8Array }] } }), /raw_data must be a Uint8Array/);
});

test('src/onnx loads in a browser as it is: no Node modules, no bare specifiers', () => {
  const src = join(here, '../../src/onnx');
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
      assert.ok(spec!.startsWith('.'), `${file} imports '${spec}'`);
      visit(join(dirname(file), spec!.replace(/\.js$/, '.ts')));
    }
  };
  for (const f of readdirSync(src)) visit(join(src, f));
  assert.ok(seen.size >= 4, [...seen].join(', '));
});
