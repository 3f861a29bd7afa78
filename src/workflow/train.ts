/**
 * The training workflow behind `mobilezoo train` / `demo`: a run is set up (training/setup.ts: data,
 * model, loaders), starts fresh or from a checkpoint (training/resume.ts), trains epoch after epoch
 * (training/epoch-loop.ts), evaluates (training/evaluation.ts: the EMA weights when kept), and records
 * (training/record.ts: metrics.csv, checkpoints, the report). An AbortSignal stops it after the current
 * step with a resumable `interrupted` checkpoint.
 *
 * Exact resume: batches are a function of (seed, epoch, position) only (DataLoader.setEpoch), the
 * weights, buffers, optimizer slots, step count and dropout RNG position are restored, and the running
 * sums of a partly trained epoch are stored, so a resumed run computes the same losses as an
 * uninterrupted one.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { OutputFolder } from '../io/output-folder.js';
import { refuseOutputsOverInputs } from '../io/output-guard.js';
import { mixes } from '../data/index.js';
import type { EpochMetrics } from '../report/index.js';
import { nodeBackend } from '../runtime/node-backend.js';
import { backboneParameters, resolveFreeze } from '../train/freeze.js';
import { Trainer } from '../train/trainer.js';
import type { EpochAccumulator } from './checkpoints.js';
import { type TrainConfig, describeOptimization } from './config.js';
import type { EvalResult } from './evaluate.js';
import { RunClock } from './training/clock.js';
import { type EpochOutcome, EpochLoop } from './training/epoch-loop.js';
import { RunEvaluator } from './training/evaluation.js';
import type { TrainEvents } from './training/events.js';
import { RunRecord } from './training/record.js';
import { type ResumePoint, type RunProgress, checkStart, freshProgress, openResume, restoreTrainer, zeroAccumulator } from './training/resume.js';
import { type RunSetup, closeLoaders, openRunSetup } from './training/setup.js';
import { checkModelFits } from './model-memory.js';
import { checkConcurrency } from './resources.js';
import { isRunFile, openRunFolder } from './run-folder.js';

export type { StepEvent, TrainEvents } from './training/events.js';
export { EMA_BATCHNORM_BATCHES } from './training/evaluation.js';
export { type ResumePoint, openResume, resumeConfig } from './training/resume.js';

export interface TrainRunOptions {
  outDir: string;
  /** Checkpoint every N epochs (default 5); a `last` checkpoint is always written at the end. */
  saveEvery?: number;
  threads?: number;
  /** DataLoader worker threads (default 1). */
  workers?: number;
  /** The command line, recorded in checkpoints and the report. */
  command?: string;
  /** A checkpoint to continue from (a path, or one openResume has read); its config should be the one passed (see resumeConfig). */
  resume?: string | ResumePoint;
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

/** Runs (or resumes) a training run; see the module comment. */
export async function train(config: TrainConfig, run: TrainRunOptions): Promise<TrainResult> {
  const log = (m: string) => run.events?.log?.(m);
  const outDir = resolve(run.outDir);
  const saveEvery = run.saveEvery ?? 5;
  if (!Number.isInteger(saveEvery) || saveEvery < 1) throw new Error(`saveEvery must be a positive integer, got ${saveEvery}`);
  const resume = typeof run.resume === 'string' ? await openResume(run.resume) : run.resume;
  checkStart(config, outDir, resume);
  checkConcurrency('threads', run.threads, resume ? `${resume.path}: threads` : '`threads`');
  checkConcurrency('workers', run.workers, '`workers`');
  if (config.input !== undefined) {
    // Before the data is opened (or generated at that size): the model at the asked input size and batch,
    // with the stem planModel gives an input of that size.
    const stem = config.modelOptions.stem ?? (config.input <= 64 ? 'cifar' : 'imagenet');
    checkModelFits(config.model, { ...config.modelOptions, stem }, 'training', { inputSize: [3, config.input, config.input], batch: config.batchSize, training: true });
  }
  refuseOutputsOverInputs([{ path: outDir, what: 'the run folder', folder: true, writes: isRunFile }], trainInputs(config));
  const folder = await openRunFolder(outDir, { command: run.command ?? 'mobilezoo train', log });
  try {
    const setup = await openRunSetup(config, { workers: run.workers ?? 1, log }, resume);
    const session = new TrainingSession(config, run, outDir, saveEvery, setup, folder);
    try {
      return await session.run(resume);
    } finally {
      await session.close();
    }
  } finally {
    await folder.close();
  }
}

