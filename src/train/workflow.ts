/**
 * The training workflow behind `mobilezoo train` / `demo`: open the data, plan the model and input
 * resolution, run the epoch loop on a Trainer (progress events, evaluation on the test split each
 * epoch), write metrics.csv, checkpoints, charts and report.html, stop cleanly on an AbortSignal with
 * a resumable `interrupted` checkpoint, and resume exactly from any checkpoint (also mid-epoch).
 *
 * Exact resume: batches are a function of (seed, epoch, position) only (DataLoader.setEpoch), the
 * weights, buffers, optimizer slots, step count and dropout RNG position are restored, and the running
 * sums of a partly trained epoch are stored, so a resumed run computes the same losses as an
 * uninterrupted one.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import {
  DATASET_INFO,
  DataLoader,
  type Dataset,
  type OpenDatasetOptions,
  type TransformSpec,
  describeDatasetSearch,
  findIdxDir,
  isDatasetName,
  openDataset,
  standardTransform,
  takeSubset,
} from '../data/index.js';
import type { Network } from '../models/network.js';
import { createModel, modelOptionNames } from '../models/registry.js';
import { summary } from '../nn/summary.js';
import {
  type EpochMetrics,
  MetricsCsv,
  addConfusion,
  argmaxRows,
  confusionMatrix,
  crossEntropyMean,
  perClassAccuracy,
  topK,
  trainingCharts,
  writeChart,
  writeReport,
} from '../report/index.js';
import { loadStateDictFile } from '../io/checkpoint.js';
import { InferenceSession } from '../runtime/inference.js';
import { ort } from '../runtime/session.js';
import { type TrainConfig, type TrainSettings, describeOptimization, resolveTrainConfig } from './config.js';
import {
  type CheckpointRecord,
  type EpochAccumulator,
  type Preprocessing,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  readCheckpointRecord,
  writeCheckpoint,
} from './checkpoints.js';
import { learningRate } from './schedules.js';
import { Trainer } from './trainer.js';

// ---------------------------------------------------------------------------------------------
// Data and model planning

/** Datasets whose images are small (≤ 64 px): trained with the CIFAR stem at 32x32 by default. */
function isSmall(shape: { height: number; width: number }): boolean {
  return Math.max(shape.height, shape.width) <= 64;
}

export interface ModelPlan {
  /** createModel options (user options + numClasses, stem, seed). */
  options: Record<string, unknown>;
  /** [3, S, S] */
  inputSize: [number, number, number];
  notes: string[];
}

/**
 * Stem and resolution for a dataset: small images (CIFAR, (Fashion-)MNIST, synthetic) use the CIFAR
 * stem at 32x32 unless --stem is given; with an explicit --stem imagenet they are resized to the
 * model's 224 (or --input), with a note on the cost. Larger images (folders) use the ImageNet stem at
 * 224 unless --input ≤ 64 is given.
 */
export function planModel(
  config: Pick<TrainConfig, 'model' | 'modelOptions' | 'input' | 'seed'>,
  data: { height: number; width: number; numClasses: number; title: string },
): ModelPlan {
  const notes: string[] = [];
  const accepted = modelOptionNames(config.model);
  const options: Record<string, unknown> = { ...config.modelOptions, numClasses: data.numClasses };
  if (accepted.includes('seed') && options.seed === undefined) options.seed = config.seed;
  const small = isSmall(data) || (config.input !== undefined && config.input <= 64);
  const stem = (options.stem as string | undefined) ?? (small ? 'cifar' : 'imagenet');
  options.stem = stem;
  const designed = createModel(config.model, { ...options, numClasses: 2 }).inputSize[1];
  let size = config.input ?? (stem === 'cifar' ? 32 : designed);
  if (stem === 'imagenet' && isSmall(data) && config.input === undefined) {
    size = designed;
    notes.push(
      `--stem imagenet: ${data.title} images (${data.height}x${data.width}) are resized to ${size}x${size}, ` +
        `about ${Math.round((size / 32) ** 2)}x the compute of the CIFAR stem at 32x32 (use --stem cifar, or --input to pick a size)`,
    );
  }
  return { options, inputSize: [3, size, size], notes };
}

