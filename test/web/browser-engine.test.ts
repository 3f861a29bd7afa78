/**
 * The engine in headless Chromium, as plain ES modules (dist/ served as it is, fflate named by an import
 * map; no bundler): a reference fixture's weights.pth read in the page, its eval logits and its
 * train-mode outputs on onnxruntime-web (wasm) checked with the Node backend's tolerances; the Trainer
 * in a Web Worker (RemoteTrainer) gives the page's own Trainer's losses, with the images transferred and
 * the page's thread free during the steps.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { readSafetensors } from '../../src/io/safetensors.js';
import { Tensor } from '../../src/tensor.js';
import { ROOT, rmrf, tempDir } from '../cli/helpers.js';
import { EVAL_TOLERANCE, NO_FIXTURES, REFERENCE, maxAbs, maxAbsDiff } from '../models/fixtures.js';
import { type TrainModeOutputs, assertTrainMode } from '../train/fixture-checks.js';
import { CHROMIUM, serve } from './helpers.js';

const CASE = 'mobilenet_v2_0.5_cifar';
const PAGE = `<!doctype html><meta charset="utf-8"><title>engine</title>
<script type="importmap">{ "imports": { "fflate": "/vendor/browser.js" } }</script><body>engine</body>`;

/** Runs in the page: the case's eval logits and train-mode outputs, as one safetensors file (base64). */
async function fixtureInPage(id: string): Promise<string> {
  const web = await import('/lib/web/index.js' as string);
  const ort = await import('/ort/ort.wasm.min.mjs' as string);
  const backend = web.webBackend(ort, { wasmPaths: '/ort/', threads: 1 });
  const bytes = async (f: string) => new Uint8Array(await (await fetch(`/fixtures/${id}/${f}`)).arrayBuffer());
  const c = web.readSafetensors(await bytes('case.safetensors'), 'case.safetensors');
  const input = c.get('input');
  const model = web.createModel('mobilenet_v2', { widthMult: 0.5, numClasses: 10, dropout: 0 });
  model.loadStateDict(web.loadCheckpoint(await bytes('weights.pth'), 'weights.pth'));
  const inputSize = input.shape.slice(1);
  const session = await web.InferenceSession.create(model, { inputSize, backend });
  const evalLogits = await session.run(input.toFloat32());
  await session.dispose();
  const trainer = await web.Trainer.create(model, { backend, optimizer: { type: 'sgd' }, lr: 0, inputSize });
  const r = await trainer.lossAndGradients(input.toFloat32(), c.get('labels').data);
  await trainer.dispose();
  const out = new Map([
    ['eval_logits', web.Tensor.float32([evalLogits.length], evalLogits)],
    ['logits', web.Tensor.float32([r.logits.length], r.logits)],
    ['loss', web.Tensor.float32([1], Float32Array.of(r.loss))],
  ]);
  for (const [n, g] of r.grads) out.set(`grad/${n}`, web.Tensor.float32([g.length], g));
  for (const [n, t] of r.buffersAfter) out.set(`buffer/${n}`, t);
  const file: Uint8Array = web.writeSafetensors(out);
  let s = '';
  for (let i = 0; i < file.length; i += 0x8000) s += String.fromCharCode(...file.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * Runs in the page: three steps of a seeded MobileNetV2 on the same synthetic batches, by a Trainer in
 * a Web Worker and by one in the page; the worker's images are transferred (detached after the call),
 * and the page's timers run while the worker steps.
 */
async function workerInPage(): Promise<{ remote: number[]; local: number[]; detached: boolean; ticks: number; files: string[]; backend: string }> {
  const web = await import('/lib/web/index.js' as string);
  const ort = await import('/ort/ort.wasm.min.mjs' as string);
  const model = { name: 'mobilenet_v2', options: { widthMult: 0.25, numClasses: 10, stem: 'cifar', seed: 1 } };
  const options = { optimizer: { type: 'sgd', momentum: 0.9 }, lr: 0.05, inputSize: [3, 32, 32], seed: 2 };
  const data = web.makeSynthetic('train', { length: 48, size: 32 });
  const loader = new web.BatchLoader(data, { batchSize: 16, shuffle: true, seed: 3, transform: web.standardTransform(data, { train: true, size: 32, channels: 3 }) });
  const batches: { images: Float32Array; labels: Int32Array }[] = [];
  for await (const b of loader.iterate(0)) batches.push({ images: b.images, labels: b.labels });

  const worker = new Worker('/lib/web/trainer-worker-main.js', { type: 'module' });
  const remote = await web.RemoteTrainer.start(worker, { ortUrl: new URL('/ort/ort.wasm.min.mjs', location.href).href, wasmPaths: '/ort/', threads: 1 });
  await remote.create(model.name, model.options, options);
  let ticks = 0;
  let ticking = true;
  const tick = () => {
    if (!ticking) return;
    ticks++;
    setTimeout(tick, 0);
  };
  const remoteLosses: number[] = [];
  let detached = true;
  for (const b of batches) {
    const images = b.images.slice();
    tick();
    const r = await remote.trainStep(images, b.labels.slice());
    ticking = false;
    await new Promise((resolve) => setTimeout(resolve, 0));
    ticking = true;
    detached &&= images.byteLength === 0;
    remoteLosses.push(r.loss);
  }
  ticking = false;
  const files = await remote.checkpoint({
    tag: 'last', config: web.resolveTrainConfig({ model: model.name, dataset: 'synthetic', epochs: 1, batchSize: 16 }), modelOptions: model.options,
    inputSize: [3, 32, 32], dataset: { name: 'synthetic', title: 'synthetic', classNames: data.classNames, trainSize: 48, testSize: 16, options: {} },
    preprocessing: web.recordPreprocessing(data, web.resolveTransform(web.standardTransform(data, { train: false, size: 32, channels: 3 }), data)),
    epoch: 1, progress: { stepInEpoch: 0, stepsPerEpoch: 3 }, history: [], seconds: 0,
  });
  await remote.terminate();

  const local = await web.Trainer.create(web.createModel(model.name, model.options), { ...options, backend: web.webBackend(ort, { wasmPaths: '/ort/', threads: 1 }) });
  const localLosses: number[] = [];
  for (const b of batches) localLosses.push((await local.trainStep(b.images, b.labels)).loss);
  await local.dispose();
  return { remote: remoteLosses, local: localLosses, detached, ticks, files: files.map((f: { name: string }) => f.name), backend: remote.backend.backend };
}

describe('the engine in Chromium (plain ES modules, onnxruntime-web wasm)', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (install Debian's chromium package to run this test)` }, () => {
  const dir = tempDir('mobilezoo-browser-engine-');
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serve>>;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    writeFileSync(join(dir, 'index.html'), PAGE);
    server = await serve({
      '/lib/': join(ROOT, 'dist'), '/ort/': join(ROOT, 'node_modules/onnxruntime-web/dist'), '/vendor/': join(ROOT, 'node_modules/fflate/esm'),
      '/fixtures/': REFERENCE, '/': dir,
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    page = await browser.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
    // tsx (esbuild) names functions with a __name helper, which functions sent to the page call.
    await page.addInitScript('globalThis.__name = (f) => f');
    await page.route('**/*', (route) => (new URL(route.request().url()).origin === server.origin ? route.continue() : route.abort()));
    await page.goto(`${server.origin}/`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    rmrf(dir);
  });

  test(`${CASE}: weights.pth read in the page; eval logits, train-mode loss, every gradient and the BatchNorm buffers within the fixture tolerances`, { skip: NO_FIXTURES }, async (t) => {
    const file = readSafetensors(new Uint8Array(Buffer.from(await page.evaluate(fixtureInPage, CASE), 'base64')), 'page output');
    const expected = readSafetensors(readFileSync(`${REFERENCE}${CASE}/case.safetensors`), 'case.safetensors').get('logits_eval')!.toFloat32();
    const evalLogits = file.get('eval_logits')!.toFloat32();
    const evalErr = maxAbsDiff(evalLogits, expected) / maxAbs(expected);
    assert.ok(evalErr <= EVAL_TOLERANCE, `eval logits relative error ${evalErr}`);
    const r: TrainModeOutputs = {
      loss: file.get('loss')!.toFloat32()[0]!, logits: file.get('logits')!.toFloat32(), grads: new Map(), buffersAfter: new Map<string, Tensor>(),
    };
    for (const [k, v] of file) {
      if (k.startsWith('grad/')) r.grads.set(k.slice(5), v.toFloat32());
      if (k.startsWith('buffer/')) r.buffersAfter.set(k.slice(7), v);
    }
    const e = assertTrainMode(CASE, r);
    t.diagnostic(`Chromium: eval logits ${evalErr.toExponential(2)}; gradients global relative L2 ${e.gradsGlobalRelL2.toExponential(2)}, smallest cosine ${e.gradsMinCosine.toFixed(6)}`);
  });

  test('a Trainer in a Web Worker: the page\'s Trainer\'s losses, images transferred, the page\'s timers running during the steps', async (t) => {
    const r = await page.evaluate(workerInPage);
    t.diagnostic(`worker ${r.backend}: losses ${r.remote.map((l) => l.toFixed(5)).join(', ')}; page timer ticks during the worker's steps: ${r.ticks}`);
    assert.deepEqual(r.remote, r.local);
    assert.ok(r.detached, 'the images were transferred to the worker');
    assert.ok(r.ticks >= r.remote.length, `the page ran its timers while the worker stepped (${r.ticks} ticks)`);
    assert.deepEqual(r.files, ['checkpoint-last.safetensors', 'checkpoint-last.optim.safetensors', 'checkpoint-last.json']);
  });

  test('nothing failed, no console errors', () => {
    assert.deepEqual(problems, []);
  });
});
