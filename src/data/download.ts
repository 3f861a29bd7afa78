/** Downloads (http/https with redirects, MD5 check, progress bar) and safe tar.gz extraction. */

import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import cliProgress from 'cli-progress';
import * as tar from 'tar';

export interface DownloadOptions {
  /** Expected MD5 (hex) of the downloaded bytes; null/undefined skips the check. */
  md5?: string | null;
  /** Label shown on the progress bar. */
  label?: string;
  /** Show a progress bar on stderr (only when stderr is a TTY). Default true. */
  progress?: boolean;
  maxRedirects?: number;
  /** Socket inactivity timeout in ms (default 60 s). */
  timeoutMs?: number;
}

/** MD5 (hex) of a file, streamed. */
export async function md5File(file: string): Promise<string> {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Joins a base URL (with or without trailing slash) and a file name. */
export function joinUrl(base: string, file: string): string {
  return base.endsWith('/') ? base + file : `${base}/${file}`;
}

function getResponse(url: string, timeoutMs: number, redirectsLeft: number): Promise<{ res: http.IncomingMessage; url: string }> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new Error(`invalid download URL: ${url}`));
      return;
    }
    const mod = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : null;
    if (!mod) {
      reject(new Error(`unsupported protocol in download URL: ${url}`));
      return;
    }
    const req = mod.get(parsed, { headers: { 'user-agent': 'mobilezoo', accept: '*/*' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirectsLeft <= 0) {
          reject(new Error(`too many redirects downloading ${url}`));
          return;
        }
        const next = new URL(res.headers.location, parsed).toString();
        getResponse(next, timeoutMs, redirectsLeft - 1).then(resolve, reject);
        return;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        reject(new Error(`HTTP ${status} ${res.statusMessage ?? ''} downloading ${url}`.trim()));
        return;
      }
      resolve({ res, url });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out (${timeoutMs} ms without data) downloading ${url}`)));
    req.on('error', (e) => reject(new Error(`download of ${url} failed: ${e.message}`)));
  });
}

/**
 * Downloads `url` to `dest` (via `dest.part`, renamed on success), following redirects.
 * When `md5` is given and does not match, the file is removed and an error thrown.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const part = `${dest}.part-${process.pid}`;
  const { res } = await getResponse(url, timeoutMs, opts.maxRedirects ?? 5);
  const total = Number(res.headers['content-length'] ?? 0);
  const showBar = opts.progress !== false && process.stderr.isTTY === true && total > 0;
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          stream: process.stderr,
          format: `${opts.label ?? path.basename(dest)} [{bar}] {percentage}% | {mb}/{totalMb} MB | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const mb = (n: number) => (n / 1048576).toFixed(1);
  bar?.start(total, 0, { mb: mb(0), totalMb: mb(total) });
  const hash = crypto.createHash('md5');
  let received = 0;
  const out = fs.createWriteStream(part);
  try {
    await new Promise<void>((resolve, reject) => {
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        bar?.update(received, { mb: mb(received), totalMb: mb(total) });
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`connection closed early downloading ${url}`)));
      out.on('error', reject);
      out.on('finish', resolve);
      res.pipe(out);
    });
    if (total > 0 && received !== total) {
      throw new Error(`download of ${url} truncated: got ${received} of ${total} bytes`);
    }
  } catch (e) {
    out.destroy();
    await fsp.rm(part, { force: true });
    throw e;
  } finally {
    bar?.stop();
  }
  const digest = hash.digest('hex');
  if (opts.md5 && digest.toLowerCase() !== opts.md5.toLowerCase()) {
    await fsp.rm(part, { force: true });
    throw new Error(
      `MD5 mismatch for ${url}: expected ${opts.md5.toLowerCase()}, got ${digest} (downloaded file removed; ` +
        `the server copy may be corrupt or the URL wrong)`,
    );
  }
  await fsp.rename(part, dest);
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
