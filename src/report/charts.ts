/**
 * Static charts for training reports: vega-lite specs compiled to vega and
 * rendered headless (no canvas, no DOM) to SVG, plus SVG -> PNG via sharp.
 */
import type { TopLevelSpec } from 'vega-lite';
import sharp from 'sharp';
import { saveFileAtomic } from '../io/atomic.js';
import type { EpochMetrics } from './csv.js';
import { type StepPoint, smoothLikeTensorBoard } from './steps.js';

/** Font stack used in every chart; DejaVu Sans is what librsvg finds on Debian. */
export const CHART_FONT = 'DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif';

export interface LineSeries {
  name: string;
  /** [x, y] pairs; non-finite y values are dropped (gaps are bridged). */
  points: ReadonlyArray<readonly [number, number]>;
  /** Line width in px (default 2.5) and opacity (default 1): a faint raw series behind its smoothed one. */
  strokeWidth?: number;
  opacity?: number;
}

/** A vertical line across a chart at x: the best epoch (solid) or a kept checkpoint (dashed). */
export interface ChartMark {
  x: number;
  kind: 'best' | 'kept';
  label: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ReadonlyArray<LineSeries>;
  /** Outer width of the SVG in px (default 640). */
  width?: number;
  /** Outer height of the SVG in px (default 400). */
  height?: number;
  /** d3-format string for y tick labels, e.g. '.0%' for fractions shown as percent. */
  yFormat?: string;
  /** Fixed y domain, e.g. [0, 1] for accuracy. Default: fit the data (zero not forced). */
  yDomain?: readonly [number, number];
  subtitle?: string;
  marks?: ReadonlyArray<ChartMark>;
  /** Draw a point at each value (default: when there are at most 120). */
  points?: boolean;
}

export interface ConfusionMatrixOptions {
  classNames: ReadonlyArray<string>;
  /** matrix[trueClass][predictedClass] = count. */
  matrix: ReadonlyArray<ReadonlyArray<number>>;
  title: string;
  /** Show the count in each cell; default: only when cells are large enough to be legible. */
  showCounts?: boolean;
}

const BASE_CONFIG = {
  background: 'white',
  font: CHART_FONT,
  padding: 12,
  view: { stroke: null },
  title: { fontSize: 16, fontWeight: 'bold', anchor: 'start', color: '#1f2937', offset: 12, subtitleColor: '#6b7280', subtitleFontSize: 11 },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 'normal',
    titleColor: '#374151',
    labelColor: '#4b5563',
    domainColor: '#9ca3af',
    tickColor: '#9ca3af',
    gridColor: '#e5e7eb',
    titlePadding: 10,
  },
  legend: { labelFontSize: 12, titleFontSize: 12, labelColor: '#374151', titleColor: '#374151', symbolStrokeWidth: 2.5 },
} as const;

/** Compile a vega-lite spec and render it to an SVG string (headless). */
export async function renderVegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: vega's canvas probe is a top-level await, which would keep require('mobilezoo') from working.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', logLevel: vega.Warn });
  try {
    return compactSvgNumbers(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/**
 * Round the float noise vega leaves in geometry (`d="M8.160000000000025,…"`)
 * to 3 decimals. Only `d`, `transform` and `points` attribute values are touched,
 * never text content.
 */
export function compactSvgNumbers(svg: string): string {
  return svg.replace(/\b(d|transform|points)="([^"]*)"/g, (_m, attr: string, value: string) => {
    const v = value.replace(/-?\d+\.\d{4,}(?:e[-+]?\d+)?/gi, (num) => {
      const r = Math.round(Number(num) * 1000) / 1000;
      return String(Object.is(r, -0) ? 0 : r);
    });
    return `${attr}="${v}"`;
  });
}

function isInteger(x: number): boolean {
  return Number.isFinite(x) && Math.floor(x) === x;
}

