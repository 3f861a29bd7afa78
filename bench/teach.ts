/**
 * The teach page's training speed in Chromium (onnxruntime-web wasm, cross-origin isolated: up to 4
 * threads), driven through the page as a user would (file inputs, the Train button), timed from the
 * click to "Done":
 *   - MobileNetV3-Small at 224, frozen backbone, 200 images, 10 epochs: with the frozen-backbone cache
 *     (the default) and without it (the full step at every epoch);
 *   - MobileNetV2 0.5x, CIFAR stem, every layer trained, 500 32x32 images, 5 epochs.
 * Images are random color blobs (speed does not depend on what they show); weights are the models' own
 * initialization. No held-out images, so an epoch is its training steps alone.
 *
 *   node --import tsx bench/teach.ts                # all three (about 3 min on 2 cores)
 *   node --import tsx bench/teach.ts --only v3      # v3-cached, v3-uncached or v2
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Rng } from '../src/data/random.js';
import type {} from '../src/web/teach/teach-page.js';
import { exportWeb } from '../src/workflow/index.js';
import { CHROMIUM, serve } from '../test/web/helpers.js';


interface Case {
  name: string;
  model: string;
  width?: string;
  stem: string;
  images: number;
  size: number;
  epochs: number;
  freeze: string;
  featureCache: boolean;
  batchSize: number;
}

const CASES: Case[] = [
  { name: 'v3-cached', model: 'mobilenet_v3_small', stem: 'imagenet', images: 200, size: 224, epochs: 10, freeze: 'backbone', featureCache: true, batchSize: 16 },
  { name: 'v3-uncached', model: 'mobilenet_v3_small', stem: 'imagenet', images: 200, size: 224, epochs: 10, freeze: 'backbone', featureCache: false, batchSize: 16 },
  { name: 'v2', model: 'mobilenet_v2', width: '0.5', stem: 'cifar', images: 500, size: 32, epochs: 5, freeze: 'none', featureCache: true, batchSize: 32 },
];

async function blobPng(file: string, size: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const data = new Uint8Array(size * size * 3);
  const blobs = Array.from({ length: 3 }, () => ({ x: rng.random() * size, y: rng.random() * size, r: 3 + (rng.random() * size) / 2, c: [0, 1, 2].map(() => rng.int(256)) }));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 20;
        for (const b of blobs) v += b.c[c]! * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r));
        data[(y * size + x) * 3 + c] = Math.min(255, Math.round(v));
      }
    }
  }
  await sharp(data, { raw: { width: size, height: size, channels: 3 } }).png().toFile(file);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const cases = CASES.filter((c) => !values.only || c.name.startsWith(values.only));
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found`);
  const dir = join(tmpdir(), `mobilezoo-bench-teach-${process.pid}`);
  await mkdir(dir, { recursive: true });
  try {
    await exportWeb({ dir: join(dir, 'site'), teach: true, threads: 1 });
    const server = await serve({ '/': { dir: join(dir, 'site'), headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } } });
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    console.log(`Chromium ${browser.version()}, cross-origin isolated page; ${new Date().toISOString()}`);
    for (const c of cases) {
      const files: string[][] = [[], []];
      for (let i = 0; i < c.images; i++) {
        const file = join(dir, `${c.name}-${c.size}-${i}.png`);
        if (!existsSync(file)) await blobPng(file, c.size, i);
        files[i % 2]!.push(file);
      }
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error(`pageerror ${e.message}`));
      await page.goto(`${server.origin}/`);
      await page.evaluate(() => window.teach.ready);
      await page.selectOption('#model', c.model);
      if (c.width) await page.selectOption('#width', c.width);
      await page.selectOption('#stem', c.stem);
      await page.click('#tabs button[data-tab="classes"]');
      for (const k of [0, 1]) await page.locator('.class').nth(k).locator('input[type="file"][accept="image/*"]').setInputFiles(files[k]!);
      await page.waitForFunction((n) => document.querySelectorAll('.thumb').length === n, c.images, { timeout: 120_000 });
      await page.click('#tabs button[data-tab="train"]');
      await page.selectOption('#freeze', c.freeze);
      await page.fill('#epochs', String(c.epochs));
      await page.fill('#batch-size', String(c.batchSize));
      await page.selectOption('#held-out', '0');
      await page.dispatchEvent('#epochs', 'change');
      await page.evaluate((on) => (window.teach.project().settings.featureCache = on), c.featureCache);
      const t0 = Date.now();
      await page.click('#train');
      await page.waitForFunction(() => /^Done|failed/.test(document.getElementById('progress-text')!.textContent!), undefined, { timeout: 600_000 });
      const seconds = (Date.now() - t0) / 1000;
      const r = await page.evaluate(() => {
        const res = window.teach.project().result!;
        return { cached: res.cached, history: res.history.map((h) => ({ seconds: h.seconds, imagesPerSec: h.imagesPerSec })), log: document.getElementById('log')!.textContent! };
      });
      const epochs = r.history.map((h) => h.seconds);
      const later = epochs.slice(1);
      const mean = later.reduce((a, b) => a + b, 0) / later.length;
      console.log(`\n${c.name}: ${c.model}${c.width ? ` ${c.width}x` : ''} ${c.stem} stem, ${c.images} images ${c.size}x${c.size}, ${c.epochs} epochs, train ${c.freeze === 'backbone' ? 'the classifier (frozen backbone)' : 'every layer'}, batch ${c.batchSize}, cache ${r.cached ? 'on' : 'off'}`);
      console.log(`  total ${seconds.toFixed(1)} s from the click to Done; epoch 1 ${epochs[0]!.toFixed(2)} s, epochs 2+ ${mean.toFixed(3)} s each (${epochs.map((s) => s.toFixed(2)).join(', ')})`);
      console.log(`  ${r.log.split('\n').find((l) => /onnxruntime-web/.test(l)) ?? ''}`);
      await context.close();
    }
    await browser.close();
    await server.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
