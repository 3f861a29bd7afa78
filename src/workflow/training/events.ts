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

export interface TrainEvents {
  log?(message: string): void;
  /** `startStep` > 0 when resuming mid-epoch. */
  epochStart?(e: { epoch: number; epochs: number; steps: number; startStep: number }): void;
  step?(s: StepEvent): void;
  evalStart?(e: { epoch: number; batches: number }): void;
  evalProgress?(done: number, total: number): void;
  epochEnd?(row: EpochMetrics, evaluation: EvalResult, epochs: number): void;
  checkpoint?(path: string, tag: string): void;
}
