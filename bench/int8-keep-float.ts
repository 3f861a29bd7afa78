// What keeping parts of each family in float costs and buys, for the defaults in
// src/quantize/family-defaults.ts:
// - accuracy: each family's small CIFAR-stem configuration trained briefly on Fashion-MNIST (the
//   tests' trainedModel: SGD, --steps batches of 32, then BatchNorm statistics of the final
//   weights), calibrated on 256 train images; fp32 vs int8 top-1 on --test test images, their top-1
//   agreement and the logits' relative L2 error;
// - speed: the 224x224 network with random weights, batch 8, one thread, CPU time per image of fp32
//   and int8 (CPU time, not wall time: other work on a shared machine inflates it much less).
//
//   node --import tsx bench/int8-keep-float.ts [--models mobilenet_v3_small,...] [--steps 150] [--test 2000] [--runs 6]
import { parseArgs } from 'node:util';
import type { Network } from '../src/models/network.js';
import { createModel } from '../src/models/registry.js';
import { serializeModel } from '../src/onnx/serialize.js';
import { quantizeModel, traceFolded } from '../src/quantize/quantize-model.js';
import { traceInference } from '../src/runtime/inference.js';
import { createSession, ort } from '../src/runtime/node-backend.js';
import { INPUT, SMALL_MODELS, argmax, images, logits, relativeError, trainedModel } from '../test/quantize/helpers.js';
import { benchInput, cpuMsPerRun } from './interleave.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string' },
    steps: { type: 'string', default: '150' },
    test: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '6' },
  },
});

/** The keep-float choices worth measuring per family (the first, nothing, is the baseline). */
const CANDIDATES: Record<string, string[][]> = {
  mobilenet_v1: [[], ['DepthwiseConv'], ['features.0']],
  mobilenet_v2: [[], ['DepthwiseConv'], ['features.0']],
  // HardSwish and HardSigmoid kept by op type stay whole, in float between a DQ and a Q (not decomposed).
  mobilenet_v3_small: [[], ['features.0'], ['HardSwish', 'HardSigmoid'], ['HardSwish', 'HardSigmoid', 'features.0'], ['SqueezeExcitation'], ['DepthwiseConv']],
  shufflenet_v1: [[], ['first_conv'], ['DepthwiseConv']],
  shufflenet_v2_x0_5: [[], ['DepthwiseConv'], ['conv1']],
};
/** The 224x224 networks whose speed stands for each family (the defaults apply to the whole family). */
const AT_224: Record<string, string[]> = {
  mobilenet_v1: ['mobilenet_v1'],
  mobilenet_v2: ['mobilenet_v2'],
  mobilenet_v3_small: ['mobilenet_v3_small', 'mobilenet_v3_large'],
  shufflenet_v1: ['shufflenet_v1'],
  shufflenet_v2_x0_5: ['shufflenet_v2_x1_0'],
};

const steps = Number(values.steps);
const runs = Number(values.runs);
const wanted = values.models?.split(',');
const train = await images('train', 32 * steps, 32);
const test = await images('test', Number(values.test), 100);
const labels = test.labels.flatMap((l) => Array.from(l));
const top1 = (pred: number[]) => pred.filter((p, i) => p === labels[i]).length / pred.length;
const pct = (v: number) => (100 * v).toFixed(2);

console.log(`# keep-float candidates: accuracy on ${test.source} (${labels.length} test images, ${steps} training steps of 32), CPU time at 224 (batch 8, 1 thread)\n`);
console.log('| model | keep float | fp32 top-1 | int8 top-1 | drop (points) | top-1 agreement | logits rel. error | 224x224: fp32 / int8 CPU ms per image = speed-up |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const m of SMALL_MODELS.filter((s) => !wanted || wanted.includes(s.name))) {
  const model = await trainedModel(m.name, m.options, train);
  const fp32 = await logits(traceFolded(model, INPUT).graph, test.batches);
  const bigInput: [number, number, number] = [3, 224, 224];
  const feeds = { input: new ort.Tensor('float32', benchInput(8, 224), [8, ...bigInput]) };
  const cpu = async (bytes: Uint8Array) => {
    const s = await createSession(bytes, { threads: 1 });
    const ms = await cpuMsPerRun(s, feeds, runs);
    await s.release();
    return ms / 8;
  };
  // One session at a time: CPU time is the whole process's.
  const big: { name: string; net: Network; fp32: number }[] = [];
  for (const name of AT_224[m.name]!) {
    const net = createModel(name);
    big.push({ name, net, fp32: await cpu(serializeModel(traceInference(net, { inputSize: bigInput }))) });
  }
  for (const keepFloat of CANDIDATES[m.name]!) {
    const { bytes } = await quantizeModel(model, { inputSize: INPUT, calibration: train.batches.slice(0, 8), keepFloat });
    const int8 = await logits(bytes, test.batches);
    const [a, b] = [argmax(fp32, model.numClasses), argmax(int8, model.numClasses)];
    const agreement = a.filter((p, i) => p === b[i]).length / a.length;
    const speed: string[] = [];
    for (const n of big) {
      const q = await cpu((await quantizeModel(n.net, { inputSize: bigInput, calibration: [benchInput(2, 224)], keepFloat })).bytes);
      speed.push(`${n.name}: ${n.fp32.toFixed(2)} / ${q.toFixed(2)} = ${(n.fp32 / q).toFixed(2)}`);
    }
    console.log(`| ${m.name} | ${keepFloat.join(', ') || '—'} | ${pct(top1(a))} | ${pct(top1(b))} | ${((top1(a) - top1(b)) * 100).toFixed(2)} | ${pct(agreement)} | ` +
      `${relativeError(int8, fp32).toFixed(4)} | ${speed.join('; ')} |`);
  }
}
