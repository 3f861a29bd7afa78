/**
 * `train --freeze backbone` with the frozen-backbone cache (src/train/feature-cache.ts) against the same
 * run without it (`featureCache: false`): the log says which, and the loss curve, the validation and test
 * metrics, checkpoint-best's final test and the saved weights are the same within float tolerance.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readSafetensors } from '../../src/io/safetensors.js';
import { train } from '../../src/workflow/train.js';
import { rmrf, tempDir } from '../cli/helpers.js';

describe('the frozen-backbone cache in train', () => {
  const dir = tempDir('mobilezoo-feature-cache-');
  after(() => rmrf(dir));

  test('same seed: the cached run gives the uncached run\'s losses, metrics and weights, and says it is cached', async (t) => {
    const settings = {
      model: 'mobilenet_v2', modelOptions: { widthMult: 0.25, dropout: 0.2 }, dataset: 'synthetic', limit: 96, testLimit: 32, valSplit: 0.25,
      epochs: 3, batchSize: 16, lr: 0.2, optimizer: 'sgd', momentum: 0.9, freeze: 'backbone', augment: false, seed: 3, threads: 1,
    } as const;
    const logs: Record<string, string[]> = { cached: [], full: [] };
    const cached = await train({ ...settings, outDir: join(dir, 'cached'), onLog: (m) => logs.cached!.push(m) });
    const full = await train({ ...settings, featureCache: false, outDir: join(dir, 'full'), onLog: (m) => logs.full!.push(m) });
    assert.ok(logs.cached!.some((m) => /^frozen-backbone cache: .*computed once/.test(m)), logs.cached!.join('\n'));
    assert.ok(logs.full!.some((m) => /no frozen-backbone cache: turned off/.test(m)), logs.full!.join('\n'));
    t.diagnostic(`train loss cached ${cached.history.map((h) => h.trainLoss.toFixed(6)).join(' ')} | full ${full.history.map((h) => h.trainLoss.toFixed(6)).join(' ')}`);
    assert.equal(cached.history.length, 3);
    cached.history.forEach((h, e) => {
      const f = full.history[e]!;
      // The test split is evaluated at the end only (a validation split picks checkpoint-best): NaN in both.
      for (const k of ['trainLoss', 'valLoss', 'testLoss'] as const) {
        const [x, y] = [Number(h[k]), Number(f[k])];
        assert.ok(Number.isNaN(x) ? Number.isNaN(y) : Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(y)), `epoch ${e + 1} ${k}: ${x} vs ${y}`);
      }
      for (const k of ['trainAcc', 'valAcc', 'testAcc'] as const) assert.deepEqual(h[k], f[k], `epoch ${e + 1} ${k}`);
    });
    assert.equal(cached.best?.epoch, full.best?.epoch);
    assert.ok(Math.abs(cached.evaluation!.loss - full.evaluation!.loss) < 1e-5);
    const a = readSafetensors(readFileSync(join(dir, 'cached', 'checkpoint-last.safetensors')), 'cached');
    const b = readSafetensors(readFileSync(join(dir, 'full', 'checkpoint-last.safetensors')), 'full');
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [k, v] of a) {
      if (v.dtype !== 'float32') continue;
      const x = v.toFloat32();
      const y = b.get(k)!.toFloat32();
      let d = 0;
      for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
      assert.ok(d < 1e-5, `${k}: ${d}`);
    }
  });
});
