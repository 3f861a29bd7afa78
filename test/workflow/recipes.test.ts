/**
 * Recipes: data under the explicit settings (resolveTrainConfig), the fine-tune recipe as the default from
 * ImageNet weights, how explicit settings replace a recipe's (one by one, and by group), and the README's
 * table of them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, NO_RECIPE, type PretrainedSource, RECIPES, type TrainSettings, defaultRecipe, resolveTrainConfig } from '../../src/workflow/config.js';

const imagenet: PretrainedSource = { file: '/w/mobilenet_v3_small-047dcff4.pth', sha256: 'x', kind: 'state dict', model: 'mobilenet_v3_small', numClasses: 1000, weights: '/w/mobilenet_v3_small-047dcff4.pth' };
const folder = { dataDir: '/photos' };

describe('recipes', () => {
  test('are data: every recipe resolves on its own, and each of its settings reaches the config', () => {
    for (const [name, r] of Object.entries(RECIPES)) {
      const c = resolveTrainConfig({ recipe: name, ...folder });
      assert.equal(c.recipe, name);
      if (r.settings.epochs) assert.equal(c.epochs, r.settings.epochs, name);
      if (r.settings.lr) assert.equal(c.lr, r.settings.lr, name);
      if (r.settings.optimizer) assert.equal(c.optimizer.type, r.settings.optimizer, name);
      if (r.settings.batchSize) assert.equal(c.batchSize, r.settings.batchSize, name);
    }
  });

  test('fine-tune: RandomResizedCrop + flip + TrivialAugment, AdamW, warmup + cosine, label smoothing 0.1, backbone lr x0.1', () => {
    const c = resolveTrainConfig({ recipe: 'fine-tune', ...folder });
    assert.equal(c.dataset, 'folder');
    assert.deepEqual(c.optimizer, { type: 'adamw', weightDecay: 0.05, noDecayBnBias: true });
    assert.equal(c.lr, 1e-3);
    assert.deepEqual(c.schedule, { type: 'cosine' });
    assert.equal(c.warmupEpochs, 1);
    assert.equal(c.labelSmoothing, 0.1);
    assert.equal(c.backboneLrMult, 0.1);
    assert.equal(c.batchSize, 32);
    assert.equal(c.epochs, 20);
    assert.equal(c.augment, true);
    assert.deepEqual(c.augmentation, { randomResizedCrop: { scale: [0.08, 1] }, trivialAugmentWide: true });
    assert.equal(c.mix, undefined);
    // A recipe's warmup takes at most a tenth of a shorter run.
    assert.equal(resolveTrainConfig({ recipe: 'fine-tune', ...folder, epochs: 5 }).warmupEpochs, 0.5);
    assert.equal(resolveTrainConfig({ recipe: 'fine-tune', ...folder, epochs: 5, warmup: 2 }).warmupEpochs, 2);
  });

  test('from ImageNet weights (a 1000-class state dict) the recipe is fine-tune, unless another or none is named', () => {
    assert.equal(defaultRecipe({ pretrained: imagenet }), 'fine-tune');
    assert.equal(defaultRecipe({ pretrained: { ...imagenet, numClasses: 10 } }), undefined);
    assert.equal(defaultRecipe({ pretrained: { ...imagenet, kind: 'checkpoint' } }), undefined);
    assert.equal(defaultRecipe({}), undefined);
    const c = resolveTrainConfig({ pretrained: imagenet, ...folder });
    assert.equal(c.recipe, 'fine-tune');
    assert.equal(c.optimizer.type, 'adamw');
    assert.ok(c.augmentation?.trivialAugmentWide);
    const plain = resolveTrainConfig({ pretrained: imagenet, ...folder, recipe: NO_RECIPE });
    assert.equal(plain.recipe, undefined);
    assert.deepEqual(plain.optimizer, { type: 'adam', weightDecay: 0, noDecayBnBias: false });
    assert.equal(plain.augmentation, undefined);
    assert.equal(plain.backboneLrMult, 1);
    assert.equal(plain.dataset, 'cifar10');
    assert.equal(resolveTrainConfig({ pretrained: imagenet, ...folder, recipe: 'cifar' }).recipe, 'cifar');
    // Without a recipe nothing changes: the plain defaults.
    assert.deepEqual(resolveTrainConfig({ recipe: NO_RECIPE }), resolveTrainConfig({}));
  });

  test('explicit settings replace the recipe\'s one by one', () => {
    const c = resolveTrainConfig({ pretrained: imagenet, ...folder, lr: 3e-4, epochs: 3, backboneLrMult: 1, labelSmoothing: 0, batchSize: 8 });
    assert.equal(c.lr, 3e-4);
    assert.equal(c.epochs, 3);
    assert.equal(c.warmupEpochs, 0.3);
    assert.equal(c.backboneLrMult, 1);
    assert.equal(c.labelSmoothing, 0);
    assert.equal(c.batchSize, 8);
    assert.equal(c.optimizer.type, 'adamw');
    assert.deepEqual(resolveTrainConfig({ recipe: 'fine-tune', ...folder, randomResizedCrop: [0.3, 1] }).augmentation, { randomResizedCrop: { scale: [0.3, 1] }, trivialAugmentWide: true });
    assert.deepEqual(resolveTrainConfig({ recipe: 'fine-tune', ...folder, randomResizedCrop: false }).augmentation, { trivialAugmentWide: true });
  });

  test('and by group: a policy replaces the recipe\'s policy, augment off drops its augmentations, another optimizer its optimizer settings', () => {
    const ft = { recipe: 'fine-tune', ...folder };
    assert.deepEqual(resolveTrainConfig({ ...ft, randAugment: true }).augmentation, { randomResizedCrop: { scale: [0.08, 1] }, randAugment: { numOps: 2, magnitude: 9 } });
    assert.deepEqual(resolveTrainConfig({ ...ft, autoAugment: 'imagenet' }).augmentation, { randomResizedCrop: { scale: [0.08, 1] }, autoAugment: 'imagenet' });
    assert.deepEqual(resolveTrainConfig({ ...ft, trivialAugment: false }).augmentation, { randomResizedCrop: { scale: [0.08, 1] } });
    assert.equal(resolveTrainConfig({ ...ft, trivialAugment: false, randomResizedCrop: false }).augmentation, undefined);
    const off = resolveTrainConfig({ ...ft, augment: false });
    assert.equal(off.augment, false);
    assert.equal(off.augmentation, undefined);
    // Explicit augmentations still refuse an explicit augment: false, and two explicit policies each other.
    assert.throws(() => resolveTrainConfig({ ...ft, augment: false, trivialAugment: true }), (e: unknown) => e instanceof ConfigError && e.setting === 'augment');
    assert.throws(() => resolveTrainConfig({ ...ft, randAugment: true, trivialAugment: true }), (e: unknown) => e instanceof ConfigError && e.setting === 'trivialAugment');
    // SGD's momentum and Nesterov stay with SGD; RMSprop's constants with RMSprop.
    assert.deepEqual(resolveTrainConfig({ recipe: 'cifar', optimizer: 'adam' }).optimizer, { type: 'adam', weightDecay: 5e-4, noDecayBnBias: false });
    assert.deepEqual(resolveTrainConfig({ recipe: 'mobilenet-v2-paper', optimizer: 'sgd' }).optimizer, { type: 'sgd', momentum: 0.9, nesterov: false, weightDecay: 4e-5, noDecayBnBias: false });
    assert.deepEqual(resolveTrainConfig({ recipe: 'mobilenet-v2-paper', optimizer: 'rmsprop' }).optimizer.type, 'rmsprop');
    assert.deepEqual(resolveTrainConfig({ recipe: 'mobilenet-v2-paper', optimizer: 'rmsprop' }), resolveTrainConfig({ recipe: 'mobilenet-v2-paper' }));
    // An explicit mix switch probability needs both mixup and cutmix.
    assert.throws(() => resolveTrainConfig({ mixup: 0.2, mixSwitchProb: 0.3 }), (e: unknown) => e instanceof ConfigError && e.setting === 'mixSwitchProb');
  });

  test('optimizer constants are checked against the optimizer', () => {
    const bad: [TrainSettings, RegExp][] = [
      [{ optimizer: 'sgd', optimizerConstants: { eps: 1e-3 } }, /optimizerConstants: eps does not apply to `optimizer` sgd/],
      [{ optimizer: 'adam', optimizerConstants: { alpha: 0.9 } }, /optimizerConstants: alpha does not apply to `optimizer` adam/],
      [{ optimizer: 'rmsprop', optimizerConstants: { eps: 0 } }, /optimizerConstants: eps: expected a positive number/],
    ];
    for (const [s, re] of bad) assert.throws(() => resolveTrainConfig(s), re);
    assert.deepEqual(resolveTrainConfig({ optimizer: 'adamw', optimizerConstants: { betas: [0.9, 0.99] } }).optimizer, { type: 'adamw', betas: [0.9, 0.99], weightDecay: 0, noDecayBnBias: false });
  });

  test('the README\'s recipe table shows each recipe\'s settings', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const start = readme.indexOf('| recipe setting |');
    assert.ok(start >= 0, 'README: the recipe table (a row starting "| recipe setting |")');
    const lines = readme.slice(start).split('\n');
    const table = lines.slice(0, lines.findIndex((l) => !l.startsWith('|')));
    const cells = (l: string) => l.split('|').slice(1, -1).map((c) => c.trim());
    const names = cells(table[0]!).slice(1).map((c) => c.replace(/`/g, ''));
    assert.deepEqual(names, Object.keys(RECIPES));
    const rows = new Map(table.slice(2).map((l) => [cells(l)[0]!, cells(l).slice(1)]));
    const flags = (s: TrainSettings) => {
      const c = resolveTrainConfig({ ...s, ...folder });
      const o = c.optimizer;
      return {
        '`--epochs`': String(c.epochs),
        '`--batch-size`': String(c.batchSize),
        '`--optimizer`': `${o.type}${o.type === 'sgd' && o.nesterov ? ' (Nesterov)' : ''}${(o.type === 'sgd' || o.type === 'rmsprop') && o.momentum ? `, momentum ${o.momentum}` : ''}`,
        '`--lr`': String(c.lr),
        '`--weight-decay`': `${o.weightDecay ?? 0}${o.noDecayBnBias ? ' (not BN/bias)' : ''}`,
        '`--schedule`': `${c.schedule.type}${c.schedule.type === 'exponential' ? ` ${c.schedule.gamma}/epoch` : ''}`,
        '`--warmup`': String(c.warmupEpochs),
        '`--label-smoothing`': String(c.labelSmoothing),
        '`--backbone-lr-mult`': String(c.backboneLrMult),
      };
    };
    Object.keys(RECIPES).forEach((name, i) => {
      for (const [row, value] of Object.entries(flags({ recipe: name }))) {
        assert.ok(rows.has(row), `README recipe table: a row ${row}`);
        assert.equal(rows.get(row)![i]!.replace(/\*/g, ''), value, `README recipe table: ${row} of ${name}`);
      }
    });
  });
});
