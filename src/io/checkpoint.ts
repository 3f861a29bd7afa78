/**
 * Loading state dicts from checkpoint files (the bytes: state-dict-bytes.ts), and writing them
 * (atomically: src/io/atomic.ts).
 */
import type { LazyStateDict, StateDict } from '../tensor.js';
import { saveFileAtomic } from './atomic.js';
import { checkHubHash } from './hub-hash.js';
import { type InputFile, type OpenInputFile, withInputFile } from './input-file.js';
import { ReadBudget } from './limits.js';
import { readAll } from './pth.js';
import { writePth } from './pth-writer.js';
import { parseSafetensorsHeader, safetensorsHeaderLength, writeSafetensors, type SafetensorsHeader } from './safetensors.js';
import { looksLikeSafetensors, openCheckpoint } from './state-dict-bytes.js';

export { saveFileAtomic };

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

/** Writes `sd` as a torch.save zip checkpoint to `path` atomically. */
export async function savePthFile(path: string, sd: StateDict): Promise<void> {
  await saveFileAtomic(path, writePth(sd));
}

/** Writes `sd` as safetensors to `path` atomically. */
export async function saveSafetensorsFile(path: string, sd: StateDict, metadata?: Record<string, string>): Promise<void> {
  await saveFileAtomic(path, writeSafetensors(sd, metadata));
}
