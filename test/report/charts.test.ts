import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { compactSvgNumbers, confusionMatrixSvg, lineChartSvg, svgToPng, trainingCharts, writeChart } from '../../src/report/charts.js';
import { CIFAR10, syntheticConfusion, syntheticEpochs } from './fixtures.js';

function assertSvgDocument(svg: string, width?: number, height?: number): void {
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\s*$/);
  if (width !== undefined) assert.match(svg, new RegExp(`^<svg[^>]* width="${width}"`));
  if (height !== undefined) assert.match(svg, new RegExp(`^<svg[^>]* height="${height}"`));
}

/** PNG must not be a single flat color: per-channel stdev > 0 and some dark (text/line) pixels. */
async function assertNotBlank(png: Buffer): Promise<void> {
  const stats = await sharp(png).stats();
  assert.ok(stats.channels.some((c) => c.stdev > 0), 'PNG is a flat image');
  assert.ok(stats.channels.every((c) => c.min < 100), 'PNG has no dark pixels (no text or lines rendered?)');
  assert.equal(stats.isOpaque, true);
}

test('lineChartSvg renders series, labels and escapes text', async () => {
  const svg = await lineChartSvg({
    title: 'Loss <per> epoch',
    xLabel: 'epoch',
    yLabel: 'cross-entropy',
    series: [
      { name: 'train & aug', points: [[1, 2.1], [2, 1.4], [3, 1.1]] },
      { name: 'test', points: [[1, 2.3], [2, Number.NaN], [3, 1.3]] },
    ],
  });
  assertSvgDocument(svg, 640, 400);
  assert.ok(svg.includes('train &amp; aug'), 'series name (escaped) in legend');
  assert.ok(svg.includes('>test<'), 'second series name in legend');
  assert.ok(svg.includes('Loss &lt;per&gt; epoch'), 'title escaped');
  assert.ok(svg.includes('cross-entropy') && svg.includes('>epoch<'), 'axis titles');
  assert.ok(!svg.includes('NaN'), 'non-finite points dropped');
  const png = await svgToPng(svg);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 1280); // 2x
  assert.equal(meta.height, 800);
  await assertNotBlank(png);
  const png1x = await sharp(await svgToPng(svg, 1)).metadata();
  assert.deepEqual([png1x.width, png1x.height], [640, 400]);
  await assert.rejects(lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [] }, { name: 'a', points: [] }] }), /unique/);
});

test('confusionMatrixSvg shows class names and counts', async () => {
  const m = syntheticConfusion();
  const svg = await confusionMatrixSvg({ classNames: CIFAR10, matrix: m, title: 'Confusion' });
  assertSvgDocument(svg);
  for (const name of CIFAR10) assert.ok(svg.includes(`>${name}<`), `class ${name} labelled`);
  assert.ok(svg.includes('>917<'), 'diagonal count for truck (800 + 13*9)');
  const png = await svgToPng(svg);
  const meta = await sharp(png).metadata();
  const w = Number(/width="(\d+)"/.exec(svg)![1]);
  const h = Number(/height="(\d+)"/.exec(svg)![1]);
  assert.deepEqual([meta.width, meta.height], [2 * w, 2 * h]);
  await assertNotBlank(png);
  // class names with markup are escaped, and the matrix must match the names
  const odd = await confusionMatrixSvg({ classNames: ['<a>', 'b&c'], matrix: [[1, 0], [2, 3]], title: 't' });
  assert.ok(odd.includes('&lt;a&gt;') && odd.includes('b&amp;c') && !odd.includes('<a>'));
  await assert.rejects(confusionMatrixSvg({ classNames: ['a', 'b'], matrix: [[1]], title: 't' }), /2x2/);
});

test('trainingCharts + writeChart write .svg and .png', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mobilezoo-charts-'));
  try {
    const charts = await trainingCharts(syntheticEpochs(8), CIFAR10, syntheticConfusion());
    assert.ok(charts.lossSvg.includes('train loss') && charts.lossSvg.includes('test loss'));
    assert.ok(charts.accuracySvg.includes('train accuracy') && charts.accuracySvg.includes('test accuracy'));
    assert.ok(charts.accuracySvg.includes('%'), 'accuracy axis formatted as percent');
    const { svgPath, pngPath } = await writeChart(join(dir, 'sub', 'loss'), charts.lossSvg);
    assert.equal(svgPath, join(dir, 'sub', 'loss.svg'));
    assert.equal(pngPath, join(dir, 'sub', 'loss.png'));
    assert.equal(await readFile(svgPath, 'utf8'), charts.lossSvg);
    assert.ok((await stat(pngPath)).size > 1000);
    const meta = await sharp(pngPath).metadata();
    assert.deepEqual([meta.width, meta.height], [1280, 800]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('compactSvgNumbers rounds geometry only', () => {
  const svg = '<path d="M8.160000000000025,0.16h7.68"/><text transform="translate(1.00004,2)">3.14159265</text>';
  assert.equal(compactSvgNumbers(svg), '<path d="M8.16,0.16h7.68"/><text transform="translate(1,2)">3.14159265</text>');
});
