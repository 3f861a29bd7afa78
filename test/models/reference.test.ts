// Every family against PyTorch: eval logits, parameter and MAC counts, and state_dict keys of the
// reference fixtures (../shared/fixtures/reference/<case>/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadStateDictFile } from '../../src/io/index.js';
import { createModel } from '../../src/models/registry.js';
import { summary } from '../../src/nn/summary.js';
import { NO_FIXTURES, REFERENCE, caseIds, evalLogitsError, modelOptions, readMeta } from './fixtures.js';
import { nodeBackend } from '../../src/runtime/node-backend.js';

if (NO_FIXTURES) test('reference networks against PyTorch', { skip: NO_FIXTURES }, () => {});

for (const id of caseIds()) {
  test(`reference ${id}: eval logits, counts and state_dict keys match PyTorch`, async (t) => {
    const meta = readMeta(id);
    const dir = `${REFERENCE}${id}/`;
    const model = createModel(meta.builder, modelOptions(meta.args));
    assert.equal(model.numClasses, meta.num_classes);
    const inputSize = meta.input_shape.slice(1);

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
    const rel = await evalLogitsError(id, model, nodeBackend({ threads: 2 }));
    t.diagnostic(`${id}: max|ours - torch| / max|torch| = ${rel.toExponential(2)} (torch fp32 vs fp64: ${meta.fp32_vs_fp64.logits_eval.toExponential(2)})`);
  });
}
