// Parameter/MAC counts against the reference table, the CIFAR stem (against torch's exported
// MobileNetV2-CIFAR), registry option errors and state-dict loading errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStateDictFile } from '../../src/io/index.js';
import { createModel, listModels } from '../../src/models/registry.js';
import { BatchNorm2d, Conv2d, Linear } from '../../src/nn/layers.js';
import { StateDictError } from '../../src/nn/module.js';
import { summary } from '../../src/nn/summary.js';
import { decodeModel, serializeModel } from '../../src/onnx/serialize.js';
import { InferenceSession, traceInference } from '../../src/runtime/inference.js';
import { createSession, nodeBackend, ort, ortSessionOptions } from '../../src/runtime/node-backend.js';
import { Tensor } from '../../src/tensor.js';
import { NO_FIXTURES, REFERENCE, REFERENCE_BENCH_ONNX, maxAbs, maxAbsDiff, modelOptions, readCounts } from './fixtures.js';

const CIFAR: [number, number, number] = [3, 32, 32];

test('counts.json: params and MACs of every configuration equal the reference implementations', { skip: NO_FIXTURES }, () => {
  const rows = readCounts();
  assert.equal(rows.length, 30);
  for (const r of rows) {
    const options = modelOptions(r.args);
    const s = summary(createModel(r.builder, options), r.input);
    const what = `${r.builder} ${JSON.stringify(options)} at ${r.input.join('x')}`;
    assert.equal(s.totalParams, r.params, `${what}: params`);
    assert.equal(s.totalMacs, r.macs, `${what}: MACs`);
  }
});

test('CIFAR-stem MobileNetV2: 2,236,682 params, 87,976,448 MACs, stem stride 1, 4x4 final feature map', () => {
  const s = summary(createModel('mobilenet_v2', { numClasses: 10, stem: 'cifar' }), CIFAR);
  assert.equal(s.totalParams, 2_236_682);
  assert.equal(s.totalMacs, 87_976_448);
  const row = (name: string) => s.rows.find((r) => r.name === name)!.outputShape;
  assert.deepEqual(row('features.0.0'), [1, 32, 32, 32], 'stem conv keeps 32x32');
  assert.deepEqual(row('features.2.conv.1.0'), [1, 96, 32, 32], 'first stride-2 stage made stride 1');
  assert.deepEqual(row('features.4.conv.1.0'), [1, 144, 16, 16], 'next stride-2 stage still downsamples');
  assert.deepEqual(row('features.18.2'), [1, 1280, 4, 4], 'final feature map');
  assert.deepEqual(s.outputShape, [1, 10]);
});

/** Initializer values of an ONNX model, following Identity nodes (torch's exporter shares equal tensors through them). */
function onnxWeights(bytes: Uint8Array): { convs: [Tensor, Tensor][]; gemm: [Tensor, Tensor] } {
  const g = decodeModel(bytes).graph!;
  const inits = new Map<string, Tensor>();
  for (const t of g.initializer!) {
    const dims = t.dims!.map(Number);
    const data = t.rawData && t.rawData.length > 0
      ? new Float32Array(new Uint8Array(t.rawData).buffer) // a copy: rawData may be a view (a Node Buffer)
      : Float32Array.from(t.floatData!);
    inits.set(t.name!, Tensor.float32(dims, data));
  }
  for (const n of g.node!) if (n.opType === 'Identity' && inits.has(n.input![0]!)) inits.set(n.output![0]!, inits.get(n.input![0]!)!);
  const get = (name: string) => {
    const t = inits.get(name);
    if (!t) throw new Error(`reference ONNX: '${name}' is not an initializer`);
    return t;
  };
  const nodes = g.node!;
  assert.equal(nodes.filter((n) => n.opType === 'BatchNormalization').length, 0, 'the export folded BatchNorm into the convolutions');
  const convs = nodes.filter((n) => n.opType === 'Conv').map((n) => [get(n.input![1]!), get(n.input![2]!)] as [Tensor, Tensor]);
  const gemms = nodes.filter((n) => n.opType === 'Gemm');
  assert.equal(gemms.length, 1);
  return { convs, gemm: [get(gemms[0]!.input![1]!), get(gemms[0]!.input![2]!)] };
}

