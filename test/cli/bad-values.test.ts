/**
 * Issue 20, findings 4 and 13 at the command line: bad values exit 2 naming the flag (or the file), the
 * thread and worker caps are stated in --help, oversized models and inputs are refused before anything is
 * built, and SIGTERM stops training within a step (a second one at once).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { saveSafetensorsFile } from '../../src/io/checkpoint.js';
import { createModel } from '../../src/models/registry.js';
import { readCheckpointRecord } from '../../src/workflow/checkpoints.js';
import { maxThreads, maxWorkers } from '../../src/workflow/resources.js';
import { rmrf, runCliInMemory, startCli, tempDir } from './helpers.js';

const dir = tempDir('mobilezoo-bad-values-');
after(() => rmrf(dir));

const SYNTHETIC = ['--model', 'mobilenet_v2', '--width', '0.25', '--dataset', 'synthetic', '--input', '16', '--epochs', '1', '--batch-size', '8', '--limit', '16', '--test-limit', '8', '--threads', '1'];

describe('bad values exit 2 and name the flag', () => {
  const cases: [string, string[], RegExp][] = [
    ['--seed -1', ['train', '--seed', '-1'], /--seed: expected a non-negative integer, got '-1'/],
    ['--threads over the cap', ['train', '--threads', '10000'], new RegExp(`--threads: at most ${maxThreads()} here: 4 per core, never below 64; got '10000'`)],
    ['--workers over the cap', ['train', '--workers', '1000'], new RegExp(`--workers: at most ${maxWorkers()} here: 2 per core, never below 8; got '1000'`)],
    ['predict --threads over the cap', ['predict', 'a.png', '--threads', '100000'], /--threads: at most \d+ here/],
    ['--freeze of a module the model lacks', ['train', ...SYNTHETIC, '--freeze', 'nonexistent.module', '--out', join(dir, 'freeze')], /--freeze: MobileNetV2 has no module 'nonexistent\.module'/],
    ['--width 100 (refused before the model is built)', ['train', ...SYNTHETIC, '--width', '100', '--out', join(dir, 'wide')], /^mobilezoo train: training: mobilenet_v2 \{"widthMult":100,.*\} \([\d,]+ parameters\) at input 3x16x16, batch 8, training needs about \d+ GB, more than this machine's [\d.]+ GB of memory; refusing/],
    ['--input 100000', ['export', '--onnx', join(dir, 'x.onnx'), '--model', 'mobilenet_v2', '--input', '100000'], /--input 100000: mobilenet_v2 .* at input 3x100000x100000, batch 1 needs about \d+ GB, more than this machine's/],
    ['train --input 100000 (before the synthetic data is made at that size)', ['train', '--dataset', 'synthetic', '--limit', '16', '--input', '100000', '--out', join(dir, 'big')], /^mobilezoo train: training: mobilenet_v2 \{"stem":"imagenet"\} .* at input 3x100000x100000, batch 128, training needs about \d+ GB/],
    ['export --batch 100000', ['export', '--onnx', join(dir, 'x.onnx'), '--model', 'mobilenet_v2', '--batch', '100000'], /--batch 100000: mobilenet_v2 \{\} .* batch 100000 needs about \d+ GB/],
  ];
  for (const [name, args, re] of cases) {
    test(name, async () => {
      const r = await runCliInMemory(args);
      assert.equal(r.code, 2, `stdout: ${r.out}\nstderr: ${r.err}`);
      assert.match(r.err, re);
    });
  }

  test('--help states the caps of --threads and --workers', async () => {
    const r = await runCliInMemory(['train', '--help']);
    assert.equal(r.code, 0);
    const text = r.out.replace(/\s+/g, ' ');
    assert.match(text, new RegExp(`--threads <n> .*\\(at most ${maxThreads()} here: 4 per core, never below 64\\)`));
    assert.match(text, new RegExp(`--workers <n> .*\\(at most ${maxWorkers()} here: 2 per core, never below 8\\)`));
    assert.equal(maxThreads(), Math.max(64, 4 * os.availableParallelism()));
  });

  test('a device or a folder given as weights is named, exit 1', async () => {
    const zero = await runCliInMemory(['predict', 'a.png', '--weights', '/dev/zero', '--model', 'mobilenet_v2']);
    assert.equal(zero.code, 1);
    assert.match(zero.err, /error: \/dev\/zero: a device, not a regular file/);
    const folder = await runCliInMemory(['predict', 'a.png', '--weights', dir, '--model', 'mobilenet_v2']);
    assert.equal(folder.code, 1);
    assert.match(folder.err, new RegExp(`error: ${dir}: a folder, not a regular file`));
  });

  test('a FIFO given as an image, or in a folder of images, is named (and not waited on), exit 1', async () => {
    const images = join(dir, 'images');
    mkdirSync(images);
    const weights = join(dir, 'random.safetensors');
    await saveSafetensorsFile(weights, createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 10, stem: 'cifar' }).stateDict());
    const model = ['--weights', weights, '--model', 'mobilenet_v2', '--width', '0.25', '--classes', '10', '--stem', 'cifar'];
    const fifo = join(images, 'fifo.png');
    execFileSync('mkfifo', [fifo]);
    for (const image of [fifo, images]) {
      const r = await runCliInMemory(['predict', image, ...model]);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, new RegExp(`error: ${fifo}: a FIFO \\(named pipe\\), not a regular file`));
    }
  });
});

describe('signals during training', () => {
  // Steps of 10 per epoch (each printed) and slow enough (32x32, batch 16) that a signal lands mid-run.
  const TRAIN = ['train', '--model', 'mobilenet_v2', '--width', '0.25', '--dataset', 'synthetic', '--input', '32', '--epochs', '3', '--batch-size', '16', '--limit', '160', '--val-split', '0', '--test-limit', '16', '--threads', '1'];

  test('the first SIGTERM finishes the current step, saves and stops', async () => {
    const out = join(dir, 'term');
    const run = startCli([...TRAIN, '--out', out]);
    await run.waitForStderr(/step 3\/10/);
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /SIGTERM: finishing the current step and saving a resumable checkpoint/);
    const { record } = await readCheckpointRecord(join(out, 'checkpoint-interrupted.json'));
    // Step 3 was printed before the signal; at most the step running then (and one the print lagged) follow.
    assert.ok(record.progress.step >= 3 && record.progress.step <= 5, `stopped at step ${record.progress.step}`);
  });

  test('a second SIGTERM exits at once without saving', async () => {
    const out = join(dir, 'term2');
    const run = startCli([...TRAIN, '--out', out]);
    await run.waitForStderr(/step 2\/10/);
    run.child.kill('SIGTERM');
    await run.waitForStderr(/SIGTERM: finishing the current step/);
    run.child.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /SIGTERM again: quitting without saving/);
  });
});
