import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRICS_HEADER, MetricsCsv, type EpochMetrics } from '../../src/report/csv.js';
import { syntheticEpochs } from './fixtures.js';

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mobilezoo-csv-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('MetricsCsv: append creates header, read round-trips exactly', () =>
  withTmp(async (dir) => {
    const csv = new MetricsCsv(join(dir, 'nested', 'metrics.csv'));
    assert.equal(csv.exists(), false);
    assert.deepEqual(await csv.read(), []);
    const rows = syntheticEpochs(5);
    for (const r of rows) await csv.append(r);
    assert.equal(csv.exists(), true);
    const text = await readFile(csv.path, 'utf8');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], 'epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,images_per_sec,seconds');
    assert.equal(lines[0], METRICS_HEADER);
    assert.equal(lines.length, 6);
    assert.ok(text.endsWith('\n'));
    assert.deepEqual(await csv.read(), rows); // full float64 precision survives
  }));

test('MetricsCsv: missing values are empty cells and read back as NaN', () =>
  withTmp(async (dir) => {
    const csv = new MetricsCsv(join(dir, 'metrics.csv'));
    const row: EpochMetrics = { epoch: 1, lr: 0.05, trainLoss: 1.5, trainAcc: 0.4, valLoss: 1.25, valAcc: 0.5, testLoss: Number.NaN, testAcc: Number.NaN, imagesPerSec: 300, seconds: 10 };
    await csv.append(row);
    assert.equal((await readFile(csv.path, 'utf8')).split('\n')[1], '1,0.05,1.5,0.4,1.25,0.5,,,300,10');
    const [back] = await csv.read();
    assert.equal(back!.epoch, 1);
    assert.equal(back!.valLoss, 1.25);
    assert.ok(Number.isNaN(back!.testLoss) && Number.isNaN(back!.testAcc));
    // a file from before validation existed: its rows read with NaN validation values
    await writeFile(csv.path, 'epoch,lr,train_loss,train_acc,test_loss,test_acc,images_per_sec,seconds\n1,0.05,1.5,0.4,1.2,0.6,300,10\n');
    const [old] = await csv.read();
    assert.deepEqual([old!.testLoss, old!.testAcc], [1.2, 0.6]);
    assert.ok(Number.isNaN(old!.valLoss));
  }));

test('MetricsCsv: resume support (truncateAfter, torn last line, header check)', () =>
  withTmp(async (dir) => {
    const path = join(dir, 'metrics.csv');
    const csv = new MetricsCsv(path);
    const rows = syntheticEpochs(6);
    for (const r of rows) await csv.append(r);
    const kept = await csv.truncateAfter(4);
    assert.deepEqual(kept, rows.slice(0, 4));
    assert.deepEqual(await csv.read(), rows.slice(0, 4));

    // a crash in the middle of a write leaves a partial line without newline
    await writeFile(path, (await readFile(path, 'utf8')) + '5,0.01,0.3');
    assert.deepEqual(await csv.read(), rows.slice(0, 4));
    await csv.append(rows[4]!);
    assert.deepEqual(await csv.read(), rows.slice(0, 5));

    // a malformed line in the middle is an error, not silently skipped
    await writeFile(path, `${METRICS_HEADER}\n1,2,3\n${MetricsCsv.formatRow(rows[0]!)}\n`);
    await assert.rejects(csv.read(), /line 2/);

    // appending to a file with a different header is refused
    await writeFile(path, 'a,b\n1,2\n');
    await assert.rejects(csv.append(rows[0]!), /unexpected header/);
  }));

test('MetricsCsv.parse: columns matched by name, CRLF and BOM tolerated', () => {
  const text = '\uFEFFtest_acc,epoch,seconds\r\n0.5,1,12\r\n0.75,2,13\r\n';
  const rows = MetricsCsv.parse(text);
  assert.equal(rows.length, 2);
  assert.equal(rows[1]!.epoch, 2);
  assert.equal(rows[1]!.testAcc, 0.75);
  assert.equal(rows[1]!.seconds, 13);
  assert.ok(Number.isNaN(rows[1]!.lr));
  assert.deepEqual(MetricsCsv.parse(''), []);
  assert.throws(() => MetricsCsv.parse('foo,bar\n1,2\n'), /epoch/);
  const r = syntheticEpochs(3);
  assert.deepEqual(MetricsCsv.parse(MetricsCsv.format(r)), r);
});
