/**
 * Single-file HTML training report: inline CSS and inline SVG charts, no
 * scripts and no external requests, so it opens anywhere (file://, e-mail
 * attachment, CI artifact). Everything that comes from data is HTML-escaped.
 */
import { join } from 'node:path';
import { saveFileAtomic } from '../io/atomic.js';
import type { EpochMetrics } from './csv.js';
import { accuracyFromConfusion, classSupport } from './metrics.js';

export interface ReportModel {
  name: string;
  /** Constructor options (width multiplier, resolution, ...), shown as key = value. */
  options?: Readonly<Record<string, unknown>>;
  params: number;
  macs: number;
}

export interface ReportDataset {
  name: string;
  trainSize: number;
  testSize: number;
  classNames: ReadonlyArray<string>;
}

export interface ReportFinal {
  testLoss: number;
  /** Fractions in [0, 1]. */
  top1: number;
  /** NaN or undefined when not applicable (fewer than 5 classes). */
  top5?: number;
  /** Per-class accuracy (recall), fractions in [0, 1]; NaN for classes without test samples. */
  perClass: ReadonlyArray<number>;
}

export interface ReportEnvironment {
  node: string;
  onnxruntime: string;
  cpu: string;
  threads: number;
  /** Anything else worth recording (os, execution provider, seed, ...). */
  [key: string]: string | number | boolean | undefined;
}

export interface ReportCharts {
  lossSvg: string;
  accuracySvg: string;
  confusionSvg: string;
}

export interface ReportData {
  title: string;
  /** The exact CLI command line that produced the run. */
  command: string;
  model: ReportModel;
  dataset: ReportDataset;
  epochs: ReadonlyArray<EpochMetrics>;
  final: ReportFinal;
  /** matrix[true][predicted] on the test set. */
  confusion: ReadonlyArray<ReadonlyArray<number>>;
  environment: ReportEnvironment;
  charts: ReportCharts;
  /** Wall-clock training time in seconds; default: sum of `epochs[].seconds`. */
  totalSeconds?: number;
  /** Default: now. */
  generatedAt?: Date | string;
}

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const DASH = '—';

export function formatPercent(x: number | undefined, digits = 2): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : DASH;
}

/** 3504872 -> "3.50 M", 300775552 -> "300.78 M", 1.2e9 -> "1.20 G". */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return DASH;
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return String(Math.round(n));
}

/** 3723.4 -> "1h 02m 03s", 83.2 -> "1m 23s", 4.25 -> "4.3s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return DASH;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}h ${mm}m ${ss}s` : `${m}m ${ss}s`;
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : DASH;
}

function formatLr(x: number): string {
  if (!Number.isFinite(x)) return DASH;
  return x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e4) ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}

const grouped = new Intl.NumberFormat('en-US');
function groupedInt(n: number): string {
  return Number.isFinite(n) ? grouped.format(n) : DASH;
}

/**
 * Make a renderer-produced SVG safe and collision-free to inline: drop any XML
 * prolog, scripts, foreignObject and event-handler attributes, and prefix every
 * id (and its url(#...) / href="#..." references) so several charts can share a page.
 */
