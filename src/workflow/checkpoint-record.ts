/**
 * The checkpoint record and its files as bytes, without a file system (Node writes them in
 * checkpoints.ts; a page offers them for download): `checkpoint-<tag>.json` (the record: model,
 * dataset, preprocessing, progress, metrics, optimizer and the full training config),
 * `checkpoint-<tag>.safetensors` (weights, the record also in its metadata),
 * `checkpoint-<tag>.optim.safetensors` (Trainer.optimizerStateDict) and, with EMA,
 * `checkpoint-<tag>.ema.safetensors`. File names in the record are relative to the JSON's folder.
 */
import { type Preprocessing, parsePreprocessing, recordPreprocessing } from '../data/preprocessing.js';
import type { TransformSpec } from '../data/transforms.js';
import { writeSafetensors } from '../io/safetensors.js';
import { summary } from '../nn/summary.js';
import type { EpochMetrics } from '../report/csv.js';
import type { StateDict } from '../tensor.js';
import type { Trainer } from '../train/trainer.js';
import type { Monitor, PretrainedRecord, TrainConfig } from './config.js';
import type { ValidationSource } from './data.js';

export const CHECKPOINT_FORMAT = 'mobilezoo-checkpoint';
/** 2: `preprocessing.transform` starts from an image of any size (version 1's applied to images already decoded to the source shape). */
export const CHECKPOINT_VERSION = 2;

/** Running sums of a partly trained epoch (for exact mid-epoch resume). */
export interface EpochAccumulator {
  lossSum: number;
  correct: number;
  seen: number;
  /** Seconds spent in train steps so far. */
  stepSeconds: number;
}

export interface EvalSummary {
  loss: number;
  top1: number;
  top5: number;
  count: number;
}

export interface CheckpointRecord {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  /** 'epoch-3', 'last', 'interrupted'. */
  tag: string;
  createdAt: string;
  model: { name: string; options: Record<string, unknown>; numClasses: number; inputSize: [number, number, number]; params: number; macs: number };
  dataset: {
    name: string;
    title: string;
    classNames: string[];
    trainSize: number;
    testSize: number;
    /** openDataset options used (so `test` can reopen it). */
    options: Record<string, unknown>;
    /** Where the validation images came from (trainSize excludes them). */
    validation?: ValidationSource;
  };
  preprocessing: Preprocessing;
  /** The training transform, resolved (its augmentation steps included), for images of the dataset's shape. */
  trainTransform?: TransformSpec;
  /** Completed epochs. */
  epoch: number;
  /** Planned epochs. */
  epochs: number;
  progress: {
    /** Optimizer steps taken. */
    step: number;
    /** Steps already taken in epoch `epoch + 1` (0 at an epoch boundary). */
    stepInEpoch: number;
    stepsPerEpoch: number;
    /** Sums of the partly trained epoch, when stepInEpoch > 0. */
    partial?: EpochAccumulator;
  };
  /** Metrics of the last completed epoch. */
  metrics?: EpochMetrics;
  /** Test-set evaluation of these weights, when the run made one (per epoch only with evalTestEvery). */
  evaluation?: EvalSummary;
  /** Validation-set evaluation of the last completed epoch. */
  validation?: EvalSummary;
  /** The best epoch so far by the monitored validation value (its weights are checkpoint-best). */
  best?: { epoch: number; monitor: Monitor; value: number };
  /** Set when early stopping ended the run. */
  stopped?: { epoch: number; reason: string };
  /** The run's final test evaluation (in checkpoint-last): of checkpoint-best, or of the last weights without validation. */
  test?: EvalSummary & { checkpoint: string; epoch: number };
  /** Every completed epoch's metrics.csv row. */
  history: EpochMetrics[];
  optimizer: Pick<TrainConfig, 'optimizer' | 'lr' | 'schedule' | 'warmupEpochs' | 'labelSmoothing' | 'emaDecay'>;
  config: TrainConfig;
  /** Where a fine-tuning run's starting weights came from, and what of them it used. */
  pretrained?: PretrainedRecord;
  files: { weights: string; optimizer: string; ema?: string };
  /** Command lines that produced the run (the first, then each resume). */
  commands: string[];
  seconds: number;
  /** ONNX Runtime threads of the run (a resumed run uses the same, for bit-identical results). */
  threads?: number;
  /** The run's checkpoint interval in epochs (a resumed run keeps it). */
  saveEvery?: number;
}

export interface CheckpointTensors {
  weights: StateDict;
  optimizer: StateDict;
  ema?: StateDict;
}

/** The file names of a checkpoint's tag. */
export function checkpointNames(tag: string): { json: string; weights: string; optimizer: string; ema: string } {
  const base = `checkpoint-${tag}`;
  return { json: `${base}.json`, weights: `${base}.safetensors`, optimizer: `${base}.optim.safetensors`, ema: `${base}.ema.safetensors` };
}

/**
 * The files of one checkpoint, in the order to write them: tensors first, the JSON last, so that a JSON
 * that exists always describes complete files.
 */
