/**
 * `mobilezoo export --pytorch DIR (--checkpoint C | --resume C)`: a self-contained PyTorch project
 * that trains the checkpoint's network with its recorded recipe, on one CPU or GPU or under torchrun:
 * model.py, train.py (src/workflow/export-pytorch-train-py.ts), weights.pth, and for --resume
 * optimizer.pth (PyTorch's optimizer state dict) and ema.pth, the run's record (run.json), the data
 * train.py needs beyond the dataset files (a folder dataset's split, a synthetic dataset's images) and
 * a README.md. train.py writes mobilezoo checkpoints, so the run comes back with `train --resume`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { CIFAR_INFO, IDX_INFO, dataRoots, idxSearchDirs, indexFolder } from '../data/index.js';
import type { ArrayDataset } from '../data/dataset.js';
import { loadStateDictFile, saveFileAtomic } from '../io/checkpoint.js';
import { writePth } from '../io/pth-writer.js';
import { writeSafetensors } from '../io/safetensors.js';
import { writeTorchSave } from '../io/torch-save.js';
import { createModel } from '../models/registry.js';
import { shuffleNetV1Channels, type ShuffleNetV1Groups, type ShuffleNetV1Size } from '../models/shufflenet_v1.js';
import type { Network } from '../models/network.js';
import { resolveFreeze } from '../train/freeze.js';
import { learningRate } from '../train/schedules.js';
import { type StateDict, Tensor } from '../tensor.js';
import { stratifiedValidationIndices } from '../data/validation-split.js';
import { type CheckpointRecord, readCheckpointRecord } from './checkpoints.js';
import { defaultTestLimit, openTrainingData } from './data.js';
import { modelPy } from './export-pytorch-model-py.js';
import { paramGroups, torchOptimizerStateDict } from './export-pytorch-optimizer.js';
import { pytorchReadme } from './export-pytorch-readme.js';
import { ExportPytorchError, modelKwargs, pyLiteral, recipeOf } from './export-pytorch-recipe.js';
import { fillTrainPy } from './export-pytorch-train-py.js';

export { ExportPytorchError };

export interface ExportPytorchOptions {
  /** The output folder: new, empty, or a previous export --pytorch. */
  dir: string;
  /** A checkpoint-*.json: a new run starts from its weights (its EMA weights when kept, unless ema is false) with its recipe. */
  checkpoint?: string;
  /** A checkpoint-*.json whose run continues: weights, optimizer state, EMA and progress. */
  resume?: string;
  /** With --checkpoint of a run with EMA: false starts from the raw weights. */
  ema?: boolean;
  /** The command line, recorded in run.json. */
  command?: string;
}

export interface ExportPytorchResult {
  dir: string;
  /** Files written, relative to dir. */
  files: string[];
  model: string;
  dataset: string;
  mode: 'resume' | 'new run';
  /** Where train.py starts: completed epochs and optimizer steps. */
  epoch: number;
  step: number;
  epochs: number;
  /** Settings not carried over. */
  notes: string[];
}

/** The marker of an export folder that a later export may replace. */
const EXPORT_KEY = 'export';

function checkFolder(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  if (entries.length === 0) return;
  const run = join(dir, 'run.json');
  if (existsSync(run) && existsSync(join(dir, 'train.py'))) return;
  throw new Error(`export --pytorch: ${dir} is not empty and holds no previous export --pytorch (run.json, train.py); choose a new or empty folder`);
}

