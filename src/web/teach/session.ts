/**
 * One training run of a project, planned as the command line's `train --data DIR --pretrained F` plans
 * it (src/workflow/model-plan.ts, config.ts) and stepped by the engine's Trainer in a Web Worker
 * (RemoteTrainer): images decoded to the source's shape as the folder dataset does, the same held-out
 * split, model options, transforms, batches and optimizer settings; with the backbone frozen and no
 * augmentation, on cached embeddings (src/train/feature-cache.ts). The page's thread only assembles
 * batches and posts them.
 */
import { ArrayDataset, computeMeanStd } from '../../data/dataset.js';
import { BatchLoader } from '../../data/batch-loader.js';
import { type Preprocessing, recordPreprocessing } from '../../data/preprocessing.js';
import { type Image, type TransformSpec, applyGeometry, resolveTransform } from '../../data/transforms.js';
import { readSafetensors } from '../../io/safetensors.js';
import { createModel } from '../../models/registry.js';
import type { Network } from '../../models/network.js';
import type { EpochMetrics } from '../../report/csv.js';
import { crossEntropyMean, topK } from '../../report/metrics.js';
import { cachedBatches, featureCacheApplies } from '../../train/feature-cache.js';
import { resolveFreeze } from '../../train/freeze.js';
import { type TrainConfig, resolveTrainConfig } from '../../workflow/config.js';
import { isSmall, planModel, trainTransforms } from '../../workflow/model-plan.js';
import type { RemoteTrainer } from '../trainer-client.js';
import { type Evaluation, type Project, type ProjectImage, type TeachResult, confusionOf, heldOutSplit, problems } from './project.js';

export interface Progress {
  phase: 'preparing' | 'embedding' | 'training' | 'evaluating';
  epoch: number;
  epochs: number;
  /** Images done and to do in the whole run (embedding included), for the bar and the ETA. */
  done: number;
  total: number;
  imagesPerSec: number;
  etaSeconds: number;
}

export interface SessionEvents {
  note?(message: string): void;
  progress?(p: Progress): void;
  epoch?(row: EpochMetrics, evaluation: Evaluation): void;
}

/** Pause, resume and stop, checked between steps. */
export class RunControl {
  stopped = false;
  private resume?: () => void;
  private paused?: Promise<void>;

  pause(): void {
    this.paused ??= new Promise((r) => (this.resume = r));
  }

  play(): void {
    this.resume?.();
    this.paused = this.resume = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.play();
  }

  get isPaused(): boolean {
    return this.paused !== undefined;
  }

  /** Waits while paused; false once stopped. */
  async gate(): Promise<boolean> {
    if (this.paused) await this.paused;
    return !this.stopped;
  }
}

/** Decodes an image file to RGB pixels at its own size (the page: createImageBitmap and a canvas). */
export type Decode = (blob: Blob, name: string) => Promise<Image>;

/** The source shape images are decoded to: the pretrained source's, else 32x32 for small images (≤ 64 px) and 224x224 otherwise, RGB (as `train --data` does). */
export function sourceShape(p: Project): { channels: 1 | 3; height: number; width: number } {
  const s = p.start.preprocessing?.source;
  if (s) return { channels: s.channels as 1 | 3, height: s.height, width: s.width };
  const all = p.classes.flatMap((c) => c.images);
  const height = Math.max(...all.map((i) => i.height));
  const width = Math.max(...all.map((i) => i.width));
  const stem = p.model.options.stem as string | undefined;
  const size = stem === 'cifar' || (stem === undefined && isSmall({ height, width })) ? 32 : 224;
  return { channels: 3, height: size, width: size };
}

/** The training config of a project, as `train` resolves its flags. */
export function projectConfig(p: Project): TrainConfig {
  const s = p.settings;
  return resolveTrainConfig({
    // The folder is the page's project (a command line would read DIR/<class>/*).
    model: p.model.name, modelOptions: p.model.options, dataset: 'folder', dataDir: p.name, epochs: s.epochs, batchSize: s.batchSize, lr: s.lr,
    // The held-out images are the test split, evaluated every epoch (train --val-split 0).
    optimizer: 'adam', seed: s.seed, augment: s.augment, freeze: s.freeze, valSplit: 0,
    ...(p.start.preprocessing ? { input: p.start.preprocessing.inputSize[1] } : {}),
  });
}

