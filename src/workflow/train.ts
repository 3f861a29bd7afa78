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
import { DataLoader, type TransformSpec, resolveTransform } from '../data/index.js';
import { type Preprocessing, recordPreprocessing } from '../data/preprocessing.js';
import { loadStateDictFile } from '../io/checkpoint.js';
import type { Network } from '../models/network.js';
import { createModel } from '../models/registry.js';
import { summary } from '../nn/summary.js';
import { type EpochMetrics, MetricsCsv, topK } from '../report/index.js';
import { InferenceSession } from '../runtime/inference.js';
import { nodeBackend } from '../runtime/node-backend.js';
import { backboneParameters, resolveFreeze } from '../train/freeze.js';
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
import { type PretrainedRecord, type TrainConfig, describeOptimization } from './config.js';
import { type TrainingData, openTrainingData, planModel, sourcePreprocessing, trainTransforms } from './data.js';
import { type EvalResult, evaluateLoader } from './evaluate.js';
import { loadPretrained, summarizeTensorNames } from './pretrained.js';
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
  // Checkpoints from before fine-tuning existed lack its settings.
  const c: TrainConfig = { ...record.config, freeze: record.config.freeze ?? 'none', backboneLrMult: record.config.backboneLrMult ?? 1 };
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
  const r = await TrainingRun.open(config, run);
  try {
    await r.startTrainer();
    if (r.startEpoch >= config.epochs) return r.nothingToDo();
    r.startClock();
    for (let e = r.startEpoch; r.continuesWith(e); e++) {
      const epoch = await r.trainEpoch(e);
      if (epoch.aborted) return r.interrupt(e, epoch.steps, epoch.sums);
      if (epoch.outOfTime) break;
      const evaluation = await r.evaluate(e);
      if (!evaluation) return r.interrupt(e, r.steps, epoch.sums);
      await r.endEpoch(e, epoch, evaluation);
    }
    return await r.finish();
  } finally {
    await r.close();
  }
}

interface EpochOutcome {
  /** Steps of the epoch done (including those done before a resume). */
  steps: number;
  sums: EpochAccumulator;
  lastLr: number;
  aborted: boolean;
  /** --minutes ran out before this epoch's first step. */
  outOfTime: boolean;
}

type RecordBase = Omit<CheckpointRecord, 'files' | 'tag' | 'epoch' | 'progress' | 'metrics' | 'evaluation' | 'history' | 'seconds'>;

/** The state of one run between the steps of train(). */
class TrainingRun {
  private trainer?: Trainer;
  private evalSession?: InferenceSession;
  private history: EpochMetrics[] = [];
  private lastEval?: EvalResult;
  private seconds = 0;
  /** Seconds of the last evaluation (its epoch's metrics row counts them). */
  private evalSeconds = 0;
  startEpoch = 0;
  private startStep = 0;
  private partial = zeroAccumulator();
  private readonly csv: MetricsCsv;
  private readonly commands: string[];
  private readonly budget?: number;
  private clockStart = performance.now();
  private readonly log: (m: string) => void;

  private constructor(
    private readonly config: TrainConfig,
    private readonly run: TrainRunOptions,
    private readonly outDir: string,
    private readonly resumed: Resumed | undefined,
    private readonly data: TrainingData,
    private readonly model: Network,
    private readonly modelOptions: Record<string, unknown>,
    private readonly inputSize: [number, number, number],
    private readonly counts: { totalParams: number; totalMacs: number },
    private readonly preprocessing: Preprocessing,
    private readonly loaders: { train: DataLoader; test: DataLoader; batchNorm?: DataLoader },
    private readonly pretrained: PretrainedRecord | undefined,
  ) {
    this.log = (m) => run.events?.log?.(m);
    this.csv = new MetricsCsv(join(outDir, 'metrics.csv'));
    this.commands = [...(resumed?.record.commands ?? []), ...(run.command ? [run.command] : [])];
    this.budget = config.minutes !== undefined ? config.minutes * 60 : undefined;
  }

  get steps(): number {
    return this.loaders.train.length;
  }

  private get saveEvery(): number {
    return this.run.saveEvery ?? 5;
  }

