/**
 * The import graph of compiled ES modules, read from their import / export specifiers: which files a
 * browser would load from an entry, and which specifiers leave the tree (packages, node: modules).
 * exportWeb copies the files; a test checks that the browser entry reaches no Node module.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export interface ModuleGraph {
  /** Absolute paths of the entries and every module they reach through relative specifiers. */
  files: string[];
  /** Specifiers that are not relative ('node:fs', 'sharp', ...), with the file that imports each. */
  external: { specifier: string; from: string }[];
}

/**
 * Import specifiers as tsc writes them: a static import or export-from starts a line, and a dynamic
 * import() stands on a line that is not a comment (so the usage examples in doc comments do not count).
 */
const SPECIFIERS = [
  /^(?:import|export)\s[^;'"]*?\bfrom\s*(['"])([^'"]+)\1/gm, // import x from '…', export * from '…'
  /^import\s*(['"])([^'"]+)\1/gm, // import '…' (side effects only)
  /^(?!\s*(?:\/\/|\/?\*)).*?\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/gm, // import('…')
];

/** The specifiers a compiled module imports. */
export function importSpecifiers(code: string): string[] {
  return [...new Set(SPECIFIERS.flatMap((re) => [...code.matchAll(re)].map((m) => m[2]!)))];
}

export async function moduleGraph(entries: string[]): Promise<ModuleGraph> {
  const files: string[] = [];
  const external: ModuleGraph['external'] = [];
  const seen = new Set<string>();
  const queue = entries.map((e) => resolve(e));
  while (queue.length) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    files.push(file);
    let code: string;
    try {
      code = await readFile(file, 'utf8');
    } catch (e) {
      throw new Error(`${file}: cannot read module (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    for (const s of importSpecifiers(code)) {
      if (s.startsWith('./') || s.startsWith('../')) queue.push(resolve(dirname(file), s));
      else external.push({ specifier: s, from: file });
    }
  }
  return { files, external };
}