/** Line chart with one colored line per series (e.g. train vs test loss per epoch). */
export async function lineChartSvg(opts: LineChartOptions): Promise<string> {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  const names = opts.series.map((s) => s.name);
  if (new Set(names).size !== names.length) {
    throw new Error(`lineChartSvg: series names must be unique, got ${JSON.stringify(names)}`);
  }
  const values: { x: number; y: number; series: string; order: number; w: number; o: number }[] = [];
  opts.series.forEach((s, order) => {
    for (const [x, y] of s.points) {
      if (Number.isFinite(x) && Number.isFinite(y)) values.push({ x, y, series: s.name, order, w: s.strokeWidth ?? 2.5, o: s.opacity ?? 1 });
    }
  });
  const allInt = values.length > 0 && values.every((v) => isInteger(v.x));
  const xs = values.map((v) => v.x);
  const xSpan = xs.length ? Math.max(...xs) - Math.min(...xs) : 0;

  const xAxis: Record<string, unknown> = { title: opts.xLabel, grid: false, labelFlush: false };
  if (allInt) {
    xAxis.format = 'd';
    xAxis.tickMinStep = 1;
    if (xSpan <= 20) xAxis.values = [...new Set(xs)].sort((a, b) => a - b);
  }
  const yAxis: Record<string, unknown> = { title: opts.yLabel, tickCount: 6 };
  if (opts.yFormat) yAxis.format = opts.yFormat;
  // padding keeps extreme points off the frame edges (e.g. a single epoch)
  const yScale: Record<string, unknown> = { zero: false, nice: true, padding: 8 };
  if (opts.yDomain) yScale.domain = [opts.yDomain[0], opts.yDomain[1]];

  const showPoints = opts.points ?? xs.length <= 120;
  const line = {
    data: { values },
    mark: { type: 'line', interpolate: 'linear', point: { filled: true, size: showPoints ? 40 : 0 } },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        axis: xAxis,
        scale: { zero: false, nice: false, padding: 8 },
      },
      y: { field: 'y', type: 'quantitative', axis: yAxis, scale: yScale },
      color: {
        field: 'series',
        type: 'nominal',
        // keep the caller's series order (not alphabetical) and include empty series
        scale: { domain: names, scheme: 'tableau10' },
        legend: { title: null, orient: 'top', direction: 'horizontal', symbolType: 'stroke', offset: 4, labelLimit: 240 },
      },
      strokeWidth: { field: 'w', type: 'quantitative', scale: null },
      opacity: { field: 'o', type: 'quantitative', scale: null },
      order: { field: 'x', type: 'quantitative' },
      tooltip: [
        { field: 'series', type: 'nominal' },
        { field: 'x', type: 'quantitative', title: opts.xLabel },
        { field: 'y', type: 'quantitative', title: opts.yLabel, format: opts.yFormat ?? '.4~g' },
      ],
    },
  };
  const marks = (opts.marks ?? []).filter((m) => Number.isFinite(m.x));
  const rules = marks.length
    ? [
        {
          data: { values: marks.map((m) => ({ x: m.x, kind: m.kind, label: m.label })) },
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: {
            x: { field: 'x', type: 'quantitative' },
            color: { value: '#6b7280' },
            strokeDash: { condition: { test: "datum.kind === 'kept'", value: [4, 4] }, value: [1, 0] },
            opacity: { condition: { test: "datum.kind === 'kept'", value: 0.6 }, value: 0.9 },
          },
        },
        {
          data: { values: marks.filter((m) => m.kind === 'best').map((m) => ({ x: m.x, label: m.label })) },
          mark: { type: 'text', align: 'left', dx: 4, dy: 2, baseline: 'top', fontSize: 11, color: '#92400e' },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } },
        },
      ]
    : [];
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    config: BASE_CONFIG,
    title: { text: opts.title, ...(opts.subtitle ? { subtitle: opts.subtitle } : {}) },
    layer: [line, ...rules],
  } as unknown as TopLevelSpec;
  return renderVegaLiteSvg(spec);
}

/**
 * Confusion-matrix heatmap: rows are true classes, columns predicted classes.
 * Cell color is the row-normalized fraction (recall of the true class spread
 * over predictions); the cell text is the raw count.
 */
