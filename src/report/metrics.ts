/**
 * Classification metrics on plain arrays (no ONNX Runtime dependency):
 * confusion matrix, accuracy, top-k, softmax, mean cross-entropy, and a
 * small aligned-text table formatter for terminal output.
 *
 * Logits are row-major `[N, numClasses]` in a flat Float32Array (as returned
 * by an ONNX Runtime tensor's `.data`).
 */

export type Labels = ArrayLike<number> | ArrayLike<bigint>;

function labelAt(labels: Labels, i: number): number {
  return Number(labels[i]);
}

function checkLabel(label: number, numClasses: number, i: number, what = 'label'): void {
  if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
    throw new RangeError(`${what} ${label} at index ${i} is not a class index in [0, ${numClasses})`);
  }
}

function rowsOf(logits: ArrayLike<number>, numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  if (logits.length % numClasses !== 0) {
    throw new RangeError(`logits length ${logits.length} is not a multiple of numClasses ${numClasses}`);
  }
  return logits.length / numClasses;
}

/** matrix[true][predicted] = count. */
export function confusionMatrix(labels: Labels, predictions: Labels, numClasses: number): number[][] {
  if (labels.length !== predictions.length) {
    throw new RangeError(`labels (${labels.length}) and predictions (${predictions.length}) differ in length`);
  }
  const m: number[][] = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const t = labelAt(labels, i);
    const p = labelAt(predictions, i);
    checkLabel(t, numClasses, i, 'label');
    checkLabel(p, numClasses, i, 'prediction');
    m[t]![p]!++;
  }
  return m;
}

/** Add `other` into `acc` in place (e.g. to accumulate per-batch matrices); returns `acc`. */
export function addConfusion(acc: number[][], other: ReadonlyArray<ReadonlyArray<number>>): number[][] {
  if (acc.length !== other.length) throw new RangeError('confusion matrices differ in size');
  for (let i = 0; i < acc.length; i++) {
    const a = acc[i]!;
    const b = other[i]!;
    if (a.length !== b.length) throw new RangeError('confusion matrices differ in size');
    for (let j = 0; j < a.length; j++) a[j]! += b[j]!;
  }
  return acc;
}

/** Overall accuracy = trace / total; 0 for an empty matrix. */
export function accuracyFromConfusion(matrix: ReadonlyArray<ReadonlyArray<number>>): number {
  let correct = 0;
  let total = 0;
  matrix.forEach((row, i) => {
    row.forEach((v, j) => {
      total += v;
      if (i === j) correct += v;
    });
  });
  return total > 0 ? correct / total : 0;
}

/** Row sums: number of samples of each true class. */
export function classSupport(matrix: ReadonlyArray<ReadonlyArray<number>>): number[] {
  return matrix.map((row) => row.reduce((a, b) => a + b, 0));
}

/** Per-class accuracy (recall) = diagonal / row sum; NaN for classes with no samples. */
export function perClassAccuracy(matrix: ReadonlyArray<ReadonlyArray<number>>): number[] {
  return matrix.map((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total > 0 ? row[i]! / total : Number.NaN;
  });
}

/** Row-wise argmax (first index wins ties; NaN never wins). */
export function argmaxRows(logits: ArrayLike<number>, numClasses: number): Int32Array {
  const n = rowsOf(logits, numClasses);
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * numClasses;
    let best = 0;
    let bestV = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const v = logits[base + c]!;
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[r] = best;
  }
  return out;
}

/**
 * Number of rows whose label is among the k highest logits. Ties are broken
 * by class index (lower index ranks higher), consistent with `argmaxRows`, so
 * `topK(..., 1)` equals the number of rows where argmax == label.
 */
export function topK(logits: ArrayLike<number>, numClasses: number, labels: Labels, k: number): number {
  const n = rowsOf(logits, numClasses);
  if (labels.length !== n) throw new RangeError(`labels (${labels.length}) do not match ${n} logit rows`);
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const base = r * numClasses;
    const label = labelAt(labels, r);
    checkLabel(label, numClasses, r);
    const v = logits[base + label]!;
    if (Number.isNaN(v)) continue;
    let rank = 0;
    for (let c = 0; c < numClasses && rank < k; c++) {
      const u = logits[base + c]!;
      if (u > v || (u === v && c < label)) rank++;
    }
    if (rank < k) correct++;
  }
  return correct;
}

/** Row-wise softmax (max-subtracted for stability). */
export function softmax(logits: ArrayLike<number>, numClasses: number): Float32Array {
  const n = rowsOf(logits, numClasses);
  const out = new Float32Array(logits.length);
  for (let r = 0; r < n; r++) {
    const base = r * numClasses;
    let max = -Infinity;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, logits[base + c]!);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp(logits[base + c]! - max);
    for (let c = 0; c < numClasses; c++) out[base + c] = Math.exp(logits[base + c]! - max) / sum;
  }
  return out;
}

