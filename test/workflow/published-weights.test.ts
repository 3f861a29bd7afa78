/** torchvision's published files: their names give the model and the evaluation preprocessing, and their hash prefix is checked. */
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../../src/cli/program.js';
import { imagenetEvalTransform } from '../../src/data/imagenet.js';
import { compilePreprocessing } from '../../src/data/preprocessing.js';
import { compileTransform } from '../../src/data/transforms.js';
import { Rng } from '../../src/data/random.js';
import { PUBLISHED_WEIGHTS, publishedWeightsOf } from '../../src/models/published-weights.js';
import { listModels } from '../../src/models/registry.js';
import { defaultPreprocessing } from '../../src/workflow/classifier.js';
import { ROOT, memoryStreams, rmrf, tempDir } from '../cli/helpers.js';

const dir = tempDir('mobilezoo-published-');
after(() => rmrf(dir));

test('every published file names a model of the zoo and a torchvision URL ending in its name', () => {
  const models = new Set(listModels().map((m) => m.name));
  for (const w of PUBLISHED_WEIGHTS) {
    assert.ok(models.has(w.model), w.model);
    assert.ok(w.url.startsWith('https://download.pytorch.org/models/') && w.url.endsWith(`/${w.file}`), w.url);
  }
  assert.equal(publishedWeightsOf('/some/where/mobilenet_v2-7ebf99e0.pth')?.model, 'mobilenet_v2');
  assert.equal(publishedWeightsOf('mobilenet_v2.pth'), undefined);
});

test("a V2 recipe's file gets its resize-232 preprocessing: torchvision's Resize(232) + CenterCrop(224)", () => {
  const p = defaultPreprocessing(1000, 224, 'mobilenet_v2-7ebf99e0.pth');
  assert.deepEqual(p.source, { channels: 3, height: 232, width: 232 });
  const rng = new Rng(3);
  const img = { data: Uint8Array.from({ length: 300 * 260 * 3 }, () => rng.int(256)), height: 300, width: 260, channels: 3 };
  const spec = imagenetEvalTransform(224).map((s) => (s.op === 'resize' ? { ...s, size: 232 } : s));
  assert.deepEqual(compilePreprocessing(p)(img), compileTransform(spec, img).apply(img.data, new Rng(0)));
  assert.deepEqual(defaultPreprocessing(1000, 224, 'mobilenet_v2-b0353104.pth').source.height, 256);
});

test('a file under a published name whose content is not the published one is refused by its hash prefix', async () => {
  const fake = join(dir, 'mobilenet_v3_small-047dcff4.pth');
  copyFileSync(join(ROOT, 'test/fixtures/pth/mobilenet_v3_small_w0.1.pth'), fake);
  const io = memoryStreams();
  const code = await runCli(['predict', join(ROOT, 'test/fixtures/pth/hostile.pth'), '--weights', fake], io.io);
  assert.equal(code, 1);
  assert.match(io.err(), /mobilenet_v3_small-047dcff4\.pth/);
  assert.match(io.err(), /047dcff4/);
});
