/**
 * The one downloader (datasets and weights): http/https with redirects, streamed into `<dest>.part`
 * with progress (bytes, rate, ETA), resumed with a Range request after a dropped connection (in this
 * call or a later one) where the server allows ranges, checked (MD5, or a sha256 prefix as torch.hub
 * checks torchvision's file names) and renamed into place, so `dest` only ever holds a complete, checked
 * file. A lock file keeps two processes from writing the same `.part`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { basename, dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface DownloadProgress {
  /** Bytes of the file on disk so far (including those of an earlier, resumed attempt). */
  received: number;
  /** The file's size, when the server says it. */
  total?: number;
  /** Bytes per second over this attempt. */
  bytesPerSecond: number;
  /** Seconds left at that rate, when the size is known. */
  etaSeconds?: number;
  /** Bytes that were already there when this attempt started (0 for a fresh download). */
  resumedFrom: number;
}

export interface DownloadOptions {
  /** Expected MD5 (hex) of the file; null/undefined skips the check. */
  md5?: string | null;
  /** Expected start of the file's sha256 (hex), as in torchvision's file names. */
  sha256Prefix?: string;
  /** Label shown on the progress bar (default the file name). */
  label?: string;
  /** Draw a progress bar on stderr when it is a terminal (default true). */
  progress?: boolean;
  /** Called as bytes arrive. */
  onProgress?: (p: DownloadProgress) => void;
  maxRedirects?: number;
  /** Socket inactivity timeout in ms (default 60 s). */
  timeoutMs?: number;
  /** Further attempts after a dropped connection, each resuming where the server allows ranges (default 3). */
  retries?: number;
  /** Wait before a retry, in ms (default 1000, doubled each time). */
  retryDelayMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Some bytes came from an interrupted earlier attempt. */
  resumed: boolean;
}

/** Network errors that mean the host cannot be reached at all (offline, no DNS, nothing listening). */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN']);

/** A download error; `code` is the network error code when there is one, `unreachable` when the host could not be reached at all. */
export class DownloadError extends Error {
  constructor(message: string, readonly url: string, readonly code?: string, readonly retryable = false) {
    super(message);
    this.name = 'DownloadError';
  }

  get unreachable(): boolean {
    return this.code !== undefined && UNREACHABLE.has(this.code);
  }
}

/** Joins a base URL (with or without trailing slash) and a file name. */
export function joinUrl(base: string, file: string): string {
  return base.endsWith('/') ? base + file : `${base}/${file}`;
}

function getResponse(url: string, headers: Record<string, string>, timeoutMs: number, redirectsLeft: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new DownloadError(`invalid download URL: ${url}`, url));
      return;
    }
    const mod = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : null;
    if (!mod) {
      reject(new DownloadError(`unsupported protocol in download URL: ${url}`, url));
      return;
    }
    const req = mod.get(parsed, { headers: { 'user-agent': 'mobilezoo', accept: '*/*', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirectsLeft <= 0) {
          reject(new DownloadError(`too many redirects downloading ${url}`, url));
          return;
        }
        getResponse(new URL(res.headers.location, parsed).toString(), headers, timeoutMs, redirectsLeft - 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`timed out (${timeoutMs} ms without data)`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code;
      reject(new DownloadError(`download of ${url} failed: ${e.message}`, url, code, code !== undefined && !UNREACHABLE.has(code)));
    });
  });
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** "9.5/21.1 MB, 3.2 MB/s, ETA 4s" (or without the total and ETA when the size is unknown). */
export function formatDownloadProgress(p: DownloadProgress): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const rate = `${mb(p.bytesPerSecond)} MB/s`;
  if (p.total === undefined) return `${mb(p.received)} MB, ${rate}`;
  const pct = p.total > 0 ? Math.floor((100 * p.received) / p.total) : 100;
  const eta = p.etaSeconds === undefined || !Number.isFinite(p.etaSeconds) ? '?' : formatSeconds(p.etaSeconds);
  return `${pct}% ${mb(p.received)}/${mb(p.total)} MB, ${rate}, ETA ${eta}`;
}

function formatSeconds(s: number): string {
  const t = Math.ceil(s);
  return t < 60 ? `${t}s` : t < 3600 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
}

/** A one-line progress bar on stderr, redrawn at most 10 times a second; only on a terminal. */
function stderrBar(label: string): { update(p: DownloadProgress): void; done(): void } | undefined {
  const tty = process.stderr.isTTY === true;
  if (!tty) return undefined;
  let last = 0;
  let drawn = false;
  const draw = (p: DownloadProgress) => {
    const width = 24;
    const fill = p.total ? Math.min(width, Math.round((width * p.received) / p.total)) : 0;
    process.stderr.write(`\r${label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${formatDownloadProgress(p)}\x1b[K`);
    drawn = true;
  };
  let latest: DownloadProgress | undefined;
  return {
    update(p) {
      latest = p;
      const now = performance.now();
      if (now - last >= 100) {
        last = now;
        draw(p);
      }
    },
    done() {
      if (latest) draw(latest);
      if (drawn) process.stderr.write('\n');
    },
  };
}

