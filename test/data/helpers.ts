/** Shared helpers for the data tests: temp dirs, format writers, a local HTTP server. */

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import * as tar from 'tar';

export function tempDir(prefix = 'mobilezoo-data-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

export function md5(buf: Buffer): string {
  return crypto.createHash('md5').update(buf).digest('hex');
}

/** An environment with no data roots of the host leaking in (cache under `home`). */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { XDG_CACHE_HOME: path.join(home, 'xdg-cache'), ...extra };
}

// ---------------------------------------------------------------- CIFAR

/** Deterministic pixel value of record r, channel c, pixel p. */
export function cifarPixel(seed: number, r: number, c: number, p: number): number {
  return (seed * 131 + r * 37 + c * 101 + p * 7) % 256;
}

/** CIFAR-10 records: label byte + 3072 CHW bytes. */
export function cifar10Records(seed: number, labels: number[]): Buffer {
  const rec = 1 + 3072;
  const buf = Buffer.alloc(labels.length * rec);
  labels.forEach((label, r) => {
    buf[r * rec] = label;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) buf[r * rec + 1 + c * 1024 + p] = cifarPixel(seed, r, c, p);
  });
  return buf;
}

export const CIFAR10_TEST_LABELS: Record<string, number[]> = {
  'data_batch_1.bin': [0, 1],
  'data_batch_2.bin': [2, 3],
  'data_batch_3.bin': [4, 5],
  'data_batch_4.bin': [6, 7],
  'data_batch_5.bin': [8, 9, 3],
  'test_batch.bin': [9, 0, 5],
};

export const CIFAR10_META = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n';

/** Writes cifar-10-batches-bin/ under root with small batches; returns the folder. */
export function writeCifar10Folder(root: string): string {
  const dir = path.join(root, 'cifar-10-batches-bin');
  fs.mkdirSync(dir, { recursive: true });
  Object.entries(CIFAR10_TEST_LABELS).forEach(([f, labels], k) => fs.writeFileSync(path.join(dir, f), cifar10Records(k, labels)));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), CIFAR10_META);
  return dir;
}

/** A cifar-10-binary.tar.gz built with node-tar; returns its bytes. */
export async function makeCifar10Archive(work: string): Promise<Buffer> {
  const src = path.join(work, 'archive-src');
  writeCifar10Folder(src);
  const file = path.join(work, 'cifar-10-binary.tar.gz');
  await tar.c({ gzip: true, file, cwd: src, portable: true }, ['cifar-10-batches-bin']);
  const buf = fs.readFileSync(file);
  rmrf(src);
  fs.rmSync(file);
  return buf;
}

/** A minimal ustar archive writer (for crafting hostile archives node-tar would not create). */
export function rawTar(entries: { name: string; data?: Buffer; type?: '0' | '2' | '5'; linkname?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write(e.type ?? '0', 156);
    if (e.linkname) h.write(e.linkname, 157, 100);
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

// ---------------------------------------------------------------- IDX

export function idxImages(count: number, pixel: (i: number, p: number) => number, rows = 28, cols = 28): Buffer {
  const buf = Buffer.alloc(16 + count * rows * cols);
  buf.writeUInt32BE(0x803, 0);
  buf.writeUInt32BE(count, 4);
  buf.writeUInt32BE(rows, 8);
  buf.writeUInt32BE(cols, 12);
  for (let i = 0; i < count; i++) for (let p = 0; p < rows * cols; p++) buf[16 + i * rows * cols + p] = pixel(i, p);
  return buf;
}

export function idxLabels(labels: number[]): Buffer {
  const buf = Buffer.alloc(8 + labels.length);
  buf.writeUInt32BE(0x801, 0);
  buf.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (buf[8 + i] = l));
  return buf;
}

export const idxPixel = (tag: number) => (i: number, p: number) => (tag * 50 + i * 13 + p * 3) % 256;

/** Writes the four IDX files (gzipped or raw) with `nTrain`/`nTest` samples; `tag` varies the pixels. */
export function writeIdxDir(dir: string, opts: { nTrain: number; nTest: number; gzip: boolean; tag?: number }): Record<string, Buffer> {
  fs.mkdirSync(dir, { recursive: true });
  const tag = opts.tag ?? 0;
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idxImages(opts.nTrain, idxPixel(tag)),
    'train-labels-idx1-ubyte': idxLabels(Array.from({ length: opts.nTrain }, (_, i) => (i * 3 + tag) % 10)),
    't10k-images-idx3-ubyte': idxImages(opts.nTest, idxPixel(tag + 1)),
    't10k-labels-idx1-ubyte': idxLabels(Array.from({ length: opts.nTest }, (_, i) => (i * 7 + tag) % 10)),
  };
  const written: Record<string, Buffer> = {};
  for (const [name, buf] of Object.entries(files)) {
    const out = opts.gzip ? zlib.gzipSync(buf) : buf;
    const fname = opts.gzip ? `${name}.gz` : name;
    fs.writeFileSync(path.join(dir, fname), out);
    written[fname] = out;
  }
  return written;
}

// ---------------------------------------------------------------- HTTP

export type Route = Buffer | { redirect: string } | { status: number };

export interface TestServer {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

/** Serves `routes` (path → body / redirect / status) on 127.0.0.1, random port. */
export async function serve(routes: Record<string, Route>): Promise<TestServer> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0];
    hits.push(p);
    const r = routes[p];
    if (r === undefined) {
      res.writeHead(404).end('not found');
    } else if (Buffer.isBuffer(r)) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': r.length }).end(r);
    } else if ('redirect' in r) {
      res.writeHead(302, { location: r.redirect }).end();
    } else {
      res.writeHead(r.status).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