test('CIFAR-stem MobileNetV2 matches torch.onnx.export of the reference network in ORT', { skip: NO_FIXTURES }, async (t) => {
  const model = createModel('mobilenet_v2', { numClasses: 10, stem: 'cifar', dropout: 0 });
  const bytes = new Uint8Array(readFileSync(REFERENCE_BENCH_ONNX));
  const ref = onnxWeights(bytes);

  // Our modules in forward order: every Conv2d is followed by its BatchNorm2d. The export fused each
  // BN into its conv (weight and bias), so load the fused weights and make every BN an identity.
  const mods = [...model.modules()].map(([, m]) => m);
  const convs = mods.filter((m): m is Conv2d => m instanceof Conv2d);
  const bns = mods.filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  assert.equal(convs.length, ref.convs.length, 'conv count');
  assert.equal(bns.length, convs.length);
  convs.forEach((conv, i) => {
    const [w, b] = ref.convs[i]!;
    const bn = bns[i]!;
    assert.deepEqual(w.shape, conv.parameters.get('weight')!.shape, `conv ${i} weight shape`);
    assert.ok(mods.indexOf(bn) > mods.indexOf(conv) && (i + 1 === convs.length || mods.indexOf(bn) < mods.indexOf(convs[i + 1]!)));
    conv.parameters.set('weight', w);
    bn.parameters.set('weight', Tensor.float32(b.shape, new Float32Array(b.size).fill(1)));
    bn.parameters.set('bias', b);
    bn.buffers.set('running_mean', Tensor.float32(b.shape));
    bn.buffers.set('running_var', Tensor.float32(b.shape, new Float32Array(b.size).fill(1 - bn.eps)));
  });
  const linear = mods.find((m): m is Linear => m instanceof Linear)!;
  linear.parameters.set('weight', ref.gemm[0]);
  linear.parameters.set('bias', ref.gemm[1]);

  const batch = 3;
  const x = new Float32Array(batch * 3 * 32 * 32);
  let seed = 12345;
  for (let i = 0; i < x.length; i++) x[i] = ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;

  const ours = await InferenceSession.create(model, { inputSize: CIFAR, backend: nodeBackend({ threads: 2 }) });
  const theirs = await createSession(bytes, { threads: 2 });
  try {
    const a = await ours.run(x, batch);
    const out = await theirs.run({ input: new ort.Tensor('float32', x, [batch, ...CIFAR]) });
    const logits = out.logits!;
    assert.deepEqual(logits.dims, [batch, 10]);
    assert.equal(a.length, batch * 10);
    assert.ok(maxAbs(logits.data as Float32Array) > 1e-3, 'non-trivial logits');
    const rel = maxAbsDiff(a, logits.data as Float32Array) / maxAbs(logits.data as Float32Array);
    t.diagnostic(`max|ours - torch export| / max|torch export| = ${rel.toExponential(2)}`);
    assert.ok(rel <= 1e-4, `relative error ${rel}`);
  } finally {
    await ours.dispose();
    await theirs.release();
  }
});

/** Op types (with domain) of the model ORT optimizes `bytes` into, at the 'extended' level (portable: no NCHWc). */
async function optimizedOps(bytes: Uint8Array): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'mobilezoo-opt-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const s = await ort.InferenceSession.create(bytes, { ...ortSessionOptions({ threads: 1, optimization: 'extended' }), optimizedModelFilePath: path });
    await s.release();
    const ops: Record<string, number> = {};
    for (const n of decodeModel(readFileSync(path)).graph!.node!) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
    return ops;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('ORT fuses our CIFAR MobileNetV2 exactly as it fuses torch.onnx.export of it (BatchNorm folded, Clip fused)', { skip: NO_FIXTURES }, async () => {
  const ours = serializeModel(traceInference(createModel('mobilenet_v2', { numClasses: 10, stem: 'cifar' }), { inputSize: CIFAR }));
  const a = await optimizedOps(ours);
  const b = await optimizedOps(new Uint8Array(readFileSync(REFERENCE_BENCH_ONNX)));
  assert.deepEqual(a, b);
  assert.equal(a.BatchNormalization, undefined);
  assert.equal(a.Clip, undefined);
  assert.equal(a.FusedConv, 35, 'every Conv-BN-ReLU6 becomes one FusedConv');
});

test("every model traces at 32x32 with stem 'cifar': stride-1 stem, 4x4 final feature map", () => {
  for (const { name } of listModels()) {
    const model = createModel(name, { stem: 'cifar', numClasses: 10 });
    assert.deepEqual(model.inputSize, CIFAR, name);
    const g = traceInference(model, { inputSize: CIFAR, batch: 2 });
    const firstConv = g.nodes.find((n) => n.op === 'Conv')!;
    assert.deepEqual(g.info(firstConv.outputs[0]!).shape.slice(2), [32, 32], `${name}: stem output`);
    const pools = g.nodes.filter((n) => n.op === 'GlobalAveragePool');
    const head = g.info(pools[pools.length - 1]!.inputs[0]!).shape;
    assert.deepEqual(head.slice(2), [4, 4], `${name}: final feature map ${head.join('x')}`);
    assert.deepEqual(g.outputs[0]!.shape, [2, 10], name);
    assert.equal(g.nodes.filter((n) => n.op === 'MaxPool').length, 0, `${name}: no stem max-pool`);
  }
});