async function decodeAll(images: { image: ProjectImage; label: number }[], shape: ReturnType<typeof sourceShape>, decode: Decode, tick: () => void): Promise<{ pixels: Uint8Array; labels: Int32Array }> {
  const size = shape.channels * shape.height * shape.width;
  const pixels = new Uint8Array(images.length * size);
  const labels = new Int32Array(images.length);
  const geometry: TransformSpec = [...(shape.channels === 1 ? [{ op: 'toGrayscale' } as const] : []), { op: 'fit', size: [shape.height, shape.width] }];
  for (const [i, { image, label }] of images.entries()) {
    let img: Image;
    try {
      img = await decode(image.blob, image.name);
    } catch (e) {
      throw new Error(`${image.name}: cannot read this image (${(e as Error).message}); delete it from its class`);
    }
    pixels.set(applyGeometry(geometry, img).data, i * size);
    labels[i] = label;
    tick();
  }
  return { pixels, labels };
}

/** The starting network: the model's initialization with the matching tensors of the start weights (as --pretrained loads them). */
function startingNetwork(p: Project, options: Record<string, unknown>, note: (m: string) => void): Network {
  const network = createModel(p.model.name, options);
  if (p.start.weights) {
    const sd = readSafetensors(p.start.weights, p.start.label);
    const report = network.loadStateDict(sd, { strict: false, source: p.start.label });
    const params = new Set(network.namedParameters().map(([n]) => n));
    const bad = new Set([...report.mismatched.map((m) => m.key), ...report.unexpected]);
    const loaded = [...sd.keys()].filter((k) => !bad.has(k));
    if (!loaded.some((k) => params.has(k))) throw new Error(`${p.start.label}: no tensor of these weights fits ${p.model.name} by name and shape (weights for another model?)`);
    const kept = [...report.missing, ...report.mismatched.map((m) => m.key)];
    note(`weights: ${loaded.length} tensors from ${p.start.label}${kept.length ? `; initialized: ${kept.join(', ')}` : ''}`);
  }
  return network;
}

export interface RunOptions {
  remote: RemoteTrainer;
  decode: Decode;
  control: RunControl;
  events: SessionEvents;
}

