/**
 * Where a run starts: fresh in an empty output folder, or from a checkpoint (read once, by openResume,
 * whether by the command line or by train()). A resumed run restores the weights, the optimizer slots,
 * the step count and the running sums of a partly trained epoch, so it computes what an uninterrupted
 * run computes.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { openStateDictFile, readExpected } from '../../io/checkpoint.js';
import { ReadBudget } from '../../io/limits.js';
import type { Network } from '../../models/network.js';
import type { EpochMetrics } from '../../report/csv.js';
import type { Trainer } from '../../train/trainer.js';
import { RefusedError } from '../../io/refused.js';
import { type CheckpointRecord, type EpochAccumulator, checkpointFile, loadWeights, readResumableCheckpoint } from '../checkpoints.js';
import type { TrainConfig } from '../config.js';

/** A checkpoint to continue from: its record, the folder its file names are relative to, its path. */
export interface ResumePoint {
  record: CheckpointRecord;
  dir: string;
  path: string;
}

/** Reads the checkpoint a run continues from (a complete one: its JSON records this save). */
export function openResume(path: string): Promise<ResumePoint> {
  if (existsSync(path) && statSync(path).isDirectory()) {
    const found = readdirSync(path).filter((f) => /^checkpoint-.*\.json$/.test(f)).sort();
    throw new Error(`${path} is a folder: give the checkpoint to continue from${found.length ? ` (${found.join(', ')})` : ''}`);
  }
  return readResumableCheckpoint(path);
}

/** The config to continue a checkpoint with: its own, with `epochs` optionally changed. */
export function resumeConfig(record: CheckpointRecord, overrides: { epochs?: number } = {}): TrainConfig {
  // Checkpoints from before fine-tuning and validation existed lack their settings; they resume as they ran.
  const r = record.config as Partial<TrainConfig> & TrainConfig;
  const c: TrainConfig = {
    ...r, freeze: r.freeze ?? 'none', backboneLrMult: r.backboneLrMult ?? 1, valSplit: r.valSplit ?? 0, monitor: r.monitor ?? 'val_loss', minDelta: r.minDelta ?? 0,
  };
  if (overrides.epochs !== undefined) c.epochs = overrides.epochs;
  return c;
}

/**
 * Refuses a resume of a clock-scheduled run, and a run into a folder that already holds one unless it
 * continues that run in its own folder (the files of two runs would mix).
 */
export function checkStart(config: TrainConfig, outDir: string, resume: ResumePoint | undefined): void {
  if (resume && config.minutes !== undefined) {
    throw new Error(`${resume.path}: a run with a minutes budget cannot be resumed: its schedule follows the clock of the run that started it`);
  }
  if (resume && existsSync(outDir) && realpathSync(resume.dir) === realpathSync(outDir)) return;
  if (existsSync(outDir) && readdirSync(outDir).some((f) => /^checkpoint-.*\.json$/.test(f))) {
    throw new RefusedError(`${outDir} already holds a training run (checkpoint-*.json); choose another \`out\`, or continue it with \`resume\``);
  }
}

/** Loads a resumed run's weights into the model. */
export async function loadResumedWeights(model: Network, resume: ResumePoint): Promise<void> {
  await loadWeights(model, checkpointFile(resume.record, resume.path, 'weights'));
}

export function zeroAccumulator(): EpochAccumulator {
  return { lossSum: 0, correct: 0, seen: 0, stepSeconds: 0 };
}

/** How far a run has come: completed epochs, steps into the next one with their sums, the rows so far. */
export interface RunProgress {
  /** Optimizer steps taken. */
  step: number;
  epoch: number;
  stepInEpoch: number;
  partial: EpochAccumulator;
  history: EpochMetrics[];
  seconds: number;
}

export function freshProgress(): RunProgress {
  return { step: 0, epoch: 0, stepInEpoch: 0, partial: zeroAccumulator(), history: [], seconds: 0 };
}

/** Restores the optimizer state of a resumed run into the trainer, after checking it fits; returns its progress. */
export async function restoreTrainer(trainer: Trainer, resume: ResumePoint, stepsPerEpoch: number): Promise<RunProgress> {
  const { record, path } = resume;
  if (record.progress.stepsPerEpoch !== stepsPerEpoch) {
    throw new Error(`${path}: ${record.progress.stepsPerEpoch} steps per epoch when saved, ${stepsPerEpoch} now (has the dataset or the batch size changed?)`);
  }
  // Checked against the trainer's own state (names, shapes) before any tensor is read.
  const expected = trainer.optimizerStateDict();
  const file = checkpointFile(record, path, 'optimizer');
  const state = await openStateDictFile(file, { budget: ReadBudget.forShapes(expected.values()) });
  trainer.loadOptimizerStateDict(readExpected(state, expected, file.path));
  if (trainer.step !== record.progress.step) throw new Error(`${path}: optimizer state is at step ${trainer.step}, record says ${record.progress.step}`);
  return {
    step: record.progress.step,
    epoch: record.epoch,
    stepInEpoch: record.progress.stepInEpoch,
    partial: record.progress.partial ? { ...record.progress.partial } : zeroAccumulator(),
    history: record.history.filter((r) => r.epoch <= record.epoch),
    seconds: record.seconds ?? 0,
  };
}