test('every model traces with a symbolic batch at its natural input size', () => {
  for (const { name } of listModels()) {
    const model = createModel(name, { numClasses: 7 });
    const g = traceInference(model, { inputSize: model.inputSize });
    assert.deepEqual(g.outputs[0]!.shape, ['N', 7], name);
  }
});

test('createModel: unknown model names and options, and bad option values, fail clearly (and do not compile)', () => {
  // @ts-expect-error: also refused at compile time
  assert.throws(() => createModel('resnet50'), /unknown model 'resnet50'; available: mobilenet_v1, mobilenet_v2, .*shufflenet_v2_x2_0/);
  // @ts-expect-error: also refused at compile time
  assert.throws(() => createModel('mobilenet_v2', { width: 1 }), /mobilenet_v2: unknown option 'width'; accepted: .*widthMult/);
  // @ts-expect-error: also refused at compile time
  assert.throws(() => createModel('shufflenet_v2_x1_0', { widthMult: 0.5 }), /shufflenet_v2_x1_0: unknown option 'widthMult'/);
  // @ts-expect-error: also refused at compile time
  assert.throws(() => createModel('mobilenet_v2', { widthMult: 'wide' }), /option 'widthMult' must be a number, got "wide"/);
  assert.throws(() => createModel('mobilenet_v2', { numClasses: 2.5 }), /option 'numClasses' must be a positive integer, got 2.5/);
  assert.throws(() => createModel('mobilenet_v1', { numClasses: 0 }), /option 'numClasses' must be a positive integer, got 0/);
  // @ts-expect-error: also refused at compile time
  assert.throws(() => createModel('mobilenet_v2', { stem: 'tiny' }), /option 'stem' must be 'imagenet' or 'cifar', got "tiny"/);
  // @ts-expect-error: also refused at compile time
  assert.throws(() => createModel('shufflenet_v1', { groups: 5 }), /option 'groups' must be one of 1, 2, 3, 4, 8, got 5/);
  // @ts-expect-error: also refused at compile time
  assert.throws(() => createModel('shufflenet_v1', { size: '3.0x' }), /option 'size' must be one of 0.25x, .*, got "3.0x"/);
  // @ts-expect-error: also refused at compile time
  assert.throws(() => createModel('mobilenet_v3_large', { reducedTail: 'yes' }), /option 'reducedTail' must be true or false/);
  assert.throws(() => createModel('mobilenet_v2', { dropout: 1.5 }), /Dropout: p must be in \[0, 1\), got 1.5/);
  assert.throws(() => createModel('mobilenet_v2', { roundNearest: 0 }), /mobilenet_v2: roundNearest must be a positive integer, got 0/);
  for (const name of ['mobilenet_v1', 'mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small'] as const) {
    for (const widthMult of [0, -1]) {
      assert.throws(() => createModel(name, { widthMult }), new RegExp(`${name}: widthMult must be > 0, got ${widthMult}`));
    }
  }
  // undefined options are ignored, like a missing key.
  assert.equal(createModel('mobilenet_v2', { widthMult: undefined, numClasses: 10 }).numClasses, 10);
});

test('createModel: invalid invertedResidualSetting fails clearly', () => {
  // A table that comes as data (JSON) is checked at run time.
  const build = (rows: unknown) => () => createModel('mobilenet_v2' as string, { invertedResidualSetting: rows });
  assert.throws(build('abc'), /option 'invertedResidualSetting' must be a list of \[t, c, n, s\] rows, got "abc"/);
  assert.throws(build([]), /invertedResidualSetting should be non-empty or a 4-element list, got \[\]/);
  assert.throws(build([[1, 16, 1]]), /invertedResidualSetting should be non-empty or a 4-element list, got \[\[1,16,1\]\]/);
  assert.throws(build([[1, 16, 1, 1], [6, 24, 2, 3]]), /invertedResidualSetting row 1 \[6, 24, 2, 3\]: expected \[t > 0, c > 0 integer, n > 0 integer, s in \{1, 2\}\]/);
  assert.throws(build([[1, 16.5, 1, 1]]), /row 0 \[1, 16.5, 1, 1\]/);
  assert.throws(build([[0, 16, 1, 1]]), /row 0 \[0, 16, 1, 1\]/);
  assert.throws(build([[1, 16, 0, 1]]), /row 0 \[1, 16, 0, 1\]/);
  // A valid custom table builds, with the torchvision structure it describes.
  const m = createModel('mobilenet_v2', { invertedResidualSetting: [[1, 16, 1, 1], [6, 24, 2, 2]], numClasses: 10 });
  assert.deepEqual(summary(m, [3, 64, 64]).outputShape, [1, 10]);
});

