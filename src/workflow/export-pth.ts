/** `mobilezoo export --pth`: a network's state dict as a torch.save zip file, with the reference implementations' key names. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { savePthFile } from '../io/checkpoint.js';
import { refuseOutputsOverInputs } from '../io/output-guard.js';
import { type ClassifierSource, classifierInputs } from './classifier.js';
import { openNetworkClassifier } from './export.js';

export interface ExportPthOptions extends ClassifierSource {
  /** Output .pth path. */
  out: string;
}

export interface ExportPthResult {
  path: string;
  bytes: number;
  /** Entries of the state dict (parameters and buffers, num_batches_tracked included). */
  tensors: number;
  model: string;
  weights: string;
}

/**
 * Writes `network.stateDict()` of the checkpoint, weights or model (with an EMA checkpoint, the EMA
 * weights, as loadModel gives them unless `ema: false`), readable by `torch.load(path, weights_only=True)`
 * and loadable into torchvision's / megvii's module of the same configuration.
 */
export async function exportPth(o: ExportPthOptions): Promise<ExportPthResult> {
  refuseOutputsOverInputs([{ path: o.out, what: 'the .pth output' }], await classifierInputs(o));
  const c = await openNetworkClassifier(o);
  try {
    const sd = c.network.stateDict();
    const path = resolve(o.out);
    await savePthFile(path, sd);
    return { path, bytes: (await stat(path)).size, tensors: sd.size, model: c.model, weights: c.weights };
  } finally {
    await c.dispose();
  }
}
