// quantizeModel end to end: ORT fuses every quantized node of every family into its integer kernel
// (counted in ORT's own optimized graph against the float graph's nodes), the fused kernels compute
// what the QDQ graph specifies, a trained network's int8 logits agree with its fp32 ones, and the
// keep-float selectors and metadata do what they say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/models/registry.js';
import { decodeModel } from '../../src/onnx/serialize.js';
import { decomposeHardActivations } from '../../src/quantize/decompose.js';
import { defaultKeepFloat } from '../../src/quantize/family-defaults.js';
import { keepFloatMatcher } from '../../src/quantize/keep-float.js';
import { optimizedModel, opCounts, optimizedOpCounts } from '../../src/quantize/optimized-graph.js';
import { type QuantPlan, computeRule, planQuantization } from '../../src/quantize/plan.js';
import { quantizeModel, traceFolded } from '../../src/quantize/quantize-model.js';
import type { Graph, Node } from '../../src/graph/ir.js';
import type { Network } from '../../src/models/network.js';
import { INPUT, SMALL_MODELS, argmax, images, logits, relativeError, trainedModel, withClassMeanHead } from './helpers.js';

/** The integer kernel ORT's QDQ transformers make of each quantized op (the CPU EP's names). */
const KERNELS: Record<string, string> = {
  Conv: 'QLinearConv', Gemm: 'QGemm', Add: 'QLinearAdd', Mul: 'QLinearMul', Concat: 'QLinearConcat',
  GlobalAveragePool: 'QLinearGlobalAveragePool', AveragePool: 'QLinearAveragePool', Sigmoid: 'QLinearSigmoid',
};

/** Ops ORT's CPU EP has no kernel for and runs as the ONNX function that defines them. */
const EXPANDED: Record<string, string[]> = { HardSwish: ['HardSigmoid', 'Mul'] };

/**
 * What ORT's graph should hold: one kernel per int8 compute node, a Q where a float value enters
 * int8, and a DQ where one leaves: one for float ops, one more (per channel) for convs kept in float.
 */
function expectedCounts(graph: Graph, plan: QuantPlan): { kernels: Record<string, number>; float: Record<string, number>; q: number; dq: number } {
  const kernels: Record<string, number> = {};
  const float: Record<string, number> = {};
  const count = (into: Record<string, number>, key: string) => (into[key] = (into[key] ?? 0) + 1);
  for (const n of graph.nodes) {
    if (computeRule(graph, n)) count(plan.compute.has(n) ? kernels : float, plan.compute.has(n) ? KERNELS[n.op]! : n.op);
    for (const op of EXPANDED[n.op] ?? []) count(float, op);
  }

  const producers = graph.producers();
  const consumers = graph.consumers();
  const int8 = new Set([...plan.compute, ...plan.movement, ...plan.rescaled, ...plan.absorbed]);
  let q = 0;
  let dq = 0;
  for (const v of plan.quantized.keys()) {
    // Quantized constants are uint8 initializers that the kernels take in.
    if (graph.initializers.has(v)) continue;
    const p = producers.get(v);
    if (!p || !int8.has(p)) q++;
    const floatReaders = (consumers.get(v) ?? []).filter((c) => !plan.compute.has(c) && !plan.movement.has(c) && !plan.rescaled.has(c));
    const perChannel = (c: Node) => plan.keptFloat.has(c) && (c.op === 'Conv' || c.op === 'Gemm');
    if (floatReaders.some((c) => !perChannel(c))) dq++;
    if (floatReaders.some(perChannel)) dq++;
  }
  return { kernels, float, q, dq };
}

const train = images('train', 256, 32);
const test8 = images('test', 256, 32);

for (const m of SMALL_MODELS) {
  test(`${m.name}: every int8 node fused by ORT, Relu/Clip absorbed, the fused kernels compute the QDQ graph, metadata kept`, async () => {
    const model = await withClassMeanHead(createModel(m.name, m.options), await train);
    const metadata = [{ key: 'mobilezoo.model', value: model.modelName }, { key: 'test.note', value: 'ünïcode ✓' }];
    const { bytes, report } = await quantizeModel(model, { inputSize: INPUT, calibration: (await train).batches.slice(0, 2), metadata });
    assert.deepEqual(report.keepFloat, defaultKeepFloat(m.name));
    const { graph } = traceFolded(model, INPUT);
    const keep = keepFloatMatcher(model, graph, report.keepFloat);
    assert.equal(decomposeHardActivations(graph, keep), report.decomposedActivations);
    const plan = planQuantization(graph, keep);
    const want = expectedCounts(graph, plan);
    const got = await optimizedOpCounts(bytes);
    for (const [kernel, n] of Object.entries(want.kernels)) assert.equal(got[kernel] ?? 0, n, `${kernel}: ${JSON.stringify(got)}`);
    for (const op of Object.keys(KERNELS)) assert.equal(got[op] ?? 0, want.float[op] ?? 0, `float ${op} left: ${JSON.stringify(got)}`);
    assert.equal(got.QuantizeLinear ?? 0, want.q, 'QuantizeLinear');
    assert.equal(got.DequantizeLinear ?? 0, want.dq, 'DequantizeLinear');
    assert.equal((got.Relu ?? 0) + (got.Clip ?? 0), 0, 'every Relu / Clip absorbed by a Q');
    assert.ok((want.kernels.QLinearConv ?? 0) > 0 && report.absorbedActivations > 0);
    assert.equal(report.foldedBatchNorms, [...model.modules()].filter(([, mod]) => mod.typeName === 'BatchNorm2d').length);

    const t = (await test8).batches;
    const fused = await logits(bytes, t, { optimization: 'all' });
    const spec = await logits(bytes, t, { optimization: 'disabled' });
    // The kernels requantize each tensor in fixed point where the graph's float arithmetic rounds once;
    // at most one step apart per tensor, and that far apart only for a small fraction of elements.
    const err = relativeError(fused, spec);
    assert.ok(err < 0.03, `fused int8 vs the QDQ graph: relative error ${err}`);

    assert.deepEqual(decodeModel(bytes).metadataProps.map((p) => ({ key: p.key, value: p.value })), metadata);
  });
}

