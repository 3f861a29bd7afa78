/**
 * Our train-mode values of a BatchNorm module's output (its pre-activation) at given flat indices, for
 * a reference fixture: the other half of dev/kink-values.py.
 *   node --import tsx dev/kink-values.ts mobilenet_v2_1.0_224 features.17.conv.1.1 40407 93200
 * MOBILEZOO_NCHWC=0 gives the values with plain NCHW depthwise convolutions.
 */
import { readFileSync } from 'node:fs';
import { loadStateDictFile } from '../src/io/index.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { createModel } from '../src/models/registry.js';
import { createSession, nchwcBlockSize, ort } from '../src/runtime/node-backend.js';
import { buildStepGraph } from '../src/train/step-graph.js';
import { REFERENCE, modelOptions, readMeta } from '../test/models/fixtures.js';

const [id, scope, ...indices] = process.argv.slice(2);
if (!id || !scope || !indices.length) throw new Error('usage: dev/kink-values.ts <case> <BatchNorm module path> <index>...');
const meta = readMeta(id);
const model = createModel(meta.builder, modelOptions(meta.args));
model.loadStateDict(await loadStateDictFile(`${REFERENCE}${id}/weights.pth`));
const c = readSafetensors(readFileSync(`${REFERENCE}${id}/case.safetensors`), 'case.safetensors');
const [batch, ...inputSize] = meta.input_shape as number[];
const step = buildStepGraph(model, { inputSize: inputSize as [number, number, number], numClasses: meta.num_classes as number, batch, nchwcBlock: await nchwcBlockSize() });
// The module's forward affine pass (the last BatchNormalization op in its scope) gives its output.
const node = step.graph.nodes.filter((n) => n.scope === scope && n.op === 'BatchNormalization').at(-1);
if (!node) throw new Error(`no BatchNorm output in scope '${scope}'`);
const out = node.outputs[0]!;
step.graph.outputs.push({ ...step.graph.info(out) });
const session = await createSession(step.graph, { memPattern: false });
const feeds: Record<string, ort.Tensor> = {
  input: new ort.Tensor('float32', c.get('input')!.toFloat32(), meta.input_shape as number[]),
  labels: new ort.Tensor('int64', c.get('labels')!.data as BigInt64Array, [batch!]),
};
const sd = model.stateDict();
for (const name of [...step.params, ...step.buffers]) {
  const t = sd.get(name)!;
  feeds[name] = new ort.Tensor(t.dtype === 'int64' ? 'int64' : 'float32', t.data as Float32Array, [...t.shape]);
}
for (const m of step.masks) feeds[m.name] = new ort.Tensor('float32', new Float32Array(batch! * (m.shape.slice(1) as number[]).reduce((a, b) => a * b, 1)).fill(1 / (1 - m.p)), [batch!, ...(m.shape.slice(1) as number[])]);
const values = (await session.run(feeds, [out]))[out]!.data as Float32Array;
for (const i of indices) console.log(`${i}\tours ${values[Number(i)]!.toPrecision(9)}`);
