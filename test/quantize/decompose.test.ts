// HardSwish and HardSigmoid written as Add, Clip and Mul compute what they did, and ORT then runs
// MobileNetV3 without a float op left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/models/registry.js';
import { decomposeHardActivations } from '../../src/quantize/decompose.js';
import { optimizedOpCounts } from '../../src/quantize/optimized-graph.js';
import { quantizeModel, traceFolded } from '../../src/quantize/quantize-model.js';
import { keepFloatMatcher } from '../../src/quantize/keep-float.js';
import { INPUT, images, logits, relativeError } from './helpers.js';

const model = createModel('mobilenet_v3_small', { stem: 'cifar', numClasses: 10 });
const data = images('test', 32, 16);

test('the decomposed float graph gives the same logits; kept nodes are left whole', async () => {
  const { graph } = traceFolded(model, INPUT);
  const hardSwish = graph.nodes.filter((n) => n.op === 'HardSwish').length;
  const hardSigmoid = graph.nodes.filter((n) => n.op === 'HardSigmoid').length;
  const reference = await logits(graph, (await data).batches, { optimization: 'disabled' });
  const keep = keepFloatMatcher(model, graph, ['features.0']);
  const inStem = graph.nodes.filter((n) => n.op === 'HardSwish' && keep(n)).length;
  assert.equal(inStem, 1);
  assert.equal(decomposeHardActivations(graph, keep), hardSwish + hardSigmoid - inStem);
  assert.deepEqual(graph.nodes.filter((n) => n.op === 'HardSwish' || n.op === 'HardSigmoid').map((n) => n.scope), ['features.0.2']);
  const err = relativeError(await logits(graph, (await data).batches, { optimization: 'disabled' }), reference);
  assert.ok(err < 1e-5, `relative error ${err}`);
});

test('with every activation decomposed, ORT runs MobileNetV3 in int8 from the first Q to the logits', async () => {
  const { bytes, report } = await quantizeModel(model, { inputSize: INPUT, calibration: (await data).batches, keepFloat: [] });
  const counts = await optimizedOpCounts(bytes);
  const integer = new Set(['QuantizeLinear', 'QLinearConv', 'QLinearAdd', 'QLinearMul', 'QLinearGlobalAveragePool', 'QGemm', 'Flatten']);
  assert.deepEqual(Object.keys(counts).filter((op) => !integer.has(op)), [], JSON.stringify(counts));
  assert.equal(counts.QuantizeLinear, 1);
  // One QLinearAdd per residual, per hardswish and per hardsigmoid; one QLinearMul per hardswish and per SE block.
  const { graph } = traceFolded(model, INPUT);
  const count = (op: string) => graph.nodes.filter((n) => n.op === op).length;
  assert.equal(report.decomposedActivations, count('HardSwish') + count('HardSigmoid'));
  assert.equal(counts.QLinearAdd, count('Add') + count('HardSwish') + count('HardSigmoid'));
  assert.equal(counts.QLinearMul, count('Mul') + count('HardSwish'));
});
