/**
 * Single-file HTML training report: inline CSS and inline SVG charts, no
 * scripts and no external requests, so it opens anywhere (file://, e-mail
 * attachment, CI artifact). Everything that comes from data is HTML-escaped.
 * While a run goes, the report is rewritten after every epoch and reloads
 * itself (a meta refresh, still no script); it stops once the run is over.
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
  /** Validation images, when the run holds some out. */
  valSize?: number;
  /** Where they come from, e.g. "10% of the training split, stratified, seed 0". */
  validation?: string;
  testSize: number;
  classNames: ReadonlyArray<string>;
}

export interface ReportFinal {
  /** What was evaluated, e.g. "test split, checkpoint-best (epoch 7)". */
  label?: string;
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
  /** Learning rate per step. */
  lrSvg?: string;
  /** Training loss per step, raw and smoothed. */
  stepLossSvg?: string;
}

/** Where the run stands; without it the report describes a finished run. */
export interface ReportStatus {
  state: 'running' | 'finished' | 'interrupted' | 'stopped early';
  /** Completed epochs, and the planned (or estimated) count. */
  epoch: number;
  epochs: number;
  etaSeconds?: number;
  /** While running: reload the page after this many seconds. */
  refreshSeconds?: number;
  /** A sentence on why it stopped or how to continue. */
  note?: string;
}

export interface ReportPretrained {
  file: string;
  sha256: string;
  kind: string;
  loaded: number;
  reinitialized: ReadonlyArray<string>;
}

export interface ReportData {
  title: string;
  /** The exact CLI command line that produced the run. */
  command: string;
  model: ReportModel;
  dataset: ReportDataset;
  epochs: ReadonlyArray<EpochMetrics>;
  /** The final test evaluation; absent while the run goes (the confusion matrix is then the validation split's). */
  final?: ReportFinal;
  /** matrix[true][predicted] of the split `confusionLabel` names (default: the test split). */
  confusion: ReadonlyArray<ReadonlyArray<number>>;
  confusionLabel?: string;
  /** Per-class accuracy of that split (default: final.perClass). */
  perClass?: ReadonlyArray<number>;
  status?: ReportStatus;
  /** The epoch whose checkpoint is the best by the monitored validation value. */
  best?: { epoch: number; label: string };
  /** Epochs whose periodic checkpoints are kept. */
  keptEpochs?: ReadonlyArray<number>;
  pretrained?: ReportPretrained;
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

function perClassTable(data: ReportData, split: string): string {
  const names = data.dataset.classNames;
  const support = classSupport(data.confusion);
  const perClass = data.perClass ?? data.final?.perClass ?? [];
  const rows = names.map((name, i) => {
    const acc = perClass[i] ?? Number.NaN;
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
    return `<tr><td class="num muted">${i}</td><td class="name" title="${escapeHtml(name)}">${escapeHtml(name)}</td><td class="num">${groupedInt(support[i] ?? 0)}</td><td class="num">${groupedInt(correct)}</td><td class="num acc-cell"><span class="bar" style="width:${width.toFixed(1)}%"></span><span class="acc-text">${formatPercent(acc)}</span></td><td>${confused}</td></tr>`;
  });
  return `<table class="data per-class"><thead><tr><th class="num">#</th><th>class</th><th class="num">${escapeHtml(split)} samples</th><th class="num">correct</th><th class="num">accuracy</th><th>most often predicted as</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function epochTable(data: ReportData): string {
  const epochs = data.epochs;
  const hasVal = epochs.some((r) => Number.isFinite(r.valLoss));
  const hasTest = epochs.some((r) => Number.isFinite(r.testLoss));
  const kept = new Set(data.keptEpochs ?? []);
  const best = data.best?.epoch;
  const rows = epochs.map((r) => {
    const isBest = r.epoch === best;
    const cls = isBest ? ` class="best" title="${escapeHtml(`best: ${data.best!.label}`)}"` : '';
    const marks = `${isBest ? ' <span class="star" aria-label="best">★</span>' : ''}${kept.has(r.epoch) ? ' <span class="kept" title="checkpoint kept">saved</span>' : ''}`;
    const val = hasVal ? `<td class="num">${fixed(r.valLoss ?? Number.NaN, 4)}</td><td class="num">${formatPercent(r.valAcc)}</td>` : '';
    const test = hasTest ? `<td class="num">${fixed(r.testLoss, 4)}</td><td class="num">${formatPercent(r.testAcc)}</td>` : '';
    return `<tr${cls}><td class="num">${escapeHtml(r.epoch)}${marks}</td><td class="num">${escapeHtml(formatLr(r.lr))}</td><td class="num">${fixed(r.trainLoss, 4)}</td><td class="num">${formatPercent(r.trainAcc)}</td>${val}${test}<td class="num">${fixed(r.imagesPerSec, 1)}</td><td class="num">${escapeHtml(formatDuration(r.seconds))}</td></tr>`;
  });
  const head = `<th class="num">epoch</th><th class="num">lr</th><th class="num">train loss</th><th class="num">train acc</th>${hasVal ? '<th class="num">val loss</th><th class="num">val acc</th>' : ''}${hasTest ? '<th class="num">test loss</th><th class="num">test acc</th>' : ''}<th class="num">images/s</th><th class="num">time</th>`;
  const columns = 6 + (hasVal ? 2 : 0) + (hasTest ? 2 : 0);
  return `<table class="data epochs"><thead><tr>${head}</tr></thead><tbody>${rows.join('') || `<tr><td colspan="${columns}" class="muted">no epochs recorded</td></tr>`}</tbody></table>`;
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
.kept{display:inline-block;font-size:10px;line-height:1.4;padding:0 5px;border-radius:8px;background:#e5e7eb;color:#374151;vertical-align:1px}
table.per-class td.name{max-width:320px;overflow:hidden;text-overflow:ellipsis}
.status{display:inline-block;margin:10px 0 0;padding:6px 12px;border-radius:8px;font-size:13px;background:#e5e7eb}
.status.running{background:#fef3c7;color:#78350f}
.status.finished{background:#dcfce7;color:#14532d}
.status.stopped{background:#dbeafe;color:#1e3a8a}
.status.interrupted{background:#fee2e2;color:#7f1d1d}
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

function clockTime(d: Date): string {
  return d.toISOString().slice(11, 19) + ' UTC';
}

function statusLine(status: ReportStatus, generated: Date): string {
  const of = `epoch ${status.epoch}/${status.epochs}`;
  switch (status.state) {
    case 'running': {
      const eta = status.etaSeconds !== undefined ? ` · ETA ${formatDuration(status.etaSeconds)}` : '';
      const next = status.refreshSeconds !== undefined
        ? ` · updated ${clockTime(generated)}; this page reloads itself every ${Math.round(status.refreshSeconds)} s (unchanged long after the next epoch's end: the run has stopped)`
        : '';
      return `<p class="status running" id="status"><b>running</b>, ${escapeHtml(of)}${escapeHtml(eta)}${escapeHtml(next)}</p>`;
    }
    case 'finished':
      return `<p class="status finished" id="status"><b>finished</b>: ${escapeHtml(`${status.epoch} epoch${status.epoch === 1 ? '' : 's'}`)}${status.note ? ` · ${escapeHtml(status.note)}` : ''}</p>`;
    case 'stopped early':
      return `<p class="status stopped" id="status"><b>stopped early</b> at ${escapeHtml(of)}${status.note ? `: ${escapeHtml(status.note)}` : ''}</p>`;
    case 'interrupted':
      return `<p class="status interrupted" id="status"><b>interrupted</b> in ${escapeHtml(`epoch ${status.epoch + 1}/${status.epochs}`)}${status.note ? `: ${escapeHtml(status.note)}` : ''}</p>`;
  }
}