test('a trained mobilenet_v1 0.25x: int8 top-1 agrees with fp32 on 98% of real test images, logits within 6%', async () => {
  const model = await trainedModel('mobilenet_v1', SMALL_MODELS[0]!.options, await images('train', 60 * 32, 32));
  const { bytes, report } = await quantizeModel(model, { inputSize: INPUT, calibration: (await train).batches });
  assert.equal(report.calibrationImages, 256);
  const t = (await test8).batches;
  const fp32 = await logits(traceFolded(model, INPUT).graph, t);
  const int8 = await logits(bytes, t);
  const [a, b] = [argmax(fp32, 10), argmax(int8, 10)];
  const labels = (await test8).labels.flatMap((l) => Array.from(l));
  const accuracy = a.filter((p, i) => p === labels[i]).length / a.length;
  assert.ok(accuracy > 0.5, `the fp32 network has learned something (top-1 ${accuracy})`);
  const agreement = a.filter((p, i) => p === b[i]).length / a.length;
  // Each of the ~30 uint8 tensors adds rounding noise of step/√12, about 0.5% of a typical ReLU6
  // activation, and noise from independent roundings adds in quadrature: √30 × 0.5% ≈ 3%. Measured:
  // 2.3% here, 3.2% for the 2-epoch MobileNetV2 0.5x checkpoint of bench/int8-accuracy.ts. A wrong
  // scale, zero point, axis or bias gives tens of percent.
  const err = relativeError(int8, fp32);
  assert.ok(agreement >= 0.95, `top-1 agreement ${agreement}`);
  assert.ok(err < 0.06, `relative error ${err}`);
});

test('keepFloat: SqueezeExcitation keeps SE blocks in float, DepthwiseConv the depthwise convs; a pool between int8 values or an unknown selector is an error', async () => {
  const calibration = (await train).batches.slice(0, 1);
  const v3 = createModel('mobilenet_v3_small', { stem: 'cifar', numClasses: 10 });
  const se = await quantizeModel(v3, { inputSize: INPUT, calibration, keepFloat: ['SqueezeExcitation'] });
  const seBlocks = [...v3.modules()].filter(([, mod]) => mod.typeName === 'SqueezeExcitation').length;
  const counts = await optimizedOpCounts(se.bytes);
  const hardSwish = traceFolded(v3, INPUT).graph.nodes.filter((n) => n.op === 'HardSwish').length;
  assert.equal(counts.QLinearMul, hardSwish, 'only the hardswish products are int8 Muls');
  assert.equal(counts.QLinearGlobalAveragePool, 1, 'only the head pool stays int8');
  assert.equal(se.report.floatNodes.Conv, 2 * seBlocks);
  assert.equal(se.report.floatNodes.Mul, seBlocks);

  const v2: Network = createModel('mobilenet_v2', SMALL_MODELS[1]!.options);
  const dw = await quantizeModel(v2, { inputSize: INPUT, calibration, keepFloat: ['DepthwiseConv'] });
  const { graph } = traceFolded(v2, INPUT);
  const depthwise = graph.nodes.filter((n) => n.op === 'Conv' && graph.info(n.inputs[1]!).shape[1] === 1).length;
  assert.ok(depthwise >= 17);
  assert.equal(dw.report.floatNodes.Conv, depthwise);
  assert.equal(opCounts(await optimizedModel(dw.bytes)).QLinearConv, graph.nodes.filter((n) => n.op === 'Conv').length - depthwise);

  // ORT would fuse a float AveragePool between a DQ and a Q anyway: that is refused, not done silently.
  const v1 = createModel('shufflenet_v1', SMALL_MODELS[3]!.options);
  await assert.rejects(quantizeModel(v1, { inputSize: INPUT, calibration, keepFloat: ['AveragePool'] }), /AveragePool .* lies between int8 values/);
  const t = (await test8).batches.slice(0, 2);
  const err = relativeError(await logits(dw.bytes, t), await logits(dw.bytes, t, { optimization: 'disabled' }));
  assert.ok(err < 0.03, `fused vs the QDQ graph with float depthwise convs: ${err}`);

  await assert.rejects(quantizeModel(v2, { inputSize: INPUT, calibration, keepFloat: ['SqueezeExcitation', 'features.99'] }), /'SqueezeExcitation', 'features.99' match no node/);
});
