/**
 * The best epoch and early stopping, with Keras' semantics (keras.callbacks.ModelCheckpoint(save_best_only)
 * and EarlyStopping(min_delta, patience)): the best is any strict improvement; early stopping counts the
 * epochs since the last improvement by more than min_delta and stops when they reach the patience.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EpochMetrics } from '../../src/report/csv.js';
import { ValidationMonitor } from '../../src/workflow/training/monitor.js';

const rows = (values: number[], key: 'valLoss' | 'valAcc' = 'valLoss'): EpochMetrics[] =>
  values.map((v, i) => ({ epoch: i + 1, lr: 0.1, trainLoss: 1, trainAcc: 0.5, [key]: v, testLoss: Number.NaN, testAcc: Number.NaN, imagesPerSec: 1, seconds: 1 }));

/** Feeds rows until the monitor says stop; the epochs it ran and the best. */
function run(m: ValidationMonitor, history: EpochMetrics[]) {
  const improved: number[] = [];
  for (const row of history) {
    const r = m.update(row);
    if (r.improved) improved.push(row.epoch);
    if (r.stop) return { ran: row.epoch, improved, best: m.best };
  }
  return { ran: history.length, improved, best: m.best };
}

test('val_loss, patience 2: stops after two epochs without a new low; the best is the lowest', () => {
  const r = run(new ValidationMonitor({ monitor: 'val_loss', earlyStopping: 2, minDelta: 0 }), rows([1.0, 0.8, 0.85, 0.79, 0.82, 0.81, 0.5]));
  assert.deepEqual(r.improved, [1, 2, 4]);
  assert.equal(r.ran, 6);
  assert.deepEqual(r.best, { epoch: 4, monitor: 'val_loss', value: 0.79 });
});

test('min delta: small improvements still make the best checkpoint but do not reset the patience', () => {
  const m = new ValidationMonitor({ monitor: 'val_loss', earlyStopping: 2, minDelta: 0.05 });
  const r = run(m, rows([1.0, 0.97, 0.96, 0.5]));
  assert.deepEqual(r.improved, [1, 2, 3]);
  assert.equal(r.ran, 3, 'epochs 2 and 3 improved by less than 0.05');
  assert.equal(m.stoppedAt, 3);
  assert.match(m.stopReason(), /val_loss has not improved by more than 0\.05 for 2 epochs \(best 0\.9600 at epoch 3\)/);
});

test('val_acc is maximized; NaN never improves; without a patience it never stops', () => {
  const r = run(new ValidationMonitor({ monitor: 'val_acc', earlyStopping: 1, minDelta: 0 }), rows([0.5, 0.6, 0.6], 'valAcc'));
  assert.deepEqual([r.improved, r.ran, r.best?.value], [[1, 2], 3, 0.6]);
  const forever = run(new ValidationMonitor({ monitor: 'val_loss', minDelta: 0 }), rows([1, Number.NaN, 2, 3, 4, 5]));
  assert.deepEqual([forever.ran, forever.improved], [6, [1]]);
});

test('replay: a monitor rebuilt from the rows so far continues as the one that saw them', () => {
  const s = { monitor: 'val_loss' as const, earlyStopping: 3, minDelta: 0.01 };
  const history = rows([0.9, 0.7, 0.72, 0.695, 0.71, 0.69, 0.5, 0.6]);
  const whole = run(new ValidationMonitor(s), history);
  assert.equal(whole.ran, 5);
  for (let k = 0; k <= whole.ran; k++) {
    const replayed = ValidationMonitor.replay(s, history.slice(0, k));
    const rest = replayed.stoppedAt !== undefined ? { ran: replayed.stoppedAt, best: replayed.best } : run(replayed, history.slice(k));
    assert.deepEqual([rest.ran, rest.best], [whole.ran, whole.best], `resumed after ${k} epochs`);
  }
});
