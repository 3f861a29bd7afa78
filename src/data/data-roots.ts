/** Where datasets are looked for and downloaded to: the --data folder, MOBILEZOO_DATA, the cache (Node only). */

import os from 'node:os';
import path from 'node:path';

/** `$MOBILEZOO_HOME`, else `$XDG_CACHE_HOME/mobilezoo` or `~/.cache/mobilezoo`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MOBILEZOO_HOME) return path.resolve(env.MOBILEZOO_HOME);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'mobilezoo');
  return path.join(os.homedir(), '.cache', 'mobilezoo');
}

/** Whether downloads are allowed by default (env MOBILEZOO_OFFLINE=1 turns them off). */
export function downloadDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.MOBILEZOO_OFFLINE;
  return !(v && v !== '0' && v.toLowerCase() !== 'false');
}

/**
 * The ordered data roots to search: explicit dir, env MOBILEZOO_DATA, the cache dir.
 * Duplicates removed. The first entry is where downloads go.
 */
export function dataRoots(dir?: string, env: NodeJS.ProcessEnv = process.env): { path: string; source: string }[] {
  const out: { path: string; source: string }[] = [];
  const add = (p: string | undefined, source: string) => {
    if (!p) return;
    const abs = path.resolve(p);
    if (!out.some((o) => o.path === abs)) out.push({ path: abs, source });
  };
  add(dir, '--data / dir option');
  add(env.MOBILEZOO_DATA, 'MOBILEZOO_DATA');
  add(cacheDir(env), 'cache');
  return out;
}