  /** Checks the output folder and resume, opens the data, builds the model with its starting weights and the loaders. */
  static async open(config: TrainConfig, run: TrainRunOptions): Promise<TrainingRun> {
    const log = (m: string) => run.events?.log?.(m);
    const outDir = resolve(run.outDir);
    const saveEvery = run.saveEvery ?? 5;
    if (!Number.isInteger(saveEvery) || saveEvery < 1) throw new Error(`saveEvery must be a positive integer, got ${saveEvery}`);
    const resumed = await checkResume(config, run, outDir);

    const data = await openTrainingData(config);
    log(`dataset: ${data.title}, ${data.train.length} train / ${data.test.length} test images, ${data.train.numClasses} classes`);
    const plan = planModel(config, { height: data.train.height, width: data.train.width, numClasses: data.train.numClasses, title: data.title });
    for (const n of plan.notes) log(`note: ${n}`);
    if (resumed && JSON.stringify(resumed.record.model.inputSize) !== JSON.stringify(plan.inputSize)) {
      throw new Error(`${resumed.path}: was trained at input ${resumed.record.model.inputSize.join('x')}, this run would use ${plan.inputSize.join('x')}`);
    }
    const modelOptions = resumed ? { ...resumed.record.model.options } : plan.options;
    const model = createModel(config.model, modelOptions);
    // Weights first: frozen layers are compiled into the train step as constants.
    const pretrained = resumed ? resumed.record.pretrained : await startFromPretrained(model, config, log);
    if (resumed) {
      const weights = join(resumed.dir, resumed.record.files.weights);
      model.loadStateDict(await loadStateDictFile(weights), { source: weights });
    }
    const inputSize = plan.inputSize;
    const counts = summary(model, inputSize);

    const source = sourcePreprocessing(config);
    const transforms = trainTransforms(data.train, inputSize, config.augment, config.randomErasing, source);
    const loaders = openLoaders(config, data, transforms, run.workers ?? 1);
    // Test-set normalization uses the training split's statistics.
    const preprocessing = source ?? recordPreprocessing(data.train, resolveTransform(transforms.eval, data.train));
    if (loaders.train.length === 0) {
      await closeLoaders(loaders);
      throw new Error(`no training batches: ${data.train.length} samples with --batch-size ${config.batchSize}`);
    }
    return new TrainingRun(config, run, outDir, resumed, data, model, modelOptions, inputSize, counts, preprocessing, loaders, pretrained);
  }

  /** The frozen modules during epoch e (0-based). */
  private frozenAt(e: number): Set<string> {
    const unfrozen = this.config.unfreezeAt !== undefined && e + 1 >= this.config.unfreezeAt;
    return resolveFreeze(this.model, unfrozen ? 'none' : this.config.freeze ?? 'none');
  }

  /** Compiles the train step and restores the optimizer and progress of a resumed run. */
  async startTrainer(): Promise<void> {
    const { config, run, resumed, model } = this;
    const epoch = resumed?.record.epoch ?? 0;
    const backbone = config.backboneLrMult !== undefined && config.backboneLrMult !== 1 ? backboneParameters(model) : undefined;
    this.trainer = await Trainer.create(model, {
      optimizer: config.optimizer,
      lr: config.lr,
      schedule: config.schedule,
      epochs: config.epochs,
      warmupEpochs: config.warmupEpochs,
      stepsPerEpoch: this.steps,
      labelSmoothing: config.labelSmoothing,
      seed: config.seed,
      emaDecay: config.emaDecay,
      schedulePosition: this.budget !== undefined ? () => config.epochs * Math.min(1, this.clock() / this.budget!) : undefined,
      inputSize: this.inputSize,
      backend: nodeBackend({ threads: run.threads }),
      batchSize: config.batchSize,
      frozen: this.frozenAt(epoch),
      lrMultiplier: backbone ? (p) => (backbone.has(p) ? config.backboneLrMult! : 1) : undefined,
    });
    await mkdir(this.outDir, { recursive: true });
    if (resumed) {
      const { record, dir, path } = resumed;
      if (record.progress.stepsPerEpoch !== this.steps) {
        throw new Error(`${path}: ${record.progress.stepsPerEpoch} steps per epoch when saved, ${this.steps} now (has the dataset or --batch-size changed?)`);
      }
      this.trainer.loadOptimizerStateDict(await loadStateDictFile(join(dir, record.files.optimizer)));
      if (this.trainer.step !== record.progress.step) throw new Error(`${path}: optimizer state is at step ${this.trainer.step}, record says ${record.progress.step}`);
      this.startEpoch = record.epoch;
      this.startStep = record.progress.stepInEpoch;
      this.partial = record.progress.partial ? { ...record.progress.partial } : zeroAccumulator();
      this.history = record.history.filter((r) => r.epoch <= record.epoch);
      this.seconds = record.seconds ?? 0;
      await this.csv.rewrite(this.history);
      this.log(`resumed from ${path}: epoch ${record.epoch}${this.startStep ? ` + ${this.startStep}/${this.steps} steps` : ''} of ${config.epochs}`);
    } else {
      await this.csv.rewrite([]);
    }
    const c = this.counts;
    this.log(`model: ${config.model} ${JSON.stringify(this.modelOptions)}, input ${this.inputSize.join('x')}, ${c.totalParams.toLocaleString('en-US')} params, ${(c.totalMacs / 1e6).toFixed(1)}M MACs`);
    const length = config.minutes !== undefined
      ? `${Number(config.minutes.toFixed(1))} min in epochs of ${this.steps} steps`
      : `${config.epochs} epoch${config.epochs === 1 ? '' : 's'} x ${this.steps} steps`;
    this.log(`training: ${length} of ${config.batchSize}; ${describeOptimization(config)}; out ${this.outDir}`);
  }