export function prepareInlineSvg(svg: string, idPrefix: string): string {
  let s = svg
    .replace(/<\?xml[^>]*\?>/gi, '')
    .replace(/<!DOCTYPE[^>]*>/gi, '')
    .replace(/<script\b[\s\S]*?<\/script\s*>/gi, '')
    .replace(/<script\b[^>]*\/>/gi, '')
    .replace(/<foreignObject\b[\s\S]*?<\/foreignObject\s*>/gi, '')
    .replace(/\s+on[a-z]+\s*=\s*("[^"]*"|'[^']*')/gi, '')
    .replace(/(href\s*=\s*["'])\s*javascript:[^"']*/gi, '$1#')
    .trim();
  s = s
    .replace(/\bid="([^"]+)"/g, (_m, id: string) => `id="${idPrefix}${id}"`)
    .replace(/url\(\s*#([^)\s]+)\s*\)/g, (_m, id: string) => `url(#${idPrefix}${id})`)
    .replace(/(\b(?:xlink:)?href=")#([^"]+)"/g, (_m, attr: string, id: string) => `${attr}#${idPrefix}${id}"`);
  if (!/^<svg\b/i.test(s)) throw new Error('prepareInlineSvg: input is not an <svg> document');
  return s;
}

function chartFigure(svg: string, id: string, caption: string): string {
  const body = svg.trim() ? prepareInlineSvg(svg, `${id}-`) : `<p class="muted">chart not available</p>`;
  return `<figure class="chart" id="${id}" aria-label="${escapeHtml(caption)}">${body}</figure>`;
}

function card(label: string, value: string, sub = '', title = ''): string {
  const t = title ? ` title="${escapeHtml(title)}"` : '';
  return `<div class="card"${t}><div class="card-label">${escapeHtml(label)}</div><div class="card-value">${escapeHtml(value)}</div>${
    sub ? `<div class="card-sub">${escapeHtml(sub)}</div>` : ''
  }</div>`;
}

function optionValue(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function perClassTable(data: ReportData): string {
  const names = data.dataset.classNames;
  const support = classSupport(data.confusion);
  const rows = names.map((name, i) => {
    const acc = data.final.perClass[i] ?? Number.NaN;
    const row = data.confusion[i] ?? [];
    const correct = row[i] ?? 0;
    let confusedWith = -1;
    let confusedCount = 0;
    row.forEach((v, j) => {
      if (j !== i && v > confusedCount) {
        confusedCount = v;
        confusedWith = j;
      }
    });
    const width = Number.isFinite(acc) ? Math.max(0, Math.min(100, acc * 100)) : 0;
    const confused = confusedWith >= 0 ? `${escapeHtml(names[confusedWith] ?? String(confusedWith))} <span class="muted">(${groupedInt(confusedCount)})</span>` : `<span class="muted">${DASH}</span>`;
    return `<tr><td class="num muted">${i}</td><td>${escapeHtml(name)}</td><td class="num">${groupedInt(support[i] ?? 0)}</td><td class="num">${groupedInt(correct)}</td><td class="num acc-cell"><span class="bar" style="width:${width.toFixed(1)}%"></span><span class="acc-text">${formatPercent(acc)}</span></td><td>${confused}</td></tr>`;
  });
  return `<table class="data per-class"><thead><tr><th class="num">#</th><th>class</th><th class="num">test samples</th><th class="num">correct</th><th class="num">accuracy</th><th>most often predicted as</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function epochTable(epochs: ReadonlyArray<EpochMetrics>): string {
  let best = -1;
  epochs.forEach((r, i) => {
    if (Number.isFinite(r.testAcc) && (best < 0 || r.testAcc > epochs[best]!.testAcc)) best = i;
  });
  const rows = epochs.map((r, i) => {
    const cls = i === best ? ' class="best" title="best test accuracy"' : '';
    return `<tr${cls}><td class="num">${escapeHtml(r.epoch)}${i === best ? ' <span class="star" aria-label="best">★</span>' : ''}</td><td class="num">${escapeHtml(formatLr(r.lr))}</td><td class="num">${fixed(r.trainLoss, 4)}</td><td class="num">${formatPercent(r.trainAcc)}</td><td class="num">${fixed(r.testLoss, 4)}</td><td class="num">${formatPercent(r.testAcc)}</td><td class="num">${fixed(r.imagesPerSec, 1)}</td><td class="num">${escapeHtml(formatDuration(r.seconds))}</td></tr>`;
  });
  return `<table class="data epochs"><thead><tr><th class="num">epoch</th><th class="num">lr</th><th class="num">train loss</th><th class="num">train acc</th><th class="num">test loss</th><th class="num">test acc</th><th class="num">images/s</th><th class="num">time</th></tr></thead><tbody>${
    rows.join('') || `<tr><td colspan="8" class="muted">no epochs recorded</td></tr>`
  }</tbody></table>`;
}

function keyValueTable(entries: ReadonlyArray<readonly [string, unknown]>): string {
  const rows = entries.filter(([, v]) => v !== undefined).map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(optionValue(v))}</code></td></tr>`);
  return `<table class="kv">${rows.join('') || `<tr><td class="muted">none</td></tr>`}</table>`;
}

const CSS = `
:root{--fg:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f6f7f9;--card:#fff;--accent:#2563eb;--good:#dbeafe}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1360px;margin:0 auto;padding:28px 28px 48px}
header.top{margin-bottom:20px}
h1{font-size:26px;line-height:1.25;margin:0 0 6px;font-weight:700;letter-spacing:-.01em;overflow-wrap:anywhere}
h2{font-size:17px;margin:0 0 12px;font-weight:650}
.subtitle{color:var(--muted);margin:0}
.subtitle b{color:var(--fg);font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:18px 0 24px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px}
.card-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em}
.card-value{font-size:26px;font-weight:700;margin-top:2px;font-variant-numeric:tabular-nums;white-space:nowrap}
.card-sub{color:var(--muted);font-size:12px;margin-top:2px;overflow-wrap:anywhere}
section.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 20px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,520px),1fr));gap:20px}
.grid3{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,340px),1fr));gap:20px}
.grid2>section.panel,.grid3>section.panel{margin:0}
section.chart-panel{padding:10px}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.row-gap{margin-bottom:20px}
figure.chart{margin:0;text-align:center}
figure.chart svg{max-width:100%;height:auto;display:inline-block}
.table-wrap{overflow-x:auto}
table.data{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13px}
table.data th,table.data td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
table.data thead th{color:var(--muted);font-weight:600;font-size:12px;border-bottom:2px solid var(--line);position:sticky;top:0;background:var(--card)}
table.data .num{text-align:right}
table.data tbody tr:hover{background:#f9fafb}
table.epochs tr.best{background:var(--good)}
table.epochs tr.best:hover{background:#cfe0fb}
.star{color:#d97706}
td.acc-cell{position:relative;min-width:110px}
td.acc-cell .bar{position:absolute;left:0;top:4px;bottom:4px;background:#dbeafe;border-radius:3px;z-index:0}
td.acc-cell .acc-text{position:relative;z-index:1}
table.kv{border-collapse:collapse;font-size:13px}
table.kv th{text-align:left;color:var(--muted);font-weight:500;padding:4px 16px 4px 0;vertical-align:top;white-space:nowrap}
table.kv td{padding:4px 0;overflow-wrap:anywhere}
code,pre{font-family:"DejaVu Sans Mono",ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre.command{background:#0f172a;color:#e2e8f0;border-radius:8px;padding:14px 16px;margin:0;white-space:pre-wrap;word-break:break-all;line-height:1.55}
.muted{color:var(--muted)}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:28px}
`;

/** Render the report to an HTML string. */
export function renderReportHtml(data: ReportData): string {
  const { model, dataset, final, environment, epochs } = data;
  const totalSeconds = data.totalSeconds ?? epochs.reduce((a, r) => a + (Number.isFinite(r.seconds) ? r.seconds : 0), 0);
  const generated = data.generatedAt === undefined ? new Date() : data.generatedAt;
  const generatedText = generated instanceof Date ? generated.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : String(generated);
  const totalTest = data.confusion.reduce((a, row) => a + row.reduce((b, v) => b + v, 0), 0);
  const correct = data.confusion.reduce((a, row, i) => a + (row[i] ?? 0), 0);
  const top1FromConfusion = accuracyFromConfusion(data.confusion);
  const lastEpoch = epochs.length ? epochs[epochs.length - 1]!.epoch : 0;
  const throughput = epochs.filter((r) => Number.isFinite(r.imagesPerSec));
  const meanIps = throughput.length ? throughput.reduce((a, r) => a + r.imagesPerSec, 0) / throughput.length : Number.NaN;

  const cards = [
    card('Top-1 accuracy', formatPercent(final.top1), totalTest > 0 ? `${groupedInt(correct)} / ${groupedInt(totalTest)} test images` : '', `confusion-matrix accuracy: ${formatPercent(top1FromConfusion, 4)}`),
    card('Top-5 accuracy', formatPercent(final.top5), dataset.classNames.length < 5 ? `n/a for ${dataset.classNames.length} classes` : ''),
    card('Test loss', fixed(final.testLoss, 4), 'mean cross-entropy'),
    card('Parameters', formatCount(model.params), groupedInt(model.params)),
    card('MACs', formatCount(model.macs), 'per image, inference'),
    card('Training time', formatDuration(totalSeconds), `${epochs.length} epoch${epochs.length === 1 ? '' : 's'}${Number.isFinite(meanIps) ? ` · ${meanIps.toFixed(0)} img/s` : ''}`),
  ].join('');

  const optionEntries = Object.entries(model.options ?? {});
  const envEntries: [string, unknown][] = [
    ['Node.js', environment.node],
    ['ONNX Runtime', environment.onnxruntime],
    ['CPU', environment.cpu],
    ['threads', environment.threads],
    ...Object.entries(environment).filter(([k]) => !['node', 'onnxruntime', 'cpu', 'threads'].includes(k)),
  ];
  const datasetEntries: [string, unknown][] = [
    ['name', dataset.name],
    ['train images', groupedInt(dataset.trainSize)],
    ['test images', groupedInt(dataset.testSize)],
    ['classes', dataset.classNames.length],
  ];

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mobilezoo">
<title>${escapeHtml(data.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header class="top">
<h1>${escapeHtml(data.title)}</h1>
<p class="subtitle"><b>${escapeHtml(model.name)}</b> on <b>${escapeHtml(dataset.name)}</b> · ${escapeHtml(lastEpoch)} epoch${lastEpoch === 1 ? '' : 's'} · ${groupedInt(dataset.trainSize)} train / ${groupedInt(dataset.testSize)} test images · ${dataset.classNames.length} classes · generated ${escapeHtml(generatedText)}</p>
</header>
<div class="cards" id="summary">${cards}</div>
<div class="grid2 row-gap" id="curves">
<section class="panel chart-panel"><h2 class="sr-only">Loss</h2>${chartFigure(data.charts.lossSvg, 'chart-loss', 'train and test loss per epoch')}</section>
<section class="panel chart-panel"><h2 class="sr-only">Accuracy</h2>${chartFigure(data.charts.accuracySvg, 'chart-accuracy', 'train and test accuracy per epoch')}</section>
</div>
<section class="panel chart-panel" id="confusion">
<h2 class="sr-only">Confusion matrix (test set)</h2>
${chartFigure(data.charts.confusionSvg, 'chart-confusion', 'confusion matrix')}
</section>
<section class="panel" id="per-class">
<h2>Per-class accuracy (test set)</h2>
<div class="table-wrap">${perClassTable(data)}</div>
</section>
<section class="panel" id="epochs">
<h2>Epochs</h2>
<div class="table-wrap">${epochTable(epochs)}</div>
</section>
<section class="panel" id="command">
<h2>Command</h2>
<pre class="command"><code>${escapeHtml(data.command)}</code></pre>
</section>
<div class="grid3" id="details">
<section class="panel"><h2>Model</h2>${keyValueTable([
    ['name', model.name],
    ['parameters', groupedInt(model.params)],
    ['MACs', groupedInt(model.macs)],
    ...optionEntries,
  ])}</section>
<section class="panel"><h2>Dataset</h2>${keyValueTable(datasetEntries)}</section>
<section class="panel"><h2>Environment</h2>${keyValueTable(envEntries)}</section>
</div>
<footer>mobilezoo training report · ${escapeHtml(generatedText)}</footer>
</main>
</body>
</html>
`;
}

/** Write `<outDir>/report.html` and return its path. */
export async function writeReport(outDir: string, data: ReportData): Promise<string> {
  const path = join(outDir, 'report.html');
  await saveFileAtomic(path, renderReportHtml(data));
  return path;
}
