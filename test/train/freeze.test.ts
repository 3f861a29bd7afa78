/**
 * Frozen layers (Keras' trainable = False): inference mode, constants of the step graph, no gradient and
 * no optimizer state; against PyTorch (dev/freeze-reference.py) on the shared mobilenet_v2_0.5_cifar case.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadStateDictFile } from '../../src/io/index.js';
import { readSafetensors, readSafetensorsMetadata } from '../../src/io/safetensors.js';
import { createModel } from '../../src/models/registry.js';
import { backboneParameters, classifierName, isFrozenTensor, resolveFreeze } from '../../src/train/freeze.js';
import { buildStepGraph } from '../../src/train/step-graph.js';
import { Trainer } from '../../src/train/trainer.js';
import { NO_FIXTURES, ORIGINAL_FIXTURES, REFERENCE, gradientErrors, maxAbs, maxAbsDiff } from '../models/fixtures.js';
import { nodeBackend } from '../../src/runtime/node-backend.js';

const CASE = `${REFERENCE}mobilenet_v2_0.5_cifar/`;
const refBytes = readFileSync(new URL('../fixtures/freeze-reference.safetensors', import.meta.url));
const ref = readSafetensors(refBytes, 'freeze-reference.safetensors');
const refMeta = readSafetensorsMetadata(refBytes, 'freeze-reference.safetensors');

async function referenceModel() {
  const model = createModel('mobilenet_v2', { widthMult: 0.5, numClasses: 10, dropout: 0 });
  model.loadStateDict(await loadStateDictFile(`${CASE}weights.pth`));
  return model;
}

function caseInput() {
  const c = readSafetensors(readFileSync(`${CASE}case.safetensors`), 'case.safetensors');
  return { x: c.get('input')!.toFloat32(), labels: c.get('labels')!.data as BigInt64Array };
}

describe('resolveFreeze', () => {
  test('backbone is every module but the classifier, in every family', () => {
    for (const [name, options, head] of [
      ['mobilenet_v1', { widthMult: 0.25 }, 'classifier'],
      ['mobilenet_v2', { widthMult: 0.25 }, 'classifier'],
      ['mobilenet_v3_small', {}, 'classifier'],
      ['shufflenet_v1', { groups: 3, size: '0.5x' }, 'classifier'],
      ['shufflenet_v2_x0_5', {}, 'fc'],
    ] as const) {
      const m = createModel(name, { ...options, numClasses: 4 });
      assert.equal(classifierName(m), head, name);
      const frozen = resolveFreeze(m, 'backbone');
      const trainable = m.namedParameters().map(([n]) => n).filter((n) => !isFrozenTensor(n, frozen));
      assert.ok(trainable.length > 0 && trainable.every((n) => n.startsWith(`${head}.`)), `${name}: ${trainable.join(', ')}`);
      assert.equal(backboneParameters(m).size, m.namedParameters().length - trainable.length);
    }
  });

  test('a module path freezes every module up to and including it', () => {
    const m = createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 4 });
    const frozen = resolveFreeze(m, 'features.12');
    assert.ok(frozen.has('features.0.0') && frozen.has('features.12.conv.3') && frozen.has('features.12'));
    assert.ok(!frozen.has('features') && !frozen.has('features.13') && !frozen.has('features.13.conv.0.1'));
    assert.ok(isFrozenTensor('features.12.conv.3.running_mean', frozen));
    assert.ok(!isFrozenTensor('features.13.conv.0.0.weight', frozen));
    assert.equal(resolveFreeze(m, 'none').size, 0);
    assert.throws(() => resolveFreeze(m, 'features.99'), /freeze: MobileNetV2 has no module 'features.99'.*top-level modules: features, classifier/);
    assert.throws(() => resolveFreeze(m, 'classifier'), /freeze: classifier freezes every parameter of MobileNetV2; nothing would train/);
  });
});

// freeze-reference.safetensors was made by dev/freeze-reference.py from ../shared's own weights.
const AGAINST_PYTORCH = NO_FIXTURES || (!ORIGINAL_FIXTURES && 'test/fixtures/freeze-reference.safetensors holds PyTorch\'s results for ../shared/fixtures\' weights (dev/freeze-reference.py); these fixtures are others');

describe('train steps with frozen layers, against PyTorch', { skip: NO_FIXTURES }, () => {
  for (const setting of ['backbone', 'features.17']) {
    test(`--freeze ${setting}: loss, logits, gradients of the trainable parameters, BatchNorm buffers`, { skip: AGAINST_PYTORCH }, async () => {
      const model = await referenceModel();
      const frozen = resolveFreeze(model, setting);
      const { x, labels } = caseInput();
      const trainer = await Trainer.create(model, { optimizer: { type: 'sgd' }, lr: 0, backend: nodeBackend({ threads: 2 }), inputSize: [3, 32, 32], frozen });
      const r = await trainer.lossAndGradients(x, labels);
      const fp32Loss = Number(refMeta[`${setting}/fp32_loss_rel`]);
      const fp32Grads = Number(refMeta[`${setting}/fp32_grads_rel_l2`]);
      const loss = ref.get(`${setting}/loss`)!.toFloat32()[0]!;
      assert.ok(Math.abs(r.loss - loss) / loss <= Math.max(1e-5, 5 * fp32Loss), `loss ${r.loss} vs ${loss}`);
      const logits = ref.get(`${setting}/logits`)!.toFloat32();
      assert.ok(maxAbsDiff(r.logits, logits) / maxAbs(logits) <= 1e-4, 'logits');
      // Exactly PyTorch's trainable set: no gradient is computed for a frozen parameter.
      const expected = JSON.parse(refMeta[`${setting}/trainable`]!) as string[];
      assert.deepEqual([...r.grads.keys()].sort(), expected);
      const prefix = `${setting}/`;
      const exact = new Map([...ref].filter(([k]) => k.startsWith(`${prefix}grad/`)).map(([k, t]) => [k.slice(prefix.length), t]));
      const e = gradientErrors(exact, r.grads);
      assert.deepEqual(e.missing, []);
      assert.ok(e.globalRelL2 <= Math.max(1e-4, 3 * fp32Grads), `gradients: global relative L2 ${e.globalRelL2}`);
      for (const [n, cos] of e.cosines) assert.ok(cos >= 0.998, `${n}: cosine ${cos}`);
      // Running statistics: trainable BatchNorms move as PyTorch's; frozen ones are not even outputs.
      for (const [k, t] of ref) {
        if (!k.startsWith(`${prefix}buffer/`)) continue;
        const name = k.slice(`${prefix}buffer/`.length);
        const ours = r.buffersAfter.get(name);
        assert.ok(ours, `buffer ${name} not updated`);
        if (t.dtype === 'int64') assert.deepEqual(ours.data, t.data, name);
        else assert.ok(maxAbsDiff(ours.toFloat32(), t.toFloat32()) <= 1e-4 * Math.max(1, maxAbs(t.toFloat32())), name);
      }
      for (const name of r.buffersAfter.keys()) assert.ok(!isFrozenTensor(name, frozen), `frozen buffer ${name} is updated`);
      await trainer.dispose();
    });
  }

  test('a step leaves frozen tensors bit-identical, keeps no optimizer state for them, and the graph is smaller', async () => {
    const model = await referenceModel();
    const frozen = resolveFreeze(model, 'backbone');
    const before = model.stateDict();
    const { x, labels } = caseInput();
    const trainer = await Trainer.create(model, { optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 5e-4 }, lr: 0.1, backend: nodeBackend({ threads: 2 }), inputSize: [3, 32, 32], frozen });
    await trainer.trainStep(x, labels);
    const after = model.stateDict();
    for (const [k, t] of before) {
      if (isFrozenTensor(k, frozen)) assert.deepEqual(after.get(k)!.data, t.data, k);
      else assert.notDeepEqual(after.get(k)!.data, t.data, k);
    }
    const slots = [...trainer.optimizerStateDict().keys()].filter((k) => k.startsWith('optimizer.momentum_buffer/'));
    assert.deepEqual(slots.sort(), ['optimizer.momentum_buffer/classifier.1.bias', 'optimizer.momentum_buffer/classifier.1.weight']);
    const full = buildStepGraph(model, { inputSize: [3, 32, 32], numClasses: 10, optimizer: { type: 'sgd' } });
    const part = buildStepGraph(model, { inputSize: [3, 32, 32], numClasses: 10, optimizer: { type: 'sgd' }, frozen });
    assert.deepEqual(part.params, ['classifier.1.weight', 'classifier.1.bias']);
    assert.equal(part.buffers.length, 0);
    assert.ok(part.graph.nodes.length * 3 < full.graph.nodes.length, `${part.graph.nodes.length} vs ${full.graph.nodes.length} nodes`);
    await trainer.dispose();
  });

  test('setFrozen unfreezes: every parameter trains from the next step, new slots start at zero', async () => {
    const model = await referenceModel();
    const { x, labels } = caseInput();
    const trainer = await Trainer.create(model, { optimizer: { type: 'sgd', momentum: 0.9 }, lr: 0.05, backend: nodeBackend({ threads: 2 }), inputSize: [3, 32, 32], frozen: resolveFreeze(model, 'backbone') });
    await trainer.trainStep(x, labels);
    const head = trainer.optimizerStateDict().get('optimizer.momentum_buffer/classifier.1.weight')!.toFloat32().slice();
    await trainer.setFrozen(new Set());
    const sd = trainer.optimizerStateDict();
    assert.deepEqual(sd.get('optimizer.momentum_buffer/classifier.1.weight')!.toFloat32(), head);
    assert.ok(sd.get('optimizer.momentum_buffer/features.0.0.weight')!.toFloat32().every((v) => v === 0));
    const stem = model.stateDict().get('features.0.0.weight')!.toFloat32().slice();
    const mean = model.stateDict().get('features.0.1.running_mean')!.toFloat32().slice();
    await trainer.trainStep(x, labels);
    assert.notDeepEqual(model.stateDict().get('features.0.0.weight')!.toFloat32(), stem);
    assert.notDeepEqual(model.stateDict().get('features.0.1.running_mean')!.toFloat32(), mean);
    await trainer.dispose();
  });

  test('lrMultiplier scales the update of the parameters it names', async () => {
    const { x, labels } = caseInput();
    // A large rate, so that the updates are large against the float32 rounding of the weights they move.
    const step = async (mult: number) => {
      const model = await referenceModel();
      const w0 = model.stateDict().get('features.18.0.weight')!.toFloat32().slice();
      const h0 = model.stateDict().get('classifier.1.weight')!.toFloat32().slice();
      const trainer = await Trainer.create(model, {
        optimizer: { type: 'sgd' }, lr: 100, backend: nodeBackend({ threads: 2 }), inputSize: [3, 32, 32],
        frozen: resolveFreeze(model, 'features.17'), lrMultiplier: (p) => (p.startsWith('features.') ? mult : 1),
      });
      await trainer.trainStep(x, labels);
      const delta = (name: string, w: Float32Array) => model.stateDict().get(name)!.toFloat32().map((v, i) => v - w[i]!);
      const d = { backbone: delta('features.18.0.weight', w0), head: delta('classifier.1.weight', h0) };
      await trainer.dispose();
      return d;
    };
    const one = await step(1);
    const tenth = await step(0.1);
    assert.deepEqual(tenth.head, one.head);
    const ratio = tenth.backbone.reduce((a, v) => a + v * v, 0) / one.backbone.reduce((a, v) => a + v * v, 0);
    assert.ok(Math.abs(Math.sqrt(ratio) - 0.1) < 1e-3, `update norm ratio ${Math.sqrt(ratio)}`);
  });
});
