/**
 * Encode and decode time of src/onnx/proto.ts against onnx-proto (protobufjs), the codec it replaced,
 * on MobileNetV2 at 224x224 (1000 classes): the train-step graph (SGD momentum, batch 32, NCHWc block
 * 8, as the Trainer builds it: parameters are inputs, so the file is mostly structure) and the eval graph
 * (weights as initializers, so the file is mostly raw_data). Runs alternate ours/theirs; medians.
 *   node --import tsx bench/onnx-codec.ts [--runs 20]
 * Prints one JSON line per graph and operation.
 */
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import { createModel } from '../src/models/registry.js';
import { decodeModel, encodeModel } from '../src/onnx/proto.js';
import { toModelProto } from '../src/onnx/serialize.js';
import { traceInference } from '../src/runtime/inference.js';
import { buildStepGraph } from '../src/train/step-graph.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(values.runs);
const { onnx } = onnxProto;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** Median ms of `ours` and `theirs`, alternating, after two warm-up runs of each. */
function compare(ours: () => unknown, theirs: () => unknown): { ours: number; theirs: number } {
  for (let i = 0; i < 2; i++) {
    ours();
    theirs();
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(time(ours));
    b.push(time(theirs));
  }
  return { ours: median(a), theirs: median(b) };
}

const model = createModel('mobilenet_v2', { numClasses: 1000 });
const graphs = {
  'train-step': buildStepGraph(model, { inputSize: [3, 224, 224], numClasses: 1000, batch: 32, nchwcBlock: 8, optimizer: { type: 'sgd', momentum: 0.9 } }).graph,
  eval: traceInference(model, { inputSize: [3, 224, 224], batch: 'N' }),
};
for (const [name, graph] of Object.entries(graphs)) {
  const proto = toModelProto(graph);
  const bytes = encodeModel(proto);
  const theirBytes = onnx.ModelProto.encode(onnx.ModelProto.create(proto as onnxProto.onnx.IModelProto)).finish();
  if (!Buffer.from(bytes).equals(Buffer.from(theirBytes))) throw new Error(`${name}: the encodings differ`);
  const base = { model: 'mobilenet_v2', input: 224, graph: name, nodes: graph.nodes.length, bytes: bytes.length, runs };
  const enc = compare(() => encodeModel(proto), () => onnx.ModelProto.encode(onnx.ModelProto.create(proto as onnxProto.onnx.IModelProto)).finish());
  console.log(JSON.stringify({ ...base, op: 'encode', oursMs: +enc.ours.toFixed(2), onnxProtoMs: +enc.theirs.toFixed(2), ratio: +(enc.ours / enc.theirs).toFixed(3) }));
  const dec = compare(() => decodeModel(bytes), () => onnx.ModelProto.decode(bytes));
  console.log(JSON.stringify({ ...base, op: 'decode', oursMs: +dec.ours.toFixed(2), onnxProtoMs: +dec.theirs.toFixed(2), ratio: +(dec.ours / dec.theirs).toFixed(3) }));
}
