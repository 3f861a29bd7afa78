import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracyFromConfusion,
  addConfusion,
  argmaxRows,
  classSupport,
  confusionMatrix,
  crossEntropyMean,
  formatTable,
  logSumExp,
  perClassAccuracy,
  softmax,
  topK,
} from '../../src/report/metrics.js';

function close(actual: number, expected: number, tol = 1e-6, msg = ''): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${msg} expected ${expected}, got ${actual} (tol ${tol})`);
}

test('confusionMatrix counts (true, predicted) pairs', () => {
  const labels = [0, 0, 1, 2, 2, 2];
  const preds = [0, 1, 1, 2, 0, 2];
  const m = confusionMatrix(labels, preds, 3);
  assert.deepEqual(m, [
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 2],
  ]);
  assert.equal(accuracyFromConfusion(m), 4 / 6);
  assert.deepEqual(perClassAccuracy(m), [0.5, 1, 2 / 3]);
  assert.deepEqual(classSupport(m), [2, 1, 3]);
  // typed arrays and bigint labels (ONNX int64 tensors) work too
  assert.deepEqual(confusionMatrix(new BigInt64Array([0n, 2n]), new Int32Array([0, 1]), 3), [
    [1, 0, 0],
    [0, 0, 0],
    [0, 1, 0],
  ]);
});

test('confusion helpers: empty classes, accumulation, validation', () => {
  const m = confusionMatrix([0, 0], [0, 1], 3);
  const pc = perClassAccuracy(m);
  assert.equal(pc[0], 0.5);
  assert.ok(Number.isNaN(pc[1]) && Number.isNaN(pc[2]), 'classes without samples are NaN');
  assert.equal(accuracyFromConfusion([[0, 0], [0, 0]]), 0);
  const acc = confusionMatrix([], [], 2);
  addConfusion(acc, confusionMatrix([0, 1], [1, 1], 2));
  addConfusion(acc, confusionMatrix([0], [0], 2));
  assert.deepEqual(acc, [
    [1, 1],
    [0, 1],
  ]);
  assert.throws(() => confusionMatrix([3], [0], 3), RangeError);
  assert.throws(() => confusionMatrix([0], [-1], 3), RangeError);
  assert.throws(() => confusionMatrix([0, 1], [0], 3), RangeError);
});

test('argmaxRows and topK with hand-ranked logits', () => {
  const logits = new Float32Array([
    0.1, 0.5, 0.2, 0.9, // ranking: 3, 1, 2, 0
    0.1, 0.5, 0.2, 0.9,
    0.1, 0.5, 0.2, 0.9,
    1, 1, 1, 1, // all tied: index order decides
  ]);
  const labels = [3, 1, 0, 2];
  assert.deepEqual([...argmaxRows(logits, 4)], [3, 3, 3, 0]);
  // row0 label rank 0, row1 rank 1, row2 rank 3, row3 rank 2 (two lower indices tie ahead)
  assert.equal(topK(logits, 4, labels, 1), 1);
  assert.equal(topK(logits, 4, labels, 2), 2);
  assert.equal(topK(logits, 4, labels, 3), 3);
  assert.equal(topK(logits, 4, labels, 4), 4);
  assert.equal(topK(logits, 4, labels, 5), 4);
  // top-1 agrees with argmax
  const preds = argmaxRows(logits, 4);
  assert.equal(topK(logits, 4, labels, 1), labels.filter((l, i) => preds[i] === l).length);
  assert.throws(() => topK(logits, 4, labels, 0), RangeError);
  assert.throws(() => topK(logits, 3, labels, 1), RangeError); // 16 % 3 != 0
});

test('softmax rows sum to 1 and match hand values', () => {
  const p = softmax(new Float32Array([1, 2, 3, 0, 0, 0, 1000, 0, -1000]), 3);
  // softmax([1,2,3]) = e^k / (e + e^2 + e^3)
  const z = Math.E + Math.E ** 2 + Math.E ** 3;
  close(p[0]!, Math.E / z);
  close(p[1]!, Math.E ** 2 / z);
  close(p[2]!, Math.E ** 3 / z);
  close(p[0]!, 0.09003057317038046);
  close(p[2]!, 0.6652409557748219);
  for (let c = 3; c < 6; c++) close(p[c]!, 1 / 3);
  // no overflow for large logits
  close(p[6]!, 1);
  close(p[7]!, 0);
  close(p[8]!, 0);
  for (let r = 0; r < 3; r++) close(p[3 * r]! + p[3 * r + 1]! + p[3 * r + 2]!, 1, 1e-6, `row ${r}`);
});

test('logSumExp is stable', () => {
  close(logSumExp([1, 2, 3]), 3 + Math.log(1 + Math.exp(-1) + Math.exp(-2)), 1e-12);
  close(logSumExp([1000, 1000]), 1000 + Math.LN2, 1e-9);
  close(logSumExp([-1000, -1000]), -1000 + Math.LN2, 1e-9);
  assert.equal(logSumExp([]), -Infinity);
});

test('crossEntropyMean matches hand-derived values (PyTorch mean reduction)', () => {
  // F.cross_entropy([[1,2,3],[1,2,3]], [0,2]):
  // logsumexp(1,2,3) = 3 + ln(1 + e^-1 + e^-2) = 3.40760596444438
  // row losses: 3.4076059644 - 1 = 2.4076059644, 3.4076059644 - 3 = 0.4076059644; mean 1.4076059644
  close(crossEntropyMean(new Float32Array([1, 2, 3, 1, 2, 3]), [0, 2]), 1.4076059644443806, 1e-6);

  // Rows chosen so each loss has a closed form:
  //   [0,0,0] label 1                     -> ln 3            = 1.0986122886681098
  //   [ln1, ln2, ln5] label 2 (p = 5/8)   -> ln 8 - ln 5     = 0.4700036292457356
  //   [1000, 0, -1000] label 1            -> 1000 + ln(1 + e^-1000 + e^-2000) = 1000 (needs log-sum-exp)
  // mean = (1.0986122886681098 + 0.4700036292457356 + 1000) / 3 = 333.85620530597127
  const logits = new Float32Array([0, 0, 0, Math.log(1), Math.log(2), Math.log(5), 1000, 0, -1000]);
  const labels = new BigInt64Array([1n, 2n, 1n]);
  close(crossEntropyMean(logits, labels), 333.85620530597127, 1e-5);
  close(crossEntropyMean(logits.subarray(0, 3), [1]), Math.log(3), 1e-7);
  close(crossEntropyMean(logits.subarray(3, 6), [2]), Math.log(8 / 5), 1e-6);
  close(crossEntropyMean(logits.subarray(6, 9), [0]), 0, 1e-12);

  // agrees with the naive formula on small logits
  const small = new Float32Array([0.3, -1.2, 2.0, 0.5, 0.1, 0.1, -0.7, 1.5]);
  const lab = [2, 0];
  let naive = 0;
  for (let r = 0; r < 2; r++) {
    const row = [...small.subarray(4 * r, 4 * r + 4)];
    naive += -Math.log(Math.exp(row[lab[r]!]!) / row.reduce((a, v) => a + Math.exp(v), 0));
  }
  close(crossEntropyMean(small, lab), naive / 2, 1e-9);
  // explicit numClasses and validation
  close(crossEntropyMean(small, lab, 4), naive / 2, 1e-9);
  assert.throws(() => crossEntropyMean(small, [4, 0], 4), RangeError);
  assert.ok(Number.isNaN(crossEntropyMean(new Float32Array(0), [])));
});

test('formatTable aligns columns', () => {
  const out = formatTable(
    [
      [1, 2.30123, 'mobilenet_v2'],
      [10, 0.5, 'x'],
      [3, Number.NaN, 'shufflenet'],
    ],
    ['epoch', 'loss', 'model'],
  );
  assert.equal(
    out,
    [
      'epoch    loss  model',
      '-----  ------  ------------',
      '    1  2.3012  mobilenet_v2',
      '   10  0.5000  x',
      '    3       -  shufflenet',
    ].join('\n'),
  );
  // numeric strings right-align; explicit alignment and digits
  const t = formatTable([['a', '12.5%'], ['bb', '3.0%']], ['name', 'acc']);
  assert.equal(t, ['name    acc', '----  -----', 'a     12.5%', 'bb     3.0%'].join('\n'));
  assert.equal(formatTable([[1.23456]], ['v'], { digits: 2, align: ['left'] }), ['v', '----', '1.23'].join('\n'));
});
