/**
 * The teach page (`export --web DIR --teach`) in Chromium, served on 127.0.0.1 with every other request
 * aborted and counted (none may happen): a project of three Fashion-MNIST classes (test-set PNGs) built
 * through the real file inputs, trained from a checkpoint trained by the command line, with the held-out
 * accuracy `train` reaches on the same folder with the same settings; the project intact after a reload;
 * the downloaded checkpoint through `mobilezoo test` (the page's held-out accuracy) and `export --pth`;
 * webcam bursts from Chromium's fake camera; bad input answered in the page; screenshots of every screen
 * at desktop and phone width (TEACH_SCREENSHOTS=DIR keeps them).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Download, Page } from 'playwright-core';
import sharp from 'sharp';
import { indexFolder } from '../../src/data/folder.js';
import { readIdxImages, readIdxLabels } from '../../src/data/mnist.js';
import { zipEntries, zipEntryBytes } from '../../src/io/zip-reader.js';
import type {} from '../../src/web/page.js';
import type {} from '../../src/web/teach/teach-page.js';
import { exportWeb } from '../../src/workflow/index.js';
import { rmrf, runCliProcess, tempDir } from '../cli/helpers.js';
import { CHROMIUM, serve } from './helpers.js';

const FM = '/usr/share/datasets/fashion-mnist';
/** Class folder name → Fashion-MNIST label; in sorted order, as `train --data` orders class folders. */
const CLASSES: [string, number][] = [['coat', 4], ['pullover', 2], ['sneaker', 7]];
const PER_CLASS = 100;
const EPOCHS = 4;
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };


const skip = !existsSync(CHROMIUM) ? `${CHROMIUM} not found (install Debian's chromium package to run this test)` : !existsSync(`${FM}/t10k-images-idx3-ubyte.gz`) ? `${FM} has no Fashion-MNIST test set` : false;

