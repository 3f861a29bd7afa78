/** The run report: report.html (rewritten after every epoch while the run goes) and its charts, with the environment it ran in. */
import os from 'node:os';
import { join } from 'node:path';
import { type ChartMark, type EpochMetrics, type ReportStatus, type StepPoint, runCharts, writeChart, writeReport } from '../report/index.js';
import { ort } from '../runtime/node-backend.js';
import type { PretrainedRecord } from './config.js';
import type { ValidationSource } from './data.js';
import type { EvalResult } from './evaluate.js';

export type RunStatus = ReportStatus;

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

/** The files writeRunReport writes into its folder (the charts once the run is over). */
export const RUN_REPORT_FILES = ['loss', 'accuracy', 'confusion', 'lr', 'steps'].flatMap((c) => [`${c}.svg`, `${c}.png`]).concat('report.html');

export interface RunReportInput {
  status: RunStatus;
  history: EpochMetrics[];
  steps?: StepPoint[];
  /** The final test evaluation and the checkpoint it measured. */
  final?: { epoch: number; result: EvalResult; checkpoint: string };
  /** The evaluation whose confusion matrix and per-class accuracy are shown: the final test, else the latest validation. */
  confusion: { split: 'validation' | 'test'; epoch: number; result: EvalResult; checkpoint?: string };
  best?: { epoch: number; monitor: string; value: number };
  stopped?: { epoch: number; reason: string };
  keptEpochs?: number[];
  classNames: string[];
  command: string;
  model: { name: string; options: Record<string, unknown>; params: number; macs: number };
  dataset: { name: string; trainSize: number; valSize?: number; testSize: number; validation?: ValidationSource };
  pretrained?: PretrainedRecord;
  environment: { node: string; onnxruntime: string; cpu: string; threads: number; [k: string]: string | number | boolean | undefined };
  seconds?: number;
}

const monitored = (b: { monitor: string; value: number }) => `${b.monitor} ${b.monitor === 'val_acc' ? `${(b.value * 100).toFixed(2)}%` : b.value.toFixed(4)}`;

function describeValidation(v: ValidationSource): string {
  return v.source === 'folder' ? 'the folder\'s val/' : `${Number((v.fraction * 100).toFixed(2))}% of the training split, stratified by class, seed ${v.seed}`;
}

/**
 * Writes report.html; once the run is no longer running, also the loss, accuracy and confusion charts
 * as .svg and .png. Returns the report's path.
 */
export async function writeRunReport(outDir: string, o: RunReportInput): Promise<string> {
  const title = `${o.model.name} on ${o.dataset.name}`;
  const marks: ChartMark[] = [
    ...(o.keptEpochs ?? []).map((x) => ({ x, kind: 'kept' as const, label: `checkpoint-epoch-${x}` })),
    ...(o.best ? [{ x: o.best.epoch, kind: 'best' as const, label: `best (${monitored(o.best)})` }] : []),
  ];
  const shown = o.confusion;
  const splitLabel = shown.split === 'test'
    ? `test split${shown.checkpoint ? `, ${shown.checkpoint.replace(/^.*[\\/]/, '').replace(/\.json$/, '')} (epoch ${shown.epoch})` : `, epoch ${shown.epoch}`}`
    : `validation split, epoch ${shown.epoch}`;
  const charts = await runCharts({ epochs: o.history, classNames: o.classNames, confusion: shown.result.confusion, confusionLabel: splitLabel, titleSuffix: title, marks, steps: o.steps });
  if (o.status.state !== 'running') {
    await Promise.all([
      writeChart(join(outDir, 'loss'), charts.lossSvg),
      writeChart(join(outDir, 'accuracy'), charts.accuracySvg),
      writeChart(join(outDir, 'confusion'), charts.confusionSvg),
      ...(charts.lrSvg ? [writeChart(join(outDir, 'lr'), charts.lrSvg)] : []),
      ...(charts.stepLossSvg ? [writeChart(join(outDir, 'steps'), charts.stepLossSvg)] : []),
    ]);
  }
  const f = o.final?.result;
  return writeReport(outDir, {
    title,
    command: o.command,
    model: o.model,
    dataset: {
      name: o.dataset.name, trainSize: o.dataset.trainSize, testSize: o.dataset.testSize, classNames: o.classNames,
      ...(o.dataset.valSize !== undefined ? { valSize: o.dataset.valSize } : {}),
      ...(o.dataset.validation ? { validation: describeValidation(o.dataset.validation) } : {}),
    },
    epochs: o.history,
    ...(f ? { final: { label: splitLabel, testLoss: f.loss, top1: f.top1, top5: f.top5, perClass: f.perClass } } : {}),
    confusion: shown.result.confusion,
    confusionLabel: splitLabel,
    perClass: shown.result.perClass,
    status: o.status,
    ...(o.best ? { best: { epoch: o.best.epoch, label: monitored(o.best) } } : {}),
    keptEpochs: o.keptEpochs,
    ...(o.pretrained ? { pretrained: o.pretrained } : {}),
    environment: o.environment,
    charts,
    totalSeconds: o.seconds,
  });
}
