// BatchNorm folding: exact in float (the folded graph's logits are the unfolded graph's to float32
// rounding), every BatchNorm of every family folded, and the folding formula itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/index.js';
import { createModel } from '../../src/models/registry.js';
import { BatchNorm2d } from '../../src/nn/layers.js';
import { foldBatchNorms, foldConvBatchNorm } from '../../src/quantize/fold-batchnorm.js';
import { traceInference } from '../../src/runtime/inference.js';
import { Tensor } from '../../src/tensor.js';
import { INPUT, SMALL_MODELS, images, logits, relativeError } from './helpers.js';

test('foldConvBatchNorm: w·γ/√(var+eps) per output channel, β + (b − mean)·γ/√(var+eps)', () => {
  const w = Tensor.float32([2, 1, 1, 2], [1, -2, 0.5, 4]);
  const b = Tensor.float32([2], [0.25, -1]);
  const bn = { gamma: Tensor.float32([2], [2, -0.5]), beta: Tensor.float32([2], [0.1, 0.2]), mean: Tensor.float32([2], [1, -3]), variance: Tensor.float32([2], [3, 0.44]), eps: 1 };
  const k = [2 / Math.sqrt(3 + 1), -0.5 / Math.sqrt(0.44 + 1)];
  const folded = foldConvBatchNorm(w, b, bn);
  assert.deepEqual(Array.from(folded.weight.toFloat32()), [1 * k[0]!, -2 * k[0]!, 0.5 * k[1]!, 4 * k[1]!].map(Math.fround));
  assert.deepEqual(Array.from(folded.bias.toFloat32()), [0.1 + (0.25 - 1) * k[0]!, 0.2 + (-1 + 3) * k[1]!].map(Math.fround));
  assert.deepEqual(Array.from(foldConvBatchNorm(w, undefined, bn).bias.toFloat32()), [0.1 - 1 * k[0]!, 0.2 + 3 * k[1]!].map(Math.fround));
});

const sample = images('test', 16, 16);

for (const m of SMALL_MODELS) {
  test(`${m.name}: the folded graph gives the unfolded graph's logits (non-trivial BatchNorm statistics)`, async () => {
    const model = createModel(m.name, m.options);
    const rng = new Rng(5);
    const sd = model.stateDict();
    const draw = (t: Tensor, f: () => number) => Tensor.float32(t.shape, Float32Array.from({ length: t.size }, f));
    let batchNorms = 0;
    for (const [path, mod] of model.modules()) {
      if (!(mod instanceof BatchNorm2d)) continue;
      batchNorms++;
      sd.set(`${path}.weight`, draw(sd.get(`${path}.weight`)!, () => 0.5 + rng.random()));
      sd.set(`${path}.bias`, draw(sd.get(`${path}.bias`)!, () => 0.2 * rng.normal()));
      sd.set(`${path}.running_mean`, draw(sd.get(`${path}.running_mean`)!, () => 0.2 * rng.normal()));
      sd.set(`${path}.running_var`, draw(sd.get(`${path}.running_var`)!, () => 0.5 + 1.5 * rng.random()));
    }
    model.loadStateDict(sd);
    const graph = traceInference(model, { inputSize: INPUT });
    // ORT left to its own devices would fold the reference's BatchNorms too (in float32).
    const reference = await logits(graph, (await sample).batches, { optimization: 'disabled' });
    assert.equal(foldBatchNorms(graph), batchNorms);
    assert.equal(graph.nodes.filter((n) => n.op === 'BatchNormalization').length, 0);
    const folded = await logits(graph, (await sample).batches, { optimization: 'disabled' });
    const err = relativeError(folded, reference);
    assert.ok(err < 1e-5, `relative error ${err}`);
  });
}
