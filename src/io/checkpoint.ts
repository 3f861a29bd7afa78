/** Loading state dicts from either checkpoint format, and writing them (atomically: src/io/atomic.ts). */
import type { LazyStateDict, LazyTensor, StateDict } from '../tensor.js';
import { saveFileAtomic } from './atomic.js';
import { checkHubHash } from './hub-hash.js';
import { type InputFile, type OpenInputFile, withInputFile } from './input-file.js';
import { ReadBudget } from './limits.js';
import { isTorchSave, openPth, readAll } from './pth.js';
import { writePth } from './pth-writer.js';
import { openSafetensors, parseSafetensorsHeader, safetensorsHeaderLength, writeSafetensors, type SafetensorsHeader } from './safetensors.js';

export { saveFileAtomic };

/** The prefix nn.DataParallel (and megvii's training scripts) put on every key. */
const DATA_PARALLEL_PREFIX = 'module.';

/** safetensors: an 8-byte header length then JSON ('{'); its first byte may be anything, 0x80 included. */
function looksLikeSafetensors(first: Uint8Array): boolean {
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

export interface LoadStateDictFileOptions {
  /** Check the sha256 prefix a torchvision-style name carries (`<name>-<hex>.pth`; see hubHashPrefix). Default true. */
  checkHash?: boolean;
  /** What reading may allocate (ReadBudget.forShapes of the model the tensors are for); default the global limit. */
  budget?: ReadBudget;
}

/** A safetensors file's header, read and checked against the file's size before any of its data. */
async function safetensorsHeaderOf(f: OpenInputFile): Promise<SafetensorsHeader> {
  const length = safetensorsHeaderLength(await f.read(0, 8), f.size, f.path);
  return parseSafetensorsHeader(await f.read(8, length), f.size, f.path);
}

/**
 * A state dict file (see openCheckpoint), tensors not read yet: a regular file no larger than the
 * budget, whose safetensors header (when it is one) is checked against the file's size before the
 * rest is read.
 */
export async function openStateDictFile(file: string | InputFile, options: LoadStateDictFileOptions = {}): Promise<LazyStateDict> {
  const budget = options.budget ?? ReadBudget.global();
  return withInputFile(file, async (f) => {
    if (f.size > budget.limit) throw new Error(`${f.path}: ${f.size} bytes is more than the ${budget.limit}-byte budget (${budget.basis}); refusing`);
    const first = await f.read(0, Math.min(f.size, 9));
    if (looksLikeSafetensors(first)) await safetensorsHeaderOf(f);
    const bytes = await f.readAll(budget.limit);
    if (options.checkHash ?? true) checkHubHash(bytes, f.path);
    return openCheckpoint(bytes, f.path, budget);
  });
}

/** A state dict file with every tensor read (see openStateDictFile). */
export async function loadStateDictFile(file: string | InputFile, options: LoadStateDictFileOptions = {}): Promise<StateDict> {
  return readAll(await openStateDictFile(file, options));
}

/** The `__metadata__` of a safetensors file, reading only its header. */
export async function readSafetensorsFileMetadata(file: string | InputFile): Promise<Record<string, string>> {
  return withInputFile(file, async (f) => (await safetensorsHeaderOf(f)).metadata);
}

/**
 * The tensors of `sd` that `expected` names, read after checking that each has the expected shape and
 * that `sd` has no tensor `expected` lacks (`source` names the file in errors). Missing ones are left out.
 */
export function readExpected(sd: LazyStateDict, expected: LazyStateDict, source: string): StateDict {
  for (const [k, t] of sd) {
    const e = expected.get(k);
    if (!e) throw new Error(`${source}: unexpected tensor '${k}' (expected only ${[...expected.keys()].slice(0, 5).join(', ')}, ...)`);
    if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i])) {
      throw new Error(`${source}: tensor '${k}' has shape [${t.shape.join(', ')}], expected [${e.shape.join(', ')}]`);
    }
  }
  return readAll(sd);
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

/** Writes `sd` as a torch.save zip checkpoint to `path` atomically. */
export async function savePthFile(path: string, sd: StateDict): Promise<void> {
  await saveFileAtomic(path, writePth(sd));
}

/** Writes `sd` as safetensors to `path` atomically. */
export async function saveSafetensorsFile(path: string, sd: StateDict, metadata?: Record<string, string>): Promise<void> {
  await saveFileAtomic(path, writeSafetensors(sd, metadata));
}