export interface TrainingData {
  train: Dataset;
  test: Dataset;
  /** openDataset options (stored in checkpoints). */
  datasetOptions: OpenDatasetOptions & Record<string, unknown>;
  title: string;
}

/** The test-sample count used with --limit N and no --test-limit. */
export function defaultTestLimit(limit: number): number {
  return Math.max(1, Math.ceil(limit / 5));
}

/**
 * Opens both splits (never downloading unless config.download), then keeps the first `limit` train
 * and `testLimit` (default ceil(limit / 5)) test samples.
 */
export async function openTrainingData(config: TrainConfig): Promise<TrainingData> {
  if (!isDatasetName(config.dataset)) {
    throw new Error(`unknown dataset '${config.dataset}'; known: ${Object.keys(DATASET_INFO).join(', ')}`);
  }
  const testLimit = config.testLimit ?? (config.limit !== undefined ? defaultTestLimit(config.limit) : undefined);
  const o: OpenDatasetOptions & Record<string, unknown> = { download: config.download, progress: true };
  if (config.dataDir) o.dir = resolve(config.dataDir);
  if (config.dataset === 'synthetic') {
    Object.assign(o, { size: config.input ?? 32, seed: 0, numClasses: 10 });
    if (config.limit !== undefined) Object.assign(o, { trainLength: config.limit });
  }
  if (config.dataset === 'folder') {
    o.root = resolve(config.dataDir!);
    // Decode straight at the training resolution (default: 224, or 32 with the CIFAR stem).
    const stem = config.modelOptions.stem as string | undefined;
    o.size = config.input ?? (stem === 'cifar' ? 32 : 224);
    o.channels = 3;
  }
  const open = (split: 'train' | 'test', length?: number) =>
    openDataset(config.dataset, split, config.dataset === 'synthetic' && length !== undefined ? { ...o, length } : o);
  let train = await open('train', config.limit);
  let test = await open('test', testLimit);
  if (config.limit !== undefined && train.length > config.limit) train = takeSubset(train, config.limit);
  if (testLimit !== undefined && test.length > testLimit) test = takeSubset(test, testLimit);
  const title = config.dataset === 'folder' ? train.name : DATASET_INFO[config.dataset].title;
  return { train, test, datasetOptions: o, title };
}

/** Train and evaluation transforms for the model input (grayscale → RGB, pad/resize, augmentation). */
export function trainTransforms(ds: Dataset, inputSize: [number, number, number], augment: boolean, randomErasing = 0): { train: TransformSpec; eval: TransformSpec } {
  const size = inputSize[1];
  const evalSpec = standardTransform(ds, { train: false, size, channels: 3 });
  return { train: augment ? standardTransform(ds, { train: true, size, channels: 3, randomErasing }) : evalSpec, eval: evalSpec };
}

