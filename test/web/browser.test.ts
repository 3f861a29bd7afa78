/**
 * The exported page in headless Chromium (onnxruntime-web, wasm): served from 127.0.0.1 with every
 * other request aborted, it classifies PNGs (by URL, as an element, a canvas and ImageData) with the
 * probabilities predict computes in Node; choosing a file shows the bars; the camera button films
 * Chromium's fake camera.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { decodeImageRgb } from '../../src/data/decode.js';
import type { ClassScore } from '../../src/report/metrics.js';
import type * as OrtWeb from 'onnxruntime-web';
import type { PageApi } from '../../src/web/page.js';
import type { OrtWebModule } from '../../src/runtime/web-backend.js';
import { exportWeb, predictImages, quantizeToOnnx } from '../../src/workflow/index.js';
import { rmrf, tempDir } from '../cli/helpers.js';
import { CHROMIUM, MODEL, decisiveWeights, grayscaleOnnx, serve, writePng } from './helpers.js';

const SCREENSHOT = '/tmp/mobilezoo-web-page.png';
const TOLERANCE = 1e-3;
const dir = tempDir('mobilezoo-web-browser-');
const imageDir = join(dir, 'images');
const weights = join(dir, 'weights.safetensors');
const IMAGES = { wide: 'wide-40x30.png', tall: 'tall-50x70.png', gray: 'gray-28x28.png', small: 'rgb-28x28.png' };

type Source = 'url' | 'element' | 'canvas' | 'imageData';

// onnxruntime-web's module is what webBackend takes (checked by npm run typecheck).
const ortWebFits: typeof OrtWeb extends OrtWebModule ? true : false = true;
void ortWebFits;

describe('the exported page in Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not found (install Debian's chromium package to run this test)` }, () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof serve>>;
  const blocked: string[] = [];
  const failed: string[] = [];
  const consoleErrors: string[] = [];
  let maxDiff = 0;

  before(async () => {
    await mkdir(imageDir);
    await decisiveWeights(weights);
    await grayscaleOnnx(weights, join(dir, 'gray.onnx'));
    await writePng(join(imageDir, IMAGES.wide), 40, 30, 3, 1);
    await writePng(join(imageDir, IMAGES.tall), 50, 70, 3, 2);
    await writePng(join(imageDir, IMAGES.gray), 28, 28, 1, 3);
    await writePng(join(imageDir, IMAGES.small), 28, 28, 3, 4);
    await exportWeb({ ...MODEL, weights, dir: join(dir, 'rgb'), threads: 1 });
    await exportWeb({ onnx: join(dir, 'gray.onnx'), dir: join(dir, 'gray'), threads: 1 });
    // The RGB model in int8 (mobilezoo quantize, calibrated on the synthetic set), on a page of its own.
    await quantizeToOnnx({ ...MODEL, weights, out: join(dir, 'int8.onnx'), dataset: 'synthetic', calibration: 32, threads: 1 });
    await exportWeb({ onnx: join(dir, 'int8.onnx'), dir: join(dir, 'int8'), threads: 1 });
    // The same site cross-origin isolated, where the page runs onnxruntime-web on several threads.
    const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    server = await serve({ '/rgb/': join(dir, 'rgb'), '/gray/': join(dir, 'gray'), '/int8/': join(dir, 'int8'), '/isolated/': { dir: join(dir, 'rgb'), headers: isolated }, '/images/': { dir: imageDir, headers: isolated } });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
        '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    rmrf(dir);
  });

  /** A page of a site, every request off the server's origin aborted and recorded. */
  async function open(site: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${site}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${site}: pageerror ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === server.origin) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    await page.goto(`${server.origin}/${site}/`);
    await page.evaluate(() => window.mobilezoo.ready);
    return page;
  }

  /** window.mobilezoo.classify on the page, for an image of /images/ given as `source`. */
  async function classifyIn(page: Page, image: string, source: Source, rgb?: { data: number[]; width: number; height: number }): Promise<ClassScore[]> {
    return page.evaluate(async ({ url, source, rgb }) => {
      const api: PageApi = window.mobilezoo;
      if (source === 'url') return api.classify(url, 10);
      if (source === 'imageData') {
        const rgba = new Uint8ClampedArray(rgb!.width * rgb!.height * 4).fill(255);
        for (let p = 0; p < rgb!.width * rgb!.height; p++) rgba.set(rgb!.data.slice(p * 3, p * 3 + 3), p * 4);
        return api.classify(new ImageData(rgba, rgb!.width, rgb!.height), 10);
      }
      const img = new Image();
      img.src = url;
      await img.decode();
      if (source === 'element') return api.classify(img, 10);
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [img.naturalWidth, img.naturalHeight];
      canvas.getContext('2d')!.drawImage(img, 0, 0);
      return api.classify(canvas, 10);
    }, { url: `/images/${image}`, source, rgb });
  }

  async function compare(site: string, reference: Parameters<typeof predictImages>[1], images: string[], sources: Source[] = ['url', 'element', 'canvas', 'imageData']): Promise<Page> {
    const page = await open(site);
    const expected = await predictImages(images.map((f) => join(imageDir, f)), { ...reference, top: 10, threads: 1 });
    for (const [i, image] of images.entries()) {
      const want = expected.predictions[i]!.top;
      const decoded = await decodeImageRgb(join(imageDir, image));
      const rgb = { data: Array.from(decoded.data), width: decoded.width, height: decoded.height };
      for (const source of sources) {
        const got = await classifyIn(page, image, source, rgb);
        assert.equal(got[0]!.index, want[0]!.index, `${site} ${image} (${source}): top-1 ${got[0]!.label}, predict says ${want[0]!.label}`);
        assert.equal(got.length, want.length);
        for (const t of got) {
          const w = want.find((c) => c.index === t.index)!;
          assert.equal(t.label, w.label);
          const diff = Math.abs(t.probability - w.probability);
          maxDiff = Math.max(maxDiff, diff);
          assert.ok(diff < TOLERANCE, `${site} ${image} (${source}) class ${t.index}: ${t.probability} in the browser, ${w.probability} in Node`);
        }
      }
    }
    return page;
  }

  test('an RGB model exported from weights: images resized to 32x32 give predict\'s probabilities', async () => {
    await (await compare('rgb', { ...MODEL, weights }, [IMAGES.wide, IMAGES.tall])).close();
  });

  test('a grayscale Fashion-MNIST-like model from an ONNX file: luma, pad 2, gray → RGB as in predict', async () => {
    await (await compare('gray', { onnx: join(dir, 'gray.onnx') }, [IMAGES.gray, IMAGES.small, IMAGES.wide])).close();
  });

  test('an int8 model from mobilezoo quantize: onnxruntime-web\'s int8 kernels give predict --onnx\'s probabilities', async () => {
    await (await compare('int8', { onnx: join(dir, 'int8.onnx') }, [IMAGES.wide, IMAGES.tall], ['url', 'imageData'])).close();
  });

  test('cross-origin isolated (COOP + COEP, so onnxruntime-web runs on up to 4 threads): the same probabilities', async () => {
    const page = await compare('isolated', { ...MODEL, weights }, [IMAGES.tall], ['url']);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true);
    await page.close();
  });

  test('the page: choosing a file shows the top classes as bars, with the model, its size and the latency', async (t) => {
    const page = await open('rgb');
    const [expected] = (await predictImages([join(imageDir, IMAGES.tall)], { ...MODEL, weights, top: 5, threads: 1 })).predictions;
    await page.locator('#file').setInputFiles(join(imageDir, IMAGES.tall));
    await page.locator('#top li').nth(4).waitFor();
    assert.deepEqual(await page.locator('#top .label').allInnerTexts(), expected!.top.map((t) => t.label));
    assert.deepEqual(await page.locator('#top .value').allInnerTexts(), expected!.top.map((t) => `${(t.probability * 100).toFixed(1)}%`));
    assert.equal(await page.locator('h1').innerText(), 'mobilenet_v2');
    assert.match(await page.locator('#model-info').innerText(), /10 classes · input 3x32x32 · model\.onnx \d+(\.\d+)? (KiB|MiB) · from weights\.safetensors/);
    assert.match(await page.locator('#latency').innerText(), /^last classification: \d+\.\d ms \(preprocessing \d+\.\d ms, model \d+\.\d ms\)$/);
    assert.ok(await page.locator('#preview').isVisible());
    // Each bar is filled to its probability.
    const fills = await page.locator('#top .bar').evaluateAll((bars) => bars.map((b) => Number(getComputedStyle(b).getPropertyValue('--p'))));
    fills.forEach((p, i) => assert.ok(Math.abs(p - expected!.top[i]!.probability) < TOLERANCE, `bar ${i}: ${p}`));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);

    // Chromium's fake camera: the button is shown, and frames are classified until it is pressed again.
    assert.ok(await page.locator('#camera').isVisible());
    const before = await page.locator('#latency').innerText();
    await page.locator('#camera').click();
    await page.waitForFunction((b) => document.getElementById('latency')!.textContent !== b, before);
    assert.equal(await page.locator('#top li').count(), 5);
    assert.ok(await page.locator('#video').isVisible());
    await page.locator('#camera').click();
    assert.equal(await page.locator('#camera').innerText(), 'Use the camera');
    await page.close();
  });

  test('nothing was requested off the serving origin, nothing failed, no console errors', (t) => {
    t.diagnostic(`largest probability difference browser vs Node: ${maxDiff.toExponential(2)}`);
    assert.deepEqual(blocked, []);
    assert.deepEqual(failed, []);
    assert.deepEqual(consoleErrors, []);
  });
});
