/** The run report: loss / accuracy / confusion charts and report.html, with the environment it ran in. */
import os from 'node:os';
import { join } from 'node:path';
import { type EpochMetrics, trainingCharts, writeChart, writeReport } from '../report/index.js';
import { ort } from '../runtime/node-backend.js';
import type { EvalResult } from './evaluate.js';

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

/** The files writeRunReport writes into its folder. */
export const RUN_REPORT_FILES = ['loss', 'accuracy', 'confusion'].flatMap((c) => [`${c}.svg`, `${c}.png`]).concat('report.html');

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

