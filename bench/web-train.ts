/**
 * Train-step time of the web backend (onnxruntime-web, wasm) against the Node backend (onnxruntime-node,
 * CPU) at the same thread counts, with the same Trainer and step graph (the web one without NCHWc
 * kernels, which wasm lacks):
 *   node --import tsx bench/web-train.ts [--rounds 3] [--threads 1,2,4] [--steps 5] [--configs 0,1,2]
 *   node --import tsx bench/web-train.ts --chromium [--threads 1,2,4]    # the web backend in headless Chromium
 * Configurations: MobileNetV2 0.5x CIFAR stem (32x32) at batch 32 and 128; MobileNetV3 Small at 224 with
 * the backbone frozen at batch 16 (SGD momentum 0.9, 10 classes). onnxruntime-web reads its thread count
 * once per module, so each (backend, threads, configuration) runs in a process of its own; rounds
 * alternate node and web. Prints one JSON line per run (the medians of `steps` timed steps after two
 * warm-up steps: wall time, and the process's CPU time, less disturbed on a shared machine), then one
 * summary line per configuration and thread count: the medians over rounds and web / node. In Chromium the page is cross-origin isolated (COOP + COEP), so wasm may use threads.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ortWeb from 'onnxruntime-web';
import { createModel } from '../src/models/registry.js';
import type { Backend } from '../src/runtime/backend.js';
import { nodeBackend } from '../src/runtime/node-backend.js';
import { webBackend } from '../src/runtime/web-backend.js';
import { resolveFreeze } from '../src/train/freeze.js';
import { Trainer } from '../src/train/trainer.js';
import { ROOT, rmrf, tempDir } from '../test/cli/helpers.js';
import { CHROMIUM, serve } from '../test/web/helpers.js';

interface Config {
  name: string;
  model: string;
  options: Record<string, unknown>;
  input: number;
  batch: number;
  freeze: string;
}

const CONFIGS: Config[] = [
  { name: 'mobilenet_v2 0.5x cifar b32', model: 'mobilenet_v2', options: { widthMult: 0.5, numClasses: 10, stem: 'cifar' }, input: 32, batch: 32, freeze: 'none' },
  { name: 'mobilenet_v2 0.5x cifar b128', model: 'mobilenet_v2', options: { widthMult: 0.5, numClasses: 10, stem: 'cifar' }, input: 32, batch: 128, freeze: 'none' },
  { name: 'mobilenet_v3_small 224 frozen backbone b16', model: 'mobilenet_v3_small', options: { numClasses: 10 }, input: 224, batch: 16, freeze: 'backbone' },
];

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' }, threads: { type: 'string', default: '1,2,4' }, steps: { type: 'string', default: '5' },
    configs: { type: 'string', default: '0,1,2' }, chromium: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false }, backend: { type: 'string' }, config: { type: 'string' }, 'threads-one': { type: 'string' },
  },
});
const steps = Number(values.steps);

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Inputs of a step: deterministic, the same in Node and in the page. */
function batchOf(c: Config): { images: Float32Array; labels: Int32Array } {
  const images = new Float32Array(c.batch * 3 * c.input * c.input);
  for (let i = 0; i < images.length; i++) images[i] = Math.sin(i * 12.9898) * 0.5;
  return { images, labels: Int32Array.from({ length: c.batch }, (_, i) => i % 10) };
}

async function timeSteps(c: Config, backend: Backend): Promise<{ train_step_ms: number; cpu_ms: number; compile_ms: number }> {
  const model = createModel(c.model, c.options);
  const t0 = performance.now();
  const trainer = await Trainer.create(model, {
    backend, optimizer: { type: 'sgd', momentum: 0.9 }, lr: 0.01, batchSize: c.batch, inputSize: [3, c.input, c.input], frozen: resolveFreeze(model, c.freeze),
  });
  const compileMs = performance.now() - t0;
  const { images, labels } = batchOf(c);
  for (let i = 0; i < 2; i++) await trainer.trainStep(images, labels);
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    const u = process.cpuUsage();
    await trainer.trainStep(images, labels);
    const du = process.cpuUsage(u);
    times.push(performance.now() - t);
    cpu.push((du.user + du.system) / 1000);
  }
  await trainer.dispose();
  return { train_step_ms: Number(median(times).toFixed(1)), cpu_ms: Number(median(cpu).toFixed(1)), compile_ms: Math.round(compileMs) };
}

const threadList = values.threads!.split(',').map(Number);
const configList = values.configs!.split(',').map((i) => CONFIGS[Number(i)]!);

