/**
 * Training checkpoints on disk: the files of checkpoint-record.ts (the record and its tensors), written
 * tensors first and the JSON last, all atomically, so a JSON that exists always describes complete
 * files; read back, and the model of a checkpoint or weights file. File names in the record are
 * relative to the JSON's folder, so a run folder can be moved.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type StagedFile, saveFileAtomic, stageFile } from '../io/atomic.js';
import { openStateDictFile, readSafetensorsFileMetadata } from '../io/checkpoint.js';
import { type InputFile, readInputText, referencedFile } from '../io/input-file.js';
import { ReadBudget } from '../io/limits.js';
import type { Network } from '../models/network.js';
import { publishedWeightsOf } from '../models/published-weights.js';
import type { Preprocessing } from '../data/preprocessing.js';
import { type CheckpointRecord, type CheckpointTensors, checkpointFiles, checkpointNames, parseCheckpointRecord } from './checkpoint-record.js';
import { buildModel } from './model-memory.js';

export * from './checkpoint-record.js';
export type { Preprocessing };

/**
 * A checkpoint given by its JSON, or by its run folder: the folder's checkpoint-best.json (the epoch the
 * validation split chose), else its checkpoint-last.json.
 */
export function resolveCheckpoint(path: string): string {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return path; // readCheckpointRecord names what is missing
  }
  if (!isDir) return path;
  for (const tag of ['best', 'last']) {
    const json = checkpointPaths(path, tag).json;
    if (existsSync(json)) return json;
  }
  const found = readdirSync(path).filter((f) => /^checkpoint-.*\.json$/.test(f)).sort();
  throw new Error(`${path}: a folder without checkpoint-best.json or checkpoint-last.json${found.length ? `; it has ${found.join(', ')}: give one of them` : ' (not a training run folder)'}`);
}

export function checkpointPaths(dir: string, tag: string): { json: string; weights: string; optimizer: string; ema: string } {
  const n = checkpointNames(tag);
  return { json: join(dir, n.json), weights: join(dir, n.weights), optimizer: join(dir, n.optimizer), ema: join(dir, n.ema) };
}

/**
 * Writes one checkpoint; returns the JSON's path. The tensor files are written in full under temporary
 * names first; then a previous checkpoint of the same tag loses its JSON, the tensor files are renamed
 * into place and the new JSON is written last: a JSON always describes the files beside it, and a run
 * killed at any moment leaves either the old checkpoint, the new one, or (in the moment of the renames)
 * tensor files without a JSON, which are never taken for a checkpoint.
 */
export async function writeCheckpoint(dir: string, record: Omit<CheckpointRecord, 'files'>, tensors: CheckpointTensors): Promise<string> {
  const files = checkpointFiles(record, tensors);
  const json = files.pop()!;
  const jsonPath = join(dir, json.name);
  const staged: StagedFile[] = [];
  try {
    for (const f of files) staged.push(await stageFile(join(dir, f.name), f.bytes));
  } catch (e) {
    for (const st of staged) await st.discard();
    throw e;
  }
  await rm(jsonPath, { force: true });
  for (const st of staged) await st.commit();
  await saveFileAtomic(jsonPath, json.bytes);
  return jsonPath;
}

/** The files of checkpoint `tag` in dir, by their names (for the manifest of a run folder). */
export function checkpointFileNames(tag: string, ema: boolean): string[] {
  const p = checkpointPaths('', tag);
  return [p.weights, p.optimizer, ...(ema ? [p.ema] : []), p.json];
}

/**
 * Reads a checkpoint record: a `checkpoint-*.json`, or a `.safetensors` written by mobilezoo (whose
 * metadata holds the record; only its header is read). Returns the record and the folder its file
 * names are relative to.
 *
 * The JSON is a checkpoint's commit point (writeCheckpoint writes it last): a `.safetensors` is taken
 * for its checkpoint only when the JSON beside it records the same save; otherwise (a save cut short,
 * or a file copied on its own) it is a weights file with its record, and its record names no other
 * file (`committed: false`; such a file cannot be resumed from).
 */
export async function readCheckpointRecord(path: string): Promise<{ record: CheckpointRecord; dir: string; path: string; committed: boolean }> {
  const abs = resolve(path);
  if (!abs.endsWith('.safetensors')) {
    return { record: parseCheckpointRecord(parseRecordJson(await readInputText(abs), path), path), dir: dirname(abs), path: abs, committed: true };
  }
  const meta = await readSafetensorsFileMetadata(abs);
  if (!meta.mobilezoo) throw new Error(`${path}: safetensors without a mobilezoo record in its metadata; use --weights with --model instead`);
  const record = parseCheckpointRecord(parseRecordJson(meta.mobilezoo, `${path}: metadata "mobilezoo"`), path);
  const json = checkpointPaths(dirname(abs), record.tag).json;
  const committed = await readInputText(json).then((t) => JSON.parse(t) as CheckpointRecord, () => undefined);
  const name = basename(abs);
  if (committed && committed.createdAt === record.createdAt && (committed.files?.weights === name || committed.files?.ema === name)) {
    return { record: parseCheckpointRecord(committed, json), dir: dirname(abs), path: json, committed: true };
  }
  return { record: { ...record, files: { weights: name, optimizer: '' } }, dir: dirname(abs), path: abs, committed: false };
}

/** A checkpoint to resume from: its JSON, or a `.safetensors` whose JSON records the same save. */
export async function readResumableCheckpoint(path: string): Promise<{ record: CheckpointRecord; dir: string; path: string }> {
  const r = await readCheckpointRecord(path);
  if (!r.committed) {
    throw new Error(`${path}: not a complete checkpoint (no ${basename(checkpointPaths('', r.record.tag).json)} beside it records this save; it may have been cut short); resume from a checkpoint-*.json`);
  }
  return r;
}

function parseRecordJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message}); pass the checkpoint-*.json file`);
  }
}

/**
 * One of the tensor files a checkpoint record names (`files.weights`, `files.optimizer`, `files.ema`):
 * a plain file name in the record's folder (see referencedFile).
 */
export function checkpointFile(record: CheckpointRecord, path: string, field: keyof CheckpointRecord['files']): InputFile {
  return referencedFile(path, `files.${field}`, record.files[field]);
}

/** The safetensors metadata record of a weights file, if mobilezoo wrote it (else undefined; only the header is read). */
export async function weightsRecord(path: string): Promise<CheckpointRecord | undefined> {
  if (!path.endsWith('.safetensors')) return undefined;
  let meta: Record<string, string>;
  try {
    meta = await readSafetensorsFileMetadata(path);
  } catch {
    return undefined; // not readable as safetensors: loading it will say why
  }
  return meta.mobilezoo ? parseCheckpointRecord(parseRecordJson(meta.mobilezoo, `${path}: metadata "mobilezoo"`), path) : undefined;
}

/** The output rows of the weights' tensor for the model's last Linear layer, if the weights hold it. */
function classifierRows(model: Network, sd: ReadonlyMap<string, { shape: readonly number[] }>): number | undefined {
  const linears = [...model.modules()].filter(([, m]) => m.typeName === 'Linear');
  const last = linears[linears.length - 1];
  const w = last ? sd.get(`${last[0]}.weight`) : undefined;
  return w && w.shape.length === 2 ? w.shape[0] : undefined;
}

export interface LoadedModel {
  model: Network;
  /** Where its weights came from ('random initialization' when none). */
  source: string;
  record?: CheckpointRecord;
}

export interface ModelSource {
  /** A checkpoint-*.json (or a mobilezoo .safetensors), or a run folder (its best checkpoint, else its last). */
  checkpoint?: string;
  /** A state dict file (.pth/.pt/.bin from torch.save, or .safetensors). */
  weights?: string;
  /** Model name: required with `weights` (unless it is a mobilezoo safetensors), overrides the checkpoint's. */
  model?: string;
  /** createModel options for `model` (with a checkpoint: merged over the checkpoint's own). */
  modelOptions?: Record<string, unknown>;
  /** With a checkpoint trained with EMA: load the EMA weights (default true; they are what was evaluated). */
  ema?: boolean;
  /** Check a torchvision-style file name's sha256 prefix against the weights file (default true). */
  checkHash?: boolean;
}

/**
 * A network with weights from a checkpoint, a weights file or none (random init). Weights must match
 * the network exactly; otherwise loadStateDict's error names the missing / unexpected / mismatched keys.
 */
export async function loadModel(src: ModelSource): Promise<LoadedModel> {
  if (src.checkpoint && src.weights) throw new Error('give either a checkpoint or weights, not both');
  if (src.checkpoint) {
    const { record, path } = await readCheckpointRecord(resolveCheckpoint(src.checkpoint));
    const name = src.model ?? record.model.name;
    const options = src.model && src.model !== record.model.name
      ? { numClasses: record.model.numClasses, ...(src.modelOptions ?? {}) }
      : { ...record.model.options, ...(src.modelOptions ?? {}) };
    const model = buildModel(name, options, src.model ? undefined : `${path}: model`);
    const useEma = (src.ema ?? true) && record.files.ema !== undefined;
    const file = checkpointFile(record, path, useEma ? 'ema' : 'weights');
    await loadWeights(model, file);
    return { model, source: `${path}${useEma ? ' (EMA weights)' : ''}`, record };
  }
  if (src.weights) {
    // Published weights (torchvision's file names) know their model too.
    let name = src.model ?? publishedWeightsOf(src.weights)?.model;
    let options = src.modelOptions ?? {};
    // A mobilezoo safetensors knows its model: it fills in the name and, for that model, the options.
    const record = await weightsRecord(src.weights);
    if (!name && !record) throw new Error(`--model is required with --weights ${src.weights} (which model are these weights for?)`);
    const fromRecord = record !== undefined && (!name || name === record.model.name);
    if (fromRecord) {
      name = record.model.name;
      options = { ...record.model.options, ...options };
    }
    const what = fromRecord ? `${src.weights}: metadata model` : undefined;
    let model = buildModel(name!, options, what);
    // Without a class count, the classifier's weight says it (a model fine-tuned elsewhere, brought back); only shapes are read.
    const classes = options.numClasses === undefined ? classifierRows(model, await openStateDictFile(src.weights, { checkHash: src.checkHash })) : undefined;
    if (classes !== undefined && classes !== model.numClasses) model = buildModel(name!, { ...options, numClasses: classes }, what);
    await loadWeights(model, src.weights, { checkHash: src.checkHash });
    return { model, source: resolve(src.weights), record: record && name === record.model.name ? record : undefined };
  }
  if (!src.model) throw new Error('give a checkpoint, weights with a model, or a model');
  return { model: buildModel(src.model, src.modelOptions ?? {}), source: 'random initialization' };
}

/**
 * Loads a weights file into `model` exactly: names and shapes are checked before any tensor is read,
 * and reading may take no more than the model's own tensors need (ReadBudget.forShapes).
 */
export async function loadWeights(model: Network, file: string | InputFile, o: { checkHash?: boolean } = {}): Promise<void> {
  const sd = await openStateDictFile(file, { budget: ReadBudget.forShapes(model.stateDict().values()), checkHash: o.checkHash });
  model.loadStateDict(sd, { source: typeof file === 'string' ? file : file.path });
}
