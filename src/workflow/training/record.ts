/**
 * The run's record: the metrics rows (metrics.csv), each step's loss and learning rate (steps.csv), the
 * command lines, the time spent, the latest validation and test evaluations, the monitor of the best
 * epoch, and what every checkpoint and the report are written from.
 */
import { join } from 'node:path';
import type { OutputFolder } from '../../io/output-folder.js';
import { type EpochMetrics, MetricsCsv, type StepPoint, StepsCsv } from '../../report/index.js';
import type { Trainer } from '../../train/trainer.js';
import { optimizerRecord } from '../checkpoint-record.js';
import { type CheckpointRecord, type EpochAccumulator, type EvalSummary, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, checkpointFileNames, writeCheckpoint } from '../checkpoints.js';
import { type TrainConfig, describeOptimization } from '../config.js';
import type { EvalResult } from '../evaluate.js';
import { RUN_REPORT_FILES, type RunStatus, runEnvironment, writeRunReport } from '../report.js';
import { ValidationMonitor } from './monitor.js';
import type { RunProgress } from './resume.js';
import type { RunSetup } from './setup.js';

type RecordBase = Omit<CheckpointRecord, 'files' | 'tag' | 'epoch' | 'progress' | 'metrics' | 'evaluation' | 'validation' | 'history' | 'seconds'>;

export interface RunRecordOptions {
  outDir: string;
  /** The locked run folder: every file the record writes is tracked in its manifest. */
  folder: OutputFolder;
  config: TrainConfig;
  setup: RunSetup;
  /** Command lines of the run so far (a resumed run's, then this one). */
  commands: string[];
  threads?: number;
  saveEvery: number;
}

/** An evaluation and the epoch (1-based) whose weights it measured. */
export interface EpochEvaluation {
  epoch: number;
  result: EvalResult;
}

/** The run's final test evaluation and the checkpoint it measured. */
export interface FinalTest extends EpochEvaluation {
  checkpoint: string;
}

const summaryOf = (r: EvalResult): EvalSummary => ({ loss: r.loss, top1: r.top1, top5: r.top5, count: r.count });

export class RunRecord {
  history: EpochMetrics[];
  /** Seconds spent training and evaluating, over every session of the run. */
  seconds: number;
  steps: StepPoint[] = [];
  validation?: EpochEvaluation;
  test?: EpochEvaluation;
  final?: FinalTest;
  readonly monitor: ValidationMonitor;
  private readonly csv: MetricsCsv;
  private readonly stepsCsv: StepsCsv;

  private constructor(private readonly o: RunRecordOptions, progress: RunProgress) {
    this.history = progress.history;
    this.seconds = progress.seconds;
    this.csv = new MetricsCsv(join(o.outDir, 'metrics.csv'));
    this.stepsCsv = new StepsCsv(join(o.outDir, 'steps.csv'));
    this.monitor = ValidationMonitor.replay(o.config, progress.history);
  }

  /** A record continuing `progress`: metrics.csv and steps.csv are rewritten with its rows and steps. */
  static async start(o: RunRecordOptions, progress: RunProgress): Promise<RunRecord> {
    const r = new RunRecord(o, progress);
    await o.folder.track(['metrics.csv'], () => r.csv.rewrite(r.history));
    r.steps = progress.step > 0 ? (await r.stepsCsv.read()).filter((p) => p.step <= progress.step) : [];
    await o.folder.track(['steps.csv'], () => r.stepsCsv.rewrite(r.steps));
    return r;
  }

  get commands(): string[] {
    return this.o.commands;
  }

  get hasValidation(): boolean {
    return this.o.setup.loaders.val !== undefined;
  }

  async addSteps(points: readonly StepPoint[]): Promise<void> {
    this.steps.push(...points);
    await this.o.folder.track(['steps.csv'], () => this.stepsCsv.append(points));
  }

  /** Adds a completed epoch's row (metrics.csv too) and its evaluations; says whether it is the new best and whether to stop. */
  async addEpoch(row: EpochMetrics, validation: EvalResult | undefined, test: EvalResult | undefined): Promise<{ improved: boolean; stop: boolean }> {
    if (validation) this.validation = { epoch: row.epoch, result: validation };
    if (test) this.test = { epoch: row.epoch, result: test };
    this.history.push(row);
    await this.o.folder.track(['metrics.csv'], () => this.csv.append(row));
    return validation ? this.monitor.update(row) : { improved: false, stop: false };
  }