/** What train.py reads the dataset from, and any files the export writes for it. */
async function datasetPlan(record: CheckpointRecord): Promise<{ settings: Record<string, unknown>; files: Map<string, Uint8Array> }> {
  const c = record.config;
  const files = new Map<string, Uint8Array>();
  const testLimit = c.testLimit ?? (c.limit !== undefined ? defaultTestLimit(c.limit) : undefined);
  const base = { title: record.dataset.title, limit: c.limit ?? null, test_limit: testLimit ?? null };
  const name = record.dataset.name;
  if (name === 'fashion-mnist' || name === 'mnist') {
    return {
      files,
      settings: {
        kind: 'idx', ...base,
        dirs: idxSearchDirs(name, { dir: c.dataDir }).map((d) => d.path),
        subdirs: IDX_INFO[name].subdirs,
        files: { train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'], test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'] },
      },
    };
  }
  if (name === 'cifar10' || name === 'cifar100') {
    const info = CIFAR_INFO[name];
    const coarse = record.dataset.options.coarse === true;
    return {
      files,
      settings: {
        kind: 'cifar', ...base,
        dirs: dataRoots(c.dataDir).flatMap((r) => [join(r.path, info.folder), r.path]),
        subdirs: [info.folder],
        files: { train: info.trainFiles, test: info.testFiles },
        label_bytes: info.labelBytes,
        label_byte: name === 'cifar100' && !coarse ? 1 : 0,
      },
    };
  }
  if (name === 'synthetic') {
    // Generated in memory by mobilezoo: its images travel with the export.
    const data = await openTrainingData({ ...c, download: false, valSplit: 0 });
    const sd: StateDict = new Map();
    for (const [split, ds] of [['train', data.train], ['test', data.test]] as const) {
      const a = ds as ArrayDataset;
      const shape = a.channels === 1 ? [a.length, a.height, a.width] : [a.length, a.height, a.width, a.channels];
      sd.set(`${split}/images`, new Tensor('uint8', shape, a.images.slice()));
      sd.set(`${split}/labels`, Tensor.int64([a.length], Array.from(a.labels)));
    }
    files.set('data/synthetic.safetensors', writeSafetensors(sd));
    return { files, settings: { kind: 'arrays', ...base, limit: null, test_limit: null, file: 'data/synthetic.safetensors' } };
  }
  if (name === 'folder') {
    const o = record.dataset.options;
    const root = resolve(String(o.root ?? c.dataDir));
    let index;
    try {
      index = indexFolder({ root, testFraction: o.testFraction as number | undefined, seed: o.seed as number | undefined });
    } catch (e) {
      throw new Error(`export --pytorch: the folder dataset's split is written from its images, which could not be listed: ${(e as Error).message}`);
    }
    const items = (part: { files: string[]; labels: number[] }) => part.files.map((f, i) => [relative(root, f), part.labels[i]!]);
    const size = Array.isArray(o.size) ? o.size : [o.size ?? 224, o.size ?? 224];
    const val = record.dataset.validation?.source === 'folder' && index.val ? { val: items(index.val) } : {};
    const split = { root, size, channels: o.channels ?? 3, mode: index.mode, classNames: index.classNames, train: items(index.train), test: items(index.test), ...val };
    files.set('data/split.json', new TextEncoder().encode(JSON.stringify(split) + '\n'));
    return { files, settings: { kind: 'folder', ...base, split_file: 'data/split.json' } };
  }
  throw new ExportPytorchError('dataset', `'${name}' is not a dataset export --pytorch knows how to read in PyTorch`);
}

/**
 * The validation part as train.py takes it: the indices the run held out of its training split (computed
 * here as the run computed them, from the labels), or a folder's val/ images (listed in data/split.json).
 */
