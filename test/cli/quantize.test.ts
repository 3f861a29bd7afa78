/** `mobilezoo quantize`: an int8 model with the checkpoint's metadata, measured by test --onnx and predict --onnx like the float one. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { onnxMetadata } from '../../src/workflow/classifier.js';
import { saveSafetensorsFile } from '../../src/io/index.js';
import { createModel } from '../../src/models/registry.js';
import { readCheckpointRecord } from '../../src/workflow/checkpoints.js';
import { rmrf, runCliInMemory as cli, tempDir } from './helpers.js';

const dir = tempDir('mobilezoo-quantize-');
const run = join(dir, 'run');
const ckpt = join(run, 'checkpoint-last.json');
after(() => rmrf(dir));


describe('mobilezoo quantize', () => {
  before(async () => {
    const r = await cli(['train', '--model', 'mobilenet_v2', '--width', '0.25', '--dataset', 'synthetic', '--input', '16', '--epochs', '2',
      '--batch-size', '16', '--limit', '256', '--test-limit', '64', '--optimizer', 'sgd', '--lr', '0.05', '--threads', '1', '--out', run]);
    assert.equal(r.code, 0, r.err);
  });

  test('writes an int8 model ORT runs on its int8 kernels, with the checkpoint\'s metadata; test --onnx measures it', async () => {
    const out = join(dir, 'int8.onnx');
    const r = await cli(['quantize', '--checkpoint', ckpt, '--out', out, '--calibration', '64', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { calibrationImages: number; fused: Record<string, number>; report: { foldedBatchNorms: number }; bytes: number };
    assert.equal(j.calibrationImages, 64);
    const convs = [...createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 10 }).modules()].filter(([, m]) => m.typeName === 'Conv2d').length;
    assert.equal(j.fused.QLinearConv, convs);
    assert.equal(j.report.foldedBatchNorms, convs);
    const meta = onnxMetadata(new Uint8Array(readFileSync(out)));
    const { record } = await readCheckpointRecord(ckpt);
    assert.deepEqual(JSON.parse(meta.get('mobilezoo.preprocessing')!), record.preprocessing);
    assert.deepEqual(JSON.parse(meta.get('mobilezoo.class_names')!), record.dataset.classNames);
    assert.equal(JSON.parse(meta.get('mobilezoo.quantization')!).calibrationImages, 64);

    const fp32 = JSON.parse((await cli(['test', '--checkpoint', ckpt, '--json'])).out) as { top1: number; count: number };
    const int8 = await cli(['test', '--onnx', out, '--dataset', 'synthetic', '--limit', String(fp32.count), '--json']);
    assert.equal(int8.code, 0, int8.err);
    const i = JSON.parse(int8.out) as { top1: number; count: number };
    assert.equal(i.count, fp32.count);
    // 64 images of a 2-epoch synthetic run: a loose bound (the Fashion-MNIST figure is in the README).
    assert.ok(Math.abs(i.top1 - fp32.top1) <= 0.1, `int8 ${i.top1} vs fp32 ${fp32.top1}`);
    const text = await cli(['quantize', '--checkpoint', ckpt, '--out', join(dir, 'int8b.onnx'), '--calibration', '32', '--method', 'percentile', '--percentile', '99.9']);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /calibrated \(percentile\) on 32 synthetic training images; BatchNorms folded: \d+/);
    assert.match(text.out, /ONNX Runtime runs it on: \d+ QLinearConv/);
  });

  test('flags: weights need a dataset to calibrate on; --percentile needs --method percentile', async () => {
    const weights = join(dir, 'w.safetensors');
    await saveSafetensorsFile(weights, createModel('shufflenet_v2_x0_5', { numClasses: 10 }).stateDict());
    const r = await cli(['quantize', '--weights', weights, '--model', 'shufflenet_v2_x0_5', '--classes', '10', '--out', join(dir, 'x.onnx')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /--dataset is required with --weights/);
    const p = await cli(['quantize', '--checkpoint', ckpt, '--out', join(dir, 'y.onnx'), '--percentile', '99']);
    assert.equal(p.code, 2);
    assert.match(p.err, /--percentile: only with --method percentile/);
  });
});
