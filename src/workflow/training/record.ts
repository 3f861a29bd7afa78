/**
 * The run's record: the metrics rows (metrics.csv), the command lines, the time spent, the last
 * evaluation, and what every checkpoint and the report are written from.
 */
import { join } from 'node:path';
import type { OutputFolder } from '../../io/output-folder.js';
import { type EpochMetrics, MetricsCsv } from '../../report/index.js';
import type { Trainer } from '../../train/trainer.js';
import { type CheckpointRecord, type EpochAccumulator, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, checkpointFileNames, writeCheckpoint } from '../checkpoints.js';
import { type TrainConfig, describeOptimization } from '../config.js';
import type { EvalResult } from '../evaluate.js';
import { RUN_REPORT_FILES, runEnvironment, writeRunReport } from '../report.js';
import type { RunProgress } from './resume.js';
import type { RunSetup } from './setup.js';

type RecordBase = Omit<CheckpointRecord, 'files' | 'tag' | 'epoch' | 'progress' | 'metrics' | 'evaluation' | 'history' | 'seconds'>;

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

export class RunRecord {
  history: EpochMetrics[];
  /** Seconds spent training and evaluating, over every session of the run. */
  seconds: number;
  lastEval?: EvalResult;
  private readonly csv: MetricsCsv;

  private constructor(private readonly o: RunRecordOptions, progress: RunProgress) {
    this.history = progress.history;
    this.seconds = progress.seconds;
    this.csv = new MetricsCsv(join(o.outDir, 'metrics.csv'));
  }

  /** A record continuing `progress`; metrics.csv is rewritten with its rows. */
  static async start(o: RunRecordOptions, progress: RunProgress): Promise<RunRecord> {
    const r = new RunRecord(o, progress);
    await o.folder.track(['metrics.csv'], () => r.csv.rewrite(r.history));
    return r;
  }

  get commands(): string[] {
    return this.o.commands;
  }

  /** Adds a completed epoch's row (metrics.csv too) and its evaluation. */
  async addEpoch(row: EpochMetrics, evaluation: EvalResult): Promise<void> {
    this.lastEval = evaluation;
    this.history.push(row);
    await this.o.folder.track(['metrics.csv'], () => this.csv.append(row));
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
      },
      preprocessing: setup.preprocessing,
      trainTransform: setup.loaders.train.transform,
      epochs: config.epochs,
      optimizer: {
        optimizer: config.optimizer, lr: config.lr, schedule: config.schedule, warmupEpochs: config.warmupEpochs,
        labelSmoothing: config.labelSmoothing, emaDecay: config.emaDecay,
      },
      config,
      ...(setup.pretrained ? { pretrained: setup.pretrained } : {}),
      commands: this.o.commands,
      threads: this.o.threads,
      saveEvery: this.o.saveEvery,
    };
  }

  /** Writes checkpoint-<tag> at step `stepInEpoch` of the epoch after `epoch` completed ones; returns its JSON's path. */
  async save(trainer: Trainer, tag: string, epoch: number, stepInEpoch: number, stepsPerEpoch: number, sums?: EpochAccumulator): Promise<string> {
    const last = this.lastEval;
    const ema = trainer.emaStateDict();
    return this.o.folder.track(checkpointFileNames(tag, ema !== undefined), () => writeCheckpoint(
      this.o.outDir,
      {
        ...this.base(),
        tag,
        epoch,
        progress: { step: trainer.step, stepInEpoch, stepsPerEpoch, ...(stepInEpoch > 0 && sums ? { partial: { ...sums } } : {}) },
        metrics: this.history[this.history.length - 1],
        evaluation: last ? { loss: last.loss, top1: last.top1, top5: last.top5, count: last.count } : undefined,
        history: this.history,
        seconds: this.seconds,
      },
      { weights: this.o.setup.model.stateDict(), optimizer: trainer.optimizerStateDict(), ema },
    ));
  }

  /** Writes the charts and report.html; undefined before the first evaluation. */
  async report(): Promise<string | undefined> {
    const { config, setup, outDir } = this.o;
    const { data, counts } = setup;
    const lastEval = this.lastEval;
    if (!lastEval || this.history.length === 0) return undefined;
    return this.o.folder.track(RUN_REPORT_FILES, () => writeRunReport(outDir, {
      history: this.history, evaluation: lastEval, classNames: data.train.classNames, command: this.o.commands.join('\n'),
      model: { name: config.model, options: setup.modelOptions, params: counts.totalParams, macs: counts.totalMacs },
      dataset: { name: data.title, trainSize: data.train.length, testSize: data.test.length },
      environment: { ...runEnvironment(this.o.threads), seed: config.seed, optimizer: describeOptimization(config), input: setup.inputSize.join('x') },
      seconds: this.seconds,
    }));
  }
}
