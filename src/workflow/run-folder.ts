/**
 * The folder of a training run as an OutputFolder: locked while the run writes it, cleaned of what a
 * killed run left (temporary files; the tensor files of a checkpoint whose JSON was never written), and
 * refusing to replace files of the names a run writes that are not a mobilezoo run's own.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputFolder } from '../io/output-folder.js';
import { checkpointPaths, readCheckpointRecord } from './checkpoints.js';

/** What a training run writes into its folder. */
const RUN_FILE = /^(metrics\.csv|steps\.csv|report\.html|(loss|accuracy|confusion|lr|steps)\.(svg|png)|checkpoint-.+\.(json|safetensors))$/;

export function isRunFile(relPath: string): boolean {
  return RUN_FILE.test(relPath);
}

/** `checkpoint-<tag>[.optim|.ema].safetensors` → tag. */
const CHECKPOINT_TENSORS = /^checkpoint-(.+?)(\.optim|\.ema)?\.safetensors$/;

export async function openRunFolder(dir: string, o: { command: string; log?: (m: string) => void }): Promise<OutputFolder> {
  const folder = await OutputFolder.open(dir, { command: o.command, writes: isRunFile, writtenBeforeManifests: () => holdsMobilezooCheckpoint(dir), log: o.log });
  try {
    const orphans = folder.files.filter((f) => {
      const m = CHECKPOINT_TENSORS.exec(f);
      return m && !existsSync(checkpointPaths(dir, m[1]!).json) && existsSync(join(dir, f));
    });
    const removed: string[] = [];
    for (const f of orphans) if (await folder.removeOwn(f)) removed.push(f);
    if (removed.length) o.log?.(`${dir}: removed ${removed.join(', ')}: the tensor files of a checkpoint whose save did not finish (no JSON)`);
    return folder;
  } catch (e) {
    await folder.close();
    throw e;
  }
}

/** True when a checkpoint JSON in `dir` reads as a mobilezoo checkpoint record (a run folder from before manifests). */
async function holdsMobilezooCheckpoint(dir: string): Promise<boolean> {
  const jsons = (await readdir(dir).catch(() => [] as string[])).filter((f) => /^checkpoint-.+\.json$/.test(f));
  for (const f of jsons) {
    try {
      await readCheckpointRecord(join(dir, f));
      return true;
    } catch {
      // not ours, or unreadable: it stays foreign
    }
  }
  return false;
}
