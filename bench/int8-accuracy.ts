// fp32 vs int8 test top-1 of a trained checkpoint: the checkpoint's own test split, its evaluation
// preprocessing, and calibration on the first N images of its train split, un-augmented.
//
//   node --import tsx bench/int8-accuracy.ts --checkpoint runs/q/checkpoint-last.json
//     [--calibration 512] [--method minmax|percentile] [--percentile 99.99] [--keep-float '[...]']
//     [--test-limit N] [--threads 2] [--json]
//
// The checkpoint (e.g. `node bin/mobilezoo.js train --recipe fashion-mnist --model mobilenet_v2
// --width 0.5 --epochs 2 --limit 10000 --out runs/q`) is evaluated on its dataset's whole test split
// unless --test-limit says otherwise.
import { parseArgs } from 'node:util';
import { DataLoader, type Dataset, openDataset, takeSubset } from '../src/data/index.js';
import { quantizeModel } from '../src/quantize/quantize-model.js';
import { optimizedOpCounts } from '../src/quantize/optimized-graph.js';
import { InferenceSession } from '../src/runtime/inference.js';
import { createSession, ort } from '../src/runtime/session.js';
import { loadModel, readCheckpointRecord } from '../src/train/checkpoints.js';
import { metadataOf } from '../src/train/tasks.js';
import { evaluateLoader } from '../src/train/workflow.js';

const { values } = parseArgs({
  options: {
    checkpoint: { type: 'string' },
    calibration: { type: 'string', default: '512' },
    method: { type: 'string', default: 'minmax' },
    percentile: { type: 'string' },
    'keep-float': { type: 'string' },
    'test-limit': { type: 'string' },
    threads: { type: 'string', default: '2' },
    json: { type: 'boolean', default: false },
  },
});
if (!values.checkpoint) throw new Error('--checkpoint checkpoint-*.json is required');
const method = values.method as 'minmax' | 'percentile';
if (method !== 'minmax' && method !== 'percentile') throw new Error(`--method: minmax or percentile, got '${values.method}'`);
const threads = Number(values.threads);
const { record } = await readCheckpointRecord(values.checkpoint);
const { model } = await loadModel({ checkpoint: values.checkpoint });
const inputSize = record.model.inputSize;
const transform = record.preprocessing.transform;
const open = async (split: 'train' | 'test', limit?: number): Promise<Dataset> => {
  const ds = await openDataset(record.dataset.name, split, { ...record.dataset.options, progress: false });
  return limit !== undefined && ds.length > limit ? takeSubset(ds, limit) : ds;
};

const calibrationLoader = new DataLoader(await open('train', Number(values.calibration)), { batchSize: 64, transform, workers: 0 });
async function* calibration() {
  for await (const b of calibrationLoader.iterate(0)) yield b.images;
}
const t0 = performance.now();
const { bytes, report } = await quantizeModel(model, {
  inputSize, calibration: calibration(), method, percentile: values.percentile === undefined ? undefined : Number(values.percentile),
  keepFloat: values['keep-float'] === undefined ? undefined : (JSON.parse(values['keep-float']) as string[]),
  metadata: metadataOf(model, record), threads,
});
const quantizeSeconds = (performance.now() - t0) / 1000;
await calibrationLoader.close();

const testLoader = new DataLoader(await open('test', values['test-limit'] === undefined ? undefined : Number(values['test-limit'])), { batchSize: 100, transform, workers: 0 });
const fp32 = await InferenceSession.create(model, { inputSize, threads });
const int8 = await createSession(bytes, { threads });
const runInt8 = async (x: Float32Array) => (await int8.run({ input: new ort.Tensor('float32', x, [x.length / (inputSize[0] * inputSize[1] * inputSize[2]), ...inputSize]) })).logits!.data as Float32Array;
const a = (await evaluateLoader((x) => fp32.run(x), testLoader, model.numClasses))!;
const b = (await evaluateLoader(runInt8, testLoader, model.numClasses))!;
await testLoader.close();
await fp32.dispose();
await int8.release();
const fused = await optimizedOpCounts(bytes);

const result = {
  checkpoint: values.checkpoint, model: model.modelName, options: model.options, dataset: record.dataset.name, testImages: a.count,
  calibrationImages: report.calibrationImages, method, keepFloat: report.keepFloat,
  fp32_top1: a.top1, int8_top1: b.top1, drop_points: (a.top1 - b.top1) * 100, fp32_loss: a.loss, int8_loss: b.loss,
  int8_bytes: bytes.length, quantize_seconds: Number(quantizeSeconds.toFixed(1)), fused,
};
if (values.json) console.log(JSON.stringify(result));
else {
  console.log(`${model.modelName} ${JSON.stringify(model.options)} on ${record.dataset.title} test (${a.count} images); ` +
    `${method} calibration on ${report.calibrationImages} train images; keep float: ${report.keepFloat.join(', ') || 'nothing'}`);
  console.log(`fp32 top-1 ${(a.top1 * 100).toFixed(2)}%, int8 top-1 ${(b.top1 * 100).toFixed(2)}% (${result.drop_points >= 0 ? '-' : '+'}${Math.abs(result.drop_points).toFixed(2)} points; target within 1.0)`);
  console.log(`loss fp32 ${a.loss.toFixed(4)}, int8 ${b.loss.toFixed(4)}; quantized in ${quantizeSeconds.toFixed(1)} s; ORT's fused graph: ${JSON.stringify(fused)}`);
}
