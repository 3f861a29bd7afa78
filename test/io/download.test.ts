/**
 * The downloader against a local HTTP server (never the real URLs): progress, a connection cut midway and
 * resumed with a Range request (in the same call and in a later one), a server without ranges, a corrupt
 * file refused and deleted, the lock, and published weights by name: the cache, torch.hub's cache, offline.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DownloadProgress, downloadFile, formatDownloadProgress } from '../../src/io/download.js';
import { type PublishedWeights, findPublishedWeights, PUBLISHED_WEIGHTS } from '../../src/models/published-weights.js';
import { fetchWeights, listWeights, resolveWeightsFile, weightsDirs } from '../../src/workflow/weights.js';
import { rmrf, tempDir } from '../cli/helpers.js';

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
const sha = createHash('sha256').update(body).digest('hex');
const dir = tempDir('mobilezoo-download-');

interface Route {
  /** Cut the connection after this many bytes, on the first `cuts` requests. */
  cutAt?: number;
  cuts?: number;
  ranges?: boolean;
  content?: Buffer;
}
const routes: Record<string, Route> = {
  '/file': { ranges: true },
  '/cut': { cutAt: 120_000, cuts: 1, ranges: true },
  '/cut-twice': { cutAt: 100_000, cuts: 2, ranges: true },
  '/cut-no-ranges': { cutAt: 120_000, cuts: 1, ranges: false },
  '/corrupt': { ranges: true, content: Buffer.from(body).fill(1, 5000, 5010) },
};
const seen: { path: string; range?: string }[] = [];
let server: http.Server;
let base: string;