async function validationPlan(record: CheckpointRecord, data: { settings: Record<string, unknown>; files: Map<string, Uint8Array> }): Promise<Record<string, unknown> | null> {
  const v = record.dataset.validation;
  if (!v) return null;
  if (v.source === 'folder') {
    const split = JSON.parse(new TextDecoder().decode(data.files.get('data/split.json')!)) as { val?: unknown[] };
    if (split.val?.length !== v.size) throw new Error(`export --pytorch: the run validated on ${v.size} images of the folder's val/, which now holds ${split.val?.length ?? 0}`);
    return { kind: 'folder' };
  }
  const c = record.config;
  let labels: ArrayLike<number>;
  if (record.dataset.name === 'folder') {
    const split = JSON.parse(new TextDecoder().decode(data.files.get('data/split.json')!)) as { train: [string, number][] };
    labels = split.train.slice(0, c.limit ?? split.train.length).map(([, l]) => l);
  } else {
    const full = (await openTrainingData({ ...c, download: false, valSplit: 0 })).train;
    labels = Int32Array.from({ length: full.length }, (_, i) => full.get(i).label);
  }
  const indices = stratifiedValidationIndices(labels, record.dataset.classNames.length, v.fraction, v.seed);
  if (indices.length !== v.size || labels.length - indices.length !== record.dataset.trainSize) {
    throw new Error(`export --pytorch: the run held out ${v.size} of ${record.dataset.trainSize + v.size} training images for validation; the same split of the data found now holds out ${indices.length} of ${labels.length} (has the dataset changed?)`);
  }
  data.files.set('data/validation.json', new TextEncoder().encode(JSON.stringify({ fraction: v.fraction, seed: v.seed, indices }) + '\n'));
  return { kind: 'indices', file: 'data/validation.json' };
}

/** The frozen module paths during epoch e (0-based), as the training run has them. */
function frozenAt(model: Network, record: CheckpointRecord, e: number): Set<string> {
  const c = record.config;
  const unfrozen = c.unfreezeAt !== undefined && e + 1 >= c.unfreezeAt;
  return resolveFreeze(model, unfrozen ? 'none' : c.freeze ?? 'none');
}

/** The record train.py starts from: the checkpoint's own to continue it, else a new run at epoch 0 from its weights. */
function startRecord(record: CheckpointRecord, o: { resume: boolean; from: string; weightsSha256: string; tensors: number; rngDraws: number; command?: string }): Record<string, unknown> {
  const exported = { kind: o.resume ? 'resume' : 'new run', from: o.from, rngDraws: o.rngDraws };
  if (o.resume) return { ...record, commands: [...record.commands, ...(o.command ? [o.command] : [])], [EXPORT_KEY]: exported };
  // A new run: none of the source run's evaluations, best epoch or stop carries over (its dataset's validation split does).
  const { metrics: _m, evaluation: _e, validation: _v, best: _b, stopped: _s, test: _t, ...rest } = record;
  return {
    ...rest,
    epoch: 0,
    progress: { step: 0, stepInEpoch: 0, stepsPerEpoch: record.progress.stepsPerEpoch },
    history: [],
    seconds: 0,
    commands: o.command ? [o.command] : [],
    pretrained: { file: o.from, sha256: o.weightsSha256, kind: 'checkpoint', loaded: o.tensors, reinitialized: [], unexpected: [] },
    [EXPORT_KEY]: exported,
  };
}

