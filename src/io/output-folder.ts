/**
 * A folder a command writes several files into (a training run, a web export, test --out): locked
 * while it writes (folder-lock.ts), cleaned of the temporary files of a writer that died, and with a
 * manifest (`.mobilezoo-files.json`: each file written, with its sha256) so that a later command
 * replaces only files mobilezoo wrote and nobody changed since; anything else in the folder is the
 * user's and is left alone, and a command that would replace one refuses, naming it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readFile, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDeadTemps, saveFileAtomic } from './atomic.js';
import { LOCK_FILE, type FolderLock, describeTakeOver, lockFolder } from './folder-lock.js';
import { RefusedError } from './refused.js';

export const MANIFEST_FILE = '.mobilezoo-files.json';
const MANIFEST_FORMAT = 'mobilezoo-files';

interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: 1;
  /** Relative path ('/'-separated) → sha256 of what was written (null while being written), its size and mtime. */
  files: Record<string, Entry>;
}

interface Entry {
  sha256: string | null;
  bytes?: number;
  mtimeMs?: number;
}

export interface OutputFolderOptions {
  /** The command line, kept in the lock file. */
  command: string;
  /**
   * The files the command may write: existing ones must be ours and unchanged. A list of relative
   * paths ('/'-separated), or a test of names directly in the folder (a command that writes no subfolder).
   * Only the folders these lie in are looked at.
   */
  writes: readonly string[] | ((name: string) => boolean);
  /**
   * For a folder without a manifest: true when mobilezoo wrote it before manifests existed (say, a run
   * folder whose checkpoint records are mobilezoo's); its files of the names `writes` matches are then
   * taken as ours, as they are now.
   */
  writtenBeforeManifests?: () => Promise<boolean>;
  log?: (message: string) => void;
}

/** An entry for the file as it is now. */
async function entryOf(path: string): Promise<Entry> {
  const s = await stat(path);
  return { sha256: await sha256File(path), bytes: s.size, mtimeMs: s.mtimeMs };
}

/** True when the file is what the entry recorded: same size and mtime, or else the same hash. */
async function unchanged(path: string, e: Entry): Promise<boolean> {
  if (e.sha256 === null) return true;
  const s = await stat(path);
  if (s.size === e.bytes && s.mtimeMs === e.mtimeMs) return true;
  return (await sha256File(path)) === e.sha256;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The files in dir/rel (no subfolders), as paths relative to dir. */
async function filesIn(dir: string, rel: string): Promise<string[]> {
  const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.isDirectory()).map((e) => (rel ? `${rel}/${e.name}` : e.name));
}

/** The folders (relative; '' for dir itself) that the files a command writes lie in. */
function foldersOf(writes: OutputFolderOptions['writes']): string[] {
  if (typeof writes === 'function') return [''];
  return [...new Set(['', ...writes.map((f) => f.split('/').slice(0, -1).join('/'))])].sort();
}

/** The folder's manifest; undefined when it has none. */
async function readManifest(dir: string): Promise<Manifest | undefined> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(text) as Partial<Manifest>;
  } catch (e) {
    throw new RefusedError(`${path}: not valid JSON (${(e as Error).message}); it lists the files mobilezoo wrote into ${dir}: delete it only if you also delete them`);
  }
  if (m?.format !== MANIFEST_FORMAT || typeof m.files !== 'object' || m.files === null) {
    throw new RefusedError(`${path}: not a mobilezoo file list (no "format": "${MANIFEST_FORMAT}")`);
  }
  return { format: MANIFEST_FORMAT, version: 1, files: m.files };
}

const list = (names: string[]) => (names.length > 8 ? `${names.slice(0, 8).join(', ')}, … (${names.length})` : names.join(', '));

export class OutputFolder {
  private constructor(
    readonly dir: string,
    private readonly lock: FolderLock,
    private readonly manifest: Manifest,
    private readonly created: boolean,
  ) {}