/** The preprocessing record of a resolved evaluation transform. */
export function preprocessingOf(ds: Dataset, resolvedEval: TransformSpec, inputSize: [number, number, number]): Preprocessing {
  const norm = resolvedEval[resolvedEval.length - 1];
  const mean = norm?.op === 'normalize' ? norm.mean ?? [] : [];
  const std = norm?.op === 'normalize' ? norm.std ?? [] : [];
  return {
    source: { channels: ds.channels, height: ds.height, width: ds.width },
    transform: resolvedEval,
    inputSize,
    mean,
    std,
    grayscale: ds.channels === 1,
  };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface EvalResult {
  loss: number;
  /** Fractions in [0, 1]; top5 is NaN with 5 classes or fewer. */
  top1: number;
  top5: number;
  count: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  perClass: number[];
}

/**
 * Evaluates `predict` (NCHW float32 → logits) over a loader. Returns null if `signal` aborts
 * between batches.
 */
export async function evaluateLoader(
  predict: (images: Float32Array) => Promise<Float32Array>,
  loader: DataLoader,
  numClasses: number,
  o: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {},
): Promise<EvalResult | null> {
  let lossSum = 0;
  let top1 = 0;
  let top5 = 0;
  let count = 0;
  let confusion: number[][] = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const total = loader.length;
  let done = 0;
  for await (const b of loader.iterate(0)) {
    if (o.signal?.aborted) return null;
    const logits = await predict(b.images);
    lossSum += crossEntropyMean(logits, b.labels, numClasses) * b.n;
    top1 += topK(logits, numClasses, b.labels, 1);
    if (numClasses > 5) top5 += topK(logits, numClasses, b.labels, 5);
    confusion = addConfusion(confusion, confusionMatrix(b.labels, argmaxRows(logits, numClasses), numClasses));
    count += b.n;
    o.onBatch?.(++done, total);
  }
  if (o.signal?.aborted) return null;
  return {
    loss: lossSum / count,
    top1: top1 / count,
    top5: numClasses > 5 ? top5 / count : Number.NaN,
    count,
    confusion,
    perClass: perClassAccuracy(confusion),
  };
}

// ---------------------------------------------------------------------------------------------
// Training

export interface StepEvent {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Running means over the epoch so far. */
  loss: number;
  acc: number;
  imagesPerSec: number;
  lr: number;
}

export interface TrainEvents {
  log?(message: string): void;
  /** `startStep` > 0 when resuming mid-epoch. */
  epochStart?(e: { epoch: number; epochs: number; steps: number; startStep: number }): void;
  step?(s: StepEvent): void;
  evalStart?(e: { epoch: number; batches: number }): void;
  evalProgress?(done: number, total: number): void;
  epochEnd?(row: EpochMetrics, evaluation: EvalResult, epochs: number): void;
  checkpoint?(path: string, tag: string): void;
}

export interface TrainRunOptions {
  outDir: string;
  /** Checkpoint every N epochs (default 5); a `last` checkpoint is always written at the end. */
  saveEvery?: number;
  threads?: number;
  /** DataLoader worker threads (default 1). */
  workers?: number;
  /** The command line, recorded in checkpoints and the report. */
  command?: string;
  /** A checkpoint to continue from (its config should be the one passed; see resumeConfig). */
  resume?: string;
  /** Abort → finish the current step, save `checkpoint-interrupted`, return { interrupted: true }. */
  signal?: AbortSignal;
  events?: TrainEvents;
}

export interface TrainResult {
  outDir: string;
  interrupted: boolean;
  /** The last checkpoint JSON written. */
  checkpoint?: string;
  reportPath?: string;
  history: EpochMetrics[];
  evaluation?: EvalResult;
  /** Epochs already done when nothing was left to train. */
  nothingToDo?: boolean;
}

/** The environment table of the report. */
export function runEnvironment(threads?: number): { node: string; onnxruntime: string; cpu: string; threads: number; os: string } {
  const cpus = os.cpus();
  return {
    node: process.version,
    onnxruntime: ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown',
    cpu: `${cpus[0]?.model?.trim() ?? 'unknown'} (${os.availableParallelism()} cores)`,
    threads: threads ?? os.availableParallelism(),
    os: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

/** The config to continue a checkpoint with: its own, with `epochs` optionally changed. */
export function resumeConfig(record: CheckpointRecord, overrides: { epochs?: number } = {}): TrainConfig {
  const c = { ...record.config };
  if (overrides.epochs !== undefined) c.epochs = overrides.epochs;
  return c;
}

function zeroAccumulator(): EpochAccumulator {
  return { lossSum: 0, correct: 0, seen: 0, stepSeconds: 0 };
}

/**
 * Training batches whose BatchNorm statistics the EMA weights get before an evaluation (a few thousand
 * images, forward only; the whole split, as update_bn does, would cost a third of an epoch each time).
 */
export const EMA_BATCHNORM_BATCHES = 50;

/** Runs (or resumes) a training run; see the module comment. */
export async function train(config: TrainConfig, run: TrainRunOptions): Promise<TrainResult> {
  const ev = run.events ?? {};
  const log = (m: string) => ev.log?.(m);
  const outDir = resolve(run.outDir);
  const saveEvery = run.saveEvery ?? 5;
  const workers = run.workers ?? 1;
  if (!Number.isInteger(saveEvery) || saveEvery < 1) throw new Error(`saveEvery must be a positive integer, got ${saveEvery}`);

  let resumed: { record: CheckpointRecord; dir: string; path: string } | undefined;
  if (run.resume && config.minutes !== undefined) {
    throw new Error(`${run.resume}: a run with --minutes cannot be resumed: its schedule follows the clock of the run that started it`);
  }
  if (run.resume) resumed = await readCheckpointRecord(run.resume);
  else if (existsSync(outDir) && readdirSync(outDir).some((f) => /^checkpoint-.*\.json$/.test(f))) {
    throw new Error(`${outDir} already holds a training run (checkpoint-*.json); choose another --out, or continue it with --resume`);
  }

  const data = await openTrainingData(config);
  log(`dataset: ${data.title}, ${data.train.length} train / ${data.test.length} test images, ${data.train.numClasses} classes`);
  const plan = planModel(config, { height: data.train.height, width: data.train.width, numClasses: data.train.numClasses, title: data.title });
  for (const n of plan.notes) log(`note: ${n}`);
  if (resumed && JSON.stringify(resumed.record.model.inputSize) !== JSON.stringify(plan.inputSize)) {
    throw new Error(`${resumed.path}: was trained at input ${resumed.record.model.inputSize.join('x')}, this run would use ${plan.inputSize.join('x')}`);
  }
  const modelOptions = resumed ? { ...resumed.record.model.options } : plan.options;
  const model = createModel(config.model, modelOptions);
  const inputSize = plan.inputSize;
  const counts = summary(model, inputSize);

  const transforms = trainTransforms(data.train, inputSize, config.augment, config.randomErasing);
  const dropLast = data.train.length % config.batchSize === 1; // a 1-sample train batch breaks BatchNorm
  const trainLoader = new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed: config.seed, dropLast, transform: transforms.train, workers });
  const testLoader = new DataLoader(data.test, { batchSize: config.batchSize, shuffle: false, transform: transforms.eval, workers });
  // EMA weights get BatchNorm statistics of their own before each evaluation (Trainer.measureEmaBatchNorm),
  // measured on un-augmented training images: the distribution the test split is drawn from.
  const bnLoader = config.emaDecay
    ? new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed: config.seed + 1, transform: transforms.eval, workers })
    : undefined;
  // Test-set normalization uses the training split's statistics.
  const evalSpec = new DataLoader(data.train, { batchSize: 1, transform: transforms.eval, workers: 0 }).transform;
  const preprocessing = preprocessingOf(data.train, evalSpec, inputSize);
  const steps = trainLoader.length;
  if (steps === 0) throw new Error(`no training batches: ${data.train.length} samples with --batch-size ${config.batchSize}`);

  let trainer: Trainer | undefined;
  let evalSession: InferenceSession | undefined;
  // With --minutes the schedule's position comes from the clock, started at the first epoch.
  const budget = config.minutes !== undefined ? config.minutes * 60 : undefined;
  let clockStart = performance.now();
  const clock = () => (performance.now() - clockStart) / 1000;
  const timeUp = () => budget !== undefined && clock() >= budget;
  try {
    trainer = await Trainer.create(model, {
      optimizer: config.optimizer,
      lr: config.lr,
      schedule: config.schedule,
      epochs: config.epochs,
      warmupEpochs: config.warmupEpochs,
      stepsPerEpoch: steps,
      labelSmoothing: config.labelSmoothing,
      seed: config.seed,
      emaDecay: config.emaDecay,
      schedulePosition: budget !== undefined ? () => config.epochs * Math.min(1, clock() / budget) : undefined,
      inputSize,
      threads: run.threads,
      batchSize: config.batchSize,
    });

    const csv = new MetricsCsv(join(outDir, 'metrics.csv'));
    await mkdir(outDir, { recursive: true });
    let history: EpochMetrics[] = [];
    let startEpoch = 0;
    let startStep = 0;
    let partial = zeroAccumulator();
    let seconds = 0;
    const commands = [...(resumed?.record.commands ?? []), ...(run.command ? [run.command] : [])];
    let lastEval: EvalResult | undefined;

    if (resumed) {
      const { record, dir, path } = resumed;
      if (record.progress.stepsPerEpoch !== steps) {
        throw new Error(`${path}: ${record.progress.stepsPerEpoch} steps per epoch when saved, ${steps} now (has the dataset or --batch-size changed?)`);
      }
      const weights = join(dir, record.files.weights);
      model.loadStateDict(await loadStateDictFile(weights), { source: weights });
      trainer.loadOptimizerStateDict(await loadStateDictFile(join(dir, record.files.optimizer)));
      if (trainer.step !== record.progress.step) throw new Error(`${path}: optimizer state is at step ${trainer.step}, record says ${record.progress.step}`);
      startEpoch = record.epoch;
      startStep = record.progress.stepInEpoch;
      partial = record.progress.partial ? { ...record.progress.partial } : zeroAccumulator();
      history = record.history.filter((r) => r.epoch <= record.epoch);
      seconds = record.seconds ?? 0;
      await csv.rewrite(history);
      log(`resumed from ${path}: epoch ${record.epoch}${startStep ? ` + ${startStep}/${steps} steps` : ''} of ${config.epochs}`);
    } else {
      await csv.rewrite([]);
    }
    log(`model: ${config.model} ${JSON.stringify(modelOptions)}, input ${inputSize.join('x')}, ${counts.totalParams.toLocaleString('en-US')} params, ${(counts.totalMacs / 1e6).toFixed(1)}M MACs`);
    const length = config.minutes !== undefined
      ? `${Number(config.minutes.toFixed(1))} min in epochs of ${steps} steps`
      : `${config.epochs} epoch${config.epochs === 1 ? '' : 's'} x ${steps} steps`;
    log(`training: ${length} of ${config.batchSize}; ${describeOptimization(config)}; out ${outDir}`);

    const baseRecord = (): Omit<CheckpointRecord, 'files' | 'tag' | 'epoch' | 'progress' | 'metrics' | 'evaluation' | 'history' | 'seconds'> => ({
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      createdAt: new Date().toISOString(),
      model: { name: config.model, options: modelOptions, numClasses: model.numClasses, inputSize, params: counts.totalParams, macs: counts.totalMacs },
      dataset: {
        name: config.dataset,
        title: data.title,
        classNames: data.train.classNames,
        trainSize: data.train.length,
        testSize: data.test.length,
        options: { ...data.datasetOptions },
      },
      preprocessing,
      epochs: config.epochs,
      optimizer: {
        optimizer: config.optimizer, lr: config.lr, schedule: config.schedule, warmupEpochs: config.warmupEpochs,
        labelSmoothing: config.labelSmoothing, emaDecay: config.emaDecay,
      },
      config,
      commands,
      threads: run.threads,
      saveEvery,
    });
    let lastCheckpoint: string | undefined;
    const save = async (tag: string, epoch: number, stepInEpoch: number, acc?: EpochAccumulator) => {
      const t = trainer!;
      const ema = t.emaStateDict();
      lastCheckpoint = await writeCheckpoint(
        outDir,
        {
          ...baseRecord(),
          tag,
          epoch,
          progress: { step: t.step, stepInEpoch, stepsPerEpoch: steps, ...(stepInEpoch > 0 && acc ? { partial: { ...acc } } : {}) },
          metrics: history[history.length - 1],
          evaluation: lastEval ? { loss: lastEval.loss, top1: lastEval.top1, top5: lastEval.top5, count: lastEval.count } : undefined,
          history,
          seconds,
        },
        { weights: model.stateDict(), optimizer: t.optimizerStateDict(), ema },
      );
      ev.checkpoint?.(lastCheckpoint, tag);
      return lastCheckpoint;
    };

    const report = async () => {
      if (!lastEval || history.length === 0) return undefined;
      return writeRunReport(outDir, {
        history, evaluation: lastEval, classNames: data.train.classNames, command: commands.join('\n'),
        model: { name: config.model, options: modelOptions, params: counts.totalParams, macs: counts.totalMacs },
        dataset: { name: data.title, trainSize: data.train.length, testSize: data.test.length },
        environment: { ...runEnvironment(run.threads), seed: config.seed, optimizer: describeOptimization(config), input: inputSize.join('x') },
        seconds,
      });
    };

    if (startEpoch >= config.epochs) {
      log(`nothing to train: the checkpoint has completed ${startEpoch} of ${config.epochs} epochs (pass a larger --epochs to continue)`);
      return { outDir, interrupted: false, history, nothingToDo: true };
    }

    const emaBatchNormImages = async function* () {
      let n = 0;
      for await (const batch of bnLoader!.iterate(0)) {
        if (n++ === EMA_BATCHNORM_BATCHES) break;
        yield batch.images;
      }
    };
    const evalPredict = async (): Promise<(x: Float32Array) => Promise<Float32Array>> => {
      const t = trainer!;
      if (!t.emaStateDict()) return (x) => t.predict(x);
      await t.measureEmaBatchNorm(emaBatchNormImages());
      const ema = t.emaStateDict()!;
      const m: Network = createModel(config.model, modelOptions);
      m.loadStateDict(ema, { source: 'EMA weights' });
      await evalSession?.dispose();
      evalSession = await InferenceSession.create(m, { inputSize, threads: run.threads });
      const s = evalSession;
      return (x) => s.run(x);
    };

    clockStart = performance.now();
    for (let e = startEpoch; budget !== undefined ? e === startEpoch || !timeUp() : e < config.epochs; e++) {
      const skip = e === startEpoch ? startStep : 0;
      const acc = e === startEpoch ? partial : zeroAccumulator();
      // The learning rate of the epoch's last step (per-step schedules change it within the epoch).
      const epochLr = learningRate(config.schedule, { baseLr: config.lr, epochs: config.epochs, warmupEpochs: config.warmupEpochs }, e + (steps - 1) / steps);
      // Under --minutes the epoch count is an estimate; a faster machine may run past it.
      const shownEpochs = Math.max(config.epochs, e + 1);
      ev.epochStart?.({ epoch: e + 1, epochs: shownEpochs, steps, startStep: skip });
      trainLoader.setEpoch(e);
      let b = skip;
      let lastLr = epochLr;
      const t0 = performance.now();
      let aborted = run.signal?.aborted ?? false;
      if (skip < steps && !aborted) {
        let index = 0;
        for await (const batch of trainLoader.iterate(e)) {
          if (index++ < skip) continue;
          if (run.signal?.aborted) {
            aborted = true;
            break;
          }
          if (trainer.step > 0 && timeUp()) break;
          const ts = performance.now();
          const lr = trainer.currentLr();
          lastLr = lr;
          const r = await trainer.trainStep(batch.images, batch.labels, { logits: true });
          acc.stepSeconds += (performance.now() - ts) / 1000;
          acc.lossSum += r.loss * batch.n;
          acc.correct += topK(r.logits!, model.numClasses, batch.labels, 1);
          acc.seen += batch.n;
          b++;
          ev.step?.({ epoch: e + 1, epochs: shownEpochs, step: b, steps, loss: acc.lossSum / acc.seen, acc: acc.correct / acc.seen, imagesPerSec: acc.seen / acc.stepSeconds, lr });
        }
      }
      seconds += (performance.now() - t0) / 1000;
      if (budget !== undefined && b === skip && !aborted) break; // time ran out before this epoch's first step
      if (aborted) {
        const path = await save('interrupted', e, b, acc);
        return { outDir, interrupted: true, checkpoint: path, history, evaluation: lastEval, reportPath: await report() };
      }
      ev.evalStart?.({ epoch: e + 1, batches: testLoader.length });
      const t1 = performance.now();
      const evaluation = await evaluateLoader(await evalPredict(), testLoader, model.numClasses, {
        signal: run.signal,
        onBatch: (done, total) => ev.evalProgress?.(done, total),
      });
      seconds += (performance.now() - t1) / 1000;
      if (!evaluation) {
        const path = await save('interrupted', e, steps, acc);
        return { outDir, interrupted: true, checkpoint: path, history, evaluation: lastEval, reportPath: await report() };
      }
      lastEval = evaluation;
      const row: EpochMetrics = {
        epoch: e + 1,
        lr: lastLr,
        trainLoss: acc.lossSum / acc.seen,
        trainAcc: acc.correct / acc.seen,
        testLoss: evaluation.loss,
        testAcc: evaluation.top1,
        imagesPerSec: acc.seen / acc.stepSeconds,
        seconds: acc.stepSeconds + (performance.now() - t1) / 1000,
      };
      history.push(row);
      await csv.append(row);
      ev.epochEnd?.(row, evaluation, shownEpochs);
      if ((e + 1) % saveEvery === 0) await save(`epoch-${e + 1}`, e + 1, 0);
    }
    const last = await save('last', budget !== undefined ? history.length : config.epochs, 0);
    const reportPath = await report();
    return { outDir, interrupted: false, checkpoint: last, reportPath, history, evaluation: lastEval };
  } finally {
    await trainLoader.close();
    await testLoader.close();
    await bnLoader?.close();
    await evalSession?.dispose();
    await trainer?.dispose();
  }
}

