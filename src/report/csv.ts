/**
 * Per-epoch metrics log (`metrics.csv`), appended once per epoch and read back
 * to resume a run or to re-plot its curves.
 *
 * Columns: epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,images_per_sec,seconds
 * Accuracies are fractions in [0, 1]. A missing value (no validation split, no
 * test pass that epoch) is written as an empty cell and read back as NaN.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { saveFileAtomic } from '../io/atomic.js';

export interface EpochMetrics {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAcc: number;
  /** Validation split (NaN or absent without one). */
  valLoss?: number;
  valAcc?: number;
  /** Test split: NaN on epochs it was not evaluated. */
  testLoss: number;
  testAcc: number;
  imagesPerSec: number;
  seconds: number;
}

/** CSV column name -> EpochMetrics key, in file order. */
export const METRICS_COLUMNS = [
  ['epoch', 'epoch'],
  ['lr', 'lr'],
  ['train_loss', 'trainLoss'],
  ['train_acc', 'trainAcc'],
  ['val_loss', 'valLoss'],
  ['val_acc', 'valAcc'],
  ['test_loss', 'testLoss'],
  ['test_acc', 'testAcc'],
  ['images_per_sec', 'imagesPerSec'],
  ['seconds', 'seconds'],
] as const satisfies ReadonlyArray<readonly [string, keyof EpochMetrics]>;

export const METRICS_HEADER = METRICS_COLUMNS.map(([c]) => c).join(',');

function formatNumber(v: number | undefined): string {
  // shortest round-trip representation; NaN / undefined -> empty cell
  if (typeof v !== 'number' || Number.isNaN(v)) return '';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return String(v);
}

function parseNumber(s: string): number {
  const t = s.trim().toLowerCase();
  if (t === '' || t === 'nan') return Number.NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  const v = Number(t);
  if (Number.isNaN(v)) throw new Error(`not a number: ${JSON.stringify(s)}`);
  return v;
}

export class MetricsCsv {
  constructor(readonly path: string) {}

  /** One CSV line (no newline) for a row. */
  static formatRow(row: EpochMetrics): string {
    return METRICS_COLUMNS.map(([, key]) => formatNumber(row[key])).join(',');
  }

  /**
   * Parse CSV text. Columns are matched by header name (order-independent;
   * unknown columns ignored, missing ones read as NaN). A torn final line
   * (written partially by a crashed run, no trailing newline) is ignored.
   */
  static parse(text: string): EpochMetrics[] {
    const lines = text.split(/\r?\n/);
    const endsWithNewline = /\n$/.test(text);
    while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
    if (lines.length === 0) return [];
    const header = lines[0]!.replace(/^\uFEFF/, '').split(',').map((h) => h.trim());
    const index = new Map(header.map((h, i) => [h, i]));
    if (!index.has('epoch')) throw new Error(`metrics csv: header has no "epoch" column: ${lines[0]}`);
    const rows: EpochMetrics[] = [];
    for (let ln = 1; ln < lines.length; ln++) {
      const line = lines[ln]!;
      if (line.trim() === '') continue;
      const cells = line.split(',');
      const isLast = ln === lines.length - 1;
      try {
        if (cells.length !== header.length) throw new Error(`expected ${header.length} cells, got ${cells.length}`);
        const row = {} as Required<EpochMetrics>;
        for (const [col, key] of METRICS_COLUMNS) {
          const i = index.get(col);
          row[key] = i === undefined ? Number.NaN : parseNumber(cells[i]!);
        }
        if (!Number.isInteger(row.epoch)) throw new Error(`epoch ${row.epoch} is not an integer`);
        rows.push(row);
      } catch (err) {
        if (isLast && !endsWithNewline) break; // torn write
        throw new Error(`metrics csv line ${ln + 1}: ${(err as Error).message}`);
      }
    }
    return rows;
  }

  static format(rows: ReadonlyArray<EpochMetrics>): string {
    return [METRICS_HEADER, ...rows.map((r) => MetricsCsv.formatRow(r))].join('\n') + '\n';
  }

  exists(): boolean {
    return existsSync(this.path);
  }

  /** All rows in the file; [] if the file does not exist. */
  async read(): Promise<EpochMetrics[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return MetricsCsv.parse(text);
  }

  /**
   * Append one row, creating the file (and its folder) with a header if needed. The whole file is
   * rewritten atomically (it is small), so a killed run leaves the old rows or the new ones.
   */
  async append(row: EpochMetrics): Promise<void> {
    let existing: string | undefined;
    try {
      existing = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (existing === undefined || existing.trim() === '') {
      await saveFileAtomic(this.path, METRICS_HEADER + '\n' + MetricsCsv.formatRow(row) + '\n');
      return;
    }
    const nl = existing.indexOf('\n');
    const firstLine = (nl < 0 ? existing : existing.slice(0, nl)).replace(/^\uFEFF/, '').trim();
    if (firstLine !== METRICS_HEADER) {
      throw new Error(`${this.path}: unexpected header ${JSON.stringify(firstLine)}, expected ${JSON.stringify(METRICS_HEADER)}`);
    }
    // A torn last line (from a writer other than this one) is dropped so the new row starts on its own line.
    const kept = existing.endsWith('\n') ? existing : existing.slice(0, existing.lastIndexOf('\n') + 1);
    await saveFileAtomic(this.path, kept + MetricsCsv.formatRow(row) + '\n');
  }

  /** Replace the file's contents atomically (write temp + rename). */
  async rewrite(rows: ReadonlyArray<EpochMetrics>): Promise<void> {
    await saveFileAtomic(this.path, MetricsCsv.format(rows));
  }

  /**
   * For resume from a checkpoint taken after `epoch`: drop rows with a larger
   * epoch number (they belong to the interrupted continuation). Returns the kept rows.
   */
  async truncateAfter(epoch: number): Promise<EpochMetrics[]> {
    const rows = await this.read();
    const kept = rows.filter((r) => r.epoch <= epoch);
    if (kept.length !== rows.length) await this.rewrite(kept);
    return kept;
  }
}