/** The files a run reads that its folder must not replace: the pretrained weights, an image folder. */
function trainInputs(config: TrainConfig): { path: string; what: string; folder?: boolean }[] {
  const p = config.pretrained;
  return [
    ...(p ? [{ path: p.file, what: 'the pretrained file' }, ...(p.weights !== p.file ? [{ path: p.weights, what: `the weights of ${p.file}` }] : [])] : []),
    ...(config.dataset === 'folder' && config.dataDir ? [{ path: config.dataDir, what: 'the image folder', folder: true }] : []),
  ];
}

/** One session of a run (a run interrupted and resumed has several): the trainer and the epoch loop over the setup. */
class TrainingSession {
  private trainer?: Trainer;
  private evaluator?: RunEvaluator;
  private readonly clock: RunClock;
  private readonly log: (m: string) => void;

  constructor(
    private readonly config: TrainConfig,
    private readonly options: TrainRunOptions,
    private readonly outDir: string,
    private readonly saveEvery: number,
    private readonly setup: RunSetup,
    private readonly folder: OutputFolder,
  ) {
    this.log = (m) => options.events?.log?.(m);
    this.clock = new RunClock(config.minutes, config.epochs);
  }

  private get steps(): number {
    return this.setup.loaders.train.length;
  }

  /** The frozen modules during epoch e (0-based). */
  private frozenAt(e: number): Set<string> {
    const unfrozen = this.config.unfreezeAt !== undefined && e + 1 >= this.config.unfreezeAt;
    return resolveFreeze(this.setup.model, unfrozen ? 'none' : this.config.freeze ?? 'none');
  }

  /** Under a minutes budget the epoch count is an estimate; a faster machine may run past it. */
  private shownEpochs(e: number): number {
    return Math.max(this.config.epochs, e + 1);
  }

  async run(resume: ResumePoint | undefined): Promise<TrainResult> {
    const { config, options, setup } = this;
    const trainer = await this.startTrainer(resume?.record.epoch ?? 0);
    await mkdir(this.outDir, { recursive: true });
    const progress: RunProgress = resume ? await restoreTrainer(trainer, resume, this.steps) : freshProgress();
    const commands = [...(resume?.record.commands ?? []), ...(options.command ? [options.command] : [])];
    const record = await RunRecord.start({ outDir: this.outDir, folder: this.folder, config, setup, commands, threads: options.threads, saveEvery: this.saveEvery }, progress);
    if (resume) this.log(`resumed from ${resume.path}: epoch ${progress.epoch}${progress.stepInEpoch ? ` + ${progress.stepInEpoch}/${this.steps} steps` : ''} of ${config.epochs}`);
    this.logPlan();
    if (progress.epoch >= config.epochs) {
      this.log(`nothing to train: the checkpoint has completed ${progress.epoch} of ${config.epochs} epochs (give more epochs to continue)`);
      return { outDir: this.outDir, interrupted: false, history: record.history, nothingToDo: true };
    }

    const loop = new EpochLoop(trainer, setup.loaders.train, { config, numClasses: setup.model.numClasses, clock: this.clock, signal: options.signal, events: options.events });
    const save = async (tag: string, epoch: number, stepInEpoch: number, sums?: EpochAccumulator) => {
      const path = await record.save(trainer, tag, epoch, stepInEpoch, this.steps, sums);
      options.events?.checkpoint?.(path, tag);
      return path;
    };
    const interrupt = async (e: number, steps: number, sums: EpochAccumulator): Promise<TrainResult> => {
      const path = await save('interrupted', e, steps, sums);
      return { outDir: this.outDir, interrupted: true, checkpoint: path, history: record.history, evaluation: record.lastEval, reportPath: await record.report() };
    };

    this.clock.start();
    for (let e = progress.epoch; this.clock.limited ? e === progress.epoch || !this.clock.timeUp() : e < config.epochs; e++) {
      const frozen = this.frozenAt(e);
      if (e > progress.epoch && frozen.size < trainer.frozen.size) this.log(`epoch ${e + 1}: unfreezing ${frozen.size ? `all but ${frozen.size} modules` : 'every layer'}`);
      await trainer.setFrozen(frozen);
      const first = e === progress.epoch;
      const epoch = await loop.run(e, first ? progress.stepInEpoch : 0, first ? progress.partial : zeroAccumulator(), this.shownEpochs(e));
      record.seconds += epoch.seconds;
      if (epoch.aborted) return interrupt(e, epoch.steps, epoch.sums);
      if (epoch.outOfTime) break;
      const evaluation = await this.evaluateTest(e, record);
      if (!evaluation) return interrupt(e, this.steps, epoch.sums);
      const row = epochRow(e, epoch, evaluation.result, evaluation.seconds);
      await record.addEpoch(row, evaluation.result);
      options.events?.epochEnd?.(row, evaluation.result, this.shownEpochs(e));
      if ((e + 1) % this.saveEvery === 0) await save(`epoch-${e + 1}`, e + 1, 0);
    }
    const last = await save('last', this.clock.limited ? record.history.length : config.epochs, 0);
    const reportPath = await record.report();
    return { outDir: this.outDir, interrupted: false, checkpoint: last, reportPath, history: record.history, evaluation: record.lastEval };
  }

