/**
 * Accuracy against minutes (and epochs) of finished runs, from their metrics.csv: the cumulative seconds
 * of training and evaluation at the end of each epoch, and the test (or validation) top-1 measured there.
 * Prints a Markdown table per run and writes one chart with a line per run and the 95% mark.
 *
 *   node --import tsx bench/accuracy-curve.ts RUN_DIR[=LABEL] ... [--split test|val] [--chart runs/curve] [--title T]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { lineChartSvg, writeChart } from '../src/report/charts.js';
import { MetricsCsv } from '../src/report/csv.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { split: { type: 'string', default: 'test' }, chart: { type: 'string', default: 'runs/accuracy-curve' }, title: { type: 'string', default: 'Fashion-MNIST: top-1 against minutes' } },
});
if (!positionals.length) throw new Error('give one or more run folders (RUN_DIR or RUN_DIR=label)');
const key = values.split === 'val' ? 'valAcc' : 'testAcc';

const series: { name: string; points: [number, number][] }[] = [];
for (const arg of positionals) {
  const [dir, label] = arg.split('=') as [string, string?];
  const rows = await new MetricsCsv(join(dir, 'metrics.csv')).read();
  let seconds = 0;
  const points: [number, number][] = [];
  console.log(`\n${label ?? dir}\n\n| epoch | minutes | ${values.split} top-1 | train top-1 | img/s |\n|---:|---:|---:|---:|---:|`);
  for (const r of rows) {
    seconds += r.seconds;
    const acc = r[key] ?? Number.NaN;
    points.push([seconds / 60, acc * 100]);
    console.log(`| ${r.epoch} | ${(seconds / 60).toFixed(1)} | ${(acc * 100).toFixed(2)}% | ${(r.trainAcc * 100).toFixed(2)}% | ${Math.round(r.imagesPerSec)} |`);
  }
  series.push({ name: label ?? dir, points });
}
const xMax = Math.max(...series.flatMap((s) => s.points.map(([x]) => x)));
const svg = await lineChartSvg({
  title: values.title!, subtitle: `${values.split} top-1 at the end of each epoch; the thin line marks 95%`, xLabel: 'minutes (training and evaluation)', yLabel: `${values.split} top-1 (%)`,
  series: [...series, { name: '95%', points: [[0, 95], [xMax, 95]], strokeWidth: 1, opacity: 0.5 }],
  width: 760, height: 440, points: true,
});
const { pngPath } = await writeChart(values.chart!, svg);
console.log(`\nchart: ${pngPath}`);
