/** Reopening a model's dataset for evaluation or calibration. */
import { resolve } from 'node:path';
import { DATASET_INFO, type Dataset, type OpenDatasetOptions, type Split, isDatasetName, openDataset } from '../data/index.js';
import type { Preprocessing } from '../data/preprocessing.js';
import type { CheckpointRecord } from './checkpoints.js';

/** The dataset a model was trained on, as its checkpoint (or an exported model's metadata) records it. */
export type TrainedOn = Pick<CheckpointRecord['dataset'], 'name' | 'options' | 'trainSize' | 'testSize'>;

/**
 * A split of a dataset for a model: a checkpoint's own dataset reopens with its recorded options (the
 * same folder split, the same synthetic set); a folder is decoded as the model's training images were
 * (`source`), so its preprocessing applies unchanged; any other root/<class> folder is all test images.
 */
export async function openModelSplit(name: string, split: Split, o: { dataDir?: string; download?: boolean; record?: { dataset: TrainedOn }; source?: Preprocessing['source']; size?: number; onNote?: (m: string) => void }): Promise<Dataset> {
  if (!isDatasetName(name)) throw new Error(`unknown dataset '${name}'; known: ${Object.keys(DATASET_INFO).join(', ')}`);
  const same = o.record?.dataset.name === name;
  const opts: OpenDatasetOptions & Record<string, unknown> = same ? { ...o.record!.dataset.options } : {};
  opts.download = o.download ?? false;
  opts.progress = true;
  if (o.dataDir) opts.dir = resolve(o.dataDir);
  if (name === 'synthetic') {
    if (!same) Object.assign(opts, { size: o.size ?? 32, seed: 0, numClasses: 10 });
    else opts.length = split === 'test' ? o.record!.dataset.testSize : o.record!.dataset.trainSize;
  }
  if (name === 'folder') {
    if (o.dataDir) opts.root = resolve(o.dataDir);
    if (!opts.root) throw new Error('the folder dataset needs --data DIR');
    if (split === 'test' && opts.root !== o.record?.dataset.options.root) opts.testFraction = 1;
    // Images are stored as the model's training images were: the preprocessing then applies unchanged.
    opts.size = o.source ? [o.source.height, o.source.width] : o.size ?? 224;
    opts.channels = o.source?.channels ?? 3;
  }
  return openDataset(name, split, { ...opts, onNote: o.onNote });
}
