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
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { OutputFolder } from '../io/output-folder.js';
import { refuseOutputsOverInputs } from '../io/output-guard.js';
import { type DataLoader, mixes } from '../data/index.js';
import type { EpochMetrics } from '../report/index.js';
import type { Network } from '../models/network.js';
import { nodeBackend } from '../runtime/node-backend.js';
import { ClassifierHead, EmbeddingCache, FeatureLoader, embedLoader, featureCacheApplies } from '../train/feature-cache.js';
import { backboneParameters, resolveFreeze } from '../train/freeze.js';
import { Trainer } from '../train/trainer.js';
import { type EpochAccumulator, checkpointPaths, readCheckpointRecord } from './checkpoints.js';
import { ConfigError, type Monitor, type TrainConfig, type TrainSettings, describeOptimization, resolveTrainConfig } from './config.js';
import type { EvalResult } from './evaluate.js';
import type { RunStatus } from './report.js';
import { RunClock } from './training/clock.js';
import { type EpochBatches, type EpochOutcome, EpochLoop } from './training/epoch-loop.js';
import { type Predict, RunEvaluator } from './training/evaluation.js';
import type { EpochEvent, StepEvent, TrainEvents } from './training/events.js';
import { RunRecord } from './training/record.js';
import { type ResumePoint, type RunProgress, checkStart, freshProgress, openResume, restoreTrainer, resumeConfig, zeroAccumulator } from './training/resume.js';
import { type RunSetup, closeLoaders, openRunSetup } from './training/setup.js';
import { checkModelFits } from './model-memory.js';
import { checkConcurrency } from './resources.js';
import { isRunFile, openRunFolder } from './run-folder.js';

export type { EpochEvent, StepEvent, TrainEvents } from './training/events.js';
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
  /** The final test evaluation: of checkpoint-best, or of the last weights without a validation split. */
  evaluation?: EvalResult;
  /** The checkpoint that evaluation measured, and its epoch. */
  tested?: { checkpoint: string; epoch: number };
  /** The best epoch by the monitored validation value; its weights are `checkpoint`. */
  best?: { epoch: number; monitor: Monitor; value: number; checkpoint: string };
  /** Set when early stopping ended the run. */
  stopped?: { epoch: number; reason: string };
  /** Epochs already done when nothing was left to train. */
  nothingToDo?: boolean;
}

/**
 * What `train` takes: the command line's training settings (defaults and a recipe merged in, as
 * `mobilezoo train` does), where to write, progress callbacks and an AbortSignal.
 */
export interface TrainOptions extends TrainSettings {
  /** The output folder (default runs/<model>-<dataset>-<timestamp>; resuming, the checkpoint's folder). */
  outDir?: string;
  /** Keep a checkpoint every N epochs (default 5); checkpoint-best and checkpoint-last are always written. */
  saveEvery?: number;
  /** ONNX Runtime threads (default: all cores; resuming, the run's own). */
  threads?: number;
  /** Data-loading worker threads (default 1; 0: the main thread). */
  workers?: number;
  /**
   * Continue a run from its checkpoint (a path, or what openResume read): the run keeps its settings;
   * only `epochs` (to extend it), `dataDir` and `download` may be given besides.
   */
  resume?: string | ResumePoint;
  /** Recorded in checkpoints and the report as the command that made the run. */
  command?: string;
  /** Abort: the current step finishes, `checkpoint-interrupted` is saved, the result has `interrupted: true`. */
  signal?: AbortSignal;
  /** After every epoch: its metrics row, validation (and test) evaluation, whether it is the best so far. */
  onEpoch?(e: EpochEvent): void;
  /** After every training step: running loss and accuracy of the epoch, images/s, learning rate. */
  onStep?(s: StepEvent): void;
  /** What the command line prints as progress lines (dataset, model, plan, checkpoints saved). */
  onLog?(message: string): void;
  /** Every event, for finer progress (evaluation batches, checkpoints). */
  events?: TrainEvents;
}

/** Settings that a resumed run may change. */
const RESUMABLE_SETTINGS = new Set(['epochs', 'dataDir', 'download']);

/** `runs/<name>-<yyyymmdd-hhmmss>`: a new run's default folder. */
export function defaultRunFolder(name: string, d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return join('runs', `${name}-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`);
}

