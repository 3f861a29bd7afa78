// Deterministic synthetic data for report tests (no training involved).
import type { EpochMetrics } from '../../src/report/csv.js';
import type { ReportData } from '../../src/report/html.js';
import { trainingCharts } from '../../src/report/charts.js';
import { accuracyFromConfusion, perClassAccuracy } from '../../src/report/metrics.js';

export const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export function syntheticEpochs(n: number): EpochMetrics[] {
  return Array.from({ length: n }, (_, i) => {
    const e = i + 1;
    return {
      epoch: e,
      lr: 0.1 * 0.5 * (1 + Math.cos((Math.PI * i) / n)),
      trainLoss: 2.3 * Math.exp(-e / 4) + 0.2,
      trainAcc: 1 - 0.9 * Math.exp(-e / 4),
      valLoss: 2.25 * Math.exp(-e / 5) + 0.33 + 0.01 * Math.max(0, e - 9),
      valAcc: 0.95 - 0.84 * Math.exp(-e / 5),
      testLoss: 2.2 * Math.exp(-e / 5) + 0.35,
      testAcc: 0.95 - 0.85 * Math.exp(-e / 5),
      imagesPerSec: 410 + 7 * Math.sin(e),
      seconds: 121.5 + e,
    };
  });
}

/** 10x10 matrix with 1000 test images per class; diagonal 800 + 13*t. */
export function syntheticConfusion(names: string[] = CIFAR10): number[][] {
  const n = names.length;
  return names.map((_, t) => {
    const diag = 800 + 13 * t;
    const off = Array.from({ length: n }, (_, p) => (p === t ? 0 : 1 + ((t * 7 + p * 3) % 9)));
    const offSum = off.reduce((a, b) => a + b, 0);
    // scale off-diagonals so the row sums to 1000 exactly
    const scaled = off.map((v) => Math.floor((v / offSum) * (1000 - diag)));
    const rest = 1000 - diag - scaled.reduce((a, b) => a + b, 0);
    scaled[(t + 1) % n]! += rest;
    scaled[t] = diag;
    return scaled;
  });
}

export async function syntheticReport(overrides: Partial<ReportData> = {}): Promise<ReportData> {
  const classNames = overrides.dataset?.classNames ? [...overrides.dataset.classNames] : CIFAR10;
  const epochs = syntheticEpochs(12);
  const confusion = syntheticConfusion(classNames);
  const charts = await trainingCharts(epochs, classNames, confusion);
  return {
    title: 'MobileNetV2 on CIFAR-10',
    command: 'mobilezoo train --model mobilenet_v2 --width 0.5 --dataset cifar10 --epochs 12 --lr 0.1 --out runs/mnv2 --label "a <b> & \'c\'"',
    model: { name: 'MobileNetV2', options: { widthMult: 0.5, numClasses: 10, dropout: 0.2 }, params: 700_000 + 6_634, macs: 6_291_456 * 4 + 123 },
    dataset: { name: 'CIFAR-10', trainSize: 50_000, testSize: 10_000, classNames },
    epochs,
    final: { testLoss: 0.4563, top1: accuracyFromConfusion(confusion), top5: 0.9934, perClass: perClassAccuracy(confusion) },
    confusion,
    environment: { node: 'v20.20.2', onnxruntime: '1.30.0', cpu: 'Test CPU @ 3.0GHz', threads: 8, os: 'linux x64' },
    charts,
    generatedAt: '2025-01-01 12:00 UTC',
    ...overrides,
  };
}
