/** `mobilezoo test`: evaluate a checkpoint, weights or an ONNX model on a dataset's test split. */
import { DataLoader, resolveTransform, standardTransform, takeSubset } from '../data/index.js';
import { atInputSize, recordPreprocessing, transformForChannels } from '../data/preprocessing.js';
import { join, resolve } from 'node:path';
import { saveFileAtomic } from '../io/atomic.js';
import { OutputFolder } from '../io/output-folder.js';
import { refuseOutputsOverInputs } from '../io/output-guard.js';
import { confusionMatrixSvg, writeChart } from '../report/index.js';
import { ConfigError } from '../config-error.js';
import { type ClassifierSource, classifierInputs, openClassifier, trainedOn } from './classifier.js';
import { mapClasses } from './class-map.js';
import { openModelSplit } from './model-split.js';
import { type EvalResult, evaluateLoader } from './evaluate.js';
import { type TtaMode, withTta } from './tta.js';

export interface TestOptions extends ClassifierSource {
  /** Default: the checkpoint's dataset (required with weights and ONNX files). */
  dataset?: string;
  dataDir?: string;
  download?: boolean;
  /** Evaluate only the first N test images. */
  limit?: number;
  batchSize?: number;
  threads?: number;
  workers?: number;
  /** Square input size (default: the checkpoint's, else the model's own). */
  input?: number;
  /** Test-time augmentation (default 'none'): the softmax averaged over the views of TTA_DESCRIPTIONS. */
  tta?: TtaMode;
  /** Map dataset classes to model outputs by position, not by name. */
  byIndex?: boolean;
  /** A folder to write TEST_OUTPUT_FILES into (locked while testing; files there that mobilezoo did not write are never replaced). */
  out?: string;
  /** The command line (kept in the folder's lock) and where notes about the folder go. */
  command?: string;
  log?: (message: string) => void;
}

/** What testModel writes into `out`. */
export const TEST_OUTPUT_FILES = ['confusion.svg', 'confusion.png', 'test.json'];

export interface TestResult extends EvalResult {
  /** The model's class names (confusion and perClass are indexed by them). */
  classNames: string[];
  /** Model classes that the test split holds (all of them, unless it is a subset). */
  present: number[];
  /** Dataset class → model class, where the names differ. */
  classMap?: { dataset: string; model: string }[];
  model: string;
  /** Where the weights came from. */
  weights: string;
  dataset: string;
  inputSize: [number, number, number];
  tta: TtaMode;
  /** The files written into `out`. */
  written?: string[];
}

/** The result as JSON (test.json, `test --json`). */
export function testResultJson(r: TestResult): object {
  return {
    model: r.model,
    weights: r.weights,
    dataset: r.dataset,
    inputSize: r.inputSize,
    tta: r.tta,
    count: r.count,
    loss: r.loss,
    top1: r.top1,
    top5: Number.isFinite(r.top5) ? r.top5 : null,
    perClass: Object.fromEntries(r.present.map((i) => [r.classNames[i]!, Number.isFinite(r.perClass[i]!) ? r.perClass[i] : null])),
    classNames: r.classNames,
    present: r.present,
    classMap: r.classMap ?? null,
    confusion: r.confusion,
  };
}

/** Evaluates a model on a test split (see evaluateSplit) and writes TEST_OUTPUT_FILES into `o.out` when given. */
export async function testModel(o: TestOptions): Promise<TestResult> {
  if (!o.out) return evaluateSplit(o);
  const dir = resolve(o.out);
  refuseOutputsOverInputs([{ path: dir, what: 'the output folder', folder: true, writes: (f) => TEST_OUTPUT_FILES.includes(f) }], await classifierInputs(o));
  const folder = await OutputFolder.open(dir, { command: o.command ?? 'mobilezoo test', writes: TEST_OUTPUT_FILES, log: o.log });
  try {
    const r = await evaluateSplit(o);
    const svg = await confusionMatrixSvg({ classNames: r.classNames, matrix: r.confusion, title: `Confusion matrix: ${r.model} on ${r.dataset} (test)` });
    await folder.track(TEST_OUTPUT_FILES, async () => {
      await writeChart(join(dir, 'confusion'), svg);
      await saveFileAtomic(join(dir, 'test.json'), JSON.stringify(testResultJson(r), null, 2) + '\n');
    });
    return { ...r, written: TEST_OUTPUT_FILES.map((f) => join(dir, f)) };
  } finally {
    await folder.close();
  }
}

/** Evaluates a model on a test split: loss, top-1, top-5, per-class accuracy, confusion matrix. */
async function evaluateSplit(o: TestOptions): Promise<TestResult> {
  const c = await openClassifier(o, { threads: o.threads, input: o.input, batch: o.batchSize });
  try {
    const trained = trainedOn(c);
    const datasetName = o.dataset ?? trained?.dataset.name;
    if (!datasetName) throw new ConfigError('dataset', `needed with ${c.recorded ? 'this model' : 'weights without a record'}: which test split to evaluate on? (${c.weights} does not record the dataset it was trained on)`);
    let ds = await openModelSplit(datasetName, 'test', {
      dataDir: o.dataDir, download: o.download, record: trained,
      source: c.recorded ? c.preprocessing.source : undefined, size: o.input ?? c.preprocessing.inputSize[1], onNote: o.log,
    });
    if (o.limit !== undefined && ds.length > o.limit) ds = takeSubset(ds, o.limit);
    if (!c.recorded) {
      // Without a recorded preprocessing: the dataset's usual evaluation transform and statistics.
      const size = o.input ?? c.preprocessing.inputSize[1];
      c.preprocessing = atInputSize(recordPreprocessing(ds, resolveTransform(standardTransform(ds, { train: false, size, channels: 3 }), ds)), size);
    }
    const named = c.recorded || c.numClasses === 1000;
    const labelMap = mapClasses(ds.classNames, named ? c.classNames : ds.classNames, { byIndex: o.byIndex || !named, dataset: `${datasetName} (${ds.name})`, model: c.model });
    if (Math.max(...labelMap) >= c.numClasses) throw new Error(`${c.model} has ${c.numClasses} outputs but ${datasetName} has ${ds.numClasses} classes`);
    const classNames = named ? c.classNames : ds.classNames;
    const loader = new DataLoader(ds, { batchSize: o.batchSize ?? 100, transform: transformForChannels(c.preprocessing, ds.channels), workers: o.workers ?? 1 });
    try {
      const tta = o.tta ?? 'none';
      const { mean, std, inputSize } = c.preprocessing;
      const fill = mean.map((m, ch) => -m / std[ch]!);
      const predict = withTta((x) => c.run(x), tta, { channels: inputSize[0], height: inputSize[1], width: inputSize[2], numClasses: c.numClasses, fill });
      const r = await evaluateLoader(predict, loader, c.numClasses, { labelMap });
      const renamed = ds.classNames.map((n, i) => ({ dataset: n, model: classNames[labelMap[i]!]! })).filter((m) => m.dataset !== m.model);
      return {
        ...r!,
        classNames,
        present: [...new Set(labelMap)].sort((a, b) => a - b),
        ...(renamed.length ? { classMap: renamed } : {}),
        model: c.model,
        weights: c.weights,
        dataset: datasetName,
        inputSize,
        tta,
      };
    } finally {
      await loader.close();
    }
  } finally {
    await c.dispose();
  }
}
