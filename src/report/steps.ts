/**
 * Per-step training log (`steps.csv`: step,epoch,loss,lr): each step's batch loss and learning rate,
 * appended after every epoch, for the report's learning-rate and per-step loss charts. `smoothLikeTensorBoard`
 * is TensorBoard's scalar smoothing.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface StepPoint {
  /** Optimizer step, 1-based. */
  step: number;
  /** Epoch, 1-based. */
  epoch: number;
  /** The batch's training loss. */
  loss: number;
  lr: number;
}

const HEADER = 'step,epoch,loss,lr';

export class StepsCsv {
  constructor(readonly path: string) {}

  static parse(text: string): StepPoint[] {
    const lines = text.split(/\r?\n/);
    if (lines[0]?.trim() !== HEADER) throw new Error(`steps csv: expected the header ${HEADER}, got ${JSON.stringify(lines[0])}`);
    const out: StepPoint[] = [];
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      if (cells.length !== 4) continue; // blank or torn last line
      const [step, epoch, loss, lr] = cells.map(Number) as [number, number, number, number];
      if (Number.isInteger(step) && Number.isInteger(epoch)) out.push({ step, epoch, loss, lr });
    }
    return out;
  }

  /** The rows; [] when the file does not exist. */
  async read(): Promise<StepPoint[]> {
    try {
      return StepsCsv.parse(await readFile(this.path, 'utf8'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  private static lines(rows: readonly StepPoint[]): string {
    return rows.map((r) => `${r.step},${r.epoch},${r.loss},${r.lr}\n`).join('');
  }

  /** Replaces the file's contents (temp file + rename). */
  async rewrite(rows: readonly StepPoint[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    await writeFile(tmp, `${HEADER}\n${StepsCsv.lines(rows)}`, 'utf8');
    await rename(tmp, this.path);
  }

  async append(rows: readonly StepPoint[]): Promise<void> {
    if (rows.length) await appendFile(this.path, StepsCsv.lines(rows), 'utf8');
  }
}

/**
 * TensorBoard's smoothing of a scalar series: an exponential moving average, debiased for its start
 * (`last = last·w + (1−w)·v; smoothed = last / (1 − w^k)` after k finite values); non-finite values
 * pass through unchanged.
 */
export function smoothLikeTensorBoard(values: readonly number[], weight: number): number[] {
  let last = 0;
  let k = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    k++;
    return weight === 0 ? v : last / (1 - weight ** k);
  });
}
