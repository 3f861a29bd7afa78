/** Reading torch.save checkpoints in either format: zip (PyTorch >= 1.6) or legacy. */

import { Tensor, type StateDict } from '../tensor.js';
import { describe } from './pickle.js';
import { isLegacyTorchSave, readLegacyCheckpointObject } from './pth-legacy.js';
import { isTarArchive, refuseTarArchive } from './pth-tar.js';
import { isZip, readZipCheckpointObject } from './pth-zip.js';

export { MAX_CHECKPOINT_BYTES } from './limits.js';

/** The file's start says it is torch.save output of some format (zip, legacy pickle, or the old tar). */
export function isTorchSave(bytes: Uint8Array): boolean {
  return isZip(bytes) || isLegacyTorchSave(bytes) || isTarArchive(bytes);
}

/**
 * The object torch.save pickled (usually an OrderedDict of tensors, sometimes a dict
 * wrapping one), with dicts as Maps and tensors as contiguous host Tensors.
 */
export function readCheckpointObject(bytes: Uint8Array, fileName: string): unknown {
  if (isZip(bytes)) return readZipCheckpointObject(bytes, fileName);
  if (isLegacyTorchSave(bytes)) return readLegacyCheckpointObject(bytes, fileName);
  if (isTarArchive(bytes)) refuseTarArchive(bytes, fileName);
  throw new Error(`${fileName}: not a torch.save checkpoint (neither a zip archive, 'PK', nor a legacy pickle, 0x80)`);
}

const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model'];

/**
 * The state dict inside a checkpoint object: the object itself when it is a dict of
 * tensors, else the dict under `state_dict` / `model_state_dict` / `model`.
 */
export function stateDictFromObject(obj: unknown, fileName: string): StateDict {
  let d = obj;
  for (;;) {
    if (!(d instanceof Map)) throw new Error(`${fileName}: expected a dict of tensors, got ${describe(d)}`);
    const onlyTensors = [...d.values()].every((v) => v instanceof Tensor);
    const key = WRAPPER_KEYS.find((k) => d instanceof Map && d.get(k) instanceof Map);
    if (onlyTensors || key === undefined) break;
    d = d.get(key);
  }
  const sd: StateDict = new Map();
  for (const [k, v] of d) {
    if (typeof k !== 'string') throw new Error(`${fileName}: state dict key ${describe(k)} is not a string`);
    if (!(v instanceof Tensor)) throw new Error(`${fileName}: state dict entry '${k}' is ${describe(v)}, not a tensor`);
    sd.set(k, v);
  }
  return sd;
}

/** The state dict in a torch.save checkpoint of either format (unwrapping `{'state_dict': ...}`-style dicts; keys as stored). */
export function readPth(bytes: Uint8Array, fileName: string): StateDict {
  return stateDictFromObject(readCheckpointObject(bytes, fileName), fileName);
}