/**
 * Trains a model, or continues a run: `await train({ model: 'mobilenet_v2', modelOptions: { widthMult: 0.5 },
 * dataset: 'fashion-mnist', recipe: 'fashion-mnist', epochs: 10, onEpoch: (e) => console.log(e.metrics) })`.
 * Bad settings throw a ConfigError naming the setting. See the module comment for what a run writes.
 */
export async function train(options: TrainOptions = {}): Promise<TrainResult> {
  const { outDir, saveEvery, threads, workers, resume, command, signal, onEpoch, onStep, onLog, events, ...settings } = options;
  const run = { saveEvery, threads, workers, command, signal, events: withCallbacks(events, { onEpoch, onStep, onLog }) };
  if (resume === undefined) {
    const config = resolveTrainConfig(settings);
    return trainFromConfig(config, { ...run, outDir: outDir ?? defaultRunFolder(`${config.model}-${config.dataset}`) });
  }
  const point = typeof resume === 'string' ? await openResume(resume) : resume;
  const fixed = Object.entries(settings).find(([k, v]) => v !== undefined && !RESUMABLE_SETTINGS.has(k));
  if (fixed) throw new ConfigError(fixed[0], 'cannot be changed when resuming: the run keeps its checkpoint\'s settings (only `epochs`, `dataDir` and `download` may be given)');
  const config = resumeConfig(point.record, { epochs: settings.epochs });
  if (settings.dataDir !== undefined) config.dataDir = settings.dataDir;
  if (settings.download) config.download = true;
  return trainFromConfig(config, {
    ...run, outDir: outDir ?? point.dir, saveEvery: saveEvery ?? point.record.saveEvery, threads: threads ?? point.record.threads, resume: point,
  });
}

function withCallbacks(events: TrainEvents | undefined, c: Pick<TrainOptions, 'onEpoch' | 'onStep' | 'onLog'>): TrainEvents {
  const both = <A extends unknown[]>(f?: (...a: A) => void, g?: (...a: A) => void) => (f && g ? (...a: A) => (f(...a), g(...a)) : f ?? g);
  return { ...events, epochEnd: both(events?.epochEnd, c.onEpoch), step: both(events?.step, c.onStep), log: both(events?.log, c.onLog) };
}

