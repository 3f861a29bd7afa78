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
import { saveFileAtomic } from '../io/checkpoint.js';
import type { CalibrationMethod } from '../quantize/calibration.js';
import { type QuantizeReport, quantizeModel } from '../quantize/quantize-model.js';
import { optimizedOpCounts } from '../quantize/optimized-graph.js';
import { createSession, ort } from '../runtime/session.js';
import type { ModelSource } from './checkpoints.js';
import { modelMetadata, openNetworkClassifier } from './export.js';
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
  await verify(new Uint8Array(await readFile(path)), c.preprocessing.inputSize, c.numClasses, o.threads);
  const { activations: _a, ...summary } = report;
  return {
    path, bytes: (await stat(path)).size, model: c.model, weights: c.weights, dataset: datasetName, calibrationImages: report.calibrationImages,
    method, keepFloat: report.keepFloat, fused: await optimizedOpCounts(bytes, { threads: o.threads }), report: summary,
  };
}

/** Loads the written file into onnxruntime and checks one batch gives finite [2, classes] logits. */
async function verify(bytes: Uint8Array, inputSize: [number, number, number], numClasses: number, threads?: number): Promise<void> {
  const session = await createSession(bytes, { threads });
  try {
    const x = new Float32Array(2 * inputSize.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
    const y = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [2, ...inputSize]) }))[session.outputNames[0]!]!;
    const dims = [...y.dims].map(Number);
    if (dims.join() !== `2,${numClasses}` || !(y.data as Float32Array).every(Number.isFinite)) {
      throw new Error(`the int8 model gives output [${dims.join(', ')}]${(y.data as Float32Array).every(Number.isFinite) ? '' : ' with non-finite values'}, expected [2, ${numClasses}]`);
    }
  } finally {
    await session.release();
  }
}