  private base(): RecordBase {
    const { config, setup } = this.o;
    const { data, model, counts } = setup;
    return {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      createdAt: new Date().toISOString(),
      model: { name: config.model, options: setup.modelOptions, numClasses: model.numClasses, inputSize: setup.inputSize, params: counts.totalParams, macs: counts.totalMacs },
      dataset: {
        name: config.dataset,
        title: data.title,
        classNames: data.train.classNames,
        trainSize: data.train.length,
        testSize: data.test.length,
        options: { ...data.datasetOptions },
        ...(data.validation ? { validation: data.validation } : {}),
      },
      preprocessing: setup.preprocessing,
      trainTransform: setup.loaders.train.transform,
      epochs: config.epochs,
      optimizer: optimizerRecord(config),
      config,
      ...(setup.pretrained ? { pretrained: setup.pretrained } : {}),
      ...(this.monitor.best ? { best: this.monitor.best } : {}),
      ...(this.monitor.stoppedAt !== undefined ? { stopped: { epoch: this.monitor.stoppedAt, reason: this.monitor.stopReason() } } : {}),
      ...(this.final ? { test: { checkpoint: this.final.checkpoint, epoch: this.final.epoch, ...summaryOf(this.final.result) } } : {}),
      commands: this.o.commands,
      threads: this.o.threads,
      saveEvery: this.o.saveEvery,
    };
  }

  /** Writes checkpoint-<tag> at step `stepInEpoch` of the epoch after `epoch` completed ones; returns its JSON's path. */
  async save(trainer: Trainer, tag: string, epoch: number, stepInEpoch: number, stepsPerEpoch: number, sums?: EpochAccumulator): Promise<string> {
    const at = (e?: EpochEvaluation) => (e && e.epoch === epoch && stepInEpoch === 0 ? summaryOf(e.result) : undefined);
    const tested = this.final && this.final.epoch === epoch && stepInEpoch === 0 ? this.final : this.test;
    const ema = trainer.emaStateDict();
    return this.o.folder.track(checkpointFileNames(tag, ema !== undefined), () => writeCheckpoint(
      this.o.outDir,
      {
        ...this.base(),
        tag,
        epoch,
        progress: { step: trainer.step, stepInEpoch, stepsPerEpoch, ...(stepInEpoch > 0 && sums ? { partial: { ...sums } } : {}) },
        metrics: this.history[this.history.length - 1],
        evaluation: at(tested),
        validation: at(this.validation),
        history: this.history,
        seconds: this.seconds,
      },
      { weights: this.o.setup.model.stateDict(), optimizer: trainer.optimizerStateDict(), ema },
    ));
  }

  /** Writes report.html (and, when the run is over, the charts as .svg and .png); undefined before the first evaluation. */
  async report(status: RunStatus): Promise<string | undefined> {
    const { config, setup, outDir } = this.o;
    const { data, counts } = setup;
    const shown = this.final ?? this.validation ?? this.test;
    if (!shown || this.history.length === 0) return undefined;
    const shownSplit = this.final || (!this.validation && this.test) ? 'test' : 'validation';
    return this.o.folder.track(RUN_REPORT_FILES, () => writeRunReport(outDir, {
      status,
      history: this.history,
      steps: this.steps,
      final: this.final,
      confusion: { split: shownSplit, epoch: shown.epoch, result: shown.result, ...(this.final ? { checkpoint: this.final.checkpoint } : {}) },
      best: this.monitor.best,
      stopped: this.monitor.stoppedAt !== undefined ? { epoch: this.monitor.stoppedAt, reason: this.monitor.stopReason() } : undefined,
      keptEpochs: this.history.map((r) => r.epoch).filter((e) => e % this.o.saveEvery === 0),
      classNames: data.train.classNames,
      command: this.o.commands.join('\n'),
      model: { name: config.model, options: setup.modelOptions, params: counts.totalParams, macs: counts.totalMacs },
      dataset: { name: data.title, trainSize: data.train.length, valSize: data.val?.length, testSize: data.test.length, validation: data.validation },
      pretrained: setup.pretrained,
      environment: { ...runEnvironment(this.o.threads), seed: config.seed, optimizer: describeOptimization(config), input: setup.inputSize.join('x') },
      seconds: this.seconds,
    }));
  }
}