export async function confusionMatrixSvg(opts: ConfusionMatrixOptions): Promise<string> {
  const n = opts.classNames.length;
  if (n === 0) throw new Error('confusionMatrixSvg: no classes');
  if (opts.matrix.length !== n || opts.matrix.some((r) => r.length !== n)) {
    throw new Error(`confusionMatrixSvg: matrix must be ${n}x${n} to match classNames`);
  }
  const cell = Math.max(8, Math.min(56, Math.floor(560 / n)));
  const side = cell * n;
  const showCounts = opts.showCounts ?? cell >= 22;
  const maxCount = Math.max(0, ...opts.matrix.flat());
  const countDigits = String(Math.round(maxCount)).length;
  const textSize = Math.max(8, Math.min(13, Math.floor((cell - 4) / Math.max(2.2, countDigits * 0.65))));

  const values: { t: number; p: number; count: number; frac: number; tn: string; pn: string }[] = [];
  for (let t = 0; t < n; t++) {
    const row = opts.matrix[t]!;
    const total = row.reduce((a, b) => a + b, 0);
    for (let p = 0; p < n; p++) {
      const count = row[p]!;
      values.push({ t, p, count, frac: total > 0 ? count / total : 0, tn: opts.classNames[t]!, pn: opts.classNames[p]! });
    }
  }
  // Label axes by index, mapped to names in an expression: robust to duplicate names.
  const labelExpr = `${JSON.stringify(opts.classNames.map((s) => String(s)))}[datum.value]`;
  const maxLabel = Math.max(...opts.classNames.map((s) => s.length));
  const labelFontSize = cell >= 18 ? 11 : Math.max(6, cell - 3);
  const labelLimit = 140;

  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: { ...BASE_CONFIG, axis: { ...BASE_CONFIG.axis, grid: false, ticks: false, domain: false, labelFontSize } },
    title: { text: opts.title, subtitle: 'rows: true class · columns: predicted · color: fraction of the true class (row-normalized)' },
    width: side,
    height: side,
    data: { values },
    encoding: {
      x: {
        field: 'p',
        type: 'ordinal',
        scale: { domain: [...Array(n).keys()], paddingInner: 0.04 },
        axis: {
          title: 'Predicted class',
          orient: 'bottom',
          labelExpr,
          labelAngle: maxLabel > 2 ? -45 : 0,
          labelAlign: maxLabel > 2 ? 'right' : 'center',
          labelBaseline: maxLabel > 2 ? 'top' : 'top',
          labelLimit,
          labelOverlap: false,
          labelPadding: 4,
        },
      },
      y: {
        field: 't',
        type: 'ordinal',
        scale: { domain: [...Array(n).keys()], paddingInner: 0.04 },
        axis: { title: 'True class', labelExpr, labelLimit, labelOverlap: false, labelPadding: 6 },
      },
    },
    layer: [
      {
        mark: { type: 'rect', cornerRadius: cell >= 20 ? 2 : 0, aria: false, ...(cell >= 14 ? { stroke: '#e5e7eb', strokeWidth: 1 } : {}) },
        encoding: {
          color: {
            field: 'frac',
            type: 'quantitative',
            // ColorBrewer Blues, starting at (almost) white so empty cells read as empty
            scale: { domain: [0, 1], range: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'], interpolate: 'hcl' },
            legend: { title: 'row fraction', format: '.0%', gradientLength: Math.max(120, Math.min(side, 300)), orient: 'right' },
          },
          tooltip: [
            { field: 'tn', title: 'true' },
            { field: 'pn', title: 'predicted' },
            { field: 'count', type: 'quantitative', title: 'count' },
            { field: 'frac', type: 'quantitative', title: 'row fraction', format: '.1%' },
          ],
        },
      },
      ...(showCounts
        ? [
            {
              mark: { type: 'text', fontSize: textSize, baseline: 'middle', aria: false },
              encoding: {
                text: { field: 'count', type: 'quantitative', format: 'd' },
                color: { condition: { test: 'datum.frac > 0.5', value: 'white' }, value: '#1f2937' },
                opacity: { condition: { test: 'datum.count === 0', value: 0.35 }, value: 1 },
              },
            },
          ]
        : []),
    ],
  } as unknown as TopLevelSpec;
  return renderVegaLiteSvg(spec);
}

/** Rasterize an SVG string to PNG. `scale` 2 gives a crisp 2x image (density 144 dpi). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg, 'utf8'), { density: 72 * scale })
    .flatten({ background: '#ffffff' })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** Write `<pathWithoutExt>.svg` and `<pathWithoutExt>.png`; returns both paths. */
export async function writeChart(pathWithoutExt: string, svg: string): Promise<{ svgPath: string; pngPath: string }> {
  const svgPath = `${pathWithoutExt}.svg`;
  const pngPath = `${pathWithoutExt}.png`;
  const png = await svgToPng(svg);
  await saveFileAtomic(svgPath, svg);
  await saveFileAtomic(pngPath, png);
  return { svgPath, pngPath };
}

export interface TrainingCharts {
  lossSvg: string;
  accuracySvg: string;
  confusionSvg: string;
  /** Learning rate and training loss per step (when the steps are given). */
  lrSvg?: string;
  stepLossSvg?: string;
}

