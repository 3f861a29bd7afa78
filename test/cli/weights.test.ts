/** `mobilezoo weights`, and names given to --weights / --pretrained, offline (the real URLs are never fetched in tests). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PUBLISHED_WEIGHTS } from '../../src/models/published-weights.js';
import { rmrf, runCliProcess, tempDir } from './helpers.js';

const dir = tempDir('mobilezoo-weights-cli-');
after(() => rmrf(dir));
const env = { MOBILEZOO_HOME: join(dir, 'home'), TORCH_HOME: join(dir, 'torch'), MOBILEZOO_OFFLINE: '1' };

test('mobilezoo weights lists every published name with its model, top-1, size and cache state', async () => {
  const r = await runCliProcess(['weights', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; model: string; top1: number; fileSizeMb: number; cached?: string; isDefault: boolean }[];
  assert.deepEqual(rows.map((w) => w.name), PUBLISHED_WEIGHTS.map((w) => `${w.model}.${w.name}`));
  assert.ok(rows.every((w) => w.cached === undefined && w.top1 > 60 && w.fileSizeMb > 5));
  assert.deepEqual(rows.filter((w) => w.isDefault && w.model === 'mobilenet_v3_large').map((w) => w.name), ['mobilenet_v3_large.IMAGENET1K_V2']);
  const text = await runCliProcess(['weights'], env);
  assert.match(text.stdout, /mobilenet_v3_large\.IMAGENET1K_V2 \(default\) +mobilenet_v3_large +75\.274 +21\.1 MB +no/);
  assert.ok(text.stdout.includes(join(dir, 'home', 'weights')));
});

test('offline, --weights NAME and --pretrained NAME fail at once with the URL and the path to put the file at', async () => {
  const w = PUBLISHED_WEIGHTS.find((p) => p.model === 'mobilenet_v3_small')!;
  const path = join(dir, 'home', 'weights', w.file);
  const p = await runCliProcess(['predict', 'cat.png', '--weights', 'mobilenet_v3_small'], env);
  assert.equal(p.code, 1);
  assert.ok(p.stderr.includes(w.url) && p.stderr.includes(path), p.stderr);
  const t = await runCliProcess(['train', '--pretrained', 'mobilenet_v3_small.IMAGENET1K_V1', '--dataset', 'synthetic'], env);
  assert.equal(t.code, 1);
  assert.ok(t.stderr.includes(w.url) && t.stderr.includes(path), t.stderr);
  const bad = await runCliProcess(['test', '--weights', 'mobilenet_v7'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--weights mobilenet_v7: no such file, and not the name of published weights/);
});

test('train\'s augmentation flags: bad values exit 2 with a message naming the flag, before any data is read', async () => {
  const { runCli } = await import('../../src/cli/program.js');
  const { memoryStreams } = await import('./helpers.js');
  for (const [args, re] of [
    [['--rand-augment', '2'], /--rand-augment: expected NUM_OPS,MAGNITUDE/],
    [['--color-jitter', '0.4,x'], /--color-jitter: expected comma-separated numbers/],
    [['--auto-augment', 'mnist'], /--auto-augment: expected one of imagenet, cifar10, svhn/],
    [['--trivial-augment', '--auto-augment', 'svhn'], /--trivial-augment: choose one policy: --auto-augment or --trivial-augment/],
    [['--mix-prob', '0.5'], /--mix-prob: needs --mixup or --cutmix/],
    [['--random-resized-crop', '0.5,2'], /--random-resized-crop: expected the area fraction's range/],
  ] as [string[], RegExp][]) {
    const io = memoryStreams();
    const code = await runCli(['train', '--dataset', 'synthetic', '--out', join(dir, 'never'), ...args], io.io);
    assert.equal(code, 2, args.join(' '));
    assert.match(io.err(), re);
  }
});