/** Writes loss / accuracy / confusion charts (.svg + .png) and report.html; returns the report's path. */
export async function writeRunReport(
  outDir: string,
  o: {
    history: EpochMetrics[];
    evaluation: EvalResult;
    classNames: string[];
    command: string;
    model: { name: string; options: Record<string, unknown>; params: number; macs: number };
    dataset: { name: string; trainSize: number; testSize: number };
    environment: { node: string; onnxruntime: string; cpu: string; threads: number; [k: string]: string | number | boolean | undefined };
    seconds?: number;
  },
): Promise<string> {
  const charts = await trainingCharts(o.history, o.classNames, o.evaluation.confusion, `${o.model.name} on ${o.dataset.name}`);
  await Promise.all([
    writeChart(join(outDir, 'loss'), charts.lossSvg),
    writeChart(join(outDir, 'accuracy'), charts.accuracySvg),
    writeChart(join(outDir, 'confusion'), charts.confusionSvg),
  ]);
  return writeReport(outDir, {
    title: `${o.model.name} on ${o.dataset.name}`,
    command: o.command,
    model: o.model,
    dataset: { ...o.dataset, classNames: o.classNames },
    epochs: o.history,
    final: { testLoss: o.evaluation.loss, top1: o.evaluation.top1, top5: o.evaluation.top5, perClass: o.evaluation.perClass },
    confusion: o.evaluation.confusion,
    environment: o.environment,
    charts,
    totalSeconds: o.seconds,
  });
}

// ---------------------------------------------------------------------------------------------
// Demo

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
 * The demo's config: Fashion-MNIST when found locally (never downloaded unless `download`), else the
 * synthetic dataset, with `fallback` explaining how to get the real data.
 */
export function demoConfig(o: { dataDir?: string; download?: boolean; overrides?: TrainSettings } = {}): { config: TrainConfig; fallback?: string } {
  const settings: TrainSettings = { ...DEMO_SETTINGS, dataDir: o.dataDir, download: o.download ?? false, ...(o.overrides ?? {}) };
  const found = findIdxDir('fashion-mnist', 'train', { dir: settings.dataDir }) && findIdxDir('fashion-mnist', 'test', { dir: settings.dataDir });
  if (found || settings.download || settings.dataset !== 'fashion-mnist') return { config: resolveTrainConfig(settings) };
  const fallback =
    `${describeDatasetSearch('fashion-mnist', { dir: settings.dataDir })}\n` +
    'Fashion-MNIST was not found: the demo runs on the synthetic dataset instead.';
  return { config: resolveTrainConfig({ ...settings, dataset: 'synthetic' }), fallback };
}

