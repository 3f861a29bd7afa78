// fp32 vs int8 test top-1 of a trained checkpoint, both measured by `mobilezoo test` (testModel): the
// float checkpoint, and the int8 ONNX file `mobilezoo quantize` (quantizeToOnnx) writes from it, calibrated
// on a seeded sample of N un-augmented images of the checkpoint's train split.
//
//   node --import tsx bench/int8-accuracy.ts --checkpoint runs/q/checkpoint-last.json
//     [--calibration 512] [--method minmax|percentile] [--percentile 99.99] [--keep-float a,b]
//     [--test-limit N] [--threads 2] [--json]
//
// The checkpoint (e.g. `node bin/mobilezoo.js train --recipe fashion-mnist --model mobilenet_v2
// --width 0.5 --epochs 2 --limit 10000 --out runs/q`) is evaluated on its dataset's whole test split
// unless --test-limit says otherwise.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { quantizeToOnnx, testModel } from '../src/workflow/index.js';

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
const limit = values['test-limit'] === undefined ? undefined : Number(values['test-limit']);
const dir = mkdtempSync(join(os.tmpdir(), 'mobilezoo-int8-'));
try {
  const t0 = performance.now();
  const q = await quantizeToOnnx({
    checkpoint: values.checkpoint, out: join(dir, 'int8.onnx'), calibration: Number(values.calibration), method,
    percentile: values.percentile === undefined ? undefined : Number(values.percentile),
    keepFloat: values['keep-float']?.split(',').filter(Boolean), threads,
  });
  const quantizeSeconds = (performance.now() - t0) / 1000;
  const fp32 = await testModel({ checkpoint: values.checkpoint, limit, threads });
  const int8 = await testModel({ onnx: q.path, dataset: fp32.dataset, limit, threads });
  const result = {
    checkpoint: values.checkpoint, model: fp32.model, dataset: fp32.dataset, testImages: fp32.count,
    calibrationImages: q.calibrationImages, method, keepFloat: q.keepFloat,
    fp32_top1: fp32.top1, int8_top1: int8.top1, drop_points: (fp32.top1 - int8.top1) * 100, fp32_loss: fp32.loss, int8_loss: int8.loss,
    int8_bytes: q.bytes, quantize_seconds: Number(quantizeSeconds.toFixed(1)), fused: q.fused,
  };
  if (values.json) console.log(JSON.stringify(result));
  else {
    console.log(`${fp32.model} on ${fp32.dataset} test (${fp32.count} images); ${method} calibration on ${q.calibrationImages} train images; keep float: ${q.keepFloat.join(', ') || 'nothing'}`);
    console.log(`fp32 top-1 ${(fp32.top1 * 100).toFixed(2)}%, int8 top-1 ${(int8.top1 * 100).toFixed(2)}% (${result.drop_points >= 0 ? '-' : '+'}${Math.abs(result.drop_points).toFixed(2)} points; target within 1.0)`);
    console.log(`loss fp32 ${fp32.loss.toFixed(4)}, int8 ${int8.loss.toFixed(4)}; quantized in ${quantizeSeconds.toFixed(1)} s; ORT's fused graph: ${JSON.stringify(q.fused)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