  nothingToDo(): TrainResult {
    this.log(`nothing to train: the checkpoint has completed ${this.startEpoch} of ${this.config.epochs} epochs (pass a larger --epochs to continue)`);
    return { outDir: this.outDir, interrupted: false, history: this.history, nothingToDo: true };
  }

  // With --minutes the schedule's position comes from the clock, started at the first epoch.
  startClock(): void {
    this.clockStart = performance.now();
  }

  private clock(): number {
    return (performance.now() - this.clockStart) / 1000;
  }

  private timeUp(): boolean {
    return this.budget !== undefined && this.clock() >= this.budget;
  }

  continuesWith(e: number): boolean {
    return this.budget !== undefined ? e === this.startEpoch || !this.timeUp() : e < this.config.epochs;
  }

  /** Under --minutes the epoch count is an estimate; a faster machine may run past it. */
  private shownEpochs(e: number): number {
    return Math.max(this.config.epochs, e + 1);
  }

  /** The train steps of epoch e (0-based), from where a resumed run stopped. */
  async trainEpoch(e: number): Promise<EpochOutcome> {
    const { config, run, model } = this;
    const trainer = this.trainer!;
    const frozen = this.frozenAt(e);
    if (e > this.startEpoch && frozen.size < trainer.frozen.size) this.log(`epoch ${e + 1}: unfreezing ${frozen.size ? `all but ${frozen.size} modules` : 'every layer'}`);
    await trainer.setFrozen(frozen);
    const steps = this.steps;
    const skip = e === this.startEpoch ? this.startStep : 0;
    const sums = e === this.startEpoch ? this.partial : zeroAccumulator();
    const events = run.events ?? {};
    // The learning rate of the epoch's last step (per-step schedules change it within the epoch).
    let lastLr = learningRate(config.schedule, { baseLr: config.lr, epochs: config.epochs, warmupEpochs: config.warmupEpochs }, e + (steps - 1) / steps);
    events.epochStart?.({ epoch: e + 1, epochs: this.shownEpochs(e), steps, startStep: skip });
    this.loaders.train.setEpoch(e);
    let done = skip;
    const t0 = performance.now();
    let aborted = run.signal?.aborted ?? false;
    if (skip < steps && !aborted) {
      let index = 0;
      for await (const batch of this.loaders.train.iterate(e)) {
        if (index++ < skip) continue;
        if (run.signal?.aborted) {
          aborted = true;
          break;
        }
        if (trainer.step > 0 && this.timeUp()) break;
        const ts = performance.now();
        const lr = trainer.currentLr();
        lastLr = lr;
        const r = await trainer.trainStep(batch.images, batch.labels, { logits: true });
        sums.stepSeconds += (performance.now() - ts) / 1000;
        sums.lossSum += r.loss * batch.n;
        sums.correct += topK(r.logits!, model.numClasses, batch.labels, 1);
        sums.seen += batch.n;
        done++;
        events.step?.({ epoch: e + 1, epochs: this.shownEpochs(e), step: done, steps, loss: sums.lossSum / sums.seen, acc: sums.correct / sums.seen, imagesPerSec: sums.seen / sums.stepSeconds, lr });
      }
    }
    this.seconds += (performance.now() - t0) / 1000;
    return { steps: done, sums, lastLr, aborted, outOfTime: this.budget !== undefined && done === skip && !aborted };
  }

