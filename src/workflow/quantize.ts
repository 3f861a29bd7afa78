/**
 * `mobilezoo quantize`: post-training static int8 quantization of a checkpoint or weights into an ONNX
 * file in QDQ form (src/quantize), calibrated on un-augmented training images of the model's dataset and
 * carrying the same metadata as `export`, so `test --onnx` and `predict --onnx` measure it like the float
 * model and `export --web --from-onnx` puts it on a page.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DataLoader, takeSubset } from '../data/index.js';
import { transformForChannels } from '../data/preprocessing.js';
import { saveFileAtomic } from '../io/atomic.js';
import { refuseOutputsOverInputs } from '../io/output-guard.js';
import type { CalibrationMethod } from '../quantize/calibration.js';
import { type QuantizeReport, quantizeModel } from '../quantize/quantize-model.js';
import { optimizedOpCounts } from '../quantize/optimized-graph.js';
import type { ModelSource } from './checkpoints.js';
import { classifierInputs } from './classifier.js';
import { modelMetadata, openNetworkClassifier, verifyOnnxClassifier } from './export.js';
import { openModelSplit } from './model-split.js';

export interface QuantizeCommandOptions extends ModelSource {
  /** Output .onnx path. */
  out: string;
  /** Training images to calibrate on (default 512): a seeded sample of the split, un-augmented. */
  calibration?: number;
  method?: CalibrationMethod;
  percentile?: number;
  /** What stays in float (module types, module paths, op types, 'DepthwiseConv'); default the family's (KEEP_FLOAT_DEFAULTS). */
  keepFloat?: string[];
  /** The calibration dataset: default the checkpoint's; required with weights. */
  dataset?: string;
  dataDir?: string;
  download?: boolean;
  input?: number;
  threads?: number;
}

export interface QuantizeResult {
  path: string;
  bytes: number;
  model: string;
  weights: string;
  dataset: string;
  calibrationImages: number;
  method: CalibrationMethod;
  keepFloat: string[];
  /** Op types of ORT's optimized graph: the int8 kernels it fused the QDQ pairs into (QLinearConv, QGemm, …). */
  fused: Record<string, number>;
  report: Omit<QuantizeReport, 'activations'>;
}

export const DEFAULT_CALIBRATION_IMAGES = 512;

export async function quantizeToOnnx(o: QuantizeCommandOptions): Promise<QuantizeResult> {
  refuseOutputsOverInputs([{ path: o.out, what: 'the int8 output' }], await classifierInputs(o));
  const c = await openNetworkClassifier(o);
  const datasetName = o.dataset ?? c.record?.dataset.name;
  if (!datasetName) throw new Error('--dataset is required with --weights (the images to calibrate the int8 ranges on)');
  const count = o.calibration ?? DEFAULT_CALIBRATION_IMAGES;
  if (!Number.isInteger(count) || count < 1) throw new Error(`--calibration: expected a positive number of images, got ${count}`);
  const train = await openModelSplit(datasetName, 'train', {
    dataDir: o.dataDir, download: o.download, record: c.record,
    source: c.recorded ? c.preprocessing.source : undefined, size: c.preprocessing.inputSize[1],
  });
  // A seeded sample, not the first images: folders list their images class by class.
  const sample = takeSubset(train, count, 0);
  const loader = new DataLoader(sample, { batchSize: 64, transform: transformForChannels(c.preprocessing, sample.channels), workers: 0 });
  const method = o.method ?? 'minmax';
  let bytes: Uint8Array;
  let report: QuantizeReport;
  try {
    const calibration = (async function* () {
      for await (const b of loader.iterate(0)) yield b.images;
    })();
    ({ bytes, report } = await quantizeModel(c.network, {
      inputSize: c.preprocessing.inputSize, calibration, method, percentile: o.percentile, keepFloat: o.keepFloat, threads: o.threads,
      metadata: [...modelMetadata(c), { key: 'mobilezoo.quantization', value: JSON.stringify({ format: 'QDQ int8', method, calibrationImages: sample.length, dataset: datasetName }) }],
    }));
  } finally {
    await loader.close();
  }
  const path = resolve(o.out);
  await saveFileAtomic(path, bytes);
  await verifyOnnxClassifier(new Uint8Array(await readFile(path)), c.preprocessing.inputSize, c.numClasses, { threads: o.threads, what: 'the int8 model' });
  const { activations: _a, ...summary } = report;
  return {
    path, bytes: (await stat(path)).size, model: c.model, weights: c.weights, dataset: datasetName, calibrationImages: report.calibrationImages,
    method, keepFloat: report.keepFloat, fused: await optimizedOpCounts(bytes, { threads: o.threads }), report: summary,
  };
}
