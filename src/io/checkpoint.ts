/** Loading state dicts from checkpoint files (the bytes: state-dict-bytes.ts), and writing files atomically. */

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StateDict } from '../tensor.js';
import { checkHubHash } from './hub-hash.js';
import { loadCheckpoint } from './state-dict-bytes.js';
import { writePth } from './pth-writer.js';
import { writeSafetensors } from './safetensors.js';

export interface LoadStateDictFileOptions {
  /** Check the sha256 prefix a torchvision-style name carries (`<name>-<hex>.pth`; see hubHashPrefix). Default true. */
  checkHash?: boolean;
}

export async function loadStateDictFile(path: string, options: LoadStateDictFileOptions = {}): Promise<StateDict> {
  const buffer = await readFile(path);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (options.checkHash ?? true) checkHubHash(bytes, path);
  return loadCheckpoint(bytes, path);
}

/**
 * Writes `bytes` to a temporary file beside `path` (creating its folder), fsyncs it and renames it
 * over `path`, so readers see either the old file or the complete new one.
 */
export async function saveFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fh: FileHandle | undefined;
  let done = false;
  try {
    fh = await open(tmp, 'wx');
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
    done = true;
  } finally {
    if (!done) {
      await fh?.close().catch(() => {});
      await rm(tmp, { force: true });
    }
  }
  // Persist the rename itself; directories cannot be fsynced on every platform.
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    /* best effort */
  }
}

/** Writes `sd` as a torch.save zip checkpoint to `path` atomically. */
export async function savePthFile(path: string, sd: StateDict): Promise<void> {
  await saveFileAtomic(path, writePth(sd));
}

/** Writes `sd` as safetensors to `path` atomically. */
export async function saveSafetensorsFile(path: string, sd: StateDict, metadata?: Record<string, string>): Promise<void> {
  await saveFileAtomic(path, writeSafetensors(sd, metadata));
}
