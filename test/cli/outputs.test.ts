/**
 * Issue 20's findings on outputs, reproduced through the command (the compiled one, bin/mobilezoo.js,
 * as users run it): outputs that would replace inputs (5), two writers in one folder (6), users' files
 * in an output folder (7), a record whose class names do not fit the model (8), names that carry
 * terminal escapes (11), and `kill -9` at several points of a training run (12).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { loadStateDictFile } from '../../src/io/checkpoint.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { MetricsCsv } from '../../src/report/csv.js';
import { StepsCsv } from '../../src/report/steps.js';
import { loadModel, readCheckpointRecord, readResumableCheckpoint } from '../../src/workflow/checkpoints.js';
import { ROOT, rmrf, tempDir } from './helpers.js';

const BIN = join(ROOT, 'bin', 'mobilezoo.js');
const work = tempDir('mobilezoo-outputs-');
after(() => rmrf(work));

interface Run {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stderr(): string;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: { ...process.env, MOBILEZOO_OFFLINE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done, stderr: () => stderr };
}

const mz = (...args: string[]) => start(args).done;

async function until(what: () => boolean, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const TINY = ['train', '--model', 'mobilenet_v2', '--width', '0.25', '--dataset', 'synthetic', '--input', '16', '--batch-size', '8', '--test-limit', '16', '--threads', '1', '--workers', '0'];
const run = join(work, 'run');
const ckpt = join(run, 'checkpoint-last.json');

/** Every file of a folder with its bytes, for "nothing changed". */
function snapshot(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p);
      else m.set(p, readFileSync(join(dir, p)).toString('base64'));
    }
  };
  walk('');
  return m;
}

before(async () => {
  const r = await mz(...TINY, '--epochs', '1', '--limit', '40', '--out', run);
  assert.equal(r.code, 0, r.stderr);
});

describe('an output never replaces an input (finding 5)', () => {
  test('export --onnx / --pth and quantize --out onto the checkpoint they read, by name, symbolic link or hard link: exit 2, nothing written', async () => {
    const before = snapshot(run);
    symlinkSync(join(run, 'checkpoint-last.optim.safetensors'), join(work, 'link.onnx'));
    linkSync(join(run, 'checkpoint-last.safetensors'), join(work, 'hard.onnx'));
    const cases: [string[], RegExp][] = [
      [['export', '--onnx', 'run/checkpoint-last.safetensors', '--checkpoint', 'run/checkpoint-last.json'], /the ONNX output run\/checkpoint-last\.safetensors is the same file as the weights file of the checkpoint run\/checkpoint-last\.json/],
      [['export', '--pth', 'run/checkpoint-last.json', '--checkpoint', 'run/checkpoint-last.json'], /the \.pth output run\/checkpoint-last\.json is the same file as the checkpoint/],
      [['export', '--onnx', 'link.onnx', '--checkpoint', 'run/checkpoint-last.json'], /link\.onnx is the same file as the optimizer file of the checkpoint/],
      [['quantize', '--out', 'hard.onnx', '--checkpoint', 'run/checkpoint-last.json', '--calibration', '8'], /the int8 output hard\.onnx is the same file as the weights file/],
      [['export', '--pth', 'run/checkpoint-last.safetensors', '--weights', 'run/checkpoint-last.safetensors'], /is the same file as the weights/],
    ];
    const results = await Promise.all(cases.map(([args]) => mz(...args)));
    for (const [i, [args, message]] of cases.entries()) {
      assert.equal(results[i]!.code, 2, `${args.join(' ')}\n${results[i]!.stderr}`);
      assert.match(results[i]!.stderr, message);
    }
    assert.deepEqual(snapshot(run), before);
  });

  test('export --web SITE --from-onnx SITE/model.onnx deletes nothing', async () => {
    const site = join(work, 'site');
    assert.equal((await mz('export', '--onnx', 'site/model.onnx', '--checkpoint', 'run/checkpoint-last.json')).code, 0);
    const before = snapshot(site);
    const r = await mz('export', '--web', 'site', '--from-onnx', 'site/model.onnx');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the site folder .*site is a folder that holds the ONNX model site\/model\.onnx/);
    assert.deepEqual(snapshot(site), before);
  });
});

