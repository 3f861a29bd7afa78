/**
 * How close mobilezoo is to PyTorch on every reference fixture (../shared/fixtures/reference):
 *   node --import tsx bench/fidelity.ts
 * Eval logits (max error relative to the largest logit), train-mode loss, and the global relative L2
 * error of all stored gradients against PyTorch's float64 results, next to PyTorch float32's own.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { loadStateDictFile } from '../src/io/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { createModel } from '../src/models/registry.js';
import { InferenceSession } from '../src/runtime/inference.js';
import { Trainer } from '../src/train/trainer.js';
import { REFERENCE, gradientErrors, maxAbs, maxAbsDiff, modelOptions } from '../test/models/fixtures.js';
import { nodeBackend } from '../src/runtime/node-backend.js';


console.log('| case | eval logits rel. error | train loss rel. error | gradients rel. L2 (ours) | gradients rel. L2 (PyTorch fp32) | min cosine |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const id of readdirSync(REFERENCE).sort()) {
  const meta = JSON.parse(readFileSync(`${REFERENCE}${id}/meta.json`, 'utf8'));
  const options = modelOptions(meta.args);
  const model = createModel(meta.builder, options);
  model.loadStateDict(await loadStateDictFile(`${REFERENCE}${id}/weights.pth`));
  const c = readSafetensors(readFileSync(`${REFERENCE}${id}/case.safetensors`), 'case');
  const exact = readSafetensors(readFileSync(`${REFERENCE}${id}/case_exact.safetensors`), 'exact');
  const inputSize = meta.input_shape.slice(1) as [number, number, number];
  const input = c.get('input')!.toFloat32();
  const session = await InferenceSession.create(model, { inputSize, backend: nodeBackend() });
  const reference = exact.get('logits_eval')!.toFloat32();
  const evalErr = maxAbsDiff(await session.run(input), reference) / maxAbs(reference);
  const trainer = await Trainer.create(model, { optimizer: { type: 'sgd' }, lr: 0, inputSize, backend: nodeBackend() });
  const r = await trainer.lossAndGradients(input, c.get('labels')!.data as BigInt64Array);
  const loss = exact.get('loss')!.toFloat32()[0]!;
  const g = gradientErrors(exact, r.grads);
  const minCos = Math.min(...g.cosines.values());
  const f = meta.fp32_vs_fp64;
  console.log(`| ${id} | ${evalErr.toExponential(1)} | ${(Math.abs(r.loss - loss) / loss).toExponential(1)} | ${g.globalRelL2.toExponential(2)} | ${f.grads_global_rel_l2.toExponential(2)} | ${minCos.toFixed(5)} |`);
  await session.dispose();
  await trainer.dispose();
}
