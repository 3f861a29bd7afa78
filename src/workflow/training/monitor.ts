/**
 * The monitored validation value: which epoch is the best (checkpoint-best, Keras' ModelCheckpoint with
 * save_best_only: any strict improvement), and when to stop (Keras' and Lightning's EarlyStopping: stop
 * once `patience` epochs in a row have not improved on the best by more than minDelta). Its state is a
 * function of the metrics rows, so a resumed run replays them and continues exactly.
 */
import type { EpochMetrics } from '../../report/csv.js';
import type { Monitor } from '../config.js';

export interface MonitorSettings {
  monitor: Monitor;
  earlyStopping?: number;
  minDelta: number;
}

export interface BestEpoch {
  epoch: number;
  monitor: Monitor;
  value: number;
}

export class ValidationMonitor {
  best?: BestEpoch;
  /** The reference for early stopping (moves only by more than minDelta) and the epochs since it moved. */
  private reference = Number.NaN;
  private wait = 0;
  stoppedAt?: number;

  constructor(private readonly s: MonitorSettings) {}

  /** A monitor that has seen these rows. */
  static replay(s: MonitorSettings, history: readonly EpochMetrics[]): ValidationMonitor {
    const m = new ValidationMonitor(s);
    for (const row of history) m.update(row);
    return m;
  }

  private value(row: EpochMetrics): number {
    return (this.s.monitor === 'val_loss' ? row.valLoss : row.valAcc) ?? Number.NaN;
  }

  /** Better by more than `margin`, in the monitor's direction. */
  private beats(value: number, than: number, margin: number): boolean {
    if (!Number.isFinite(value)) return false;
    if (!Number.isFinite(than)) return true;
    return this.s.monitor === 'val_loss' ? value < than - margin : value > than + margin;
  }

  /** Takes an epoch's row: whether it is the new best, and whether training should stop after it. */
  update(row: EpochMetrics): { improved: boolean; stop: boolean } {
    const v = this.value(row);
    const improved = this.beats(v, this.best?.value ?? Number.NaN, 0);
    if (improved) this.best = { epoch: row.epoch, monitor: this.s.monitor, value: v };
    if (this.beats(v, this.reference, this.s.minDelta)) {
      this.reference = v;
      this.wait = 0;
    } else {
      this.wait++;
    }
    const stop = this.s.earlyStopping !== undefined && this.wait >= this.s.earlyStopping;
    if (stop && this.stoppedAt === undefined) this.stoppedAt = row.epoch;
    return { improved, stop };
  }

  /** Why training stopped, for logs and the record. */
  stopReason(): string {
    const b = this.best;
    const delta = this.s.minDelta ? ` by more than ${this.s.minDelta}` : '';
    return `${this.s.monitor} has not improved${delta} for ${this.s.earlyStopping} epoch${this.s.earlyStopping === 1 ? '' : 's'}${b ? ` (best ${formatMonitored(b)} at epoch ${b.epoch})` : ''}`;
  }
}

export function formatMonitored(b: Pick<BestEpoch, 'monitor' | 'value'>): string {
  return b.monitor === 'val_acc' ? `${(b.value * 100).toFixed(2)}%` : b.value.toFixed(4);
}