describe('export --web over a previous export (findings 5, 7)', () => {
  test('keeps the files the user added, refuses to replace the ones the user changed, and removes nothing of theirs', async () => {
    const site = join(work, 'web');
    const first = await mz('export', '--web', 'web', '--checkpoint', 'run/checkpoint-last.json');
    assert.equal(first.code, 0, first.stderr);
    writeFileSync(join(site, 'lib', 'analytics.js'), '// the user\'s\n');
    const again = await mz('export', '--web', 'web', '--checkpoint', 'run/checkpoint-last.json');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(join(site, 'lib', 'analytics.js'), 'utf8'), '// the user\'s\n');
    assert.ok(existsSync(join(site, 'model.onnx')) && existsSync(join(site, 'index.html')));

    writeFileSync(join(site, 'page.css'), 'body { color: hotpink }\n');
    const before = snapshot(site);
    const edited = await mz('export', '--web', 'web', '--checkpoint', 'run/checkpoint-last.json');
    assert.equal(edited.code, 2, edited.stderr);
    assert.match(edited.stderr, /page\.css was changed since mobilezoo wrote it/);
    assert.deepEqual(snapshot(site), before);
    // The site's own folder is the only thing an export leaves beside it (no temporary sibling).
    assert.deepEqual(readdirSync(work).filter((n) => n.startsWith('web')), ['web']);
  });

  test('train --out into a folder with the user\'s report.html, metrics.csv and loss.png refuses, naming them', async () => {
    const mine = join(work, 'mine');
    mkdirSync(mine);
    for (const f of ['report.html', 'metrics.csv', 'loss.png']) writeFileSync(join(mine, f), `the user's ${f}`);
    const before = snapshot(mine);
    const r = await mz(...TINY, '--epochs', '1', '--limit', '40', '--out', 'mine');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /loss\.png, metrics\.csv, report\.html were not written by mobilezoo/);
    assert.deepEqual(snapshot(mine), before);
  });

  test('a run folder from before manifests (mobilezoo checkpoint records, no .mobilezoo-files.json) is resumed, its files taken as mobilezoo\'s', async () => {
    const old = join(work, 'old-run');
    cpSync(run, old, { recursive: true });
    rmrf(join(old, '.mobilezoo-files.json'));
    const r = await mz('train', '--resume', 'old-run/checkpoint-last.json', '--epochs', '2', '--threads', '1', '--workers', '0');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /written by a mobilezoo from before \.mobilezoo-files\.json; its \d+ files of mobilezoo's names are now listed there/);
    assert.deepEqual((await new MetricsCsv(join(old, 'metrics.csv')).read()).map((row) => row.epoch), [1, 2]);
    // A folder whose checkpoint JSON is not mobilezoo's is not adopted.
    const fake = join(work, 'fake-run');
    mkdirSync(fake);
    writeFileSync(join(fake, 'checkpoint-last.json'), '{"not": "ours"}');
    const f = await mz(...TINY, '--epochs', '1', '--limit', '40', '--out', 'fake-run');
    assert.notEqual(f.code, 0, f.stderr);
    assert.equal(readFileSync(join(fake, 'checkpoint-last.json'), 'utf8'), '{"not": "ours"}');
  });
});