  /**
   * Locks `dir` (creating it), removes what a dead writer left (its temporary files), reads the
   * manifest and refuses, naming them, files the command would replace that mobilezoo did not write
   * or that were changed since.
   */
  static async open(dir: string, o: OutputFolderOptions): Promise<OutputFolder> {
    const created = !(await lstat(dir).then(() => true, () => false));
    const lock = await lockFolder(dir, o.command);
    try {
      const takeOver = describeTakeOver(lock);
      if (takeOver) o.log?.(takeOver);
      const removed: string[] = [];
      for (const sub of foldersOf(o.writes)) {
        removed.push(...(await removeDeadTemps(join(dir, sub), { deadPid: lock.tookOver?.pid })).map((f) => (sub ? `${sub}/${f}` : f)));
      }
      if (removed.length) o.log?.(`${dir}: removed ${removed.length} temporary file${removed.length === 1 ? '' : 's'} left by a run that did not finish: ${list(removed)}`);
      let manifest = await readManifest(dir);
      const adopt = !manifest && !created && (await o.writtenBeforeManifests?.());
      manifest ??= { format: MANIFEST_FORMAT, version: 1, files: {} };
      const folder = new OutputFolder(dir, lock, manifest, created);
      if (adopt) await folder.adopt(o.writes, o.log);
      await folder.refuseOthersFiles(o.writes);
      return folder;
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  private async existingWrites(writes: OutputFolderOptions['writes']): Promise<string[]> {
    const written = typeof writes === 'function' ? writes : (f: string) => writes.includes(f);
    const existing = (await Promise.all(foldersOf(writes).map((sub) => filesIn(this.dir, sub)))).flat().sort();
    return existing.filter((rel) => rel !== LOCK_FILE && rel !== MANIFEST_FILE && written(rel));
  }

  /** Takes the files of the names the command writes as ours, as they are now (a folder from before manifests). */
  private async adopt(writes: OutputFolderOptions['writes'], log?: (message: string) => void): Promise<void> {
    const rels = await this.existingWrites(writes);
    for (const rel of rels) this.manifest.files[rel] = await entryOf(join(this.dir, rel));
    await this.saveManifest();
    log?.(`${this.dir}: written by a mobilezoo from before ${MANIFEST_FILE}; its ${rels.length} file${rels.length === 1 ? '' : 's'} of mobilezoo's names are now listed there as mobilezoo's`);
  }

  private async refuseOthersFiles(writes: OutputFolderOptions['writes']): Promise<void> {
    const foreign: string[] = [];
    const changed: string[] = [];
    for (const rel of await this.existingWrites(writes)) {
      const entry = this.manifest.files[rel];
      if (!entry) foreign.push(rel);
      else if (!(await unchanged(join(this.dir, rel), entry))) changed.push(rel);
    }
    const problems = [
      ...(foreign.length ? [`${list(foreign)} ${foreign.length === 1 ? 'was' : 'were'} not written by mobilezoo`] : []),
      ...(changed.length ? [`${list(changed)} ${changed.length === 1 ? 'was' : 'were'} changed since mobilezoo wrote ${changed.length === 1 ? 'it' : 'them'}`] : []),
    ];
    if (problems.length) {
      throw new RefusedError(`${this.dir}: this would replace files that are not mobilezoo's own: ${problems.join('; ')}. Move them elsewhere (or delete them), or choose another folder`);
    }
  }

  /** True when mobilezoo wrote `rel` into this folder. */
  owns(rel: string): boolean {
    return rel in this.manifest.files;
  }

  /** The files of the manifest. */
  get files(): string[] {
    return Object.keys(this.manifest.files).sort();
  }

  private async saveManifest(): Promise<void> {
    await saveFileAtomic(join(this.dir, MANIFEST_FILE), JSON.stringify(this.manifest, null, 1) + '\n');
  }

  /**
   * Runs `write`, which writes the files `rels` (atomically), and records them as ours with their
   * hashes. They are recorded as being written first, so that a run killed in between still owns them.
   */
  async track<T>(rels: string[], write: () => Promise<T>): Promise<T> {
    const pending = rels.filter((r) => this.manifest.files[r]?.sha256 !== null);
    if (pending.length) {
      for (const r of pending) this.manifest.files[r] = { sha256: null };
      await this.saveManifest();
    }
    const result = await write();
    for (const r of rels) {
      const path = join(this.dir, r);
      const exists = await lstat(path).then(() => true, () => false);
      if (exists) this.manifest.files[r] = await entryOf(path);
      else delete this.manifest.files[r];
    }
    await this.saveManifest();
    return result;
  }

  /** Deletes a file of ours unless it was changed since; returns false when it was kept (changed, or not ours). */
  async removeOwn(rel: string): Promise<boolean> {
    const entry = this.manifest.files[rel];
    if (!entry) return false;
    const path = join(this.dir, rel);
    const exists = await lstat(path).then(() => true, () => false);
    if (exists && !(await unchanged(path, entry))) {
      delete this.manifest.files[rel];
      await this.saveManifest();
      return false;
    }
    await rm(path, { force: true });
    delete this.manifest.files[rel];
    await this.saveManifest();
    // Folders left empty by it go too.
    const parts = rel.split('/');
    for (let i = parts.length - 1; i > 0; i--) {
      try {
        await rmdir(join(this.dir, ...parts.slice(0, i)));
      } catch {
        break;
      }
    }
    return true;
  }

  /** Releases the lock; a folder this command created and left empty is removed. */
  async close(): Promise<void> {
    await this.lock.release();
    if (this.created) {
      const rest = await readdir(this.dir).catch(() => ['?']);
      if (rest.length === 0) await rmdir(this.dir).catch(() => {});
    }
  }
}
