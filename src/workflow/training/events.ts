/** What a run reports while it goes: log lines, epoch and step progress, evaluations, checkpoints. */
import type { EpochMetrics } from '../../report/csv.js';
import type { EvalResult } from '../evaluate.js';

export interface StepEvent {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Running means over the epoch so far. */
  loss: number;
  acc: number;
  imagesPerSec: number;
  lr: number;
}

/** The end of an epoch: its metrics.csv row and evaluations. */
export interface EpochEvent {
  epoch: number;
  /** Planned epochs (an estimate under a minutes budget). */
  epochs: number;
  metrics: EpochMetrics;
  validation?: EvalResult;
  /** Only on epochs the test split is evaluated (evalTestEvery, or every epoch without validation). */
  test?: EvalResult;
  /** These weights are the best so far by the monitored value (saved as checkpoint-best). */
  best: boolean;
  bestEpoch?: number;
  /** Why early stopping ends the run after this epoch. */
  stopping?: string;
}

export interface TrainEvents {
  log?(message: string): void;
  /** `startStep` > 0 when resuming mid-epoch. */
  epochStart?(e: { epoch: number; epochs: number; steps: number; startStep: number }): void;
  step?(s: StepEvent): void;
  /** An evaluation begins: the validation (and test) split after an epoch, or the final test. */
  evalStart?(e: { epoch: number; batches: number; split: 'validation' | 'test'; final?: boolean }): void;
  evalProgress?(done: number, total: number): void;
  epochEnd?(e: EpochEvent): void;
  checkpoint?(path: string, tag: string): void;
}