if (values.child) {
  const c = CONFIGS[Number(values.config)]!;
  const threads = Number(values['threads-one']);
  const backend = values.backend === 'web' ? webBackend(ortWeb, { threads }) : nodeBackend({ threads });
  console.log(JSON.stringify({ where: 'node', backend: backend.name, config: c.name, threads, ...(await timeSteps(c, backend)) }));
} else if (values.chromium) {
  await inChromium();
} else {
  const results = new Map<string, { node: number[]; web: number[]; nodeCpu: number[]; webCpu: number[] }>();
  const self = fileURLToPath(import.meta.url);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const c of configList) {
      for (const threads of threadList) {
        // Alternate which backend goes first from round to round.
        const order = round % 2 === 0 ? ['node', 'web'] : ['web', 'node'];
        for (const backend of order) {
          const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', '--backend', backend, '--config', String(CONFIGS.indexOf(c)), '--threads-one', String(threads), '--steps', String(steps)], { encoding: 'utf8' });
          const line = out.trim().split('\n').at(-1)!;
          console.log(JSON.stringify({ round: round + 1, ...JSON.parse(line) }));
          const key = `${c.name}|${threads}`;
          const r = results.get(key) ?? { node: [], web: [], nodeCpu: [], webCpu: [] };
          const m = JSON.parse(line) as { train_step_ms: number; cpu_ms: number };
          r[backend as 'node' | 'web'].push(m.train_step_ms);
          r[backend === 'node' ? 'nodeCpu' : 'webCpu'].push(m.cpu_ms);
          results.set(key, r);
        }
      }
    }
  }
  for (const [key, r] of results) {
    const [config, threads] = key.split('|');
    const node = median(r.node);
    const web = median(r.web);
    const nodeCpu = median(r.nodeCpu);
    const webCpu = median(r.webCpu);
    console.log(JSON.stringify({
      summary: true, config, threads: Number(threads), node_ms: node, web_ms: web, web_over_node: Number((web / node).toFixed(2)),
      node_cpu_ms: nodeCpu, web_cpu_ms: webCpu, web_over_node_cpu: Number((webCpu / nodeCpu).toFixed(2)), rounds: r.node.length,
    }));
  }
}

/** The web backend in headless Chromium: a cross-origin isolated page served on 127.0.0.1, one page per thread count. */
async function inChromium(): Promise<void> {
  const dir = tempDir('mobilezoo-web-bench-');
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="importmap">{ "imports": { "fflate": "/vendor/browser.js" } }</script><body>bench</body>');
  const isolated = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
  const server = await serve({
    '/lib/': { dir: join(ROOT, 'dist'), headers: isolated }, '/ort/': { dir: join(ROOT, 'node_modules/onnxruntime-web/dist'), headers: isolated },
    '/vendor/': { dir: join(ROOT, 'node_modules/fflate/esm'), headers: isolated }, '/': { dir, headers: isolated },
  });
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    for (const threads of threadList) {
      for (const c of configList) {
        const page = await browser.newPage();
        await page.addInitScript('globalThis.__name = (f) => f');
        await page.goto(`${server.origin}/`);
        const r = await page.evaluate(async ({ c, threads, steps }) => {
          const web = await import('/lib/web/index.js' as string);
          const ort = await import('/ort/ort.wasm.min.mjs' as string);
          const backend = web.webBackend(ort, { wasmPaths: '/ort/', threads });
          const model = web.createModel(c.model, c.options);
          const t0 = performance.now();
          const trainer = await web.Trainer.create(model, {
            backend, optimizer: { type: 'sgd', momentum: 0.9 }, lr: 0.01, batchSize: c.batch, inputSize: [3, c.input, c.input], frozen: web.resolveFreeze(model, c.freeze),
          });
          const compileMs = performance.now() - t0;
          const images = new Float32Array(c.batch * 3 * c.input * c.input);
          for (let i = 0; i < images.length; i++) images[i] = Math.sin(i * 12.9898) * 0.5;
          const labels = Int32Array.from({ length: c.batch }, (_, i) => i % 10);
          for (let i = 0; i < 2; i++) await trainer.trainStep(images, labels);
          const times: number[] = [];
          for (let i = 0; i < steps; i++) {
            const t = performance.now();
            await trainer.trainStep(images, labels);
            times.push(performance.now() - t);
          }
          await trainer.dispose();
          times.sort((a, b) => a - b);
          return { backend: backend.name, isolated: crossOriginIsolated, train_step_ms: Number(times[Math.floor(times.length / 2)]!.toFixed(1)), compile_ms: Math.round(compileMs) };
        }, { c, threads, steps });
        console.log(JSON.stringify({ where: 'chromium', config: c.name, threads, ...r }));
        await page.close();
      }
    }
  } finally {
    await browser.close();
    await server.close();
    rmrf(dir);
  }
}
