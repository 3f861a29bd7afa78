/** A state dict from checkpoint bytes of either format, torch.save or safetensors (no file system: Node and browsers). */

import type { StateDict } from '../tensor.js';
import { isTorchSave, readPth } from './pth.js';
import { readSafetensors } from './safetensors.js';

/** The prefix nn.DataParallel (and megvii's training scripts) put on every key. */
const DATA_PARALLEL_PREFIX = 'module.';

/**
 * A state dict from checkpoint bytes, format chosen by content: a zip ('PK'), a pickle (the
 * legacy format) or a tar archive is torch.save, anything else must be safetensors. Wrapper dicts
 * (`{'state_dict': ...}`, `{'model': ...}`) are unwrapped and a `module.` prefix
 * shared by every key is removed.
 */
export function loadCheckpoint(bytes: Uint8Array, fileName: string): StateDict {
  // safetensors: an 8-byte header length then JSON ('{'); its first byte may be anything, 0x80 included.
  const isSafetensors = bytes.length > 8 && bytes[8] === 0x7b && !(bytes[0] === 0x50 && bytes[1] === 0x4b);
  const sd = !isSafetensors && isTorchSave(bytes) ? readPth(bytes, fileName) : readSafetensors(bytes, fileName);
  const keys = [...sd.keys()];
  return keys.length > 0 && keys.every((k) => k.startsWith(DATA_PARALLEL_PREFIX))
    ? stripPrefix(sd, DATA_PARALLEL_PREFIX)
    : sd;
}

/** A copy of `sd` with `prefix` removed from the keys that start with it (same tensors, same order). */
export function stripPrefix(sd: StateDict, prefix: string): StateDict {
  const out: StateDict = new Map();
  for (const [k, t] of sd) {
    const name = k.startsWith(prefix) ? k.slice(prefix.length) : k;
    if (out.has(name)) throw new Error(`stripPrefix: removing '${prefix}' makes two keys '${name}'`);
    out.set(name, t);
  }
  return out;
}
