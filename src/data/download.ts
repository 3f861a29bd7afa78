/** Dataset downloads (through the one downloader, src/io/download.ts) and safe tar.gz extraction. */

import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import * as tar from 'tar';

export { type DownloadOptions, downloadFile, joinUrl } from '../io/download.js';

/** MD5 (hex) of a file, streamed. */
export async function md5File(file: string): Promise<string> {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Verifies a local file's MD5; on mismatch removes it and throws. */
export async function verifyMd5(file: string, md5: string | null | undefined): Promise<void> {
  if (!md5) return;
  const digest = await md5File(file);
  if (digest.toLowerCase() !== md5.toLowerCase()) {
    await fsp.rm(file, { force: true });
    throw new Error(`MD5 mismatch for ${file}: expected ${md5.toLowerCase()}, got ${digest} (file removed)`);
  }
}

export interface ExtractOptions {
  /** Largest single entry accepted (bytes). Default 1 GiB. */
  maxEntrySize?: number;
  /** Largest total unpacked size (bytes). Default 4 GiB. */
  maxTotalSize?: number;
  /** Most entries accepted. Default 10000. */
  maxEntries?: number;
}

/** Validates a tar member path: relative, no `..`, no drive letters / NUL. Returns the normalized path. */
export function safeEntryPath(p: string): string | null {
  if (p.includes('\0')) return null;
  const norm = p.replace(/\\/g, '/');
  if (norm.startsWith('/') || /^[a-zA-Z]:/.test(norm)) return null;
  const parts = norm.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.some((s) => s === '..')) return null;
  return parts.join('/');
}

/**
 * Extracts a .tar.gz into `destDir`, first listing it and rejecting path traversal,
 * links/devices, absurd sizes or entry counts (nothing is written in that case).
 */
export async function extractTarGz(archive: string, destDir: string, opts: ExtractOptions = {}): Promise<string[]> {
  const maxEntrySize = opts.maxEntrySize ?? 1 << 30;
  const maxTotal = opts.maxTotalSize ?? 4 * 2 ** 30;
  const maxEntries = opts.maxEntries ?? 10000;
  const files: string[] = [];
  let problem: string | null = null;
  let total = 0;
  let count = 0;
  try {
    await tar.t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        count++;
        const safe = safeEntryPath(entry.path);
        if (problem) return;
        if (safe === null) problem = `unsafe path "${entry.path}"`;
        else if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'Directory')
          problem = `unsupported entry type ${entry.type} for "${entry.path}"`;
        else if (entry.size > maxEntrySize) problem = `entry "${entry.path}" is too large (${entry.size} bytes)`;
        else if ((total += entry.size) > maxTotal) problem = `archive unpacks to more than ${maxTotal} bytes`;
        else if (count > maxEntries) problem = `archive has more than ${maxEntries} entries`;
        else if (entry.type !== 'Directory') files.push(safe);
      },
    });
  } catch (e) {
    throw new Error(`${archive}: cannot read archive: ${(e as Error).message}`);
  }
  if (problem) throw new Error(`${archive}: refusing to extract: ${problem}`);
  if (count === 0) throw new Error(`${archive}: archive is empty or not a tar.gz`);
  await fsp.mkdir(destDir, { recursive: true });
  try {
    await tar.x({
      file: archive,
      cwd: destDir,
      strict: true,
      preservePaths: false,
      filter: (p, entry) => {
        const type = (entry as { type?: string }).type;
        return safeEntryPath(p) !== null && (type === undefined || type === 'File' || type === 'OldFile' || type === 'Directory');
      },
    });
  } catch (e) {
    throw new Error(`${archive}: extraction failed: ${(e as Error).message}`);
  }
  return files;
}