export async function exportPytorch(o: ExportPytorchOptions): Promise<ExportPytorchResult> {
  if (!!o.checkpoint === !!o.resume) throw new Error('export --pytorch: give --checkpoint (a new run from its weights) or --resume (continue its run), one of them');
  const resume = o.resume !== undefined;
  const { record, dir: ckptDir, path } = await readCheckpointRecord((o.resume ?? o.checkpoint)!);
  const dir = resolve(o.dir);
  checkFolder(dir);

  const model = createModel(record.model.name, record.model.options);
  const useEma = !resume && (o.ema ?? true) && record.files.ema !== undefined;
  const weightsFile = join(ckptDir, useEma ? record.files.ema! : record.files.weights);
  model.loadStateDict(await loadStateDictFile(weightsFile), { source: weightsFile });
  const weights = writePth(model.stateDict());

  const data = await datasetPlan(record);
  data.settings.validation = await validationPlan(record, data);
  const recipe = recipeOf(record, model, { resume, dataset: data.settings });
  const files = new Map<string, Uint8Array>(data.files);
  const text = (s: string) => new TextEncoder().encode(s);

  let rngDraws = 0;
  if (resume) {
    const optimizerFile = join(ckptDir, record.files.optimizer);
    const state = await loadStateDictFile(optimizerFile);
    const step = Number(state.get('optimizer.step')?.data[0] ?? -1);
    if (step !== record.progress.step) throw new Error(`${optimizerFile}: optimizer state is at step ${step}, the record says ${record.progress.step}`);
    rngDraws = Number(state.get('optimizer.rng_draws')?.data[0] ?? 0);
    const c = record.config;
    const groups = paramGroups(model, c.optimizer, { frozen: frozenAt(model, record, record.epoch), backboneLrMult: c.backboneLrMult ?? 1 });
    const lr = learningRate(c.schedule, { baseLr: c.lr, epochs: record.epochs, warmupEpochs: c.warmupEpochs }, step / record.progress.stepsPerEpoch);
    files.set('optimizer.pth', writeTorchSave(torchOptimizerStateDict(c.optimizer, groups, state, { lr, baseLr: c.lr })));
    if (record.files.ema) files.set('ema.pth', writePth(await loadStateDictFile(join(ckptDir, record.files.ema))));
  }
  files.set('weights.pth', weights);
  const header = `The network of ${path}: ${record.model.name} ${JSON.stringify(record.model.options)}, as a torch.nn.Module with mobilezoo's
(torchvision's / megvii's) state_dict names. Generated by mobilezoo export --pytorch.`;
  const options = record.model.options;
  const stageChannels = record.model.name === 'shufflenet_v1'
    ? shuffleNetV1Channels((options.groups as ShuffleNetV1Groups | undefined) ?? 3, (options.size as ShuffleNetV1Size | undefined) ?? '1.0x')
    : undefined;
  files.set('model.py', text(modelPy(record.model.name, modelKwargs(record, stageChannels), header)));
  files.set('train.py', text(fillTrainPy({
    DOCSTRING: `Trains ${record.model.name} on ${record.dataset.title} with the recipe recorded in ${path}
(${resume ? 'continuing its run' : 'a new run from its weights'}), in PyTorch, on one CPU or GPU or under torchrun.
Generated by mobilezoo export --pytorch; see README.md.

  python train.py                                   # one process (GPU when available)
  torchrun --nproc_per_node 4 train.py [--sync-bn]  # DistributedDataParallel, one process per GPU
  python train.py --resume run/checkpoint-epoch-5.json

Checkpoints are mobilezoo's (run/checkpoint-*.json + .safetensors): mobilezoo train --resume,
--pretrained, test, predict and export read them.`,
    SETTINGS: pyLiteral(recipe.settings),
    OPTIMIZER: recipe.optimizer,
    TRAIN_TRANSFORM: recipe.trainTransform,
    EVAL_TRANSFORM: recipe.evalTransform,
  })));
  const start = startRecord(record, {
    resume, from: path, weightsSha256: createHash('sha256').update(weights).digest('hex'), tensors: model.stateDict().size, rngDraws, command: o.command,
  });
  files.set('run.json', text(JSON.stringify(start, null, 2) + '\n'));
  files.set('README.md', text(pytorchReadme({ record, resume, source: path, recipe, files: [...files.keys()] })));

  // A previous export's files that this one does not write (optimizer.pth after --resume, ...) would mislead train.py.
  for (const stale of ['optimizer.pth', 'ema.pth', 'data/synthetic.safetensors', 'data/split.json', 'data/validation.json']) {
    if (!files.has(stale)) await rm(join(dir, stale), { force: true });
  }
  for (const [name, bytes] of files) await saveFileAtomic(join(dir, name), bytes);

  return {
    dir,
    files: [...files.keys()],
    model: record.model.name,
    dataset: record.dataset.title,
    mode: resume ? 'resume' : 'new run',
    epoch: resume ? record.epoch : 0,
    step: resume ? record.progress.step : 0,
    epochs: record.epochs,
    notes: recipe.notes,
  };
}
