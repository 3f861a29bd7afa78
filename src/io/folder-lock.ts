/**
 * One writer per folder: `<dir>/.mobilezoo.lock`, created exclusively, holds the writer's pid, host,
 * start time and command. A second writer fails at once naming the holder; a lock whose process is
 * dead (same host) is taken over, and the caller is told whose it was so it can clean up after it.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { processAlive, tempPathFor } from './atomic.js';
import { RefusedError } from './refused.js';

export const LOCK_FILE = '.mobilezoo.lock';

export interface LockOwner {
  pid: number;
  host: string;
  started: string;
  command: string;
}

export interface FolderLock {
  readonly dir: string;
  readonly path: string;
  /** The dead run whose lock this one took over. */
  readonly tookOver?: LockOwner;
  release(): Promise<void>;
}

/** Locks held by this process: released on exit even when it ends with process.exit(). */
const held = new Map<string, string>();
let exitHook = false;

function describe(o: LockOwner): string {
  return `pid ${o.pid} on ${o.host}, started ${o.started}${o.command ? `: ${o.command}` : ''}`;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return { pid: o.pid, host: o.host, started: String(o.started ?? '?'), command: String(o.command ?? '') };
  } catch {
    /* torn or foreign: handled by the caller */
  }
  return undefined;
}

/** Creates the lock file if absent; false when it exists. */
async function create(path: string, text: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create the lock ${path}: ${(e as Error).message}`);
  }
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}

/**
 * Locks `dir` (created if needed) for `command`. Throws a RefusedError naming the holder when another
 * live process holds it.
 */
export async function lockFolder(dir: string, command: string): Promise<FolderLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), command };
  const text = JSON.stringify(me) + '\n';
  let tookOver: LockOwner | undefined;
  for (let attempt = 0; ; attempt++) {
    if (await create(path, text)) break;
    let current: string;
    try {
      current = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 5) continue; // released meanwhile
      throw e;
    }
    const owner = parseOwner(current);
    // A lock being written has no content yet: its writer is alive (give it a moment).
    if (!owner && current === '' && attempt < 5) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (owner && owner.host !== me.host) {
      throw new RefusedError(`${dir} is locked by a run on another machine (${describe(owner)}); if that run has ended, delete ${path}`);
    }
    if (owner && processAlive(owner.pid)) {
      throw new RefusedError(`${dir} is being written by another mobilezoo run (${describe(owner)}); wait for it to end or choose another folder`);
    }
    if (attempt >= 5) throw new RefusedError(`${dir}: cannot take over the lock ${path} (other runs keep taking it)`);
    // Stale: move it aside (only one taker's rename finds it), check it is still the stale one, then take it.
    const aside = tempPathFor(path);
    try {
      await rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = await readFile(aside, 'utf8').catch(() => '');
    await rm(aside, { force: true });
    if (moved !== current) continue; // another run took it over between our read and rename: try again
    tookOver = owner ?? { pid: 0, host: me.host, started: '?', command: '(unreadable lock file)' };
  }
  held.set(path, text);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const [p, t] of held) releaseSync(p, t);
    });
  }
  let released = false;
  return {
    dir,
    path,
    tookOver,
    async release() {
      if (released) return;
      released = true;
      held.delete(path);
      releaseSync(path, text);
    },
  };
}

/** Removes the lock file if it is still ours. */
function releaseSync(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) unlinkSync(path);
  } catch {
    /* already gone */
  }
}

/** Says whose lock was taken over, for the log. */
export function describeTakeOver(lock: FolderLock): string | undefined {
  const o = lock.tookOver;
  return o ? `${lock.dir}: took over the lock of a run that is no longer running (${describe(o)})` : undefined;
}
