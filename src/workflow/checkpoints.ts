/**
 * Training checkpoints on disk: the files of checkpoint-record.ts (the record and its tensors), written
 * tensors first and the JSON last, all atomically, so a JSON that exists always describes complete
 * files; read back, and the model of a checkpoint or weights file. File names in the record are
 * relative to the JSON's folder, so a run folder can be moved.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadStateDictFile, saveFileAtomic } from '../io/checkpoint.js';
import { readSafetensorsMetadata } from '../io/safetensors.js';
import { createModel } from '../models/registry.js';
import type { Network } from '../models/network.js';
import { publishedWeightsOf } from '../models/published-weights.js';
import type { Preprocessing } from '../data/preprocessing.js';
import { type CheckpointRecord, type CheckpointTensors, checkpointFileNames, checkpointFiles, parseCheckpointRecord } from './checkpoint-record.js';

export * from './checkpoint-record.js';
export type { Preprocessing };

export function checkpointPaths(dir: string, tag: string): { json: string; weights: string; optimizer: string; ema: string } {
  const n = checkpointFileNames(tag);
  return { json: join(dir, n.json), weights: join(dir, n.weights), optimizer: join(dir, n.optimizer), ema: join(dir, n.ema) };
}

/** Writes one checkpoint (the files of checkpointFiles, in their order, each atomically); returns the JSON's path. */
export async function writeCheckpoint(
  dir: string,
  record: Omit<CheckpointRecord, 'files'>,
  tensors: CheckpointTensors,
): Promise<string> {
  const files = checkpointFiles(record, tensors);
  for (const f of files) await saveFileAtomic(join(dir, f.name), f.bytes);
  return join(dir, files[files.length - 1]!.name);
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
  return { record: parseCheckpointRecord(parsed, path), dir: dirname(abs), path: abs };
}

/** The safetensors metadata record of a weights file, if mobilezoo wrote it (else undefined). */
export async function weightsRecord(path: string): Promise<CheckpointRecord | undefined> {
  if (!path.endsWith('.safetensors')) return undefined;
  try {
    const bytes = await readFile(path);
    const meta = readSafetensorsMetadata(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
    return meta.mobilezoo ? parseCheckpointRecord(JSON.parse(meta.mobilezoo), path) : undefined;
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