/** Trains the project; the result (undefined when stopped before the first epoch ended). */
export async function trainProject(p: Project, o: RunOptions): Promise<TeachResult | undefined> {
  const bad = problems(p);
  if (bad.length) throw new Error(bad.join(' '));
  const { remote, control, events } = o;
  const note = (m: string) => events.note?.(m);
  const t0 = performance.now();
  const config = projectConfig(p);
  const s = p.settings;
  const classNames = p.classes.map((c) => c.name.trim());
  const split = heldOutSplit(p.classes, s.heldOut, s.seed);
  const shape = sourceShape(p);

  let done = 0;
  let total = split.train.length + split.test.length;
  const report = (phase: Progress['phase'], epoch: number, imagesPerSec = 0) => {
    const left = total - done;
    events.progress?.({ phase, epoch, epochs: s.epochs, done, total, imagesPerSec, etaSeconds: imagesPerSec > 0 ? left / imagesPerSec : NaN });
  };
  report('preparing', 0);
  const decodeTick = () => {
    done++;
    if (done % 8 === 0) report('preparing', 0);
  };
  const train = await decodeAll(split.train, shape, o.decode, decodeTick);
  const test = await decodeAll(split.test, shape, o.decode, decodeTick);
  const stats = computeMeanStd(train.pixels, shape.channels);
  const title = p.name;
  const trainDs = new ArrayDataset(title, 'train', train.pixels, train.labels, shape, classNames, stats.mean, stats.std);
  const testDs = new ArrayDataset(title, 'test', test.pixels, test.labels, shape, classNames, stats.mean, stats.std);

  const plan = planModel(config, { height: shape.height, width: shape.width, numClasses: classNames.length, title });
  plan.notes.forEach(note);
  const source: Preprocessing | undefined = p.start.preprocessing;
  const transforms = trainTransforms(trainDs, plan.inputSize, s.augment, 0, source);
  const preprocessing = source ?? recordPreprocessing(trainDs, resolveTransform(transforms.eval, trainDs));
  const network = startingNetwork(p, plan.options, note);
  const frozen = resolveFreeze(network, s.freeze);
  const cache = s.featureCache === false ? { applies: false, why: 'the cache is turned off' } : featureCacheApplies({ model: network, frozen, augment: s.augment, mix: false, ema: false });
  note(cache.applies ? 'frozen backbone, no augmentation: each image\'s embedding is computed once, then the classifier trains on them' : `the network runs on every image at every step (${cache.why})`);

  const dropLast = trainDs.length % s.batchSize === 1; // a 1-image batch breaks BatchNorm (as train does)
  const trainLoader = new BatchLoader(trainDs, { batchSize: s.batchSize, shuffle: true, seed: config.seed, dropLast, transform: transforms.train });
  const testLoader = new BatchLoader(testDs, { batchSize: s.batchSize, shuffle: false, transform: transforms.eval });
  const steps = trainLoader.length;
  if (steps === 0) throw new Error(`no training batches: ${trainDs.length} images with a batch size of ${s.batchSize}`);
  const created = await remote.create(p.model.name, plan.options, {
    optimizer: config.optimizer, lr: config.lr, schedule: config.schedule, epochs: config.epochs, warmupEpochs: config.warmupEpochs,
    stepsPerEpoch: steps, labelSmoothing: config.labelSmoothing, seed: config.seed, inputSize: plan.inputSize,
    frozen: [...frozen], featureCache: cache.applies,
  }, network.stateDict());
  note(`${p.model.name}: ${created.params.toLocaleString('en-US')} parameters, input ${plan.inputSize.join('x')}; ${trainDs.length} training / ${testDs.length} held-out images; ${remote.backend.backend}, ${remote.backend.threads} thread${remote.backend.threads === 1 ? '' : 's'}`);

  // With the cache: embeddings of every image once (in dataset order), then batches of them.
  let embedded: { train: Float32Array; test: Float32Array; dim: number } | undefined;
  total = done + (cache.applies ? trainDs.length + testDs.length : 0) + s.epochs * (Math.min(trainDs.length, steps * s.batchSize) + testDs.length);
  const tRun = performance.now();
  const doneAtStart = done;
  const rate = () => (done - doneAtStart) / Math.max(1e-3, (performance.now() - tRun) / 1000);
  if (cache.applies) {
    const dim = created.featureDim!;
    const embedAll = async (ds: ArrayDataset) => {
      const out = new Float32Array(ds.length * dim);
      let at = 0;
      for await (const b of new BatchLoader(ds, { batchSize: 32, shuffle: false, transform: transforms.eval }).iterate(0)) {
        const e = await remote.embed(b.images);
        out.set(e, at);
        at += e.length;
        done += b.n;
        report('embedding', 0, rate());
        if (!(await control.gate())) return undefined;
      }
      return out;
    };
    const trainE = await embedAll(trainDs);
    const testE = trainE && (await embedAll(testDs));
    if (!trainE || !testE) return undefined;
    embedded = { train: trainE, test: testE, dim };
  }

  const history: EpochMetrics[] = [];
  let evaluation: Evaluation | undefined;
  for (let e = 0; e < s.epochs; e++) {
    if (!(await control.gate())) break;
    const te = performance.now();
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let stepSeconds = 0;
    let lr = 0;
    let stopped = false;
    const batches: AsyncIterable<{ x: Float32Array; labels: Int32Array }> | Iterable<{ x: Float32Array; labels: Int32Array }> = embedded
      ? [...cachedBatches(embedded.train, embedded.dim, train.labels, trainLoader.order(e), s.batchSize, steps)].map((b) => ({ x: b.features, labels: b.labels }))
      : (async function* () {
          for await (const b of trainLoader.iterate(e)) yield { x: b.images, labels: b.labels };
        })();
    for await (const b of batches) {
      if (!(await control.gate())) {
        stopped = true;
        break;
      }
      lr = await remote.currentLr();
      const ts = performance.now();
      const labels = b.labels.slice();
      const r = await remote.trainStep(b.x, b.labels, { logits: true });
      stepSeconds += (performance.now() - ts) / 1000;
      lossSum += r.loss * labels.length;
      correct += topK(r.logits!, classNames.length, labels, 1);
      seen += labels.length;
      done += labels.length;
      report('training', e + 1, rate());
    }
    if (stopped) break;
    report('evaluating', e + 1, rate());
    evaluation = await evaluate(remote, embedded ? chunks(embedded.test, embedded.dim, test.labels, s.batchSize) : testBatches(testLoader), classNames.length, split.test.map((t) => t.image.id));
    done += testDs.length;
    const row: EpochMetrics = {
      epoch: e + 1, lr, trainLoss: lossSum / seen, trainAcc: correct / seen, testLoss: evaluation.loss, testAcc: evaluation.accuracy,
      imagesPerSec: seen / stepSeconds, seconds: (performance.now() - te) / 1000,
    };
    history.push(row);
    events.epoch?.(row, evaluation);
  }
  if (!evaluation) return undefined;
  const epochsDone = history.length;
  const seconds = (performance.now() - t0) / 1000;
  const files = await remote.checkpoint({
    tag: 'last', config: { ...config, epochs: s.epochs }, modelOptions: plan.options, inputSize: plan.inputSize,
    dataset: { name: 'folder', title, classNames, trainSize: trainDs.length, testSize: testDs.length, options: { testFraction: s.heldOut, seed: s.seed } },
    preprocessing, ...(s.augment ? { trainTransform: trainLoader.transform } : {}),
    epoch: epochsDone, progress: { stepInEpoch: 0, stepsPerEpoch: steps }, history,
    evaluation: { loss: evaluation.loss, top1: evaluation.accuracy, top5: evaluation.top5, count: testDs.length },
    seconds, commands: [`mobilezoo teach page: ${epochsDone} epoch${epochsDone === 1 ? '' : 's'}${epochsDone < s.epochs ? ` of ${s.epochs} (stopped)` : ''}`],
    ...(p.start.weights ? { pretrained: { file: p.start.label, sha256: p.start.sha256 ?? '', kind: p.start.sourceKind ?? 'state dict', loaded: 0, reinitialized: [], unexpected: [] } } : {}),
  });
  return { classNames, modelOptions: plan.options, preprocessing, history, evaluation, files, cached: cache.applies, seconds, createdAt: new Date().toISOString() };
}

