// Calibration ranges: min/max over every batch, percentile ranges inside them, sync and async batch
// sources, and bad batches refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GraphBuilder } from '../../src/graph/builder.js';
import { createModel } from '../../src/models/registry.js';
import { calibrateRanges } from '../../src/quantize/calibration.js';
import { keepFloatMatcher } from '../../src/quantize/keep-float.js';
import { planQuantization } from '../../src/quantize/plan.js';
import { traceFolded } from '../../src/quantize/quantize-model.js';
import { INPUT, images } from './helpers.js';

const model = createModel('mobilenet_v2', { widthMult: 0.25, stem: 'cifar', numClasses: 10 });
const { graph } = traceFolded(model, INPUT);
const roots = [...new Set([...planQuantization(graph, keepFloatMatcher(model, graph, [])).quantized.values()].map((q) => q.root))];
const data = images('train', 96, 32);

const minmax = data.then((d) => calibrateRanges(graph, roots, d.batches, INPUT));

test('min/max ranges: over all batches (the input\'s is the batches\' own), ReLU6 outputs inside [0, 6]', async () => {
  const { batches } = await data;
  const { ranges, images: n } = await minmax;
  assert.equal(n, 96);
  let min = Infinity;
  let max = -Infinity;
  for (const b of batches) for (const v of b) (min = Math.min(min, v)), (max = Math.max(max, v));
  assert.deepEqual(ranges.get('input'), { min, max });
  const clips = roots.filter((r) => r.includes('/Clip_'));
  assert.ok(clips.length > 10);
  for (const r of clips) assert.ok(ranges.get(r)!.min === 0 && ranges.get(r)!.max <= 6, r);
});

test('percentile ranges lie inside the min/max ranges, and tighter percentiles inside looser ones', async () => {
  const { batches } = await data;
  async function* source() {
    for (const b of batches) yield b;
  }
  const mm = (await minmax).ranges;
  const p9999 = (await calibrateRanges(graph, roots, source(), INPUT, { method: 'percentile', percentile: 99.99 })).ranges;
  const p99 = (await calibrateRanges(graph, roots, batches, INPUT, { method: 'percentile', percentile: 99 })).ranges;
  let tighter = 0;
  for (const r of roots) {
    const [a, b, c] = [mm.get(r)!, p9999.get(r)!, p99.get(r)!];
    assert.ok(a.min <= b.min && b.max <= a.max, `${r}: ${JSON.stringify(b)} outside ${JSON.stringify(a)}`);
    assert.ok(b.min <= c.min && c.max <= b.max, `${r}: 99% ${JSON.stringify(c)} outside 99.99% ${JSON.stringify(b)}`);
    if (c.max - c.min < 0.9 * (a.max - a.min)) tighter++;
  }
  assert.ok(tighter > roots.length / 2, `only ${tighter} of ${roots.length} ranges shrank at the 99th percentile`);
});

test('batches that are not whole images, an empty source and a bad percentile are refused', async () => {
  const g = new GraphBuilder();
  g.output(g.relu(g.input('input', 'float32', ['N', ...INPUT])), 'logits');
  await assert.rejects(calibrateRanges(g.graph, ['input'], [new Float32Array(100)], INPUT), /not a whole number of 3x32x32 images/);
  await assert.rejects(calibrateRanges(g.graph, ['input'], [], INPUT), /no calibration images/);
  await assert.rejects(calibrateRanges(g.graph, ['input'], [], INPUT, { method: 'percentile', percentile: 120 }), /percentile must be in \(0, 100\]/);
});
