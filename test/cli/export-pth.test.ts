/** `mobilezoo export --pth`: the state dict as a torch.save file our reader (and PyTorch's) loads into the same model. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadStateDictFile } from '../../src/io/checkpoint.js';
import { createModel } from '../../src/models/registry.js';
import { readCheckpointRecord } from '../../src/workflow/checkpoints.js';
import type { StateDict } from '../../src/tensor.js';
import { ROOT, rmrf, runCliInMemory, tempDir } from './helpers.js';

const cli = async (args: string[]) => {
  const r = await runCliInMemory(args);
  return { ...r, out: r.out.trimEnd() };
};

const dir = tempDir();
after(() => rmrf(dir));

const LEGACY = join(ROOT, 'test/fixtures/pth/mobilenet_v3_small_w0.1.pth');
const MODEL = ['--model', 'mobilenet_v3_small', '--width', '0.1', '--classes', '10'];
const OPTIONS = { widthMult: 0.1, numClasses: 10 };
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function assertSameTensors(a: StateDict, b: StateDict): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [k, t] of a) {
    assert.equal(b.get(k)!.dtype, t.dtype, k);
    assert.deepEqual(b.get(k)!.data, t.data, k);
  }
}


describe('mobilezoo export --pth', () => {
  test('a legacy .pth in, a zip .pth out that loads strictly into the same model with the same tensors', async () => {
    const out = join(dir, 'v3s.pth');
    const r = await cli(['export', '--pth', out, '--weights', LEGACY, ...MODEL]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^wrote ${escape(out)} \\(.*, [\\d,]+ bytes\\): state dict of \\d+ tensors, mobilenet_v3_small, weights ${escape(LEGACY)}$`));
    const written = await loadStateDictFile(out);
    createModel('mobilenet_v3_small', OPTIONS).loadStateDict(written, { source: out });
    assertSameTensors(await loadStateDictFile(LEGACY), written);
  });

  test('--json; one output per run', async () => {
    const pth = join(dir, 'j.pth');
    const r = await cli(['export', '--pth', pth, '--weights', LEGACY, ...MODEL, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.path, pth);
    assert.equal(j.tensors, createModel('mobilenet_v3_small', OPTIONS).stateDict().size);
    assert.equal(j.model, 'mobilenet_v3_small');
    const one = await cli(['export', '--pth', join(dir, 'one.pth'), '--model', 'mobilenet_v2', '--width', '0.25', '--classes', '3', '--json']);
    assert.equal(one.code, 0, one.err);
    assert.equal(JSON.parse(one.out).weights, 'random initialization');
    const both = await cli(['export', '--pth', join(dir, 'x.pth'), '--onnx', join(dir, 'x.onnx'), '--weights', LEGACY, ...MODEL]);
    assert.equal(both.code, 2);
    assert.match(both.err, /--onnx, --pth, --pytorch or --web: give one output/);
    assert.ok(!existsSync(join(dir, 'x.pth')));
  });

  describe('from a checkpoint trained with --ema', () => {
    const run = join(dir, 'run');
    before(async () => {
      const r = await cli([
        'train', '--model', 'mobilenet_v3_small', '--width', '0.1', '--dataset', 'synthetic', '--input', '16', '--epochs', '1',
        '--batch-size', '8', '--limit', '16', '--test-limit', '8', '--lr', '0.1', '--ema', '0.5', '--threads', '1', '--out', run,
      ]);
      assert.equal(r.code, 0, r.err);
    });

    test('exports the EMA weights, as loadModel gives them; --ema-off the raw ones', async () => {
      const checkpoint = join(run, 'checkpoint-last.json');
      const { record } = await readCheckpointRecord(checkpoint);
      assert.ok(record.files.ema, 'the run saved EMA weights');
      const ema = await loadStateDictFile(join(run, record.files.ema!));
      const raw = await loadStateDictFile(join(run, record.files.weights));
      const key = 'classifier.3.weight';
      assert.notDeepEqual(ema.get(key)!.data, raw.get(key)!.data);

      const out = join(dir, 'ema.pth');
      const r = await cli(['export', '--pth', out, '--checkpoint', checkpoint]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /\(EMA weights\)$/);
      assertSameTensors(ema, await loadStateDictFile(out));

      const rawOut = join(dir, 'raw.pth');
      assert.equal((await cli(['export', '--pth', rawOut, '--checkpoint', checkpoint, '--ema-off'])).code, 0);
      assertSameTensors(raw, await loadStateDictFile(rawOut));
    });
  });
});
