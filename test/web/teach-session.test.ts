/**
 * The teach page's training run (src/web/teach/session.ts) under Node, through the worker's protocol on
 * a MessageChannel and onnxruntime-web: a project of PNG class folders gives the command line's held-out
 * split, losses and accuracy (`train --data DIR --pretrained F --freeze backbone --no-augment`, same
 * settings), with the frozen-backbone cache and without it (a trainable layer before the classifier).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-web';
import sharp from 'sharp';
import type { Image } from '../../src/data/transforms.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { loadCheckpoint } from '../../src/io/state-dict-bytes.js';
import type { OrtWebModule } from '../../src/runtime/web-backend.js';
import { RemoteTrainer, type WorkerLike } from '../../src/web/trainer-client.js';
import { type PortLike, serveTrainer } from '../../src/web/trainer-worker.js';
import { type Project, newId, newProject } from '../../src/web/teach/project.js';
import { RunControl, trainProject } from '../../src/web/teach/session.js';
import { startFromFiles } from '../../src/web/teach/start.js';
import { rmrf, runCliProcess, tempDir } from '../cli/helpers.js';
import { writePng } from './helpers.js';

const CLASSES = ['ant', 'bee', 'cat'];
const PER_CLASS = 15;

async function decode(blob: Blob): Promise<Image> {
  const { data, info } = await sharp(new Uint8Array(await blob.arrayBuffer())).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), height: info.height, width: info.width, channels: 3 };
}

async function remoteTrainer(): Promise<RemoteTrainer> {
  const { port1, port2 } = new MessageChannel();
  serveTrainer(port2 as unknown as PortLike, async () => ort as unknown as OrtWebModule);
  const worker: WorkerLike = {
    postMessage: (m, t) => port1.postMessage(m, t as never),
    addEventListener: (_type, l) => port1.on('message', (data) => l({ data })),
    terminate: () => port1.close(),
  };
  return RemoteTrainer.start(worker, { ortUrl: 'onnxruntime-web', threads: 1 });
}

describe('a teach project trained as the command line trains its folder', () => {
  const dir = tempDir('mobilezoo-teach-session-');
  const data = join(dir, 'data');
  let start: Awaited<ReturnType<typeof startFromFiles>>;
  let remote: RemoteTrainer;
  let project: Project;

  before(async () => {
    // A checkpoint to start from: a few steps of the command line on the synthetic set (32x32, CIFAR stem).
    const run = await runCliProcess(['train', '--dataset', 'synthetic', '--model', 'mobilenet_v2', '--width', '0.25', '--epochs', '1', '--limit', '64', '--batch-size', '32', '--threads', '1', '--out', join(dir, 'run')]);
    assert.equal(run.code, 0, run.stderr);
    start = await startFromFiles(['checkpoint-last.json', 'checkpoint-last.safetensors'].map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, 'run', name))) })), { name: 'mobilenet_v3_small', options: {} });
    project = { ...newProject(), model: start.model!, start: start.start, classes: [] };
    for (const [k, name] of CLASSES.entries()) {
      await mkdir(join(data, name), { recursive: true });
      const images = [];
      for (let i = 0; i < PER_CLASS; i++) {
        const file = join(data, name, `${String(i).padStart(2, '0')}.png`);
        await writePng(file, 36, 30, 3, 100 * k + i);
        images.push({ id: newId(), name: `${String(i).padStart(2, '0')}.png`, blob: new Blob([readFileSync(file)], { type: 'image/png' }), width: 36, height: 30 });
      }
      project.classes.push({ id: newId(), name, images });
    }
    remote = await remoteTrainer();
  });

  after(async () => {
    await remote?.terminate();
    rmrf(dir);
  });

  for (const freeze of ['backbone', 'features.17'] as const) {
    test(`--freeze ${freeze}: the command line's split, losses and held-out accuracy${freeze === 'backbone' ? ' (cached embeddings)' : ''}`, async (t) => {
      const settings = { ...project.settings, freeze, epochs: 3, batchSize: 8 };
      const notes: string[] = [];
      const r = await trainProject({ ...project, settings }, { remote, decode, control: new RunControl(), events: { note: (m) => notes.push(m) } });
      assert.ok(r);
      assert.equal(r.cached, freeze === 'backbone');
      const out = join(dir, `cli-${freeze}`);
      const cli = await runCliProcess([
        'train', '--dataset', 'folder', '--data', data, '--pretrained', join(dir, 'run', 'checkpoint-last.json'), '--freeze', freeze, '--epochs', '3',
        '--batch-size', '8', '--lr', '0.001', '--optimizer', 'adam', '--no-augment', '--seed', '0', '--val-split', '0', '--threads', '1', '--out', out,
      ]);
      assert.equal(cli.code, 0, cli.stderr);
      const [header, ...lines] = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
      const [trainLoss, testLoss, testAcc] = ['train_loss', 'test_loss', 'test_acc'].map((c) => header!.split(',').indexOf(c)) as [number, number, number];
      const rows = lines.map((l) => l.split(',').map(Number));
      t.diagnostic(`page: ${r.history.map((h) => `${h.trainLoss.toFixed(5)} ${h.testLoss.toFixed(5)} ${h.testAcc.toFixed(3)}`).join(' | ')}`);
      t.diagnostic(`CLI:  ${rows.map((c) => `${c[trainLoss]!.toFixed(5)} ${c[testLoss]!.toFixed(5)} ${c[testAcc]!.toFixed(3)}`).join(' | ')}`);
      r.history.forEach((h, e) => {
        assert.ok(Math.abs(h.trainLoss - rows[e]![trainLoss]!) < 1e-3, `epoch ${e + 1} train loss ${h.trainLoss} vs ${rows[e]![trainLoss]}`);
        assert.ok(Math.abs(h.testLoss - rows[e]![testLoss]!) < 1e-3, `epoch ${e + 1} held-out loss ${h.testLoss} vs ${rows[e]![testLoss]}`);
        assert.equal(h.testAcc, rows[e]![testAcc]);
      });
      // The checkpoint's weights are the command line's, within float32 rounding of two runtimes.
      const page = readSafetensors(r.files.find((f) => f.name === 'checkpoint-last.safetensors')!.bytes, 'page');
      const node = loadCheckpoint(readFileSync(join(out, 'checkpoint-last.safetensors')), 'cli');
      const w = page.get('classifier.1.weight')!.toFloat32();
      const v = node.get('classifier.1.weight')!.toFloat32();
      let d = 0;
      for (let i = 0; i < w.length; i++) d = Math.max(d, Math.abs(w[i]! - v[i]!));
      assert.ok(d < 1e-4, `classifier weights differ by ${d}`);
    });
  }
});