test('loadStateDict: strict lists missing, unexpected and mismatched keys; non-strict loads what matches', { skip: NO_FIXTURES }, async () => {
  const sd = await loadStateDictFile(`${REFERENCE}mobilenet_v2_0.5_cifar/weights.pth`);

  // A different family: keys that exist on one side only.
  const v1 = createModel('mobilenet_v1', { widthMult: 0.5, numClasses: 10 });
  assert.throws(() => v1.loadStateDict(sd, { source: 'weights.pth' }), (e: unknown) => {
    assert.ok(e instanceof StateDictError);
    assert.match(e.message, /^weights.pth does not match MobileNetV1:/);
    assert.match(e.message, /missing keys: features\.1\.0\.0\.weight, /);
    assert.match(e.message, /unexpected keys: features\.1\.conv\.0\.0\.weight, /);
    assert.match(e.message, /\(\d+ in all\)/);
    assert.match(e.message, /is this a checkpoint of a different model or options\?/);
    assert.ok(e.report.missing.length > 0 && e.report.unexpected.length > 0);
    return true;
  });

  // The same family at another width and class count: same keys, other shapes.
  const wide = createModel('mobilenet_v2', { numClasses: 10 });
  const before = wide.stateDict().get('features.0.0.weight')!;
  assert.throws(() => wide.loadStateDict(sd), (e: unknown) => {
    assert.ok(e instanceof StateDictError);
    assert.deepEqual(e.report.missing, []);
    assert.deepEqual(e.report.unexpected, []);
    assert.match(e.message, /shape mismatch for features\.0\.0\.weight: model has \[32, 3, 3, 3\], checkpoint has \[16, 3, 3, 3\]/);
    assert.match(e.message, /\d+ shape mismatches in all/);
    return true;
  });
  assert.equal(wide.stateDict().get('features.0.0.weight'), before, 'a failed strict load changes nothing');

  // Non-strict: width 0.5 with 1000 classes differs only in the classifier.
  const m = createModel('mobilenet_v2', { widthMult: 0.5 });
  const classifier = m.stateDict().get('classifier.1.weight')!;
  const report = m.loadStateDict(sd, { strict: false });
  assert.deepEqual(report.missing, []);
  assert.deepEqual(report.unexpected, []);
  assert.deepEqual(report.mismatched, [
    { key: 'classifier.1.weight', expected: [1000, 1280], got: [10, 1280] },
    { key: 'classifier.1.bias', expected: [1000], got: [10] },
  ]);
  const loaded = m.stateDict();
  assert.deepEqual([...loaded.get('features.0.0.weight')!.data], [...sd.get('features.0.0.weight')!.data]);
  assert.deepEqual([...loaded.get('features.18.1.running_var')!.data], [...sd.get('features.18.1.running_var')!.data]);
  assert.equal(loaded.get('features.1.conv.2.num_batches_tracked')!.dtype, 'int64');
  assert.equal(loaded.get('classifier.1.weight'), classifier, 'mismatched tensors are left alone');

  // Non-strict across families: nothing matches, nothing loads, nothing throws.
  const r = createModel('shufflenet_v2_x0_5').loadStateDict(sd, { strict: false });
  assert.equal(r.unexpected.length, sd.size);
});

test('summary rows: per-layer params add up to the total; every leaf has an output shape', () => {
  const m = createModel('mobilenet_v3_small', { numClasses: 10, stem: 'cifar' });
  const s = summary(m, CIFAR);
  assert.equal(s.rows.reduce((n, r) => n + r.params, 0), s.totalParams);
  assert.equal(s.rows.reduce((n, r) => n + r.macs, 0), s.totalMacs);
  assert.ok(s.rows.every((r) => r.outputShape.length >= 2));
  // Tracing for a summary must leave the model in the mode it was in.
  assert.ok([...m.modules()].every(([, x]) => x.training));
});
