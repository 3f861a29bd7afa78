// Every family against PyTorch: eval logits, parameter and MAC counts, and state_dict keys of the
// reference fixtures (../shared/fixtures/reference/<case>/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadStateDictFile } from '../../src/io/index.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { createModel } from '../../src/models/registry.js';
import { summary } from '../../src/nn/summary.js';
import { InferenceSession } from '../../src/runtime/inference.js';
import { NO_FIXTURES, REFERENCE, caseIds, maxAbs, maxAbsDiff, modelOptions, readMeta } from './fixtures.js';

if (NO_FIXTURES) test('reference networks against PyTorch', { skip: NO_FIXTURES }, () => {});

/** The fixtures README's bar for float32 eval logits. */
const TOLERANCE = 1e-4;

for (const id of caseIds()) {
  test(`reference ${id}: eval logits, counts and state_dict keys match PyTorch`, async (t) => {
    const meta = readMeta(id);
    const dir = `${REFERENCE}${id}/`;
    const model = createModel(meta.builder, modelOptions(meta.args));
    assert.equal(model.numClasses, meta.num_classes);
    const [batch, ...inputSize] = meta.input_shape;

    // Counts (MACs per image, as the fixtures count them).
    const s = summary(model, inputSize as [number, number, number]);
    assert.equal(model.parameterCount(), meta.params, 'parameter count');
    assert.equal(s.totalParams, meta.params, 'summary params');
    assert.equal(s.totalMacs, meta.macs, 'summary MACs');

    // Keys: the same names in the same order as torch's state_dict().
    const sd = await loadStateDictFile(`${dir}weights.pth`);
    assert.deepEqual([...model.stateDict().keys()], [...sd.keys()], 'state_dict keys and order');
    const report = model.loadStateDict(sd, { source: `${id}/weights.pth` });
    assert.deepEqual(report, { missing: [], unexpected: [], mismatched: [] });

    // Eval-mode inference through ONNX Runtime.
    const data = readSafetensors(readFileSync(`${dir}case.safetensors`), `${id}/case.safetensors`);
    const input = data.get('input')!;
    const expected = data.get('logits_eval')!.toFloat32();
    assert.deepEqual([...input.shape], meta.input_shape);
    const session = await InferenceSession.create(model, { inputSize: inputSize as [number, number, number], threads: 2 });
    let logits: Float32Array;
    try {
      logits = await session.run(input.toFloat32(), batch);
    } finally {
      await session.dispose();
    }
    assert.equal(logits.length, batch * meta.num_classes);
    const rel = maxAbsDiff(logits, expected) / maxAbs(expected);
    t.diagnostic(`${id}: max|ours - torch| / max|torch| = ${rel.toExponential(2)} (torch fp32 vs fp64: ${meta.fp32_vs_fp64.logits_eval.toExponential(2)})`);
    assert.ok(rel <= TOLERANCE, `${id}: relative error ${rel} > ${TOLERANCE}`);
  });
}