/** Runs (or resumes) a training run from a resolved config (resolveTrainConfig, or resumeConfig of a checkpoint). */
export async function trainFromConfig(config: TrainConfig, run: TrainRunOptions): Promise<TrainResult> {
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
  private record?: RunRecord;
  private resume?: ResumePoint;
  private readonly clock: RunClock;
  private readonly log: (m: string) => void;
  /** Seconds of each epoch of this session, training and evaluation (for the report's ETA). */
  private readonly epochSeconds: number[] = [];
  /** With the frozen-backbone cache: the splits as embeddings, computed once (src/train/feature-cache.ts). */
  private cached?: { train: FeatureLoader; test: FeatureLoader; val?: FeatureLoader };

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

  /** The batches of each split: the loaders', or their cached embeddings'. */
  private get loaders(): { train: EpochBatches; test: DataLoader | FeatureLoader; val?: DataLoader | FeatureLoader } {
    return this.cached ?? this.setup.loaders;
  }

  private get events(): TrainEvents {
    return this.options.events ?? {};
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

  /** Whether the test split is evaluated after epoch e (0-based): every evalTestEvery epochs, or every epoch without validation. */
  private testDue(e: number): boolean {
    const every = this.config.evalTestEvery ?? (this.setup.loaders.val ? undefined : 1);
    return every !== undefined && (e + 1) % every === 0;
  }

  async run(resume: ResumePoint | undefined): Promise<TrainResult> {
    const { config, options, setup } = this;
    const trainer = await this.startTrainer(resume?.record.epoch ?? 0);
    await mkdir(this.outDir, { recursive: true });
    const progress: RunProgress = resume ? await restoreTrainer(trainer, resume, this.steps) : freshProgress();
    const commands = [...(resume?.record.commands ?? []), ...(options.command ? [options.command] : [])];
    const record = await RunRecord.start({ outDir: this.outDir, folder: this.folder, config, setup, commands, threads: options.threads, saveEvery: this.saveEvery }, progress);
    this.record = record;
    this.resume = resume;
    if (resume) this.log(`resumed from ${resume.path}: epoch ${progress.epoch}${progress.stepInEpoch ? ` + ${progress.stepInEpoch}/${this.steps} steps` : ''} of ${config.epochs}`);
    this.logPlan();
    const trained = progress.epoch >= config.epochs || record.monitor.stoppedAt !== undefined;
    if (trained && resume?.record.tag !== 'interrupted') {
      const why = record.monitor.stoppedAt !== undefined ? `the run stopped early at epoch ${record.monitor.stoppedAt}` : `the checkpoint has completed ${progress.epoch} of ${config.epochs} epochs (give more epochs to continue)`;
      this.log(`nothing to train: ${why}`);
      return { outDir: this.outDir, interrupted: false, history: record.history, nothingToDo: true };
    }

    const loop = new EpochLoop(trainer, this.loaders.train, { config, numClasses: setup.model.numClasses, clock: this.clock, signal: options.signal, events: options.events });
    this.clock.start();
    for (let e = progress.epoch; !trained && (this.clock.limited ? e === progress.epoch || !this.clock.timeUp() : e < config.epochs); e++) {
      const frozen = this.frozenAt(e);
      if (e > progress.epoch && frozen.size < trainer.frozen.size) this.log(`epoch ${e + 1}: unfreezing ${frozen.size ? `all but ${frozen.size} modules` : 'every layer'}`);
      // The head trainer of the cache has no backbone to freeze.
      if (!this.cached) await trainer.setFrozen(frozen);
      const first = e === progress.epoch;
      const epoch = await loop.run(e, first ? progress.stepInEpoch : 0, first ? progress.partial : zeroAccumulator(), this.shownEpochs(e));
      record.seconds += epoch.seconds;
      await record.addSteps(epoch.points);
      if (epoch.aborted) return this.interrupt(e, epoch.steps, epoch.sums);
      if (epoch.outOfTime) break;
      const t0 = performance.now();
      const predict = await this.evaluator!.current();
      const validation = this.loaders.val ? await this.evaluate(predict, this.loaders.val, e + 1, 'validation') : undefined;
      if (validation === null) return this.interrupt(e, this.steps, epoch.sums);
      const test = this.testDue(e) ? await this.evaluate(predict, this.loaders.test, e + 1, 'test') : undefined;
      if (test === null) return this.interrupt(e, this.steps, epoch.sums);
      const evalSeconds = (performance.now() - t0) / 1000;
      record.seconds += evalSeconds;
      this.epochSeconds.push(epoch.seconds + evalSeconds);
      const row = epochRow(e, epoch, validation, test, evalSeconds);
      const { improved, stop } = await record.addEpoch(row, validation, test);
      if (improved) await this.save('best', e + 1);
      this.events.epochEnd?.({
        epoch: e + 1, epochs: this.shownEpochs(e), metrics: row, ...(validation ? { validation } : {}), ...(test ? { test } : {}),
        best: improved, bestEpoch: record.monitor.best?.epoch, ...(stop ? { stopping: record.monitor.stopReason() } : {}),
      });
      if ((e + 1) % this.saveEvery === 0) await this.save(`epoch-${e + 1}`, e + 1);
      if (stop) {
        this.log(`early stopping after epoch ${e + 1}: ${record.monitor.stopReason()}`);
        break;
      }
      await record.report(this.status('running', e));
    }
    return this.finish();
  }

  private async save(tag: string, epoch: number, stepInEpoch = 0, sums?: EpochAccumulator): Promise<string> {
    const path = await this.record!.save(this.trainer!, tag, epoch, stepInEpoch, this.steps, sums);
    this.events.checkpoint?.(path, tag);
    return path;
  }

  /** Saves a resumable `interrupted` checkpoint at step `steps` of epoch e (0-based). */
  private async interrupt(e: number, steps: number, sums?: EpochAccumulator): Promise<TrainResult> {
    const record = this.record!;
    const path = await this.save('interrupted', e, steps, sums);
    const reportPath = await record.report({ ...this.status('interrupted', e - 1), note: 'resumable from checkpoint-interrupted' });
    return { ...this.result(), interrupted: true, checkpoint: path, reportPath };
  }

  /** The final test (of checkpoint-best when there is one), checkpoint-last and the report. */
  private async finish(): Promise<TrainResult> {
    const { config, setup } = this;
    const record = this.record!;
    const done = this.clock.limited || record.monitor.stoppedAt !== undefined ? record.history.length : config.epochs;
    const best = record.monitor.best;
    const lastPath = checkpointPaths(this.outDir, 'last').json;
    const path = best ? await this.bestCheckpoint(best.epoch) : undefined;
    if (best && !path) this.log(`note: the weights of the best epoch (${best.epoch}) are in no checkpoint this run can reach; the final test measures the last weights`);
    if (best && path) {
      const result = await this.evaluate(await this.evaluator!.ofCheckpoint(path), this.loaders.test, best.epoch, 'test', true);
      if (!result) return this.interrupt(done, 0);
      record.final = { epoch: best.epoch, result, checkpoint: path };
    } else if (record.test?.epoch === done && record.history.length) {
      record.final = { ...record.test, checkpoint: lastPath };
    } else {
      const result = await this.evaluate(await this.evaluator!.current(), this.loaders.test, done, 'test', true);
      if (!result) return this.interrupt(done, 0);
      record.final = { epoch: done, result, checkpoint: lastPath };
    }
    const last = await this.save('last', done);
    const stopped = record.monitor.stoppedAt !== undefined;
    const reportPath = await record.report(stopped ? { ...this.status('stopped early', done - 1), note: record.monitor.stopReason() } : this.status('finished', done - 1));
    return { ...this.result(), interrupted: false, checkpoint: last, reportPath };
  }

  /**
   * Where the best epoch's weights are: this folder's checkpoint-best, or, for a run resumed into another
   * folder, the source folder's checkpoint-best or the resumed checkpoint itself, when it is of that epoch.
   */
  private async bestCheckpoint(epoch: number): Promise<string | undefined> {
    const r = this.resume;
    const candidates = [checkpointPaths(this.outDir, 'best').json, ...(r ? [checkpointPaths(r.dir, 'best').json, r.path] : [])];
    for (const path of candidates) {
      if (!existsSync(path)) continue;
      const { record } = await readCheckpointRecord(path);
      if (record.epoch === epoch && record.progress.stepInEpoch === 0) return path;
    }
    return undefined;
  }

  private result(): Omit<TrainResult, 'interrupted'> {
    const record = this.record!;
    const best = record.monitor.best;
    return {
      outDir: this.outDir,
      history: record.history,
      ...(record.final ? { evaluation: record.final.result, tested: { checkpoint: record.final.checkpoint, epoch: record.final.epoch } } : {}),
      ...(best ? { best: { ...best, checkpoint: record.final && record.final.epoch === best.epoch ? record.final.checkpoint : checkpointPaths(this.outDir, 'best').json } } : {}),
      ...(record.monitor.stoppedAt !== undefined ? { stopped: { epoch: record.monitor.stoppedAt, reason: record.monitor.stopReason() } } : {}),
    };
  }

  /** Where the run stands after epoch e (0-based), for the report. */
  private status(state: RunStatus['state'], e: number): RunStatus {
    const epochs = this.shownEpochs(e);
    const recent = this.epochSeconds.slice(-3);
    const perEpoch = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : undefined;
    const left = this.clock.budget !== undefined ? Math.max(0, this.clock.budget - this.clock.elapsed()) : perEpoch !== undefined ? perEpoch * (epochs - e - 1) : undefined;
    return {
      state, epoch: e + 1, epochs,
      ...(left !== undefined ? { etaSeconds: left } : {}),
      ...(state === 'running' && perEpoch !== undefined ? { refreshSeconds: Math.min(60, Math.max(5, perEpoch / 2)) } : {}),
    };
  }

  /** Evaluates a split with progress events; null when aborted. */
  private evaluate(predict: Predict, loader: DataLoader | FeatureLoader, epoch: number, split: 'validation' | 'test', final = false): Promise<EvalResult | null> {
    this.events.evalStart?.({ epoch, batches: loader.length, split, ...(final ? { final } : {}) });
    return this.evaluator!.evaluate(predict, loader, { signal: this.options.signal, onBatch: (done, total) => this.events.evalProgress?.(done, total) });
  }

  /**
   * Compiles the train step, with the frozen modules of the starting epoch; with the backbone frozen for
   * the whole run and nothing that changes images between epochs, the classifier's step on embeddings
   * computed once (the frozen-backbone cache: same losses as the full step, src/train/feature-cache.ts).
   */
  private async startTrainer(startEpoch: number): Promise<Trainer> {
    const { config, options, setup } = this;
    const backend = nodeBackend({ threads: options.threads });
    const backbone = config.backboneLrMult !== undefined && config.backboneLrMult !== 1 ? backboneParameters(setup.model) : undefined;
    const frozen = this.frozenAt(startEpoch);
    const cache = config.featureCache === false ? { applies: false, why: 'turned off (featureCache false, --no-feature-cache)' } : featureCacheApplies({
      model: setup.model, frozen, augment: config.augment || config.augmentation !== undefined, mix: mixes(config.mix), ema: !!config.emaDecay,
      unfreezeLater: config.unfreezeAt !== undefined,
    });
    let model: Network = setup.model;
    let inputSize = setup.inputSize;
    if (cache.applies) {
      const t0 = performance.now();
      const embeddings = await EmbeddingCache.create(setup.model, { backend, inputSize });
      try {
        const { train, test, val } = setup.loaders;
        const of = async (l: DataLoader) => {
          const e = await embedLoader(embeddings, l, config.batchSize);
          return new FeatureLoader(l, e.embeddings, e.dim, e.labels);
        };
        this.cached = { train: await of(train), test: await of(test), ...(val ? { val: await of(val) } : {}) };
      } finally {
        await embeddings.dispose();
      }
      const dim = this.cached.train.dim;
      model = new ClassifierHead(setup.model, dim);
      inputSize = [dim, 1, 1];
      const n = setup.loaders.train.dataset.length + setup.loaders.test.dataset.length + (setup.loaders.val?.dataset.length ?? 0);
      this.log(`frozen-backbone cache: the backbone is frozen and the images are the same at every epoch, so each image's embedding (${dim} values) was computed once (${n} images, ${((performance.now() - t0) / 1000).toFixed(1)} s) and the classifier trains on them`);
    } else if (config.freeze !== 'none') this.log(`frozen layers: the network runs on every image at every step (no frozen-backbone cache: ${cache.why})`);
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
      schedulePosition: this.clock.schedulePosition(),
      inputSize,
      backend,
      batchSize: config.batchSize,
      frozen: cache.applies ? new Set() : frozen,
      lrMultiplier: backbone ? (p) => (backbone.has(p) ? config.backboneLrMult : 1) : undefined,
      softTargets: mixes(config.mix),
    });
    this.evaluator = new RunEvaluator(this.trainer, {
      model: config.model, modelOptions: setup.modelOptions, inputSize, numClasses: setup.model.numClasses,
      batchNorm: setup.loaders.batchNorm, ...(this.cached ? { featureDim: this.cached.train.dim } : {}),
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
    if (setup.loaders.val) {
      const every = config.evalTestEvery ? `every ${config.evalTestEvery} epoch${config.evalTestEvery === 1 ? '' : 's'} and ` : '';
      this.log(`validation: checkpoint-best by ${config.monitor}${config.earlyStopping ? `, early stopping after ${config.earlyStopping} epochs without improvement` : ''}; the test split is evaluated ${every}at the end, on checkpoint-best`);
    }
  }

  async close(): Promise<void> {
    await closeLoaders(this.setup.loaders);
    await this.evaluator?.dispose();
    await this.trainer?.dispose();
  }
}

function epochRow(e: number, epoch: EpochOutcome, validation: EvalResult | undefined, test: EvalResult | undefined, evalSeconds: number): EpochMetrics {
  const { sums } = epoch;
  return {
    epoch: e + 1,
    lr: epoch.lastLr,
    trainLoss: sums.lossSum / sums.seen,
    trainAcc: sums.correct / sums.seen,
    valLoss: validation?.loss ?? Number.NaN,
    valAcc: validation?.top1 ?? Number.NaN,
    testLoss: test?.loss ?? Number.NaN,
    testAcc: test?.top1 ?? Number.NaN,
    imagesPerSec: sums.seen / sums.stepSeconds,
    seconds: sums.stepSeconds + evalSeconds,
  };
}