describe('one writer per folder (finding 6)', () => {
  test('a second train into a folder being written fails at once naming the pid; a killed run\'s lock is taken over; a finished run\'s folder is refused', async () => {
    const first = start([...TINY, '--epochs', '1', '--limit', '4000', '--out', 'shared']);
    await until(() => /epoch 1\/1: \d+ steps/.test(first.stderr()));
    const second = await mz(...TINY, '--epochs', '1', '--limit', '40', '--out', 'shared');
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`is being written by another mobilezoo run \\(pid ${first.child.pid} `));
    const web = await mz('export', '--web', 'shared', '--checkpoint', 'run/checkpoint-last.json');
    assert.equal(web.code, 2, web.stderr);
    first.child.kill('SIGKILL');
    await first.done;

    const third = await mz(...TINY, '--epochs', '1', '--limit', '40', '--out', 'shared');
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, new RegExp(`took over the lock of a run that is no longer running \\(pid ${first.child.pid} `));
    assert.deepEqual((await new MetricsCsv(join(work, 'shared', 'metrics.csv')).read()).map((r) => r.epoch), [1]);
    assert.ok(!existsSync(join(work, 'shared', '.mobilezoo.lock')));

    const fourth = await mz(...TINY, '--epochs', '1', '--limit', '40', '--out', 'shared');
    assert.equal(fourth.code, 2, fourth.stderr);
    assert.match(fourth.stderr, /already holds a training run \(checkpoint-\*\.json\); choose another --out, or continue it with --resume/);
  });
});

const TEMP = /\.tmp-\d+-[0-9a-f]{12}$/;

/** Every file under a final name loads; returns the checkpoint JSONs. */
async function checkLoadable(dir: string): Promise<string[]> {
  const jsons: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (TEMP.test(name)) continue;
    if (name === '.mobilezoo.lock' || name === '.mobilezoo-files.json') JSON.parse(readFileSync(path, 'utf8'));
    else if (/^checkpoint-.*\.json$/.test(name)) {
      const { record, dir: d } = await readResumableCheckpoint(path);
      await loadModel({ checkpoint: path });
      await loadStateDictFile(join(d, record.files.optimizer));
      jsons.push(path);
    } else if (name.endsWith('.safetensors')) readSafetensors(new Uint8Array(readFileSync(path)), path);
    else if (name === 'metrics.csv') await new MetricsCsv(path).read();
    else if (name === 'steps.csv') await new StepsCsv(path).read();
    else if (name.endsWith('.png')) assert.ok((await sharp(path).metadata()).width! > 0, name);
    else if (name.endsWith('.svg')) assert.match(readFileSync(path, 'utf8'), /<\/svg>\s*$/, name);
    else if (name === 'report.html') assert.match(readFileSync(path, 'utf8'), /<\/html>\s*$/, name);
    else assert.fail(`unexpected file ${name}`);
  }
  return jsons.sort();
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('kill -9 during training (finding 12)', () => {
  test('at several points leaves only files that load; the next run in the folder removes what is left and says so', async () => {
    // Points: during the first write, between a checkpoint's tensors and its JSON, during the second
    // checkpoint's writes, during the charts.
    const points: RegExp[] = [TEMP, /^checkpoint-epoch-1\.safetensors$/, /^checkpoint-epoch-2\..*\.tmp-/, /^(loss|accuracy|confusion)\.(svg|png)(\.tmp-.*)?$/];
    let dir = '';
    for (const [i, point] of points.entries()) {
      dir = join(work, `killed-${i}`);
      const r = start([...TINY, '--epochs', '2', '--limit', '24', '--save-every', '1', '--out', dir]);
      let seen = false;
      await until(() => (seen = existsSync(dir) && readdirSync(dir).some((n) => point.test(n))) || r.child.exitCode !== null);
      r.child.kill('SIGKILL');
      const end = await r.done;
      assert.ok(seen, `the run ended before ${point}: ${end.stderr}`);
      await checkLoadable(dir);
    }
    // The last folder, with a temporary file of a dead writer beside what the kill left.
    const stale = `metrics.csv.tmp-${deadPid()}-0123456789ab`;
    writeFileSync(join(dir, stale), 'half a csv');
    const jsons = await checkLoadable(dir);
    const next = await mz(...(jsons.length ? ['train', '--resume', jsons[jsons.length - 1]!] : [...TINY, '--epochs', '2', '--limit', '24', '--save-every', '1', '--out', dir]));
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /took over the lock of a run that is no longer running/);
    assert.match(next.stderr, new RegExp(`removed \\d+ temporary files? left by a run that did not finish: .*${stale.replace(/\./g, '\\.')}`));
    assert.deepEqual(readdirSync(dir).filter((n) => TEMP.test(n) || n === '.mobilezoo.lock'), []);
    await checkLoadable(dir);
  });
});