async function* testBatches(loader: BatchLoader): AsyncGenerator<{ x: Float32Array; labels: Int32Array }> {
  for await (const b of loader.iterate(0)) yield { x: b.images, labels: b.labels };
}

function* chunks(features: Float32Array, dim: number, labels: Int32Array, size: number): Generator<{ x: Float32Array; labels: Int32Array }> {
  for (let i = 0; i < labels.length; i += size) {
    const n = Math.min(size, labels.length - i);
    yield { x: features.slice(i * dim, (i + n) * dim), labels: labels.slice(i, i + n) };
  }
}

/** Eval-mode loss, accuracy and confusion matrix on the held-out images (in split order). */
async function evaluate(remote: RemoteTrainer, batches: AsyncIterable<{ x: Float32Array; labels: Int32Array }> | Iterable<{ x: Float32Array; labels: Int32Array }>, k: number, ids: string[]): Promise<Evaluation> {
  const labels: number[] = [];
  const predicted: number[] = [];
  let lossSum = 0;
  let top5 = 0;
  for await (const b of batches) {
    const logits = await remote.predict(b.x);
    lossSum += crossEntropyMean(logits, b.labels, k) * b.labels.length;
    top5 += topK(logits, k, b.labels, Math.min(5, k));
    for (let i = 0; i < b.labels.length; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (logits[i * k + c]! > logits[i * k + best]!) best = c;
      labels.push(b.labels[i]!);
      predicted.push(best);
    }
  }
  const { accuracy, confusion } = confusionOf(labels, predicted, k);
  return { accuracy, top5: labels.length ? top5 / labels.length : 0, loss: labels.length ? lossSum / labels.length : NaN, confusion, predictions: ids.map((image, i) => ({ image, label: labels[i]!, predicted: predicted[i]! })) };
}
