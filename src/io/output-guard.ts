/**
 * An output never replaces an input: before a command writes anything, each output path is compared
 * with each input path, by real path (symbolic links resolved) and by device and inode (hard links),
 * and a file output that is an input, or a folder output that holds one, is refused naming both.
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { RefusedError } from './refused.js';

export interface GuardedPath {
  path: string;
  /** What it is, for the message: 'the ONNX output', 'the checkpoint's weights'. */
  what: string;
  /** A folder (an output folder must not hold an input; an output file must not be inside an input folder). */
  folder?: boolean;
  /** For an output folder: the files (paths relative to it) it writes; others it holds may be inputs. Default: all. */
  writes?: (relPath: string) => boolean;
}

interface Identity {
  /** Real path (the nearest existing ancestor resolved, the rest appended). */
  real: string;
  /** dev:ino of an existing file or folder. */
  inode?: string;
}

function identity(path: string): Identity {
  const abs = resolve(path);
  let inode: string | undefined;
  try {
    const s = statSync(abs);
    inode = `${s.dev}:${s.ino}`;
  } catch {
    /* not there yet */
  }
  let head = abs;
  const tail: string[] = [];
  for (;;) {
    try {
      return { real: join(realpathSync(head), ...tail), inode };
    } catch {
      const up = dirname(head);
      if (up === head) return { real: abs, inode };
      tail.unshift(basename(head));
      head = up;
    }
  }
}

const same = (a: Identity, b: Identity) => a.real === b.real || (a.inode !== undefined && a.inode === b.inode);
/** child's path relative to folder, when it lies inside it. */
const inside = (child: Identity, folder: Identity): string | undefined => {
  const r = relative(folder.real, child.real);
  return r !== '' && !r.startsWith('..') && !r.startsWith(sep) && !/^[A-Za-z]:/.test(r) ? r.split(sep).join('/') : undefined;
};

function heldBy(input: Identity, folder: Identity, writes?: (rel: string) => boolean): boolean {
  const rel = inside(input, folder);
  return rel !== undefined && (writes === undefined || writes(rel));
}

/** Throws a RefusedError when an output is an input, an output folder holds an input, or an output lies in an input folder. */
export function refuseOutputsOverInputs(outputs: GuardedPath[], inputs: GuardedPath[]): void {
  const ins = inputs.map((i) => ({ ...i, id: identity(i.path) }));
  for (const o of outputs) {
    const oid = identity(o.path);
    for (const i of ins) {
      let how: string | undefined;
      if (same(oid, i.id)) how = i.folder || o.folder ? 'is the same folder as' : 'is the same file as';
      else if (o.folder && heldBy(i.id, oid, o.writes)) how = 'is a folder that holds';
      else if (i.folder && inside(oid, i.id) !== undefined) how = 'lies inside';
      if (how) {
        throw new RefusedError(`${o.what} ${o.path} ${how} ${i.what} ${i.path}; an output never replaces an input: choose another ${o.folder ? 'folder' : 'file'}`);
      }
    }
  }
}
