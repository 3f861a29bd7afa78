/** Reading torch.save checkpoints in either format: zip (PyTorch >= 1.6) or legacy. */

import { type LazyStateDict, type LazyTensor, type StateDict, Tensor } from '../tensor.js';
import { MAX_CHECKPOINT_BYTES, ReadBudget } from './limits.js';
import { describe } from './pickle.js';
import { isLegacyTorchSave, openLegacyCheckpointObject } from './pth-legacy.js';
import { isTarArchive, refuseTarArchive } from './pth-tar.js';
import { isZip, openZipCheckpointObject } from './pth-zip.js';
import { TensorPlan, materializeTensors } from './torch-pickle.js';

export { MAX_CHECKPOINT_BYTES };

/** The file's start says it is torch.save output of some format (zip, legacy pickle, or the old tar). */
export function isTorchSave(bytes: Uint8Array): boolean {
  return isZip(bytes) || isLegacyTorchSave(bytes) || isTarArchive(bytes);
}

/** The object torch.save pickled, its tensors TensorPlans (read on demand, charged to `budget`). */
export function openCheckpointObject(bytes: Uint8Array, fileName: string, budget: ReadBudget): unknown {
  if (isZip(bytes)) return openZipCheckpointObject(bytes, fileName, budget);
  if (isLegacyTorchSave(bytes)) return openLegacyCheckpointObject(bytes, fileName, budget);
  if (isTarArchive(bytes)) refuseTarArchive(bytes, fileName);
  throw new Error(`${fileName}: not a torch.save checkpoint (neither a zip archive, 'PK', nor a legacy pickle, 0x80)`);
}

/**
 * The object torch.save pickled (usually an OrderedDict of tensors, sometimes a dict
 * wrapping one), with dicts as Maps and tensors as contiguous host Tensors.
 */
export function readCheckpointObject(bytes: Uint8Array, fileName: string): unknown {
  return materializeTensors(openCheckpointObject(bytes, fileName, ReadBudget.global()));
}

const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model'];
/** Wrappers nest one or two deep in real checkpoints ({'model': {'state_dict': ...}} at most). */
const MAX_WRAPPER_DEPTH = 8;

const isTensor = (v: unknown): v is LazyTensor => v instanceof Tensor || v instanceof TensorPlan;

/**
 * The state dict inside a checkpoint object: the object itself when it is a dict of
 * tensors, else the dict under `state_dict` / `model_state_dict` / `model`, a few levels deep at most
 * (a dict that contains itself is refused, not followed forever).
 */
export function stateDictFromObject(obj: unknown, fileName: string): Map<string, LazyTensor> {
  let d = obj;
  const path: string[] = [];
  const seen = new Set<unknown>();
  for (;;) {
    const where = path.length ? ` under ${path.map((k) => `'${k}'`).join(' → ')}` : '';
    if (!(d instanceof Map)) throw new Error(`${fileName}: expected a dict of tensors${where}, got ${describe(d)}`);
    if (seen.has(d)) throw new Error(`${fileName}: the dict${where} contains itself; not a state dict`);
    seen.add(d);
    const onlyTensors = [...d.values()].every(isTensor);
    const key = WRAPPER_KEYS.find((k) => d instanceof Map && d.get(k) instanceof Map);
    if (onlyTensors || key === undefined) break;
    if (path.length >= MAX_WRAPPER_DEPTH) throw new Error(`${fileName}: state dict wrapped more than ${MAX_WRAPPER_DEPTH} dicts deep${where}; refusing`);
    path.push(key);
    d = d.get(key);
  }
  const sd = new Map<string, LazyTensor>();
  for (const [k, v] of d) {
    if (typeof k !== 'string') throw new Error(`${fileName}: state dict key ${describe(k)} is not a string`);
    if (!isTensor(v)) throw new Error(`${fileName}: state dict entry '${k}' is ${describe(v)}, not a tensor`);
    sd.set(k, v);
  }
  return sd;
}

/** The state dict of a torch.save checkpoint, tensors not read yet (see openCheckpointObject). */
export function openPth(bytes: Uint8Array, fileName: string, budget: ReadBudget): LazyStateDict {
  return stateDictFromObject(openCheckpointObject(bytes, fileName, budget), fileName);
}

/** Every tensor of a lazy state dict, read. */
export function readAll(sd: LazyStateDict): StateDict {
  return new Map([...sd].map(([k, t]) => [k, t.read()]));
}

/** The state dict in a torch.save checkpoint of either format (unwrapping `{'state_dict': ...}`-style dicts; keys as stored). */
export function readPth(bytes: Uint8Array, fileName: string): StateDict {
  return readAll(openPth(bytes, fileName, ReadBudget.global()));
}
