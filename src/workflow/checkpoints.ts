/**
 * Training checkpoints: `checkpoint-<tag>.json` (the record: model, dataset, preprocessing, progress,
 * metrics, optimizer and the full training config) next to `checkpoint-<tag>.safetensors` (weights,
 * the record also in its metadata), `checkpoint-<tag>.optim.safetensors` (Trainer.optimizerStateDict)
 * and, with EMA, `checkpoint-<tag>.ema.safetensors`. Tensor files are written first and the JSON last,
 * all atomically, so a JSON that exists always describes complete files. File names in the record are
 * relative to the JSON's folder, so a run folder can be moved.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadStateDictFile, saveFileAtomic, saveSafetensorsFile } from '../io/checkpoint.js';
import { readSafetensorsMetadata } from '../io/safetensors.js';
import { createModel } from '../models/registry.js';
import type { Network } from '../models/network.js';
import { publishedWeightsOf } from '../models/published-weights.js';
import { type Preprocessing, recordPreprocessing } from '../data/preprocessing.js';
import type { EpochMetrics } from '../report/csv.js';
import type { StateDict } from '../tensor.js';
import type { PretrainedRecord, TrainConfig } from './config.js';

export const CHECKPOINT_FORMAT = 'mobilezoo-checkpoint';
/** 2: `preprocessing.transform` starts from an image of any size (version 1's applied to images already decoded to the source shape). */
export const CHECKPOINT_VERSION = 2;

export type { Preprocessing };

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
  };
  preprocessing: Preprocessing;
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
  /** Test-set evaluation of the last completed epoch. */
  evaluation?: EvalSummary;
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

export function checkpointPaths(dir: string, tag: string): { json: string; weights: string; optimizer: string; ema: string } {
  const base = join(dir, `checkpoint-${tag}`);
  return { json: `${base}.json`, weights: `${base}.safetensors`, optimizer: `${base}.optim.safetensors`, ema: `${base}.ema.safetensors` };
}

/** Writes one checkpoint; returns the JSON's path. */
export async function writeCheckpoint(
  dir: string,
  record: Omit<CheckpointRecord, 'files'>,
  tensors: { weights: StateDict; optimizer: StateDict; ema?: StateDict },
): Promise<string> {
  const p = checkpointPaths(dir, record.tag);
  const full: CheckpointRecord = {
    ...record,
    files: { weights: basename(p.weights), optimizer: basename(p.optimizer), ...(tensors.ema ? { ema: basename(p.ema) } : {}) },
  };
  const meta = { format: 'pt', mobilezoo: JSON.stringify(full) };
  await saveSafetensorsFile(p.weights, tensors.weights, meta);
  await saveSafetensorsFile(p.optimizer, tensors.optimizer, { format: 'pt', mobilezoo_optimizer: JSON.stringify(full.optimizer) });
  if (tensors.ema) await saveSafetensorsFile(p.ema, tensors.ema, meta);
  await saveFileAtomic(p.json, new TextEncoder().encode(JSON.stringify(full, null, 2) + '\n'));
  return p.json;
}

function validateRecord(r: unknown, source: string): CheckpointRecord {
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
  if (rec.version < 2) {
    // Version 1 decoded images straight to the source shape; that decode is now the transform's first steps.
    const old = rec.preprocessing!;
    rec.preprocessing = recordPreprocessing(old.source, old.transform);
  }
  return rec as CheckpointRecord;
}

/**
 * Reads a checkpoint record: a `checkpoint-*.json`, or a `.safetensors` written by mobilezoo (whose
 * metadata holds the record). Returns the record and the folder its file names are relative to.
 */
export async function readCheckpointRecord(path: string): Promise<{ record: CheckpointRecord; dir: string; path: string }> {
  const abs = resolve(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(abs);
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let parsed: unknown;
  if (abs.endsWith('.safetensors')) {
    const meta = readSafetensorsMetadata(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
    if (!meta.mobilezoo) throw new Error(`${path}: safetensors without a mobilezoo record in its metadata; use --weights with --model instead`);
    parsed = JSON.parse(meta.mobilezoo);
  } else {
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message}); pass the checkpoint-*.json file`);
    }
  }
  return { record: validateRecord(parsed, path), dir: dirname(abs), path: abs };
}

/** The safetensors metadata record of a weights file, if mobilezoo wrote it (else undefined). */
export async function weightsRecord(path: string): Promise<CheckpointRecord | undefined> {
  if (!path.endsWith('.safetensors')) return undefined;
  try {
    const bytes = await readFile(path);
    const meta = readSafetensorsMetadata(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
    return meta.mobilezoo ? validateRecord(JSON.parse(meta.mobilezoo), path) : undefined;
  } catch {
    return undefined;
  }
}

export interface LoadedModel {
  model: Network;
  /** Where its weights came from ('random initialization' when none). */
  source: string;
  record?: CheckpointRecord;
}

export interface ModelSource {
  /** A checkpoint-*.json (or a mobilezoo .safetensors). */
  checkpoint?: string;
  /** A state dict file (.pth/.pt/.bin from torch.save, or .safetensors). */
  weights?: string;
  /** Model name: required with `weights` (unless it is a mobilezoo safetensors), overrides the checkpoint's. */
  model?: string;
  /** createModel options for `model` (with a checkpoint: merged over the checkpoint's own). */
  modelOptions?: Record<string, unknown>;
  /** With a checkpoint trained with EMA: load the EMA weights (default true; they are what was evaluated). */
  ema?: boolean;
}

/**
 * A network with weights from a checkpoint, a weights file or none (random init). Weights must match
 * the network exactly; otherwise loadStateDict's error names the missing / unexpected / mismatched keys.
 */
export async function loadModel(src: ModelSource): Promise<LoadedModel> {
  if (src.checkpoint && src.weights) throw new Error('give either a checkpoint or weights, not both');
  if (src.checkpoint) {
    const { record, dir, path } = await readCheckpointRecord(src.checkpoint);
    const name = src.model ?? record.model.name;
    const options = src.model && src.model !== record.model.name
      ? { numClasses: record.model.numClasses, ...(src.modelOptions ?? {}) }
      : { ...record.model.options, ...(src.modelOptions ?? {}) };
    const model = createModel(name, options);
    const useEma = (src.ema ?? true) && record.files.ema !== undefined;
    const file = join(dir, useEma ? record.files.ema! : record.files.weights);
    const sd = await loadStateDictFile(file);
    model.loadStateDict(sd, { source: file });
    return { model, source: `${path}${useEma ? ' (EMA weights)' : ''}`, record };
  }
  if (src.weights) {
    // Published weights (torchvision's file names) know their model too.
    let name = src.model ?? publishedWeightsOf(src.weights)?.model;
    let options = src.modelOptions ?? {};
    // A mobilezoo safetensors knows its model: it fills in the name and, for that model, the options.
    const record = await weightsRecord(src.weights);
    if (!name && !record) throw new Error(`--model is required with --weights ${src.weights} (which model are these weights for?)`);
    if (record && (!name || name === record.model.name)) {
      name = record.model.name;
      options = { ...record.model.options, ...options };
    }
    const model = createModel(name!, options);
    const sd = await loadStateDictFile(src.weights);
    model.loadStateDict(sd, { source: src.weights });
    return { model, source: resolve(src.weights), record: record && name === record.model.name ? record : undefined };
  }
  if (!src.model) throw new Error('give a checkpoint, weights with a model, or a model');
  return { model: createModel(src.model, src.modelOptions ?? {}), source: 'random initialization' };
}
