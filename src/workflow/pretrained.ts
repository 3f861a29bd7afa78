/**
 * Fine-tuning from published or earlier weights (`mobilezoo train --pretrained FILE`), as timm's
 * `create_model(pretrained=True, num_classes=N)`: every tensor whose name and shape match is loaded, the
 * rest (the classifier, when the class count differs) keeps the model's own initialization; the input
 * size, grayscale handling and normalization default to the source's (its checkpoint record, or
 * ImageNet's 224 and mean/std for a 1000-class state dict, with the resize of PUBLISHED_WEIGHTS for
 * torchvision's files), and the model and its options to a checkpoint's (or a published file's model).
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { imagenetPreprocessing } from '../data/preprocessing.js';
import { openStateDictFile } from '../io/checkpoint.js';
import { openCheckpoint } from '../io/state-dict-bytes.js';
import { checkHubHash } from '../io/hub-hash.js';
import { readInputFile, withInputFile } from '../io/input-file.js';
import { MAX_CHECKPOINT_BYTES, ReadBudget } from '../io/limits.js';
import { publishedWeightsOf } from '../models/published-weights.js';
import type { Module } from '../nn/module.js';
import { checkpointFile, readCheckpointRecord, resolveCheckpoint } from './checkpoints.js';
import type { PretrainedSource } from './config.js';

/** Reads what is needed to plan a run from a pretrained file: a checkpoint-*.json (or its run folder), or a state dict (.pth, .pth.tar, .safetensors). */
export async function inspectPretrained(file: string, o: { checkHash?: boolean } = {}): Promise<PretrainedSource> {
  const resolved = resolveCheckpoint(file);
  const abs = resolve(resolved);
  const bytes = await readInputFile(resolved, MAX_CHECKPOINT_BYTES, 'a pretrained file');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (abs.endsWith('.json')) {
    const { record, path } = await readCheckpointRecord(abs);
    const { numClasses: _n, seed: _s, ...modelOptions } = record.model.options;
    const weights = checkpointFile(record, path, record.files.ema !== undefined ? 'ema' : 'weights');
    await withInputFile(weights, async () => {}); // there, a regular file, in the record's folder
    return {
      file: abs, sha256, kind: 'checkpoint', model: record.model.name, modelOptions, numClasses: record.model.numClasses,
      classNames: record.dataset.classNames, preprocessing: record.preprocessing,
      weights: weights.path,
    };
  }
  if (o.checkHash ?? true) checkHubHash(bytes, abs);
  // Only the shapes are needed: no tensor is read.
  const shapes = [...openCheckpoint(bytes, abs).values()].map((t) => t.shape);
  const matrices = shapes.filter((shape) => shape.length === 2);
  const numClasses = matrices[matrices.length - 1]?.[0];
  const published = publishedWeightsOf(abs);
  const preprocessing = published ? imagenetPreprocessing(published.crop, published.resize) : numClasses === 1000 ? imagenetPreprocessing(224) : undefined;
  return { file: abs, sha256, kind: 'state dict', ...(published ? { model: published.model } : {}), numClasses, ...(preprocessing ? { preprocessing } : {}), weights: abs };
}

export interface PretrainedLoad {
  /** Tensors loaded from the file, by name. */
  loaded: string[];
  /** The model's tensors that kept their own initialization (absent from the file, or shaped differently). */
  reinitialized: string[];
  /** Tensors of the file the model does not have. */
  unexpected: string[];
}

/** Loads the matching tensors of a pretrained source into a freshly initialized model. */
export async function loadPretrained(model: Module, src: PretrainedSource): Promise<PretrainedLoad> {
  // A checkpoint's weights file stays confined to the record's folder; only tensors that match by name and shape are read.
  const file = src.kind === 'checkpoint' ? { path: src.weights, folder: dirname(src.weights) } : src.weights;
  const sd = await openStateDictFile(file, { budget: ReadBudget.forShapes(model.stateDict().values()) });
  const report = model.loadStateDict(sd, { strict: false, source: src.file });
  const mismatched = new Set(report.mismatched.map((m) => m.key));
  const loaded = [...sd.keys()].filter((k) => !mismatched.has(k) && !report.unexpected.includes(k));
  const parameters = model.namedParameters().map(([n]) => n);
  if (!parameters.some((n) => loaded.includes(n))) {
    throw new Error(
      `--pretrained ${src.file}: no parameter matches ${model.typeName} by name and shape ` +
        `(${report.mismatched.length} shape mismatches, ${report.unexpected.length} unknown names: is it a checkpoint of another model or other options?)`,
    );
  }
  return { loaded, reinitialized: [...report.missing, ...report.mismatched.map((m) => m.key)], unexpected: report.unexpected };
}

/** "features.0-18 (312), classifier.1 (2)": tensor names grouped by module, for one log line. */
export function summarizeTensorNames(names: string[]): string {
  const groups = new Map<string, { first: string; last: string; count: number }>();
  for (const n of names) {
    const parts = n.split('.');
    const top = parts[0]!;
    const index = parts.length > 2 && /^\d+$/.test(parts[1]!) ? parts[1]! : undefined;
    const g = groups.get(top);
    if (!g) groups.set(top, { first: index ?? '', last: index ?? '', count: 1 });
    else {
      g.count++;
      if (index !== undefined) g.last = index;
    }
  }
  return [...groups]
    .map(([top, g]) => `${top}${g.first && g.last && g.first !== g.last ? `.${g.first}-${g.last}` : g.first ? `.${g.first}` : ''} (${g.count})`)
    .join(', ');
}
