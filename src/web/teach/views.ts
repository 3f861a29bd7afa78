/** The teach page's pictures, drawn from plain data: the training chart, the confusion matrix, the class bars. */
import type { EpochMetrics } from '../../report/csv.js';
import type { ClassScore } from '../../report/metrics.js';

const SVG = 'http://www.w3.org/2000/svg';

/** The page's element with this id (a missing one is a defect of the page, said at once). */
export const $ = <T extends HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`teach page: no element #${id}`);
  return e as T;
};

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

const SERIES = [
  { key: 'trainLoss', label: 'train loss', color: '#2563eb', dash: '', panel: 0 },
  { key: 'testLoss', label: 'held-out loss', color: '#f59e0b', dash: '', panel: 0 },
  { key: 'trainAcc', label: 'train accuracy', color: '#2563eb', dash: '5 4', panel: 1 },
  { key: 'testAcc', label: 'held-out accuracy', color: '#f59e0b', dash: '5 4', panel: 1 },
] as const;

/** Loss (left) and accuracy (right) per epoch, train and held-out, for `epochs` planned epochs. */
export function drawChart(host: HTMLElement, history: EpochMetrics[], epochs: number): void {
  const w = 640;
  const h = 220;
  const pad = { l: 40, r: 12, t: 22, b: 28 };
  const pw = (w - pad.l - pad.r - 40) / 2;
  const root = svg('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': 'loss and accuracy per epoch' });
  const maxLoss = Math.max(0.1, ...history.flatMap((r) => [r.trainLoss, r.testLoss]).filter(Number.isFinite)) * 1.05;
  const n = Math.max(epochs, 2);
  for (const panel of [0, 1]) {
    const x0 = pad.l + panel * (pw + 40);
    const top = panel === 0 ? maxLoss : 1;
    const x = (e: number) => x0 + ((e - 1) / (n - 1)) * pw;
    const y = (v: number) => pad.t + (1 - v / top) * (h - pad.t - pad.b);
    root.append(svg('text', { x: x0, y: 14, 'font-size': 12, fill: '#0f172a' }, panel === 0 ? 'loss' : 'accuracy'));
    for (let k = 0; k <= 4; k++) {
      const v = (top * k) / 4;
      root.append(svg('line', { x1: x0, x2: x0 + pw, y1: y(v), y2: y(v), stroke: '#e2e8f0' }));
      root.append(svg('text', { x: x0 - 4, y: y(v) + 4, 'font-size': 10, fill: '#64748b', 'text-anchor': 'end' }, panel === 0 ? v.toFixed(v < 1 ? 2 : 1) : `${Math.round(v * 100)}%`));
    }
    const ticks = n <= 10 ? n : 5;
    for (let k = 0; k < ticks; k++) {
      const e = Math.round(1 + (k * (n - 1)) / Math.max(1, ticks - 1));
      root.append(svg('text', { x: x(e), y: h - 10, 'font-size': 10, fill: '#64748b', 'text-anchor': 'middle' }, String(e)));
    }
    for (const s of SERIES.filter((s) => s.panel === panel)) {
      const pts = history.filter((r) => Number.isFinite(r[s.key])).map((r) => `${x(r.epoch).toFixed(1)},${y(r[s.key]).toFixed(1)}`);
      if (pts.length > 1) root.append(svg('polyline', { points: pts.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2, 'stroke-dasharray': s.dash }));
      for (const p of pts) {
        const [cx, cy] = p.split(',');
        root.append(svg('circle', { cx: cx!, cy: cy!, r: 2.5, fill: s.color }));
      }
    }
  }
  root.append(svg('text', { x: w / 2, y: h - 0, 'font-size': 10, fill: '#64748b', 'text-anchor': 'middle' }, 'epoch'));
  const legend = el('div', { className: 'legend' }, ...SERIES.map((s) => {
    const swatch = el('i');
    swatch.style.background = s.dash ? `repeating-linear-gradient(90deg, ${s.color} 0 5px, transparent 5px 9px)` : s.color;
    return el('span', {}, swatch, s.label);
  }));
  host.replaceChildren(root, legend);
}

/** The confusion matrix: rows are the true classes, columns the predicted ones; a click on a cell calls `pick`. */
export function drawConfusion(table: HTMLTableElement, names: string[], confusion: number[][], pick: (t: number, p: number, cell: HTMLTableCellElement) => void): void {
  const head = el('tr', {}, el('th', { textContent: 'true \\ predicted', title: 'rows: the true class; columns: the predicted class' }), ...names.map((n) => el('th', { textContent: n, title: n })));
  const rows = confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return el('tr', {}, el('th', { textContent: names[t]!, title: names[t]! }), ...row.map((count, p) => {
      const cell = el('td', { textContent: String(count), title: `${count} held-out image${count === 1 ? '' : 's'} of ${names[t]} predicted as ${names[p]}` });
      const share = count / total;
      cell.style.background = count === 0 ? 'white' : t === p ? `rgb(37 99 235 / ${0.12 + 0.6 * share})` : `rgb(220 38 38 / ${0.12 + 0.6 * share})`;
      if (share > 0.55) cell.style.color = 'white';
      cell.dataset.cell = `${t},${p}`;
      cell.addEventListener('click', () => pick(t, p, cell));
      return cell;
    }));
  });
  table.replaceChildren(head, ...rows);
}

export function drawBars(list: HTMLOListElement, top: ClassScore[]): void {
  list.replaceChildren(...top.map((t) => {
    const bar = el('span', { className: 'bar' });
    bar.style.setProperty('--p', String(t.probability));
    return el('li', {}, el('span', { className: 'label', textContent: t.label, title: t.label }), bar, el('span', { className: 'value', textContent: `${(t.probability * 100).toFixed(1)}%` }));
  }));
}

/** '1:05', '12 s'. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '…';
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
