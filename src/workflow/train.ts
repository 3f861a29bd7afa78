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
import { join, resolve } from 'node:path';
import { DataLoader } from '../data/index.js';
import { loadStateDictFile } from '../io/checkpoint.js';
import type { Network } from '../models/network.js';
import { createModel } from '../models/registry.js';
import { summary } from '../nn/summary.js';
import { type EpochMetrics, MetricsCsv, topK } from '../report/index.js';
import { InferenceSession } from '../runtime/inference.js';
import { learningRate } from '../train/schedules.js';
import { Trainer } from '../train/trainer.js';
import {
  type CheckpointRecord,
  type EpochAccumulator,
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  readCheckpointRecord,
  writeCheckpoint,
} from './checkpoints.js';
import { type TrainConfig, describeOptimization } from './config.js';
import { openTrainingData, planModel, preprocessingOf, trainTransforms } from './data.js';
import { type EvalResult, evaluateLoader } from './evaluate.js';
import { runEnvironment, writeRunReport } from './report.js';

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
  const preprocessing = preprocessingOf(data.train, evalSpec);
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