describe('a checkpoint is its JSON (finding 12)', () => {
  test('tensor files without their JSON are not resumed from, load as bare weights, and are removed by the next run in the folder', async () => {
    const dir = join(work, 'orphan');
    cpSync(run, dir, { recursive: true });
    // The run's only checkpoint then: last, without its JSON.
    for (const f of ['checkpoint-best.json', 'checkpoint-best.safetensors', 'checkpoint-best.optim.safetensors']) rmrf(join(dir, f));
    rmrf(join(dir, 'checkpoint-last.json'));
    const weights = join(dir, 'checkpoint-last.safetensors');
    await assert.rejects(readResumableCheckpoint(weights), /checkpoint-last\.safetensors: not a complete checkpoint \(no checkpoint-last\.json beside it/);
    const lone = await readCheckpointRecord(weights);
    assert.equal(lone.committed, false);
    assert.deepEqual(lone.record.files, { weights: 'checkpoint-last.safetensors', optimizer: '' });
    const resumed = await mz('train', '--resume', weights);
    assert.equal(resumed.code, 1, resumed.stderr);
    assert.match(resumed.stderr, /not a complete checkpoint/);

    const next = await mz(...TINY, '--epochs', '1', '--limit', '40', '--save-every', '5', '--out', 'orphan');
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /removed checkpoint-last\.optim\.safetensors, checkpoint-last\.safetensors: the tensor files of a checkpoint whose save did not finish/);
    await checkLoadable(dir);
  });
});

describe('what is read from a checkpoint and shown (findings 8, 11)', () => {
  const image = join(work, 'shoe.png');
  before(async () => {
    await sharp({ create: { width: 20, height: 20, channels: 3, background: '#808080' } }).png().toFile(image);
  });

  /** A copy of the run whose checkpoint JSON lists `names` as its class names. */
  function withClassNames(dest: string, names: string[]): string {
    cpSync(run, join(work, dest), { recursive: true });
    const json = join(work, dest, 'checkpoint-last.json');
    const record = JSON.parse(readFileSync(json, 'utf8'));
    record.dataset.classNames = names;
    writeFileSync(json, JSON.stringify(record));
    return json;
  }

  test('a checkpoint with 1 class name for 10 outputs is an error naming the file and both counts', async () => {
    const json = withClassNames('one-name', ['only']);
    const r = await mz('predict', image, '--checkpoint', json);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${json.replace(/\./g, '\\.')}: the record's dataset.classNames has 1 class names for the model's 10 outputs`));
  });

  test('control characters in class and file names reach the terminal escaped; --json keeps the names', async () => {
    const evil = '\u001b]0;pwned\u0007\u001b[31mred\u202e';
    const json = withClassNames('evil', Array.from({ length: 10 }, (_, i) => `${evil}${i}`));
    const r = await mz('predict', image, '--checkpoint', json, '--top', '10');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/[\u001b\u0007\u202e]/.test(r.stdout), r.stdout);
    assert.match(r.stdout, /\\u001b\]0;pwned\\u0007\\u001b\[31mred\\u202e0/);
    const j = await mz('predict', image, '--checkpoint', json, '--top', '10', '--json');
    assert.ok(!/[\u001b\u0007\u202e]/.test(j.stdout));
    assert.ok(JSON.parse(j.stdout).predictions[0].top.some((t: { label: string }) => t.label === `${evil}0`));
    const missing = await mz('predict', join(work, 'x\u001b[2J.png'), '--checkpoint', json);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /x\\u001b\[2J\.png/);
    assert.ok(!missing.stderr.includes('\u001b'));
  });
});