export interface RunChartsInput {
  epochs: ReadonlyArray<EpochMetrics>;
  classNames: ReadonlyArray<string>;
  confusion: ReadonlyArray<ReadonlyArray<number>>;
  /** Which split the confusion matrix counts (default 'test set'). */
  confusionLabel?: string;
  titleSuffix?: string;
  /** The best epoch and the kept checkpoints, drawn on the loss and accuracy charts. */
  marks?: ReadonlyArray<ChartMark>;
  /** Each step's loss and learning rate. */
  steps?: ReadonlyArray<StepPoint>;
  /** TensorBoard's smoothing weight for the per-step loss (default 0.9). */
  smoothing?: number;
}

/** At most `max` evenly spaced items (the last one always included). */
function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const stride = Math.ceil(items.length / max);
  return items.filter((_, i) => i % stride === 0 || i === items.length - 1);
}

/**
 * The report's charts: loss and top-1 accuracy per epoch (train, validation and test where measured,
 * with the best epoch and kept checkpoints marked), the confusion heatmap, and per step the training
 * loss (raw and smoothed as TensorBoard smooths) and the learning rate.
 */
export async function runCharts(o: RunChartsInput): Promise<TrainingCharts> {
  const sfx = o.titleSuffix ? ` — ${o.titleSuffix}` : '';
  const { epochs } = o;
  const pts = (key: keyof EpochMetrics) => epochs.map((r) => [r.epoch, r[key] ?? Number.NaN] as [number, number]);
  const measured = (key: keyof EpochMetrics) => epochs.some((r) => Number.isFinite(r[key]));
  const series = (kind: 'loss' | 'accuracy', keys: [keyof EpochMetrics, keyof EpochMetrics, keyof EpochMetrics]): LineSeries[] => [
    { name: `train ${kind}`, points: pts(keys[0]) },
    ...(measured(keys[1]) ? [{ name: `validation ${kind}`, points: pts(keys[1]) }] : []),
    ...(measured(keys[2]) || !measured(keys[1]) ? [{ name: `test ${kind}`, points: pts(keys[2]) }] : []),
  ];
  const steps = o.steps ?? [];
  const smoothed = smoothLikeTensorBoard(steps.map((p) => p.loss), o.smoothing ?? 0.9);
  const shown = thin(steps.map((p, i) => ({ ...p, smoothed: smoothed[i]! })), 1500);
  const [lossSvg, accuracySvg, confusionSvg, stepLossSvg, lrSvg] = await Promise.all([
    lineChartSvg({ title: `Loss${sfx}`, xLabel: 'epoch', yLabel: 'cross-entropy loss', series: series('loss', ['trainLoss', 'valLoss', 'testLoss']), marks: o.marks }),
    lineChartSvg({ title: `Top-1 accuracy${sfx}`, xLabel: 'epoch', yLabel: 'accuracy', yFormat: '.1~%', series: series('accuracy', ['trainAcc', 'valAcc', 'testAcc']), marks: o.marks }),
    confusionMatrixSvg({ classNames: o.classNames, matrix: o.confusion, title: `Confusion matrix (${o.confusionLabel ?? 'test set'})${sfx}` }),
    steps.length
      ? lineChartSvg({
          title: 'Training loss per step',
          subtitle: `smoothed as TensorBoard does (weight ${o.smoothing ?? 0.9})`,
          xLabel: 'step',
          yLabel: 'cross-entropy loss',
          points: false,
          series: [
            { name: 'batch loss', points: shown.map((p) => [p.step, p.loss] as [number, number]), strokeWidth: 1, opacity: 0.35 },
            { name: 'smoothed', points: shown.map((p) => [p.step, p.smoothed] as [number, number]) },
          ],
        })
      : undefined,
    steps.length
      ? lineChartSvg({ title: 'Learning rate', xLabel: 'step', yLabel: 'learning rate', yFormat: '.2~e', points: false, series: [{ name: 'learning rate', points: shown.map((p) => [p.step, p.lr] as [number, number]) }] })
      : undefined,
  ]);
  return { lossSvg, accuracySvg, confusionSvg, ...(stepLossSvg ? { stepLossSvg } : {}), ...(lrSvg ? { lrSvg } : {}) };
}

/**
 * The three standard report charts from `metrics.csv` rows and the final
 * test confusion matrix: loss per epoch, top-1 accuracy per epoch, and the
 * confusion heatmap.
 */
export function trainingCharts(
  epochs: ReadonlyArray<EpochMetrics>,
  classNames: ReadonlyArray<string>,
  confusion: ReadonlyArray<ReadonlyArray<number>>,
  titleSuffix = '',
): Promise<TrainingCharts> {
  return runCharts({ epochs, classNames, confusion, titleSuffix });
}