/** One class of a ranking: its index, name and softmax probability. */
export interface ClassScore {
  index: number;
  label: string;
  probability: number;
}

/** The k most probable classes of each row of logits (ties: lower index first); unnamed classes are "class i". */
export function topClasses(logits: ArrayLike<number>, c: { numClasses: number; classNames: readonly string[] }, k: number): ClassScore[][] {
  const probs = softmax(logits, c.numClasses);
  const rows: ClassScore[][] = [];
  for (let r = 0; r < probs.length / c.numClasses; r++) {
    const row = Array.from(probs.subarray(r * c.numClasses, (r + 1) * c.numClasses), (p, index) => ({ index, p }));
    row.sort((a, b) => b.p - a.p || a.index - b.index);
    rows.push(row.slice(0, k).map(({ index, p }) => ({ index, label: c.classNames[index] ?? `class ${index}`, probability: p })));
  }
  return rows;
}

/** log(sum(exp(row))) computed stably in float64. */
export function logSumExp(values: ArrayLike<number>, start = 0, end = values.length): number {
  let max = -Infinity;
  for (let i = start; i < end; i++) max = Math.max(max, values[i]!);
  if (max === -Infinity) return -Infinity;
  if (!Number.isFinite(max)) return max;
  let sum = 0;
  for (let i = start; i < end; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

/**
 * Mean cross-entropy, like `torch.nn.functional.cross_entropy(logits, labels)`
 * with reduction 'mean': mean over rows of `logsumexp(row) - row[label]`.
 * numClasses defaults to `logits.length / labels.length`.
 */
export function crossEntropyMean(logits: ArrayLike<number>, labels: Labels, numClasses?: number): number {
  if (labels.length === 0) return Number.NaN; // PyTorch returns nan for an empty batch
  const c = numClasses ?? logits.length / labels.length;
  const n = rowsOf(logits, c);
  if (n !== labels.length) throw new RangeError(`labels (${labels.length}) do not match ${n} logit rows`);
  let total = 0;
  for (let r = 0; r < n; r++) {
    const label = labelAt(labels, r);
    checkLabel(label, c, r);
    const base = r * c;
    total += logSumExp(logits, base, base + c) - logits[base + label]!;
  }
  return total / n;
}

/** A file size for people: "812 B", "3.4 KiB", "13.58 MiB". */
export function humanBytes(n: number): string {
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

export interface FormatTableOptions {
  /** Per-column alignment; default: right for columns whose cells are all numeric, else left. */
  align?: ReadonlyArray<'left' | 'right'>;
  /** Digits after the decimal point for non-integer numbers (default 4). */
  digits?: number;
  /** Column separator (default two spaces). */
  separator?: string;
}

function cellText(v: unknown, digits: number): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '-';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  }
  return String(v);
}

/** Looks like a number, optionally with a unit: '12.5%', '1,024', '3.2 M', '41ms', '-', 'inf'. */
const NUMERIC_TEXT = /^(?:[-+]?(?=\.?\d)[\d,_]*(?:\.\d+)?(?:[eE][-+]?\d+)?\s?(?:%|[a-zA-Z]{1,3})?|-|—|[-+]?inf|nan)$/i;

/** Visible width: counts code points, so box-drawing / accented characters count as one. */
function width(s: string): number {
  return [...s].length;
}

/**
 * Aligned plain-text table:
 * ```
 * epoch  train_loss  test_acc
 * -----  ----------  --------
 *     1      2.3012    0.1123
 * ```
 */
export function formatTable(rows: ReadonlyArray<ReadonlyArray<unknown>>, headers: ReadonlyArray<string>, opts: FormatTableOptions = {}): string {
  const digits = opts.digits ?? 4;
  const sep = opts.separator ?? '  ';
  const ncol = Math.max(headers.length, ...rows.map((r) => r.length));
  const text = rows.map((r) => Array.from({ length: ncol }, (_, j) => cellText(r[j], digits)));
  const head = Array.from({ length: ncol }, (_, j) => headers[j] ?? '');
  const widths = head.map((h, j) => Math.max(width(h), ...text.map((r) => width(r[j]!))));
  const align = head.map((_, j) => {
    const given = opts.align?.[j];
    if (given) return given;
    const numeric = rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || (typeof r[j] === 'string' && NUMERIC_TEXT.test(r[j] as string)));
    return numeric ? 'right' : 'left';
  });
  const pad = (s: string, j: number) => {
    const fill = ' '.repeat(widths[j]! - width(s));
    return align[j] === 'right' ? fill + s : s + fill;
  };
  const line = (cells: string[]) => cells.map(pad).join(sep).replace(/\s+$/, '');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}
