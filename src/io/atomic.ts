/**
 * Every file mobilezoo writes goes through here: written to a temporary sibling
 * (`<name>.tmp-<pid>-<hex>`), fsynced, then renamed over its final name, so a reader (or a run
 * killed half-way) sees the old file or the complete new one, never a torn or empty one. The writer's
 * pid in the temporary name tells the next run whether the writer is dead (removeDeadTemps).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** `<name>.tmp-<pid>-<12 hex>`: the temporary name of a file or folder being written. */
const TEMP_NAME = /^(.+)\.tmp-(\d+)-[0-9a-f]{12}$/;

/** A temporary name beside `path`, marked with this process's pid. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** The pid that wrote a temporary name, or undefined when `name` is not one. */
export function tempWriterPid(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[2]) : undefined;
}

/** True while a process with this pid runs (on this machine). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A failed write, naming the file: `cannot write <path>: no space left on device (ENOSPC)`. */
export class WriteError extends Error {
  readonly path: string;
  readonly code?: string;
  constructor(path: string, cause: unknown) {
    const e = cause as NodeJS.ErrnoException;
    const reason = e?.code === 'ENOSPC' ? 'no space left on device' : e?.code === 'EDQUOT' ? 'disk quota exceeded' : (e?.message ?? String(cause)).replace(/^[A-Z]+: /, '').replace(/, \w+( '[^']*')?( -> '[^']*')?$/, '');
    super(`cannot write ${path}: ${reason}${e?.code ? ` (${e.code})` : ''}`, { cause });
    this.name = 'WriteError';
    this.path = path;
    this.code = e?.code;
  }
}

/** A file written to its temporary name, not yet under its final one. */
export interface StagedFile {
  readonly path: string;
  readonly tmp: string;
  /** Renames it over `path` (and makes the rename durable). */
  commit(): Promise<void>;
  /** Removes the temporary file. */
  discard(): Promise<void>;
}

/**
 * Writes `data` to a fsynced temporary sibling of `path` (creating its folder); commit() renames it into
 * place. The temporary siblings of `path` that a killed writer left are removed first, so a single-file
 * output (export --onnx, quantize --out, ...) does not collect them run after run.
 */
export async function stageFile(path: string, data: Uint8Array | string): Promise<StagedFile> {
  const tmp = tempPathFor(path);
  let fh: FileHandle | undefined;
  try {
    await mkdir(dirname(path), { recursive: true });
    await removeDeadTempSiblings(path);
    fh = await open(tmp, 'wx');
    await fh.writeFile(data);
    await fh.sync();
    await fh.close();
    fh = undefined;
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw new WriteError(path, e);
  }
  return {
    path,
    tmp,
    async commit() {
      try {
        await rename(tmp, path);
      } catch (e) {
        await rm(tmp, { force: true }).catch(() => {});
        throw new WriteError(path, e);
      }
      await syncFolder(dirname(path));
    },
    discard: () => rm(tmp, { force: true }),
  };
}

/**
 * Writes `data` to a temporary file beside `path` (creating its folder), fsyncs it and renames it
 * over `path`, so readers see either the old file or the complete new one. Errors name `path`.
 */
export async function saveFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await (await stageFile(path, data)).commit();
}

/** Persists renames in a folder; folders cannot be fsynced on every platform. */
async function syncFolder(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

/**
 * Removes the temporary files (and folders) in `dir` whose writer is no longer running, or was
 * `deadPid`: what a killed run left behind. Returns their names.
 */
export async function removeDeadTemps(dir: string, o: { deadPid?: number } = {}): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = tempWriterPid(name);
    if (pid === undefined || (pid !== o.deadPid && processAlive(pid))) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** The temporary siblings of `path` (`<name>.tmp-*` in its folder) left by dead writers, removed; returns their paths. */
export async function removeDeadTempSiblings(path: string): Promise<string[]> {
  const dir = dirname(path);
  const name = basename(path);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (!m || m[1] !== name || processAlive(Number(m[2]))) continue;
    await rm(join(dir, n), { recursive: true, force: true });
    removed.push(join(dir, n));
  }
  return removed;
}
