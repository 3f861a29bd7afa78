/**
 * Validation in a run: the split held out of training, checkpoint-best chosen by it, early stopping, the
 * test split evaluated once at the end on checkpoint-best (what `test` on the run folder measures), a
 * resumed run that equals an uninterrupted one, and the live report.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MetricsCsv } from '../../src/report/csv.js';
import { readCheckpointRecord } from '../../src/workflow/checkpoints.js';
import { resolveTrainConfig } from '../../src/workflow/config.js';
import { resumeConfig, testModel, trainFromConfig as train } from '../../src/workflow/index.js';

const dir = mkdtempSync(join(tmpdir(), 'mobilezoo-val-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// min delta 100: nothing after epoch 1 counts as an improvement, so patience 2 stops after epoch 3.
const config = resolveTrainConfig({
  model: 'shufflenet_v2_x0_5', dataset: 'synthetic', input: 16, epochs: 6, batchSize: 8, limit: 60, testLimit: 16,
  optimizer: 'adamw', lr: 3e-3, valSplit: 0.2, earlyStopping: 2, minDelta: 100,
});
const run = { threads: 1, workers: 0, saveEvery: 1 };
const strip = (rows: { imagesPerSec: number; seconds: number }[]) => rows.map(({ imagesPerSec: _i, seconds: _s, ...r }) => r);

describe('a run with a validation split and early stopping', () => {
  const out = join(dir, 'full');
  const live: string[] = [];
  const full = train(config, {
    ...run, outDir: out,
    events: { epochStart: ({ epoch }) => void (epoch > 1 && live.push(readFileSync(join(out, 'report.html'), 'utf8'))) },
  });

  test('holds out a stratified validation split, stops early, keeps checkpoint-best', async () => {
    const r = await full;
    const rows = await new MetricsCsv(join(out, 'metrics.csv')).read();
    assert.deepEqual(rows.map((x) => x.epoch), [1, 2, 3]);
    assert.deepEqual(r.stopped?.epoch, 3);
    assert.match(r.stopped!.reason, /val_loss has not improved by more than 100 for 2 epochs/);
    assert.ok(rows.every((x) => Number.isFinite(x.valLoss) && Number.isFinite(x.valAcc)), 'validation every epoch');
    assert.ok(rows.every((x) => Number.isNaN(x.testLoss)), 'the test split is not evaluated per epoch');
    const lowest = rows.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
    assert.equal(r.best?.epoch, lowest.epoch);
    const { record: best } = await readCheckpointRecord(join(out, 'checkpoint-best.json'));
    assert.equal(best.epoch, lowest.epoch);
    assert.equal(best.validation?.loss, lowest.valLoss);
    assert.deepEqual(best.dataset.validation, { source: 'split', fraction: 0.2, seed: 0, size: 12 });
    assert.equal(best.dataset.trainSize, 48);
    const { record: last } = await readCheckpointRecord(join(out, 'checkpoint-last.json'));
    assert.equal(last.epoch, 3);
    assert.deepEqual(last.stopped?.epoch, 3);
    assert.equal(last.test?.epoch, lowest.epoch);
    assert.equal(last.test?.checkpoint, join(out, 'checkpoint-best.json'));
  });

  test('the final test measures checkpoint-best, as `test` on the run folder does', async () => {
    const r = await full;
    assert.equal(r.tested?.checkpoint, join(out, 'checkpoint-best.json'));
    const t = await testModel({ checkpoint: out, threads: 1, workers: 0 });
    assert.match(t.weights, /checkpoint-best\.json/);
    assert.equal(t.count, 16);
    assert.deepEqual(t.confusion, r.evaluation!.confusion);
    assert.ok(Math.abs(t.loss - r.evaluation!.loss) <= 1e-5 * r.evaluation!.loss, `${t.loss} vs ${r.evaluation!.loss}`);
  });

  test('report.html while running refreshes itself and says where the run is; at the end it stops refreshing', async () => {
    await full;
    assert.equal(live.length, 2);
    assert.match(live[0]!, /<meta http-equiv="refresh" content="\d+">/);
    assert.match(live[0]!, /<b>running<\/b>, epoch 1\/6 · ETA /);
    assert.match(live[1]!, /epoch 2\/6/);
    const end = readFileSync(join(out, 'report.html'), 'utf8');
    assert.doesNotMatch(end, /http-equiv="refresh"/);
    assert.match(end, /<b>stopped early<\/b> at epoch 3\/6: val_loss has not improved/);
    assert.match(end, /Training loss per step/);
    assert.match(end, /Learning rate/);
    for (const f of ['loss.png', 'accuracy.png', 'confusion.png', 'lr.png', 'steps.png', 'steps.csv']) assert.ok(existsSync(join(out, f)), f);
  });

  test('interrupted at the start of epoch 2 and resumed: the same rows, best epoch, stop and final test', async () => {
    const r = await full;
    const outB = join(dir, 'resumed');
    const ac = new AbortController();
    const first = await train(config, { ...run, outDir: outB, signal: ac.signal, events: { epochStart: ({ epoch }) => void (epoch === 2 && ac.abort()) } });
    assert.equal(first.interrupted, true);
    const interrupted = await readCheckpointRecord(first.checkpoint!);
    assert.match(readFileSync(join(outB, 'report.html'), 'utf8'), /<b>interrupted<\/b> in epoch 2\/6/);
    const resumed = await train(resumeConfig(interrupted.record), { ...run, outDir: outB, resume: interrupted });
    assert.deepEqual(strip(resumed.history), strip(r.history));
    assert.deepEqual([resumed.best?.epoch, resumed.stopped], [r.best?.epoch, r.stopped]);
    assert.equal(resumed.evaluation!.loss, r.evaluation!.loss);
    const steps = readFileSync(join(outB, 'steps.csv'), 'utf8');
    assert.equal(steps, readFileSync(join(out, 'steps.csv'), 'utf8'), 'steps.csv of the resumed run is the uninterrupted one\'s');

    const { record } = await readCheckpointRecord(join(outB, 'checkpoint-last.json'));
    const again = await train(resumeConfig(record, { epochs: 10 }), { ...run, outDir: outB, resume: join(outB, 'checkpoint-last.json') });
    assert.equal(again.nothingToDo, true, 'a run that stopped early stays stopped');
  });
});
