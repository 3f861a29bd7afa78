/**
 * Reading input files: regular files only (a folder, a device such as /dev/zero or a FIFO would fail
 * late, never end or block), their size checked against a limit (and, by the format readers, against
 * what their header says) before anything is read, and every error naming the file. A file named by
 * another file (a checkpoint's `files.weights`) must also stay in that file's folder.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { plainFileName } from './file-names.js';

/** A file to read: a path as given (a command-line argument), or a name read from another file. */
export interface InputFile {
  path: string;
  /** For a name read from a file: the folder it must stay in (a symlink leaving it is refused). */
  folder?: string;
}

/** The file `field` of `referrer` names: a plain name in referrer's folder (see plainFileName). */
export function referencedFile(referrer: string, field: string, name: unknown): InputFile {
  const folder = dirname(referrer);
  return { path: join(folder, plainFileName(name, `${referrer}: ${field}`)), folder };
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function ioMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return (e as Error).message;
}

/** An open regular file: its size, and positional reads that must find every byte they ask for. */
export class OpenInputFile {
  constructor(
    readonly path: string,
    readonly size: number,
    private readonly fh: FileHandle,
  ) {}

  /** `length` bytes from `position`; the file ending (or shrinking) first is an error. */
  async read(position: number, length: number): Promise<Uint8Array> {
    if (position + length > this.size) {
      throw new Error(`${this.path}: needs bytes up to ${position + length} but the file has ${this.size}`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(out, done, length - done, position + done);
      if (bytesRead === 0) throw new Error(`${this.path}: the file ended at byte ${position + done} while reading (was it changed?)`);
      done += bytesRead;
    }
    return out;
  }

  /** The whole file, refused before reading when larger than `maxBytes`. */
  async readAll(maxBytes: number, what = 'the file'): Promise<Uint8Array> {
    if (this.size > maxBytes) throw new Error(`${this.path}: ${what} has ${this.size} bytes, more than the ${maxBytes}-byte limit; refusing`);
    return this.read(0, this.size);
  }
}

/**
 * Opens `file` for reading after checking that it is a regular file (and, for a name read from a
 * file, that it resolves inside its folder), runs `use` on it and closes it.
 */
export async function withInputFile<T>(file: string | InputFile, use: (f: OpenInputFile) => Promise<T>): Promise<T> {
  const { path, folder } = typeof file === 'string' ? { path: file, folder: undefined } : file;
  let fh: FileHandle;
  try {
    if (folder !== undefined) {
      const [real, realFolder] = await Promise.all([realpath(path), realpath(folder)]);
      if (dirname(real) !== realFolder) throw new Error(`links to ${real}, outside the folder ${folder}; refusing`);
    }
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below refuses it.
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new Error(`${path}: ${ioMessage(e)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${path}: ${kindOf(st)}, not a regular file`);
    return await use(new OpenInputFile(path, st.size, fh));
  } finally {
    await fh.close();
  }
}

/** The bytes of a regular file of at most `maxBytes`. */
export function readInputFile(file: string | InputFile, maxBytes: number, what?: string): Promise<Uint8Array> {
  return withInputFile(file, (f) => f.readAll(maxBytes, what));
}

/** Limits on the small text files mobilezoo reads (checkpoint records, sidecars): far above any real one. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** A regular file of at most MAX_RECORD_BYTES as UTF-8 text. */
export async function readInputText(file: string | InputFile): Promise<string> {
  return new TextDecoder().decode(await readInputFile(file, MAX_RECORD_BYTES));
}