describe('the teach page in Chromium', { skip }, () => {
  const dir = tempDir('mobilezoo-teach-');
  const site = join(dir, 'site');
  const data = join(dir, 'data');
  const heldOut = join(dir, 'held-out');
  const downloads = join(dir, 'downloads');
  const screens = process.env.TEACH_SCREENSHOTS ?? join(dir, 'screens');
  const nodeRun = join(dir, 'node-run');
  let cliAccuracy: Promise<{ accuracy: number; epochs: string }>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let server: Awaited<ReturnType<typeof serve>>;
  let bundled: Awaited<ReturnType<typeof serve>>;
  const outside: string[] = [];
  const problems: string[] = [];
  const saved: Download[] = [];

  const shot = async (name: string) => {
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(screens, `${name}.png`), fullPage: true });
  };
  const tab = async (name: string) => page.click(`#tabs button[data-tab="${name}"]`);
  const message = async () => ((await page.locator('#messages').isVisible()) ? (await page.locator('#messages').textContent()) ?? '' : '');
  const project = () => page.evaluate(() => window.teach.project());

  before(async () => {
    await mkdir(screens, { recursive: true });
    await mkdir(downloads, { recursive: true });
    // The starting point: a short Fashion-MNIST run of the command line.
    const r = await runCliProcess([
      'train', '--dataset', 'fashion-mnist', '--data', FM, '--model', 'mobilenet_v2', '--width', '0.25', '--epochs', '1', '--limit', '1000',
      '--test-limit', '100', '--batch-size', '32', '--optimizer', 'sgd', '--lr', '0.05', '--threads', '2', '--out', nodeRun,
    ]);
    assert.equal(r.code, 0, r.stderr);
    // The project's images: the first PER_CLASS test images of each class, as PNG files in class folders.
    const images = await readIdxImages(`${FM}/t10k-images-idx3-ubyte.gz`);
    const labels = await readIdxLabels(`${FM}/t10k-labels-idx1-ubyte.gz`, 10);
    for (const [name, label] of CLASSES) {
      await mkdir(join(data, name), { recursive: true });
      let n = 0;
      for (let i = 0; i < labels.length && n < PER_CLASS; i++) {
        if (labels[i] !== label) continue;
        await sharp(images.data.subarray(i * 784, (i + 1) * 784), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(data, name, `${String(n++).padStart(3, '0')}.png`));
      }
    }
    // What the command line reaches on this folder with the page's settings (started now, compared later).
    cliAccuracy = runCliProcess([
      'train', '--dataset', 'folder', '--data', data, '--pretrained', join(nodeRun, 'checkpoint-last.json'), '--freeze', 'backbone',
      '--epochs', String(EPOCHS), '--batch-size', '16', '--lr', '0.001', '--optimizer', 'adam', '--no-augment', '--seed', '0', '--val-split', '0', '--threads', '1',
      '--out', join(dir, 'cli-run'),
    ]).then((c) => {
      assert.equal(c.code, 0, c.stderr);
      const [header, ...lines] = readFileSync(join(dir, 'cli-run', 'metrics.csv'), 'utf8').trim().split('\n');
      const col = (name: string) => header!.split(',').indexOf(name);
      const rows = lines.map((l) => l.split(',').map(Number));
      const [loss, acc] = [col('train_loss'), col('test_acc')];
      return { accuracy: rows[rows.length - 1]![acc]!, epochs: rows.map((r) => `${r[loss]!.toFixed(4)}/${(r[acc]! * 100).toFixed(1)}%`).join(' ') };
    });
    cliAccuracy.catch(() => {});

    await exportWeb({ dir: site, teach: true, threads: 1 });
    await exportWeb({ dir: join(dir, 'bundled'), teach: true, checkpoint: join(nodeRun, 'checkpoint-last.json'), threads: 1 });
    bundled = await serve({ '/': join(dir, 'bundled') });
    server = await serve({ '/': { dir: site, headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } } });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    });
    context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true });
    await context.grantPermissions(['camera'], { origin: server.origin });
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if ([server.origin, bundled.origin].includes(new URL(url).origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`pageerror ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
    page.on('download', (d) => saved.push(d));
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${server.origin}/`);
    await page.evaluate(() => window.teach.ready);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await bundled?.close();
    await cliAccuracy?.catch(() => {});
    rmrf(dir);
  });

  test('bad input gets a message in the page: a file that is not weights, weights for another model, classes without images', async () => {
    await shot('desktop-1-start-empty');
    await page.check('input[name="weights"][value="file"]');
    await page.setInputFiles('#weights-file', join(data, 'coat', '000.png'));
    await page.waitForFunction(() => !document.getElementById('messages')!.hidden);
    assert.match(await message(), /000\.png: not weights this page reads/);
    await page.selectOption('#model', 'mobilenet_v3_small');
    await page.setInputFiles('#weights-file', join(nodeRun, 'checkpoint-last.safetensors'));
    await page.waitForFunction(() => /not for mobilenet_v3_small/.test(document.getElementById('messages')!.textContent!));
    await shot('desktop-1-start-error');
    await tab('train');
    await page.click('#train');
    await page.waitForFunction(() => /has no images/.test(document.getElementById('messages')!.textContent!));
    assert.match(await message(), /Class "class 1" has no images\.\nClass "class 2" has no images\./);
  });

  test('a project of three classes through the file inputs, trained from the command line\'s checkpoint: the accuracy `train` reaches', async (t) => {
    await tab('start');
    await page.setInputFiles('#weights-file', [join(nodeRun, 'checkpoint-last.json'), join(nodeRun, 'checkpoint-last.safetensors')]);
    await page.waitForFunction(() => /checkpoint-last\.json/.test(document.getElementById('start-label')!.textContent!));
    assert.equal(await page.inputValue('#model'), 'mobilenet_v2');
    await shot('desktop-1-start');

    await tab('classes');
    await page.click('#add-class');
    for (const [k, [name]] of CLASSES.entries()) {
      const card = page.locator('.class').nth(k);
      await card.locator('.class-name').fill(name);
      await card.locator('.class-name').dispatchEvent('change');
      const files = (await readdir(join(data, name))).sort().map((f) => join(data, name, f));
      await page.locator('.class').nth(k).locator('input[type="file"][accept="image/*"]').setInputFiles(files);
      await page.waitForFunction(([k, n]) => document.querySelectorAll('.class')[k]!.querySelectorAll('.thumb').length === n, [k, PER_CLASS] as const);
    }
    const p = await project();
    assert.deepEqual(p.classes.map((c) => [c.name, c.images.length]), CLASSES.map(([n]) => [n, PER_CLASS]));
    await shot('desktop-2-classes');

    // The page's held-out images are `train --data`'s test split of the same folder.
    const split = indexFolder({ root: data, testFraction: 0.2, seed: 0 });
    const heldNames = await page.evaluate(() => [...document.querySelectorAll('.thumb.held img')].map((i) => `${i.closest('.class')!.querySelector<HTMLInputElement>('.class-name')!.value}/${(i as HTMLImageElement).alt}`));
    assert.deepEqual(heldNames.sort(), split.test.files.map((f) => f.split('/').slice(-2).join('/')).sort());
    for (const f of split.test.files) {
      const [cls, name] = f.split('/').slice(-2);
      await mkdir(join(heldOut, cls!), { recursive: true });
      writeFileSync(join(heldOut, cls!, name!), readFileSync(f));
    }

    await tab('train');
    await page.fill('#epochs', String(EPOCHS));
    await page.dispatchEvent('#epochs', 'change');
    await page.click('#train');
    await page.waitForFunction(() => /epoch 1\/|failed/.test(document.getElementById('progress-text')!.textContent!), undefined, { timeout: 120_000 });
    assert.equal(await message(), '');
    await page.click('#pause');
    await page.waitForTimeout(300);
    assert.match((await page.textContent('#progress-text'))!, /paused/);
    await shot('desktop-3-train-paused');
    await page.click('#pause');
    await page.waitForFunction(() => /^Done|failed/.test(document.getElementById('progress-text')!.textContent!), undefined, { timeout: 300_000 });
    assert.equal(await message(), '');
    await shot('desktop-3-train');
    const result = (await project()).result!;
    assert.equal(result.history.length, EPOCHS);
    assert.ok(result.cached, 'frozen backbone without augmentation trains on cached embeddings');
    const log = (await page.textContent('#log'))!;
    assert.match(log, /embedding is computed once/);
    const { accuracy: cli, epochs } = await cliAccuracy;
    t.diagnostic(`held-out accuracy of ${result.evaluation.predictions.length} images: page ${(result.evaluation.accuracy * 100).toFixed(2)}%, train --data (same folder, settings) ${(cli * 100).toFixed(2)}%`);
    t.diagnostic(`train loss / held-out accuracy per epoch: page ${result.history.map((h) => `${h.trainLoss.toFixed(4)}/${(h.testAcc * 100).toFixed(1)}%`).join(' ')}; CLI ${epochs}`);
    assert.ok(Math.abs(result.evaluation.accuracy - cli) <= 0.02, `page ${result.evaluation.accuracy} vs CLI ${cli}`);
    assert.ok(result.evaluation.accuracy > 0.5, `held-out accuracy ${result.evaluation.accuracy}`);
  });

  test('evaluate: the accuracy shown, a confusion-matrix cell shows its images', async () => {
    await tab('evaluate');
    const p = await project();
    const ev = p.result!.evaluation;
    assert.match((await page.textContent('#accuracy'))!, new RegExp(`${(ev.accuracy * 100).toFixed(1)}%`));
    const cells = page.locator('#confusion td');
    assert.equal(await cells.count(), 9);
    // The fullest cell off the diagonal (the mistakes), else the first.
    const flat = ev.confusion.flat();
    const pick = flat.reduce((best, v, i) => (i % 4 !== 0 && v > flat[best]! ? i : best), 0);
    await cells.nth(pick).click();
    assert.equal(await page.locator('#cell-images .thumb').count(), flat[pick]);
    await shot('desktop-4-evaluate');
  });

  test('use: a chosen image and the live (fake) webcam give class bars', async () => {
    await tab('use');
    await page.setInputFiles('#use-file', join(data, 'sneaker', '000.png'));
    await page.waitForFunction(() => document.querySelectorAll('#bars li').length === 3);
    await shot('desktop-5-use');
    await page.click('#live');
    await page.waitForFunction(() => !document.getElementById('use-video')!.hidden && /ms/.test(document.getElementById('use-latency')!.textContent!));
    await page.waitForTimeout(500);
    await shot('desktop-5-use-live');
    await page.click('#live');
  });

  test('webcam: holding the button records a burst into the class; an image can be deleted', async () => {
    await tab('classes');
    const before = (await project()).classes[1]!.images.length;
    await page.locator('.class').nth(1).locator('button', { hasText: 'Webcam' }).click();
    await page.waitForFunction(() => !document.getElementById('webcam')!.hidden);
    const box = (await page.locator('#record').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.waitForTimeout(700);
    await shot('desktop-2-webcam');
    await page.mouse.up();
    await page.click('#webcam-close');
    await page.waitForFunction((n) => window.teach.project().classes[1]!.images.length > n + 2, before);
    const shots = await page.evaluate((b) => window.teach.project().classes[1]!.images.slice(b).map((i) => ({ name: i.name, width: i.width, height: i.height, type: i.blob.type })), before);
    assert.ok(shots.every((i) => /^webcam-/.test(i.name) && i.width === 224 && i.height === 224 && i.type === 'image/png'), JSON.stringify(shots[0]));
    const n = before + shots.length;
    await page.locator('.class').nth(1).locator('.thumb').last().hover();
    await page.locator('.class').nth(1).locator('.thumb button').last().click();
    await page.waitForFunction((n) => window.teach.project().classes[1]!.images.length === n - 1, n);
    // Back to the trained project's images (so that a reload compares what was trained).
    for (let k = before; k < n - 1; k++) await page.locator('.class').nth(1).locator('.thumb button').last().click();
    await page.waitForFunction((n) => window.teach.project().classes[1]!.images.length === n, before);
  });

  test('keep: a reload finds the project intact; downloads go on to `mobilezoo test` and `export --pth`', async (t) => {
    const beforeReload = await project();
    await page.evaluate(() => window.teach.saved());
    await page.reload();
    await page.evaluate(() => window.teach.ready);
    const p = await project();
    assert.deepEqual(p.classes.map((c) => [c.name, c.images.map((i) => i.name)]), beforeReload.classes.map((c) => [c.name, c.images.map((i) => i.name)]));
    assert.deepEqual(p.result!.evaluation, beforeReload.result!.evaluation);
    assert.equal(p.start.label, beforeReload.start.label);

    await tab('keep');
    await shot('desktop-6-keep');
    const grab = async (button: string, count: number) => {
      const start = saved.length;
      await page.click(button);
      const deadline = Date.now() + 60_000;
      while (saved.length < start + count && Date.now() < deadline) await page.waitForTimeout(100);
      const got = saved.slice(start, start + count);
      assert.equal(got.length, count, `${button}: ${got.length} downloads`);
      for (const d of got) await d.saveAs(join(downloads, d.suggestedFilename()));
      return got.map((d) => d.suggestedFilename());
    };
    assert.deepEqual((await grab('#dl-checkpoint', 3)).sort(), ['checkpoint-last.json', 'checkpoint-last.optim.safetensors', 'checkpoint-last.safetensors']);
    const [onnx] = await grab('#dl-onnx', 1);
    const [pth] = await grab('#dl-pth', 1);
    const [zip] = await grab('#dl-page', 1);
    const zipBytes = new Uint8Array(readFileSync(join(downloads, zip!)));
    const entries = zipEntries(zipBytes, zip!);
    for (const f of ['index.html', 'page.css', 'model.onnx', 'model.json', 'lib/web/page.js', 'ort/ort-wasm-simd-threaded.wasm']) assert.ok(entries.has(`my-classifier-page/${f}`), f);
    // The classify page, unzipped and served, classifies as the teach page's Use tab does.
    const unzipped = join(dir, 'classify-page');
    for (const [name, e] of entries) {
      await mkdir(dirname(join(unzipped, name)), { recursive: true });
      writeFileSync(join(unzipped, name), zipEntryBytes(zipBytes, e, e.size, zip!));
    }
    const classifyServer = await serve({ '/': join(unzipped, 'my-classifier-page') });
    try {
      const other = await context.newPage();
      await other.route('**/*', (route) => {
        const url = route.request().url();
        if (new URL(url).origin === classifyServer.origin || url.startsWith('data:')) return route.continue();
        outside.push(url);
        return route.abort();
      });
      await other.goto(`${classifyServer.origin}/`);
      await other.evaluate(() => window.mobilezoo.ready);
      const image = `data:image/png;base64,${readFileSync(join(data, 'sneaker', '000.png')).toString('base64')}`;
      const top = await other.evaluate((src) => window.mobilezoo.classify(src, 3), image);
      await other.close();
      await tab('use');
      await page.setInputFiles('#use-file', join(data, 'sneaker', '000.png'));
      await page.waitForFunction(() => document.querySelectorAll('#bars li').length === 3);
      const shownTop = await page.locator('#bars li .label').first().textContent();
      assert.equal(top[0]!.label, shownTop);
      await tab('keep');
    } finally {
      await classifyServer.close();
    }

    const accuracyOf = (stdout: string) => Number(/"top1":\s*([0-9.]+)/.exec(stdout)?.[1] ?? NaN);
    const test1 = await runCliProcess(['test', '--checkpoint', join(downloads, 'checkpoint-last.json'), '--dataset', 'folder', '--data', heldOut, '--threads', '1', '--json']);
    assert.equal(test1.code, 0, test1.stderr);
    const testOnnx = await runCliProcess(['test', '--onnx', join(downloads, onnx!), '--dataset', 'folder', '--data', heldOut, '--threads', '1', '--json']);
    assert.equal(testOnnx.code, 0, testOnnx.stderr);
    const shown = p.result!.evaluation.accuracy;
    t.diagnostic(`held-out accuracy: page ${shown}, mobilezoo test --checkpoint ${accuracyOf(test1.stdout)}, --onnx ${accuracyOf(testOnnx.stdout)}`);
    assert.equal(accuracyOf(test1.stdout), shown);
    assert.equal(accuracyOf(testOnnx.stdout), shown);
    const pthOut = join(dir, 'exported.pth');
    const exported = await runCliProcess(['export', '--checkpoint', join(downloads, 'checkpoint-last.json'), '--pth', pthOut]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual(readFileSync(pthOut).length > 0, true);
    assert.ok(readFileSync(join(downloads, pth!)).length > 100_000);
  });

  test('the project as one file: exported, a new project, imported back', async () => {
    await tab('keep');
    const start = saved.length;
    await page.click('#export-project');
    while (saved.length === start) await page.waitForTimeout(100);
    const file = join(downloads, saved[start]!.suggestedFilename());
    await saved[start]!.saveAs(file);
    const before = await project();
    await page.click('#reset');
    await page.waitForFunction(() => window.teach.project().classes.every((c) => c.images.length === 0));
    await page.setInputFiles('#import-project', file);
    await page.waitForFunction(() => /Imported/.test(document.getElementById('messages')!.textContent!));
    const p = await project();
    assert.deepEqual(p.classes.map((c) => [c.name, c.images.length]), before.classes.map((c) => [c.name, c.images.length]));
    assert.deepEqual(p.result!.evaluation.accuracy, before.result!.evaluation.accuracy);
    assert.deepEqual(p.start.weights!.length, before.start.weights!.length);
  });

  test('drag-and-drop: files dropped on a class are added to it; a dropped file that is not an image is named in a message', async () => {
    await tab('classes');
    const before = (await project()).classes.map((c) => c.images.length);
    // Files made in the page from two of the first class's images; a synthetic drop has files but no entries.
    await page.evaluate(async () => {
      const source = window.teach.project().classes[0]!.images.slice(0, 2);
      const dt = new DataTransfer();
      for (const im of source) dt.items.add(new File([im.blob], `dropped-${im.name}`, { type: 'image/png' }));
      const card = document.querySelectorAll('.class')[2]!;
      card.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      card.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction((n) => window.teach.project().classes[2]!.images.length === n + 2, before[2]!);
    const names = await page.evaluate(() => window.teach.project().classes[2]!.images.slice(-2).map((i) => i.name));
    assert.deepEqual(names, ['dropped-000.png', 'dropped-001.png']);
    assert.deepEqual((await project()).classes.slice(0, 2).map((c) => c.images.length), before.slice(0, 2));
    // A file that is not an image is named in a message, and not added.
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
      document.querySelectorAll('.class')[2]!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => /notes\.txt: not an image/.test(document.getElementById('messages')!.textContent!));
    assert.equal((await project()).classes[2]!.images.length, before[2]! + 2);
  });

  test('a site with bundled weights (export --web --teach --checkpoint) starts from them', async () => {
    const bundledPage = await context.newPage();
    bundledPage.on('pageerror', (e) => problems.push(`pageerror ${e.message}`));
    bundledPage.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    await bundledPage.goto(`${bundled.origin}/`);
    await bundledPage.evaluate(() => window.teach.ready);
    assert.ok(await bundledPage.locator('#bundled-choice').isVisible());
    assert.match((await bundledPage.textContent('#start-label'))!, /checkpoint-last\.json \(mobilenet_v2, Fashion-MNIST, 10 classes\) \(bundled with this page\)/);
    assert.equal(await bundledPage.inputValue('#model'), 'mobilenet_v2');
    const p = await bundledPage.evaluate(() => ({ kind: window.teach.project().start.kind, weights: window.teach.project().start.weights!.length }));
    assert.equal(p.kind, 'bundled');
    assert.ok(p.weights > 100_000);
    await bundledPage.screenshot({ path: join(screens, 'desktop-1-start-bundled.png') });
    await bundledPage.close();
  });

  test('every screen at phone width', async () => {
    await page.setViewportSize(PHONE);
    for (const [k, name] of ['start', 'classes', 'train', 'evaluate', 'use', 'keep'].entries()) {
      await tab(name);
      if (name === 'evaluate') await page.locator('#confusion td').nth(4).click();
      await shot(`phone-${k + 1}-${name}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${name}: the page is ${overflow}px wider than a phone screen`);
    }
    await page.setViewportSize(DESKTOP);
  });

  test('offline: no request left 127.0.0.1; nothing failed, no console errors', () => {
    assert.deepEqual(outside, []);
    assert.deepEqual(problems, []);
  });
});