  /** Evaluates on the test split (the EMA weights when kept); null when aborted. */
  async evaluate(e: number): Promise<EvalResult | null> {
    const events = this.run.events ?? {};
    events.evalStart?.({ epoch: e + 1, batches: this.loaders.test.length });
    const t1 = performance.now();
    const evaluation = await evaluateLoader(await this.evalPredict(), this.loaders.test, this.model.numClasses, {
      signal: this.run.signal,
      onBatch: (done, total) => events.evalProgress?.(done, total),
    });
    this.seconds += (performance.now() - t1) / 1000;
    this.evalSeconds = (performance.now() - t1) / 1000;
    return evaluation;
  }

  private async evalPredict(): Promise<(x: Float32Array) => Promise<Float32Array>> {
    const t = this.trainer!;
    if (!t.emaStateDict()) return (x) => t.predict(x);
    await t.measureEmaBatchNorm(this.emaBatchNormImages());
    const m: Network = createModel(this.config.model, this.modelOptions);
    m.loadStateDict(t.emaStateDict()!, { source: 'EMA weights' });
    await this.evalSession?.dispose();
    this.evalSession = await InferenceSession.create(m, { inputSize: this.inputSize, backend: this.trainer!.backend });
    const s = this.evalSession;
    return (x) => s.run(x);
  }

  private async *emaBatchNormImages(): AsyncGenerator<Float32Array> {
    let n = 0;
    for await (const batch of this.loaders.batchNorm!.iterate(0)) {
      if (n++ === EMA_BATCHNORM_BATCHES) break;
      yield batch.images;
    }
  }

  /** The epoch's metrics row, events and its checkpoint when due. */
  async endEpoch(e: number, epoch: EpochOutcome, evaluation: EvalResult): Promise<void> {
    this.lastEval = evaluation;
    const { sums } = epoch;
    const row: EpochMetrics = {
      epoch: e + 1,
      lr: epoch.lastLr,
      trainLoss: sums.lossSum / sums.seen,
      trainAcc: sums.correct / sums.seen,
      testLoss: evaluation.loss,
      testAcc: evaluation.top1,
      imagesPerSec: sums.seen / sums.stepSeconds,
      seconds: sums.stepSeconds + this.evalSeconds,
    };
    this.history.push(row);
    await this.csv.append(row);
    this.run.events?.epochEnd?.(row, evaluation, this.shownEpochs(e));
    if ((e + 1) % this.saveEvery === 0) await this.save(`epoch-${e + 1}`, e + 1, 0);
  }

  /** Saves a resumable `interrupted` checkpoint at step `steps` of epoch e. */
  async interrupt(e: number, steps: number, sums: EpochAccumulator): Promise<TrainResult> {
    const path = await this.save('interrupted', e, steps, sums);
    return { outDir: this.outDir, interrupted: true, checkpoint: path, history: this.history, evaluation: this.lastEval, reportPath: await this.report() };
  }

  async finish(): Promise<TrainResult> {
    const last = await this.save('last', this.budget !== undefined ? this.history.length : this.config.epochs, 0);
    const reportPath = await this.report();
    return { outDir: this.outDir, interrupted: false, checkpoint: last, reportPath, history: this.history, evaluation: this.lastEval };
  }

  private recordBase(): RecordBase {
    const { config, data, model, counts } = this;
    return {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      createdAt: new Date().toISOString(),
      model: { name: config.model, options: this.modelOptions, numClasses: model.numClasses, inputSize: this.inputSize, params: counts.totalParams, macs: counts.totalMacs },
      dataset: {
        name: config.dataset,
        title: data.title,
        classNames: data.train.classNames,
        trainSize: data.train.length,
        testSize: data.test.length,
        options: { ...data.datasetOptions },
      },
      preprocessing: this.preprocessing,
      epochs: config.epochs,
      optimizer: {
        optimizer: config.optimizer, lr: config.lr, schedule: config.schedule, warmupEpochs: config.warmupEpochs,
        labelSmoothing: config.labelSmoothing, emaDecay: config.emaDecay,
      },
      config,
      ...(this.pretrained ? { pretrained: this.pretrained } : {}),
      commands: this.commands,
      threads: this.run.threads,
      saveEvery: this.saveEvery,
    };
  }