export function checkpointFiles(record: Omit<CheckpointRecord, 'files'>, tensors: CheckpointTensors): { name: string; bytes: Uint8Array }[] {
  const names = checkpointNames(record.tag);
  const full: CheckpointRecord = {
    ...record,
    files: { weights: names.weights, optimizer: names.optimizer, ...(tensors.ema ? { ema: names.ema } : {}) },
  };
  const meta = { format: 'pt', mobilezoo: JSON.stringify(full) };
  return [
    { name: names.weights, bytes: writeSafetensors(tensors.weights, meta) },
    { name: names.optimizer, bytes: writeSafetensors(tensors.optimizer, { format: 'pt', mobilezoo_optimizer: JSON.stringify(full.optimizer) }) },
    ...(tensors.ema ? [{ name: names.ema, bytes: writeSafetensors(tensors.ema, meta) }] : []),
    { name: names.json, bytes: new TextEncoder().encode(JSON.stringify(full, null, 2) + '\n') },
  ];
}

/** What a training run knows when it saves a checkpoint, besides its trainer (weights, optimizer state, steps). */
export interface TrainingCheckpoint {
  /** 'epoch-3', 'last', 'interrupted'. */
  tag: string;
  config: TrainConfig;
  /** createModel options of the network (planModel's, with numClasses). */
  modelOptions: Record<string, unknown>;
  inputSize: [number, number, number];
  dataset: CheckpointRecord['dataset'];
  preprocessing: Preprocessing;
  /** The training transform, resolved (a BatchLoader's `transform`). */
  trainTransform?: TransformSpec;
  /** Completed epochs. */
  epoch: number;
  progress: Omit<CheckpointRecord['progress'], 'step'>;
  history: EpochMetrics[];
  evaluation?: EvalSummary;
  seconds: number;
  commands?: string[];
  threads?: number;
  saveEvery?: number;
  pretrained?: PretrainedRecord;
}

/** What a checkpoint takes of a Trainer (a head trainer on cached embeddings gives it on the full network: src/train/feature-cache.ts). */
export type CheckpointedTrainer = Pick<Trainer, 'model' | 'step' | 'optimizerStateDict' | 'emaStateDict'>;

/** The record's optimizer section: the settings that make the run's update rule. */
export function optimizerRecord(config: TrainConfig): CheckpointRecord['optimizer'] {
  return {
    optimizer: config.optimizer, lr: config.lr, schedule: config.schedule, warmupEpochs: config.warmupEpochs,
    labelSmoothing: config.labelSmoothing, emaDecay: config.emaDecay,
  };
}

/**
 * The files of a checkpoint of a run on a Trainer (weights, optimizer state, EMA weights when kept): what
 * `mobilezoo test`, `predict`, `export` and `train --resume` read, however the run was driven.
 */
export function trainingCheckpointFiles(trainer: CheckpointedTrainer, c: TrainingCheckpoint): { name: string; bytes: Uint8Array }[] {
  const { config } = c;
  const counts = summary(trainer.model, c.inputSize);
  const record: Omit<CheckpointRecord, 'files'> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    tag: c.tag,
    createdAt: new Date().toISOString(),
    model: { name: config.model, options: c.modelOptions, numClasses: trainer.model.numClasses, inputSize: c.inputSize, params: counts.totalParams, macs: counts.totalMacs },
    dataset: c.dataset,
    preprocessing: c.preprocessing,
    ...(c.trainTransform ? { trainTransform: c.trainTransform } : {}),
    epoch: c.epoch,
    epochs: config.epochs,
    progress: { step: trainer.step, ...c.progress },
    metrics: c.history[c.history.length - 1],
    evaluation: c.evaluation,
    history: c.history,
    optimizer: optimizerRecord(config),
    config,
    ...(c.pretrained ? { pretrained: c.pretrained } : {}),
    commands: c.commands ?? [],
    seconds: c.seconds,
    ...(c.threads !== undefined ? { threads: c.threads } : {}),
    ...(c.saveEvery !== undefined ? { saveEvery: c.saveEvery } : {}),
  };
  return checkpointFiles(record, { weights: trainer.model.stateDict(), optimizer: trainer.optimizerStateDict(), ema: trainer.emaStateDict() });
}

/** A checkpoint record from parsed JSON, checked (format, version, sections) and brought to the current version. */
export function parseCheckpointRecord(r: unknown, source: string): CheckpointRecord {
  const rec = r as Partial<CheckpointRecord> | null;
  if (!rec || typeof rec !== 'object' || rec.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${source}: not a mobilezoo checkpoint record (no "format": "${CHECKPOINT_FORMAT}")`);
  }
  if (typeof rec.version !== 'number' || rec.version > CHECKPOINT_VERSION) {
    throw new Error(`${source}: checkpoint format version ${rec.version} is newer than this mobilezoo understands (${CHECKPOINT_VERSION})`);
  }
  for (const k of ['model', 'dataset', 'preprocessing', 'progress', 'config', 'files'] as const) {
    if (!rec[k] || typeof rec[k] !== 'object') throw new Error(`${source}: checkpoint record lacks "${k}"`);
  }
  // JSON writes NaN (a split not evaluated that epoch) as null.
  if (Array.isArray(rec.history)) rec.history = rec.history.map(numericRow);
  if (rec.metrics) rec.metrics = numericRow(rec.metrics);
  if (rec.version < 2) {
    // Version 1 decoded images straight to the source shape; that decode is now the transform's first steps.
    const old = rec.preprocessing!;
    rec.preprocessing = recordPreprocessing(old.source, old.transform);
  } else {
    // Checked now (sizes included), not when the first image is transformed.
    rec.preprocessing = parsePreprocessing(rec.preprocessing, `${source}: preprocessing`);
  }
  return rec as CheckpointRecord;
}

function numericRow(row: EpochMetrics): EpochMetrics {
  const out = { ...row } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) if (v === null) out[k] = Number.NaN;
  return out as unknown as EpochMetrics;
}