/** `${part}.lock` holding this process's id; a lock whose process is gone is taken over. */
async function lock(part: string, dest: string): Promise<() => Promise<void>> {
  const path = `${part}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const f = await open(path, 'wx');
      await f.writeFile(String(process.pid));
      await f.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`${dest}: process ${pid} is downloading it (lock ${path}); wait for it to finish, or remove the lock if that process is not mobilezoo`);
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`${dest}: cannot take the download lock ${path}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One attempt: continues `part` from its current size when the server honours the Range request. */
async function attempt(url: string, part: string, o: DownloadOptions, report: (p: DownloadProgress) => void): Promise<{ resumedFrom: number }> {
  let have = await sizeOf(part);
  const res = await getResponse(url, have > 0 ? { range: `bytes=${have}-` } : {}, o.timeoutMs ?? 60_000, o.maxRedirects ?? 5);
  const status = res.statusCode ?? 0;
  if (status === 416 && have > 0) {
    // The partial file is not a prefix the server recognizes (or is complete but unchecked): start over.
    res.resume();
    await rm(part, { force: true });
    return attempt(url, part, o, report);
  }
  if (status !== 200 && status !== 206) {
    res.resume();
    throw new DownloadError(`HTTP ${status} ${res.statusMessage ?? ''} downloading ${url}`.replace(/ +/g, ' ').trim(), url, undefined, status >= 500);
  }
  let total: number | undefined;
  const length = Number(res.headers['content-length']);
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!m || Number(m[1]) !== have) {
      res.resume();
      await rm(part, { force: true });
      throw new DownloadError(`${url}: the server resumed at an unexpected position (${res.headers['content-range'] ?? 'no Content-Range'}); starting over`, url, undefined, true);
    }
    total = m[3] === '*' ? (Number.isFinite(length) ? have + length : undefined) : Number(m[3]);
  } else {
    have = 0;
    total = Number.isFinite(length) ? length : undefined;
  }
  const resumedFrom = have;
  let received = have;
  const t0 = performance.now();
  const progress = (): DownloadProgress => {
    const seconds = (performance.now() - t0) / 1000;
    const bytesPerSecond = seconds > 0 ? (received - resumedFrom) / seconds : 0;
    const etaSeconds = total !== undefined && bytesPerSecond > 0 ? (total - received) / bytesPerSecond : undefined;
    return { received, total, bytesPerSecond, etaSeconds, resumedFrom };
  };
  try {
    await pipeline(
      res,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          received += chunk.length;
          report(progress());
          yield chunk;
        }
      },
      createWriteStream(part, { flags: resumedFrom > 0 ? 'a' : 'w' }),
    );
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DownloadError(`connection lost downloading ${url} after ${received} of ${total ?? '?'} bytes (${(e as Error).message})`, url, code, true);
  }
  if (total !== undefined && received !== total) {
    throw new DownloadError(`connection lost downloading ${url}: got ${received} of ${total} bytes`, url, undefined, true);
  }
  report(progress());
  return { resumedFrom };
}

async function hashFile(path: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  return { md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}

/**
 * Downloads `url` to `dest` (see the module comment). A file that fails its check is deleted and the
 * error says so; after a lost connection the `.part` file stays, and the next call resumes it.
 */
export async function downloadFile(url: string, dest: string, o: DownloadOptions = {}): Promise<DownloadResult> {
  await mkdir(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const unlock = await lock(part, dest);
  const bar = o.progress === false ? undefined : stderrBar(o.label ?? basename(dest));
  const report = (p: DownloadProgress) => {
    bar?.update(p);
    o.onProgress?.(p);
  };
  try {
    const retries = o.retries ?? 3;
    let resumed = false;
    for (let i = 0; ; i++) {
      try {
        resumed = (await attempt(url, part, o, report)).resumedFrom > 0 || resumed;
        break;
      } catch (e) {
        if (!(e instanceof DownloadError && e.retryable) || i >= retries) {
          const kept = await sizeOf(part);
          if (kept > 0 && e instanceof DownloadError && e.retryable) e.message += `; the ${kept} bytes received are kept in ${part}, and the next try resumes there`;
          throw e;
        }
        await new Promise((r) => setTimeout(r, (o.retryDelayMs ?? 1000) * 2 ** i));
      }
    }
    const { md5, sha256 } = await hashFile(part);
    const bad =
      o.md5 && md5 !== o.md5.toLowerCase() ? `MD5 mismatch: expected ${o.md5.toLowerCase()}, got ${md5}`
      : o.sha256Prefix && !sha256.startsWith(o.sha256Prefix.toLowerCase()) ? `sha256 mismatch: expected one starting with ${o.sha256Prefix.toLowerCase()}, got ${sha256}`
      : undefined;
    if (bad) {
      await rm(part, { force: true });
      throw new DownloadError(`the download of ${url} is corrupt: ${bad} (deleted; the server's copy may be damaged, or the URL wrong)`, url);
    }
    await rename(part, dest);
    return { path: dest, bytes: await sizeOf(dest), sha256, resumed };
  } finally {
    bar?.done();
    await unlock();
  }
}