/** Render the report to an HTML string. */
export function renderReportHtml(data: ReportData): string {
  const { model, dataset, final, environment, epochs, status } = data;
  const totalSeconds = data.totalSeconds ?? epochs.reduce((a, r) => a + (Number.isFinite(r.seconds) ? r.seconds : 0), 0);
  const generated = data.generatedAt === undefined ? new Date() : data.generatedAt;
  const generatedText = generated instanceof Date ? generated.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : String(generated);
  const total = data.confusion.reduce((a, row) => a + row.reduce((b, v) => b + v, 0), 0);
  const correct = data.confusion.reduce((a, row, i) => a + (row[i] ?? 0), 0);
  const top1FromConfusion = accuracyFromConfusion(data.confusion);
  const lastEpoch = epochs.length ? epochs[epochs.length - 1]! : undefined;
  const throughput = epochs.filter((r) => Number.isFinite(r.imagesPerSec));
  const meanIps = throughput.length ? throughput.reduce((a, r) => a + r.imagesPerSec, 0) / throughput.length : Number.NaN;
  const split = data.confusionLabel ?? 'test split';
  const splitName = /^validation/.test(split) ? 'validation' : 'test';
  const running = status?.state === 'running';

  const resultCards = final
    ? [
        card('Test top-1', formatPercent(final.top1), final.label ?? (total > 0 ? `${groupedInt(correct)} / ${groupedInt(total)} test images` : ''), `confusion-matrix accuracy: ${formatPercent(top1FromConfusion, 4)}`),
        card('Test top-5', formatPercent(final.top5), dataset.classNames.length < 5 ? `n/a for ${dataset.classNames.length} classes` : ''),
        card('Test loss', fixed(final.testLoss, 4), 'mean cross-entropy'),
      ]
    : lastEpoch && Number.isFinite(lastEpoch.valLoss)
      ? [
          card('Validation top-1', formatPercent(lastEpoch.valAcc), `epoch ${lastEpoch.epoch}`),
          card('Validation loss', fixed(lastEpoch.valLoss ?? Number.NaN, 4), `epoch ${lastEpoch.epoch}`),
        ]
      : [];
  const cards = [
    ...resultCards,
    ...(data.best ? [card('Best epoch', String(data.best.epoch), data.best.label)] : []),
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
    ...(dataset.valSize !== undefined ? [['validation images', `${groupedInt(dataset.valSize)}${dataset.validation ? ` (${dataset.validation})` : ''}`] as [string, unknown]] : []),
    ['test images', groupedInt(dataset.testSize)],
    ['classes', dataset.classNames.length],
  ];
  const p = data.pretrained;
  const pretrainedPanel = p
    ? `<section class="panel" id="pretrained"><h2>Pretrained weights</h2>${keyValueTable([
        ['file', p.file],
        ['kind', p.kind],
        ['sha256', p.sha256],
        ['tensors loaded', p.loaded],
        ['initialized anew', p.reinitialized.length ? p.reinitialized.join(', ') : 'none'],
      ])}</section>`
    : '';
  const stepCharts = [
    data.charts.stepLossSvg ? `<section class="panel chart-panel"><h2 class="sr-only">Training loss per step</h2>${chartFigure(data.charts.stepLossSvg, 'chart-steps', 'training loss per step')}</section>` : '',
    data.charts.lrSvg ? `<section class="panel chart-panel"><h2 class="sr-only">Learning rate</h2>${chartFigure(data.charts.lrSvg, 'chart-lr', 'learning rate per step')}</section>` : '',
  ].join('');
  const subtitleSizes = `${groupedInt(dataset.trainSize)} train${dataset.valSize !== undefined ? ` / ${groupedInt(dataset.valSize)} validation` : ''} / ${groupedInt(dataset.testSize)} test images`;
  const epochCount = lastEpoch?.epoch ?? 0;
  const titlePrefix = running ? `(epoch ${status!.epoch}/${status!.epochs}) ` : '';

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mobilezoo">
${running && status!.refreshSeconds !== undefined ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(status!.refreshSeconds))}">\n` : ''}<title>${escapeHtml(titlePrefix + data.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header class="top">
<h1>${escapeHtml(data.title)}</h1>
<p class="subtitle"><b>${escapeHtml(model.name)}</b> on <b>${escapeHtml(dataset.name)}</b> · ${escapeHtml(epochCount)} epoch${epochCount === 1 ? '' : 's'} · ${subtitleSizes} · ${dataset.classNames.length} classes · generated ${escapeHtml(generatedText)}</p>
${status ? statusLine(status, generated instanceof Date ? generated : new Date()) : ''}
</header>
<div class="cards" id="summary">${cards}</div>
<div class="grid2 row-gap" id="curves">
<section class="panel chart-panel"><h2 class="sr-only">Loss</h2>${chartFigure(data.charts.lossSvg, 'chart-loss', 'loss per epoch')}</section>
<section class="panel chart-panel"><h2 class="sr-only">Accuracy</h2>${chartFigure(data.charts.accuracySvg, 'chart-accuracy', 'accuracy per epoch')}</section>
${stepCharts}</div>
<section class="panel chart-panel" id="confusion">
<h2 class="sr-only">Confusion matrix (${escapeHtml(split)})</h2>
${chartFigure(data.charts.confusionSvg, 'chart-confusion', `confusion matrix, ${split}`)}
</section>
<section class="panel" id="per-class">
<h2>Per-class accuracy (${escapeHtml(split)})</h2>
<div class="table-wrap">${perClassTable(data, splitName)}</div>
</section>
<section class="panel" id="epochs">
<h2>Epochs</h2>
<div class="table-wrap">${epochTable(data)}</div>
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
${pretrainedPanel}</div>
<footer>mobilezoo training report · ${escapeHtml(generatedText)}</footer>
</main>
</body>
</html>
`;
}

/** Write `<outDir>/report.html` and return its path. */
export async function writeReport(outDir: string, data: ReportData): Promise<string> {
  const path = join(outDir, 'report.html');
  // Atomic: a reader (the page reloading itself while the run goes) never sees half a file.
  await saveFileAtomic(path, renderReportHtml(data));
  return path;
}
