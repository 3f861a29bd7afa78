/**
 * A state dict from checkpoint bytes of either format, torch.save or safetensors (no file system: Node
 * and browsers).
 */
import type { LazyStateDict, LazyTensor, StateDict } from '../tensor.js';
import { ReadBudget } from './limits.js';
import { isTorchSave, openPth, readAll } from './pth.js';
import { openSafetensors } from './safetensors.js';

/** The prefix nn.DataParallel (and megvii's training scripts) put on every key. */
const DATA_PARALLEL_PREFIX = 'module.';

/** safetensors: an 8-byte header length then JSON ('{'); its first byte may be anything, 0x80 included. */
export function looksLikeSafetensors(first: Uint8Array): boolean {
  return first.length > 8 && first[8] === 0x7b && !(first[0] === 0x50 && first[1] === 0x4b);
}

/**
 * The state dict in checkpoint bytes, tensors not read yet, format chosen by content: a zip ('PK'), a
 * pickle (the legacy format) or a tar archive is torch.save, anything else must be safetensors. Wrapper
 * dicts (`{'state_dict': ...}`, `{'model': ...}`) are unwrapped and a `module.` prefix shared by every
 * key is removed. Reading a tensor is charged to `budget` (by default the global one): give the budget
 * of the model the tensors are for, and check names and shapes before reading (Module.loadStateDict does).
 */
export function openCheckpoint(bytes: Uint8Array, fileName: string, budget = ReadBudget.global()): LazyStateDict {
  const sd = !looksLikeSafetensors(bytes) && isTorchSave(bytes) ? openPth(bytes, fileName, budget) : openSafetensors(bytes, fileName, budget);
  const keys = [...sd.keys()];
  return keys.length > 0 && keys.every((k) => k.startsWith(DATA_PARALLEL_PREFIX)) ? stripPrefix(sd, DATA_PARALLEL_PREFIX) : sd;
}

/** A state dict from checkpoint bytes, every tensor read (see openCheckpoint). */
export function loadCheckpoint(bytes: Uint8Array, fileName: string): StateDict {
  return readAll(openCheckpoint(bytes, fileName));
}

/** A copy of `sd` with `prefix` removed from the keys that start with it (same tensors, same order). */
export function stripPrefix<T extends LazyTensor>(sd: ReadonlyMap<string, T>, prefix: string): Map<string, T> {
  const out = new Map<string, T>();
  for (const [k, t] of sd) {
    const name = k.startsWith(prefix) ? k.slice(prefix.length) : k;
    if (out.has(name)) throw new Error(`stripPrefix: removing '${prefix}' makes two keys '${name}'`);
    out.set(name, t);
  }
  return out;
}
