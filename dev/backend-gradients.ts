/**
 * Dev script: how far each runtime's float32 gradients are from PyTorch's float64 ones on a reference
 * fixture, beside PyTorch's own float32 gradients: onnxruntime-node (NCHWc kernels where the CPU has
 * them, and without), onnxruntime-web (wasm). Global relative L2 over every stored gradient, and the
 * tensors where the backends differ most from each other.
 *   node --import tsx dev/backend-gradients.ts [case] [count]
 */
import { readFileSync } from 'node:fs';
import * as ortWeb from 'onnxruntime-web';
import { loadStateDictFile } from '../src/io/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { createModel } from '../src/models/registry.js';
import type { Backend } from '../src/runtime/backend.js';
import { nodeBackend } from '../src/runtime/node-backend.js';
import { webBackend } from '../src/runtime/web-backend.js';
import { Trainer } from '../src/train/trainer.js';
import { REFERENCE, modelOptions, readMeta } from '../test/models/fixtures.js';

const id = process.argv[2] ?? 'mobilenet_v2_0.5_cifar';
const count = Number(process.argv[3] ?? 6);
const meta = readMeta(id);
const c = readSafetensors(readFileSync(`${REFERENCE}${id}/case.safetensors`), 'case');
const exact = readSafetensors(readFileSync(`${REFERENCE}${id}/case_exact.safetensors`), 'case_exact');
const weights = await loadStateDictFile(`${REFERENCE}${id}/weights.pth`);

async function gradients(backend: Backend): Promise<Map<string, Float32Array>> {
  const model = createModel(meta.builder, modelOptions(meta.args));
  model.loadStateDict(weights);
  const t = await Trainer.create(model, { backend, optimizer: { type: 'sgd' }, lr: 0, inputSize: meta.input_shape.slice(1) as [number, number, number] });
  const r = await t.lossAndGradients(c.get('input')!.toFloat32(), c.get('labels')!.data as BigInt64Array);
  await t.dispose();
  return r.grads;
}

const names = [...exact.keys()].filter((k) => k.startsWith('grad/')).map((k) => k.slice(5));
const torch32 = new Map(names.map((n) => [n, c.get(`grad/${n}`)!.toFloat32()]));
const exact64 = new Map(names.map((n) => [n, exact.get(`grad/${n}`)!.toFloat32()]));
const runs: [string, Map<string, Float32Array>][] = [['PyTorch float32', torch32], ['onnxruntime-node', await gradients(nodeBackend({ threads: 1 }))]];
process.env.MOBILEZOO_NCHWC = '0';
runs.push(['onnxruntime-node, no NCHWc', await gradients(nodeBackend({ threads: 1 }))]);
runs.push(['onnxruntime-web wasm', await gradients(webBackend(ortWeb, { threads: 1 }))]);

const l2 = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
const global = (g: Map<string, Float32Array>, ref: Map<string, Float32Array>) =>
  Math.sqrt(names.reduce((s, n) => s + l2(g.get(n)!, ref.get(n)!) ** 2, 0) / names.reduce((s, n) => s + norm(ref.get(n)!) ** 2, 0));
console.log(`${id}: global relative L2 of all ${names.length} stored gradients against PyTorch float64`);
for (const [name, g] of runs) console.log(`  ${name.padEnd(28)} ${global(g, exact64).toExponential(2)}`);
const [, node] = runs[1]!;
const [, wasm] = runs[3]!;
console.log(`  onnxruntime-node vs web     ${global(wasm, node).toExponential(2)} (relative to node)`);
const largest = Math.max(...names.map((n) => norm(exact64.get(n)!)));
const rows = names.filter((n) => norm(exact64.get(n)!) > 1e-4 * largest).map((n) => ({ n, d: l2(node.get(n)!, wasm.get(n)!) / norm(exact64.get(n)!) })).sort((a, b) => b.d - a.d).slice(0, count);
console.log('tensors where node and web differ most (relative L2 to float64; each runtime and PyTorch float32 against float64):');
for (const { n, d } of rows) {
  const e = exact64.get(n)!;
  const rel = (g: Map<string, Float32Array>) => (l2(g.get(n)!, e) / norm(e)).toExponential(2);
  const maxAbs = Math.max(...Array.from(e, Math.abs));
  const maxDiff = Math.max(...Array.from(node.get(n)!, (v, i) => Math.abs(v - wasm.get(n)![i]!)));
  console.log(`  ${n}: node vs web ${d.toExponential(2)} (max |diff| ${maxDiff.toExponential(2)} on values up to ${maxAbs.toExponential(2)}); vs float64: node ${rel(node)}, web ${rel(wasm)}, PyTorch float32 ${rel(torch32)}`);
}
