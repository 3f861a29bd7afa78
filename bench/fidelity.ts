/**
 * How close mobilezoo is to PyTorch on every reference fixture (../shared/fixtures/reference):
 *   node --import tsx bench/fidelity.ts
 * Eval logits (max error relative to the largest logit), train-mode loss, and the global relative L2
 * error of all stored gradients against PyTorch's float64 results, next to PyTorch float32's own.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadStateDictFile } from '../src/io/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { createModel } from '../src/models/registry.js';
import { InferenceSession } from '../src/runtime/inference.js';
import { Trainer } from '../src/train/trainer.js';

const root = fileURLToPath(new URL('../../shared/fixtures/reference/', import.meta.url));
const renames: Record<string, string> = { width_mult: 'widthMult', num_classes: 'numClasses', reduced_tail: 'reducedTail', group: 'groups', model_size: 'size', dropout: 'dropout' };
const maxRel = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
};

console.log('| case | eval logits rel. error | train loss rel. error | gradients rel. L2 (ours) | gradients rel. L2 (PyTorch fp32) | min cosine |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const id of readdirSync(root).sort()) {
  const meta = JSON.parse(readFileSync(`${root}${id}/meta.json`, 'utf8'));
  const options = Object.fromEntries(Object.entries(meta.args).map(([k, v]) => [renames[k] ?? k, v]));
  const model = createModel(meta.builder, options);
  model.loadStateDict(await loadStateDictFile(`${root}${id}/weights.pth`));
  const c = readSafetensors(readFileSync(`${root}${id}/case.safetensors`), 'case');
  const exact = readSafetensors(readFileSync(`${root}${id}/case_exact.safetensors`), 'exact');
  const inputSize = meta.input_shape.slice(1) as [number, number, number];
  const input = c.get('input')!.toFloat32();
  const session = await InferenceSession.create(model, { inputSize });
  const evalErr = maxRel(await session.run(input), exact.get('logits_eval')!.toFloat32());
  const trainer = await Trainer.create(model, { optimizer: { type: 'sgd' }, lr: 0, inputSize });
  const r = await trainer.lossAndGradients(input, c.get('labels')!.data as BigInt64Array);
  const loss = exact.get('loss')!.toFloat32()[0]!;
  let num = 0;
  let den = 0;
  let minCos = 1;
  let largest = 0;
  for (const [k, t] of exact) if (k.startsWith('grad/')) largest = Math.max(largest, Math.sqrt(t.toFloat32().reduce((s, v) => s + v * v, 0)));
  for (const [k, t] of exact) {
    if (!k.startsWith('grad/')) continue;
    const e = t.toFloat32();
    const o = r.grads.get(k.slice(5))!;
    let dot = 0;
    let oo = 0;
    let ee = 0;
    for (let i = 0; i < e.length; i++) {
      num += (o[i]! - e[i]!) ** 2;
      dot += o[i]! * e[i]!;
      oo += o[i]! ** 2;
      ee += e[i]! ** 2;
    }
    den += ee;
    if (Math.sqrt(ee) > 1e-4 * largest) minCos = Math.min(minCos, dot / Math.sqrt(oo * ee));
  }
  const f = meta.fp32_vs_fp64;
  console.log(`| ${id} | ${evalErr.toExponential(1)} | ${(Math.abs(r.loss - loss) / loss).toExponential(1)} | ${Math.sqrt(num / den).toExponential(2)} | ${f.grads_global_rel_l2.toExponential(2)} | ${minCos.toFixed(5)} |`);
  await session.dispose();
  await trainer.dispose();
}