  /** Compiles the train step, with the frozen modules of the starting epoch. */
  private async startTrainer(startEpoch: number): Promise<Trainer> {
    const { config, options, setup } = this;
    const backbone = config.backboneLrMult !== undefined && config.backboneLrMult !== 1 ? backboneParameters(setup.model) : undefined;
    this.trainer = await Trainer.create(setup.model, {
      optimizer: config.optimizer,
      lr: config.lr,
      schedule: config.schedule,
      epochs: config.epochs,
      warmupEpochs: config.warmupEpochs,
      stepsPerEpoch: this.steps,
      labelSmoothing: config.labelSmoothing,
      seed: config.seed,
      emaDecay: config.emaDecay,
      schedulePosition: this.clock.schedulePosition(),
      inputSize: setup.inputSize,
      backend: nodeBackend({ threads: options.threads }),
      batchSize: config.batchSize,
      frozen: this.frozenAt(startEpoch),
      lrMultiplier: backbone ? (p) => (backbone.has(p) ? config.backboneLrMult : 1) : undefined,
      softTargets: mixes(config.mix),
    });
    this.evaluator = new RunEvaluator(this.trainer, {
      model: config.model, modelOptions: setup.modelOptions, inputSize: setup.inputSize, numClasses: setup.model.numClasses,
      batchNorm: setup.loaders.batchNorm,
    });
    return this.trainer;
  }

  private logPlan(): void {
    const { config, setup } = this;
    const c = setup.counts;
    this.log(`model: ${config.model} ${JSON.stringify(setup.modelOptions)}, input ${setup.inputSize.join('x')}, ${c.totalParams.toLocaleString('en-US')} params, ${(c.totalMacs / 1e6).toFixed(1)}M MACs`);
    const length = config.minutes !== undefined
      ? `${Number(config.minutes.toFixed(1))} min in epochs of ${this.steps} steps`
      : `${config.epochs} epoch${config.epochs === 1 ? '' : 's'} x ${this.steps} steps`;
    this.log(`training: ${length} of ${config.batchSize}; ${describeOptimization(config)}; out ${this.outDir}`);
  }

  /** Evaluates on the test split after epoch e; null when aborted. */
  private async evaluateTest(e: number, record: RunRecord): Promise<{ result: EvalResult; seconds: number } | null> {
    const events = this.options.events ?? {};
    const loader = this.setup.loaders.test;
    events.evalStart?.({ epoch: e + 1, batches: loader.length });
    const t1 = performance.now();
    const result = await this.evaluator!.evaluate(loader, { signal: this.options.signal, onBatch: (done, total) => events.evalProgress?.(done, total) });
    const seconds = (performance.now() - t1) / 1000;
    record.seconds += seconds;
    return result ? { result, seconds } : null;
  }

  async close(): Promise<void> {
    await closeLoaders(this.setup.loaders);
    await this.evaluator?.dispose();
    await this.trainer?.dispose();
  }
}

function epochRow(e: number, epoch: EpochOutcome, evaluation: EvalResult, evalSeconds: number): EpochMetrics {
  const { sums } = epoch;
  return {
    epoch: e + 1,
    lr: epoch.lastLr,
    trainLoss: sums.lossSum / sums.seen,
    trainAcc: sums.correct / sums.seen,
    testLoss: evaluation.loss,
    testAcc: evaluation.top1,
    imagesPerSec: sums.seen / sums.stepSeconds,
    seconds: sums.stepSeconds + evalSeconds,
  };
}