before(async () => {
  server = http.createServer((req, res) => {
    const path = (req.url ?? '').replace(/^\/(m\/)?/, '/');
    const route = routes[path];
    seen.push({ path, range: req.headers.range });
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const content = route.content ?? body;
    const m = route.ranges ? /^bytes=(\d+)-$/.exec(req.headers.range ?? '') : null;
    const start = m ? Number(m[1]) : 0;
    const cut = route.cuts && route.cuts > 0 ? (route.cuts--, route.cutAt) : undefined;
    res.writeHead(m ? 206 : 200, {
      'content-length': String(content.length - start),
      ...(route.ranges ? { 'accept-ranges': 'bytes' } : {}),
      ...(m ? { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}` } : {}),
    });
    if (cut !== undefined) {
      res.write(content.subarray(start, cut), () => setTimeout(() => res.destroy(), 50));
      return;
    }
    res.end(content.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((r) => server.close(r));
  rmrf(dir);
});

const requestsTo = (path: string) => seen.filter((s) => s.path === path);
const fast = { progress: false, retryDelayMs: 10 };

describe('downloadFile', () => {
  test('streams to a .part file with progress (bytes, rate, ETA), checks the sha256 prefix and renames', async () => {
    const dest = join(dir, 'a', `weights-${sha.slice(0, 10)}.pth`);
    const events: DownloadProgress[] = [];
    const r = await downloadFile(`${base}/file`, dest, { ...fast, sha256Prefix: sha.slice(0, 10), onProgress: (p) => events.push(p) });
    assert.deepEqual(readFileSync(dest), body);
    assert.equal(r.sha256, sha);
    assert.equal(r.resumed, false);
    assert.deepEqual(readdirSync(join(dir, 'a')), [`weights-${sha.slice(0, 10)}.pth`], 'no .part or lock left');
    assert.ok(events.length >= 2);
    assert.ok(events.every((e, i) => e.total === body.length && (i === 0 || e.received >= events[i - 1]!.received)));
    assert.equal(events.at(-1)!.received, body.length);
    assert.ok(events.at(-1)!.bytesPerSecond > 0);
    assert.match(formatDownloadProgress({ received: 9_500_000, total: 21_100_000, bytesPerSecond: 3_200_000, etaSeconds: 3.6, resumedFrom: 0 }), /^45% 9\.5\/21\.1 MB, 3\.2 MB\/s, ETA 4s$/);
    assert.match(formatDownloadProgress({ received: 1_000_000, bytesPerSecond: 500_000, resumedFrom: 0 }), /^1\.0 MB, 0\.5 MB\/s$/);
  });

  test('a connection cut midway is resumed with a Range request in the same call', async () => {
    const dest = join(dir, 'b', 'cut.bin');
    const events: DownloadProgress[] = [];
    const r = await downloadFile(`${base}/cut`, dest, { ...fast, md5: createHash('md5').update(body).digest('hex'), onProgress: (p) => events.push(p) });
    assert.deepEqual(readFileSync(dest), body);
    assert.equal(r.resumed, true);
    // The second request asks for the rest from what reached the disk (at most the 120,000 bytes sent).
    const [first, second] = requestsTo('/cut').map((s) => s.range);
    assert.equal(first, undefined);
    const from = Number(/^bytes=(\d+)-$/.exec(second ?? '')?.[1]);
    assert.ok(from > 0 && from <= 120_000, second);
    assert.equal(events.at(-1)!.resumedFrom, from);
  });

  test('after an interrupted call the .part file stays, and the next call resumes it', async () => {
    const dest = join(dir, 'c', 'cut-twice.bin');
    await assert.rejects(downloadFile(`${base}/cut-twice`, dest, { ...fast, retries: 0 }), (e: Error) => /connection lost/.test(e.message) && /\d+ bytes received are kept in .*cut-twice\.bin\.part, and the next try resumes there/.test(e.message));
    const kept = readFileSync(`${dest}.part`).length;
    assert.ok(kept > 0 && kept <= 100_000, String(kept));
    assert.ok(!existsSync(dest));
    const r = await downloadFile(`${base}/cut-twice`, dest, fast);
    assert.deepEqual(readFileSync(dest), body);
    assert.equal(r.resumed, true);
    const ranges = requestsTo('/cut-twice').map((s) => s.range);
    assert.equal(ranges.length, 3);
    assert.deepEqual(ranges.slice(0, 2), [undefined, `bytes=${kept}-`]);
    assert.match(ranges[2]!, /^bytes=\d+-$/);
  });

  test('a server without ranges sends the whole file again, and it is written from the start', async () => {
    const dest = join(dir, 'd', 'plain.bin');
    const r = await downloadFile(`${base}/cut-no-ranges`, dest, fast);
    assert.deepEqual(readFileSync(dest), body);
    assert.equal(r.resumed, false);
    const ranges = requestsTo('/cut-no-ranges').map((s) => s.range);
    assert.equal(ranges.length, 2);
    assert.match(ranges[1]!, /^bytes=\d+-$/, 'asked for the rest, got the whole file');
  });

  test('a corrupt download is refused by its hash and deleted', async () => {
    const dest = join(dir, 'e', `weights-${sha.slice(0, 8)}.pth`);
    await assert.rejects(downloadFile(`${base}/corrupt`, dest, { ...fast, sha256Prefix: sha.slice(0, 8) }), (e: Error) => /corrupt: sha256 mismatch: expected one starting with/.test(e.message) && /deleted/.test(e.message));
    assert.deepEqual(readdirSync(join(dir, 'e')), []);
  });

  test('a download another live process holds is refused, a stale lock is taken over', async () => {
    const dest = join(dir, 'f', 'locked.bin');
    mkdirSync(join(dir, 'f'));
    writeFileSync(`${dest}.part.lock`, String(process.ppid));
    await assert.rejects(downloadFile(`${base}/file`, dest, fast), new RegExp(`process ${process.ppid} is downloading it`));
    writeFileSync(`${dest}.part.lock`, '2147483646');
    await downloadFile(`${base}/file`, dest, fast);
    assert.deepEqual(readFileSync(dest), body);
  });
});

describe('published weights by name', () => {
  const entry = (path: string): PublishedWeights => ({ ...PUBLISHED_WEIGHTS[0]!, model: 'mobilenet_v2', name: 'TEST_V1', isDefault: true, file: `test_net-${sha.slice(0, 8)}.pth`, url: `${base}/m${path}` });
  const env = (name: string) => ({ MOBILEZOO_HOME: join(dir, name, 'home'), TORCH_HOME: join(dir, name, 'torch') });

  test('names: the model (its default), model.ENUM, the enum class, the file; any case', () => {
    assert.equal(findPublishedWeights('mobilenet_v3_large')?.file, 'mobilenet_v3_large-5c1a4163.pth');
    assert.equal(findPublishedWeights('mobilenet_v3_large.IMAGENET1K_V1')?.file, 'mobilenet_v3_large-8738ca79.pth');
    assert.equal(findPublishedWeights('MobileNet_V3_Large_Weights.DEFAULT')?.name, 'IMAGENET1K_V2');
    assert.equal(findPublishedWeights('mobilenet_v3_small.imagenet1k_v1')?.model, 'mobilenet_v3_small');
    assert.equal(findPublishedWeights('shufflenetv2_x0.5-f707e7126e.pth')?.model, 'shufflenet_v2_x0_5');
    assert.equal(findPublishedWeights('mobilenet_v3_small.IMAGENET1K_V2'), undefined);
    assert.equal(findPublishedWeights('mobilenet_v1'), undefined);
  });

  test('downloaded once into $MOBILEZOO_HOME/weights, then taken from the cache', async () => {
    const w = entry('/file');
    const e = env('once');
    const logs: string[] = [];
    const path = await fetchWeights(w, { env: e, progress: false, log: (m) => logs.push(m) });
    assert.equal(path, join(e.MOBILEZOO_HOME, 'weights', w.file));
    assert.deepEqual(readFileSync(path), body);
    assert.match(logs[0]!, /^downloading mobilenet_v2\.TEST_V1 .* from http:\/\/127\.0\.0\.1:\d+\/m\/file to /);
    const n = seen.length;
    assert.equal(await resolveWeightsFile('mobilenet_v2.test_v1', '--weights', { env: e, table: [w] }), path);
    assert.equal(seen.length, n, 'no request for a cached file');
    assert.deepEqual(listWeights(e, [w]).map((l) => [l.name, l.cached]), [['mobilenet_v2.TEST_V1', path]]);
  });

  test('a file in torch.hub\'s cache is used without downloading', async () => {
    const w = entry('/file');
    const e = env('hub');
    const hub = weightsDirs(e).torchHub;
    mkdirSync(hub, { recursive: true });
    writeFileSync(join(hub, w.file), body);
    const n = seen.length;
    assert.equal(await fetchWeights(w, { env: e, progress: false }), join(hub, w.file));
    assert.equal(seen.length, n);
  });

  test('offline, a missing file fails at once with the URL and the path to put it at', async () => {
    const w = entry('/file');
    const e = { ...env('offline'), MOBILEZOO_OFFLINE: '1' };
    const n = seen.length;
    await assert.rejects(fetchWeights(w, { env: e }), (err: Error) => err.message.includes(w.url) && err.message.includes(join(e.MOBILEZOO_HOME, 'weights', w.file)) && /downloads are off/.test(err.message));
    assert.equal(seen.length, n);
    // A host that cannot be reached says the same, at once.
    const unreachable = { ...w, url: 'http://127.0.0.1:9/m/file' };
    await assert.rejects(fetchWeights(unreachable, { env: env('unreachable'), progress: false }), (err: Error) => /cannot reach 127\.0\.0\.1:9 \(ECONNREFUSED\)/.test(err.message) && err.message.includes(join(dir, 'unreachable', 'home', 'weights', w.file)));
  });

  test('a corrupt download is refused, and nothing is left in the cache', async () => {
    const w = entry('/corrupt');
    const e = env('corrupt');
    await assert.rejects(fetchWeights(w, { env: e, progress: false }), /mobilenet_v2\.TEST_V1: the download of .* is corrupt: sha256 mismatch/);
    assert.deepEqual(readdirSync(weightsDirs(e).cache), []);
  });

  test('an unknown name that is no file says what names are', async () => {
    await assert.rejects(resolveWeightsFile('mobilenet_v9', '--pretrained'), /--pretrained mobilenet_v9: no such file, and not the name of published weights \(mobilezoo weights lists them: mobilenet_v2\.IMAGENET1K_V1/);
  });
});
