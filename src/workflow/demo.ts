/** `mobilezoo demo` / `npm run demo`: a short training run on Fashion-MNIST, or a synthetic set when it is missing. */
import { describeDatasetSearch, findIdxDir } from '../data/index.js';
import { type TrainConfig, type TrainSettings, resolveTrainConfig } from './config.js';

/**
 * The demo: MobileNetV2 width 0.5 with the CIFAR stem on the first 5000 / 1000 Fashion-MNIST images,
 * 2 epochs of batch 64 with the fashion-mnist recipe's optimizer (SGD + warmup + cosine). A few
 * minutes on 2 cores.
 */
export const DEMO_SETTINGS: TrainSettings = {
  recipe: 'fashion-mnist',
  model: 'mobilenet_v2',
  modelOptions: { widthMult: 0.5, stem: 'cifar' },
  dataset: 'fashion-mnist',
  epochs: 2,
  batchSize: 64,
  limit: 5000,
  testLimit: 1000,
};

/**
 * The demo's settings: Fashion-MNIST when found locally (never downloaded unless `download`), else the
 * synthetic dataset, with `fallback` explaining how to get the real data.
 */
export function demoSettings(o: { dataDir?: string; download?: boolean; overrides?: TrainSettings } = {}): { settings: TrainSettings; fallback?: string } {
  const settings: TrainSettings = { ...DEMO_SETTINGS, dataDir: o.dataDir, download: o.download ?? false, ...(o.overrides ?? {}) };
  const found = findIdxDir('fashion-mnist', 'train', { dir: settings.dataDir }) && findIdxDir('fashion-mnist', 'test', { dir: settings.dataDir });
  if (found || settings.download || settings.dataset !== 'fashion-mnist') return { settings };
  const fallback =
    `${describeDatasetSearch('fashion-mnist', { dir: settings.dataDir })}\n` +
    'Fashion-MNIST was not found: the demo runs on the synthetic dataset instead.';
  return { settings: { ...settings, dataset: 'synthetic' }, fallback };
}

/** demoSettings, resolved. */
export function demoConfig(o: { dataDir?: string; download?: boolean; overrides?: TrainSettings } = {}): { config: TrainConfig; fallback?: string } {
  const { settings, fallback } = demoSettings(o);
  return { config: resolveTrainConfig(settings), ...(fallback ? { fallback } : {}) };
}
