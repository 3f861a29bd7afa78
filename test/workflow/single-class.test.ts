/** A dataset of one class cannot train a classifier (issue 20, finding 10): an error, or a warning with allowSingleClass. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import sharp from 'sharp';
import { clearFolderCache } from '../../src/data/index.js';
import { ConfigError, resolveTrainConfig } from '../../src/workflow/config.js';
import { openTrainingData } from '../../src/workflow/data.js';

const root = mkdtempSync(join(tmpdir(), 'mobilezoo-one-class-'));
after(() => {
  clearFolderCache();
  rmSync(root, { recursive: true, force: true });
});

test('a folder with one class is refused naming it, and trains with a warning when allowed', async () => {
  mkdirSync(join(root, 'cat'));
  for (let i = 0; i < 5; i++) await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 40 * i, g: 10, b: 10 } } }).png().toFile(join(root, 'cat', `${i}.png`));
  const settings = { model: 'mobilenet_v2', dataset: 'folder', dataDir: root, input: 16, epochs: 1 };
  await assert.rejects(openTrainingData(resolveTrainConfig(settings)), (e: Error) => e instanceof ConfigError && /^--data: folder:mobilezoo-one-class-\w+ has 1 class \("cat"\): a classifier needs at least 2/.test(e.message) && /--allow-single-class/.test(e.message));
  const data = await openTrainingData(resolveTrainConfig({ ...settings, allowSingleClass: true }));
  assert.equal(data.train.numClasses, 1);
  assert.deepEqual(data.notes.filter((n) => /^warning: .* has 1 class \("cat"\): every prediction will be that class/.test(n)).length, 1);
});