  private async save(tag: string, epoch: number, stepInEpoch: number, sums?: EpochAccumulator): Promise<string> {
    const t = this.trainer!;
    const last = this.lastEval;
    const path = await writeCheckpoint(
      this.outDir,
      {
        ...this.recordBase(),
        tag,
        epoch,
        progress: { step: t.step, stepInEpoch, stepsPerEpoch: this.steps, ...(stepInEpoch > 0 && sums ? { partial: { ...sums } } : {}) },
        metrics: this.history[this.history.length - 1],
        evaluation: last ? { loss: last.loss, top1: last.top1, top5: last.top5, count: last.count } : undefined,
        history: this.history,
        seconds: this.seconds,
      },
      { weights: this.model.stateDict(), optimizer: t.optimizerStateDict(), ema: t.emaStateDict() },
    );
    this.run.events?.checkpoint?.(path, tag);
    return path;
  }

  private async report(): Promise<string | undefined> {
    const { config, data, counts } = this;
    if (!this.lastEval || this.history.length === 0) return undefined;
    return writeRunReport(this.outDir, {
      history: this.history, evaluation: this.lastEval, classNames: data.train.classNames, command: this.commands.join('\n'),
      model: { name: config.model, options: this.modelOptions, params: counts.totalParams, macs: counts.totalMacs },
      dataset: { name: data.title, trainSize: data.train.length, testSize: data.test.length },
      environment: { ...runEnvironment(this.run.threads), seed: config.seed, optimizer: describeOptimization(config), input: this.inputSize.join('x') },
      seconds: this.seconds,
    });
  }

  async close(): Promise<void> {
    await closeLoaders(this.loaders);
    await this.evalSession?.dispose();
    await this.trainer?.dispose();
  }
}

interface Resumed {
  record: CheckpointRecord;
  dir: string;
  path: string;
}

async function checkResume(config: TrainConfig, run: TrainRunOptions, outDir: string): Promise<Resumed | undefined> {
  if (run.resume && config.minutes !== undefined) {
    throw new Error(`${run.resume}: a run with --minutes cannot be resumed: its schedule follows the clock of the run that started it`);
  }
  if (run.resume) return readCheckpointRecord(run.resume);
  if (existsSync(outDir) && readdirSync(outDir).some((f) => /^checkpoint-.*\.json$/.test(f))) {
    throw new Error(`${outDir} already holds a training run (checkpoint-*.json); choose another --out, or continue it with --resume`);
  }
  return undefined;
}

/** Loads the pretrained source's matching tensors, logging what was loaded and what kept its initialization. */
async function startFromPretrained(model: Network, config: TrainConfig, log: (m: string) => void): Promise<PretrainedRecord | undefined> {
  const src = config.pretrained;
  if (!src) return undefined;
  const r = await loadPretrained(model, src);
  log(`pretrained: ${src.file} (${src.kind}, sha256 ${src.sha256.slice(0, 12)}…): loaded ${r.loaded.length} tensors: ${summarizeTensorNames(r.loaded)}`);
  if (r.reinitialized.length) log(`pretrained: initialized as ${config.model} does (absent from the file or shaped differently): ${r.reinitialized.join(', ')}`);
  if (r.unexpected.length) log(`pretrained: not in ${config.model}, ignored: ${r.unexpected.length > 12 ? `${r.unexpected.slice(0, 12).join(', ')}, … (${r.unexpected.length})` : r.unexpected.join(', ')}`);
  return { file: src.file, sha256: src.sha256, kind: src.kind, loaded: r.loaded.length, reinitialized: r.reinitialized, unexpected: r.unexpected };
}

function openLoaders(config: TrainConfig, data: TrainingData, transforms: { train: TransformSpec; eval: TransformSpec }, workers: number): { train: DataLoader; test: DataLoader; batchNorm?: DataLoader } {
  const dropLast = data.train.length % config.batchSize === 1; // a 1-sample train batch breaks BatchNorm
  return {
    train: new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed: config.seed, dropLast, transform: transforms.train, workers }),
    test: new DataLoader(data.test, { batchSize: config.batchSize, shuffle: false, transform: transforms.eval, workers }),
    // EMA weights get BatchNorm statistics of their own before each evaluation (Trainer.measureEmaBatchNorm),
    // measured on un-augmented training images: the distribution the test split is drawn from.
    batchNorm: config.emaDecay
      ? new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed: config.seed + 1, transform: transforms.eval, workers })
      : undefined,
  };
}

async function closeLoaders(l: { train: DataLoader; test: DataLoader; batchNorm?: DataLoader }): Promise<void> {
  await l.train.close();
  await l.test.close();
  await l.batchNorm?.close();
}
