/**
 * The recipe of a checkpoint as train.py's generated parts: SETTINGS, the optimizer's constructor and
 * the transforms, each from the record's data through one table. Every training setting the record
 * holds is either carried over or refused with an error naming it; settings this module does not know
 * (recorded by a newer mobilezoo) are refused unless they are off.
 */
import type { TransformSpec, TransformStep } from '../data/transforms.js';
import type { Network } from '../models/network.js';
import { classifierName } from '../nn/module.js';
import { resolveFreeze } from '../train/freeze.js';
import { type OptimizerSpec, optimizerSlots } from '../train/optimizers.js';
import type { ScheduleSpec } from '../train/schedules.js';
import type { CheckpointRecord } from './checkpoints.js';
import type { TrainConfig } from './config.js';
import { sourcePreprocessing, trainTransforms } from './model-plan.js';
import { recordPreprocessing, transformForChannels } from '../data/preprocessing.js';
import { EMA_BATCHNORM_BATCHES } from './train.js';

/** A setting the export cannot carry over; `setting` names it as the record and `mobilezoo train` do. */
export class ExportPytorchError extends Error {
  constructor(readonly setting: string, detail: string) {
    super(`export --pytorch: ${setting}: ${detail}`);
    this.name = 'ExportPytorchError';
  }
}

/** JSON-like data as a Python literal (None/True/False; strings and numbers as JSON writes them, which Python reads). */
export function pyLiteral(v: unknown, indent = ''): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`pyLiteral: ${v} has no Python literal here`);
    return JSON.stringify(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => pyLiteral(x, indent)).join(', ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    const inner = `${indent}    `;
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${pyLiteral(x, inner)},`).join('\n')}\n${indent}}`;
  }
  throw new Error(`pyLiteral: cannot write ${typeof v}`);
}

const size = (s: number | number[]) => pyLiteral(s);

/** Each transform step as torchvision (or train.py's Fit / ToRGB) expressions, in order. */
const PY_TRANSFORMS: { [Op in TransformStep['op']]: (s: Extract<TransformStep, { op: Op }>) => string[] } = {
  toGrayscale: () => ['T.Grayscale(num_output_channels=1)'],
  fit: (s) => [`Fit(${size(s.size)})`],
  pad: (s) => [`T.Pad(${pyLiteral(s.padding)}, fill=${s.fill ?? 0})`],
  randomCrop: (s) => [`T.RandomCrop(${size(s.size)}, padding=${s.padding ?? 0}, fill=${s.fill ?? 0})`],
  centerCrop: (s) => [`T.CenterCrop(${size(s.size)})`],
  resize: (s) => [`T.Resize(${size(s.size)}, interpolation=T.InterpolationMode.BILINEAR)`],
  hflip: (s) => [`T.RandomHorizontalFlip(p=${s.p ?? 0.5})`],
  grayscaleToRgb: () => ['ToRGB()'],
  // ToTensor (uint8 HWC → float CHW in [0, 1]) is where mobilezoo's transforms leave uint8.
  normalize: (s) => ['T.ToTensor()', `T.Normalize(mean=${pyLiteral(s.mean)}, std=${pyLiteral(s.std)})`],
  randomErasing: (s) => [
    `T.RandomErasing(p=${s.p ?? 0.5}, scale=(${(s.scale ?? [0.02, 0.33]).join(', ')}), ratio=(${(s.ratio ?? [0.3, 3.3]).join(', ')}), value=0)`,
  ],
  // torchvision's augmentations, with the defaults src/data/transforms-augment.ts and transforms-pil.ts share with torchvision.
  randomResizedCrop: (s) => [
    `T.RandomResizedCrop(${size(s.size)}, scale=(${(s.scale ?? [0.08, 1]).join(', ')}), ratio=(${(s.ratio ?? [3 / 4, 4 / 3]).join(', ')}), interpolation=T.InterpolationMode.BILINEAR)`,
  ],
  colorJitter: (s) => [
    `T.ColorJitter(${(['brightness', 'contrast', 'saturation', 'hue'] as const).map((k) => `${k}=${s[k] === undefined ? 0 : pyLiteral(s[k])}`).join(', ')})`,
  ],
  autoAugment: (s) => [`T.AutoAugment(policy=T.AutoAugmentPolicy.${(s.policy ?? 'imagenet').toUpperCase()}, fill=${pyLiteral(s.fill ?? null)})`],
  randAugment: (s) => [`T.RandAugment(num_ops=${s.numOps ?? 2}, magnitude=${s.magnitude ?? 9}, num_magnitude_bins=${s.bins ?? 31}, fill=${pyLiteral(s.fill ?? null)})`],
  trivialAugmentWide: (s) => [`T.TrivialAugmentWide(num_magnitude_bins=${s.bins ?? 31}, fill=${pyLiteral(s.fill ?? null)})`],
};

/** A resolved transform spec as the lines of a torchvision Compose list. */
export function pyTransform(spec: TransformSpec, where: string): string {
  const lines: string[] = [];
  for (const step of spec) {
    const render = PY_TRANSFORMS[step.op] as ((s: TransformStep) => string[]) | undefined;
    if (!render) throw new ExportPytorchError(where, `transform step '${(step as { op: string }).op}' has no PyTorch counterpart in export --pytorch`);
    lines.push(...render(step));
  }
  if (!spec.some((s) => s.op === 'normalize')) lines.push('T.ToTensor()');
  return lines.map((l) => `        ${l},`).join('\n');
}

/** Refuses keys of `obj` outside `known` unless their value is off (undefined, null, false, 0, 'none'). */
function refuseUnknown(obj: object, known: readonly string[], prefix: string): void {
  for (const [k, v] of Object.entries(obj)) {
    if (known.includes(k) || v === undefined || v === null || v === false || v === 0 || v === 'none') continue;
    throw new ExportPytorchError(`${prefix}${k}`, `${JSON.stringify(v)} is a setting export --pytorch does not know how to carry over to PyTorch`);
  }
}

const CONFIG_KEYS: readonly (keyof TrainConfig)[] = [
  'model', 'modelOptions', 'dataset', 'dataDir', 'download', 'input', 'epochs', 'batchSize', 'optimizer', 'lr', 'schedule',
  'warmupEpochs', 'labelSmoothing', 'augment', 'randomErasing', 'seed', 'limit', 'testLimit', 'emaDecay', 'minutes', 'recipe',
  'pretrained', 'freeze', 'unfreezeAt', 'backboneLrMult', 'augmentation', 'allowSingleClass', 'valSplit', 'monitor', 'earlyStopping',
  'minDelta', 'evalTestEvery', 'mix',
];

const OPTIMIZER_KEYS: Record<OptimizerSpec['type'], readonly string[]> = {
  sgd: ['type', 'momentum', 'nesterov', 'weightDecay', 'noDecayBnBias'],
  adam: ['type', 'betas', 'eps', 'weightDecay', 'noDecayBnBias'],
  adamw: ['type', 'betas', 'eps', 'weightDecay', 'noDecayBnBias'],
  rmsprop: ['type', 'alpha', 'eps', 'momentum', 'weightDecay', 'tfEps', 'noDecayBnBias'],
};

const SCHEDULE_KEYS: Record<ScheduleSpec['type'], readonly string[]> = {
  constant: ['type'], cosine: ['type', 'minLr'], step: ['type', 'stepSize', 'gamma'], exponential: ['type', 'gamma'], linear: ['type'],
};

/** Model options as Python keyword arguments of model.py's builders. */
const MODEL_KWARGS: Record<string, string | null> = {
  numClasses: 'num_classes', widthMult: 'width_mult', roundNearest: 'round_nearest', invertedResidualSetting: 'inverted_residual_setting',
  dropout: 'dropout', reducedTail: 'reduced_tail', dilated: 'dilated', groups: 'groups', stem: 'stem',
  // Initialization only: the weights come from the checkpoint; size becomes the stage channels (modelKwargs).
  seed: null, size: null,
};

/** The arguments of model.py's build_model(). */
export function modelKwargs(record: CheckpointRecord, stageChannels?: number[]): [string, string][] {
  const out: [string, string][] = [];
  if (stageChannels) out.push(['stage_out_channels', pyLiteral(stageChannels)]);
  for (const [k, v] of Object.entries({ ...record.model.options, numClasses: record.model.numClasses })) {
    if (!(k in MODEL_KWARGS)) throw new ExportPytorchError(`model option ${k}`, `${JSON.stringify(v)} has no PyTorch counterpart in export --pytorch`);
    const py = MODEL_KWARGS[k];
    if (py && v !== undefined) out.push([py, pyLiteral(v)]);
  }
  return out;
}

/** The shape and name the training images are stored with (what the recorded transforms start from). */
export function storedImages(record: CheckpointRecord): { name: string; channels: 1 | 3; height: number; width: number } {
  const name = record.dataset.name;
  const o = record.dataset.options;
  const hw = (s: unknown, fallback: number): [number, number] => (Array.isArray(s) ? [s[0], s[1]] : typeof s === 'number' ? [s, s] : [fallback, fallback]);
  switch (name) {
    case 'cifar10':
    case 'cifar100':
      return { name, channels: 3, height: 32, width: 32 };
    case 'fashion-mnist':
    case 'mnist':
      return { name, channels: 1, height: 28, width: 28 };
    case 'synthetic': {
      const [height, width] = hw(o.size, 32);
      return { name, channels: (o.channels as 1 | 3 | undefined) ?? 3, height, width };
    }
    case 'folder': {
      const [height, width] = hw(o.size, 224);
      return { name: `folder:${record.dataset.title}`, channels: (o.channels as 1 | 3 | undefined) ?? 3, height, width };
    }
    default:
      throw new ExportPytorchError('dataset', `'${name}' is not a dataset export --pytorch knows how to read in PyTorch`);
  }
}

/**
 * The training and evaluation transforms of the run, resolved (normalize holds the recorded mean/std),
 * checked against the record: the evaluation transform must be the recorded preprocessing.
 */
export function runTransforms(record: CheckpointRecord): { train: TransformSpec; eval: TransformSpec } {
  const c = record.config;
  const stored = storedImages(record);
  const source = sourcePreprocessing(c);
  const t = trainTransforms(stored, record.model.inputSize, c.augment, c.randomErasing, source, c.augmentation);
  const norm = record.preprocessing.transform.find((s) => s.op === 'normalize');
  const resolve = (spec: TransformSpec) => spec.map((s) => (s.op === 'normalize' && (!s.mean || !s.std) ? { ...norm! } : { ...s }));
  const out = { train: resolve(t.train), eval: resolve(t.eval) };
  // The evaluation transform is the recorded preprocessing (on images as stored), or the source's it inherited.
  const [ours, recorded] = source
    ? [out.eval, transformForChannels(record.preprocessing, stored.channels)]
    : [recordPreprocessing(stored, out.eval).transform, record.preprocessing.transform];
  if (JSON.stringify(ours) !== JSON.stringify(recorded)) {
    throw new ExportPytorchError('preprocessing', `the recorded preprocessing ${JSON.stringify(record.preprocessing.transform)} is not the one this mobilezoo derives from the run's settings (${JSON.stringify(ours)}); export --pytorch would not reproduce it`);
  }
  // Records since the validation split also hold the training transform as the run resolved it.
  if (record.trainTransform && JSON.stringify(resolve(record.trainTransform)) !== JSON.stringify(out.train)) {
    throw new ExportPytorchError('trainTransform', `the recorded training transform ${JSON.stringify(record.trainTransform)} is not the one this mobilezoo derives from the run's settings (${JSON.stringify(out.train)}); export --pytorch would not reproduce it`);
  }
  return out;
}

/** The outermost module paths of a frozen set (train.py freezes a path and everything under it). */
function outermost(paths: Set<string>): string[] {
  const under = (p: string, q: string) => p.startsWith(`${q}.`);
  return [...paths].filter((p) => ![...paths].some((q) => under(p, q)));
}

export interface Recipe {
  settings: Record<string, unknown>;
  optimizer: string;
  trainTransform: string;
  evalTransform: string;
  /** What was not carried over, said to the user (and in the folder's README). */
  notes: string[];
}

/** train.py's generated parts for a checkpoint; `resume` continues its run, else a new run starts from its weights. */
export function recipeOf(record: CheckpointRecord, model: Network, o: { resume: boolean; dataset: Record<string, unknown> }): Recipe {
  const c = record.config;
  refuseUnknown(c, CONFIG_KEYS, 'config.');
  const notes: string[] = [];
  let minutesNote: string | null = null;
  if (c.minutes !== undefined) {
    if (o.resume) throw new ExportPytorchError('--minutes', `the run's schedule follows the wall clock of the run that started it (${c.minutes} min), so it cannot be resumed, here or in PyTorch; export it with --checkpoint to start a new run from its weights`);
    minutesNote = `not carried over: --minutes ${c.minutes} (a schedule on the clock); train.py follows the schedule's --epochs ${c.epochs}`;
    notes.push(minutesNote);
  }
  if (c.download) notes.push('not carried over: --download; train.py reads the dataset files where mobilezoo found them, or in --data DIR');
  if (c.mix && ((c.mix.mixupAlpha ?? 0) > 0 || (c.mix.cutmixAlpha ?? 0) > 0)) {
    throw new ExportPytorchError('--mixup / --cutmix', `batch mixing (${JSON.stringify(c.mix)}) is not carried over to PyTorch by export --pytorch; export a run trained without it`);
  }
  const opt = c.optimizer;
  if (!(opt.type in OPTIMIZER_KEYS)) throw new ExportPytorchError('--optimizer', `'${opt.type}' has no PyTorch counterpart in export --pytorch`);
  refuseUnknown(opt, OPTIMIZER_KEYS[opt.type], 'optimizer.');
  const sched = c.schedule;
  if (!(sched.type in SCHEDULE_KEYS)) throw new ExportPytorchError('--schedule', `'${sched.type}' has no PyTorch counterpart in export --pytorch`);
  refuseUnknown(sched, SCHEDULE_KEYS[sched.type], 'schedule.');
  const transforms = runTransforms(record);

  const frozen = resolveFreeze(model, c.freeze ?? 'none');
  const settings: Record<string, unknown> = {
    model: record.model.name,
    num_classes: record.model.numClasses,
    input_size: record.model.inputSize,
    class_names: record.dataset.classNames,
    dataset: o.dataset,
    epochs: record.epochs,
    batch_size: c.batchSize,
    seed: c.seed,
    save_every: record.saveEvery ?? 5,
    threads: record.threads ?? null,
    optimizer: opt.type,
    optimizer_slots: optimizerSlots(opt),
    lr: c.lr,
    schedule: {
      type: sched.type,
      ...(sched.type === 'cosine' && sched.minLr ? { min_lr: sched.minLr } : {}),
      ...(sched.type === 'step' ? { step_size: sched.stepSize, gamma: sched.gamma ?? 0.1 } : {}),
      ...(sched.type === 'exponential' ? { gamma: sched.gamma ?? 0.98 } : {}),
    },
    warmup_epochs: c.warmupEpochs,
    label_smoothing: c.labelSmoothing,
    weight_decay: opt.weightDecay ?? 0,
    no_decay_bn_bias: opt.noDecayBnBias ?? false,
    backbone_lr_mult: c.backboneLrMult ?? 1,
    classifier: classifierName(model),
    frozen: outermost(frozen),
    unfreeze_at: c.unfreezeAt ?? null,
    ema_decay: c.emaDecay ?? null,
    ema_batchnorm_batches: EMA_BATCHNORM_BATCHES,
    monitor: c.monitor ?? 'val_loss',
    early_stopping: c.earlyStopping ?? null,
    min_delta: c.minDelta ?? 0,
    eval_test_every: c.evalTestEvery ?? null,
    minutes_note: minutesNote,
  };
  return {
    settings,
    optimizer: optimizerConstructor(opt),
    trainTransform: pyTransform(transforms.train, 'training transform'),
    evalTransform: pyTransform(transforms.eval, 'preprocessing'),
    notes,
  };
}

/** The PyTorch optimizer for a spec (its learning rate is set every step; weight decay per group). */
function optimizerConstructor(o: OptimizerSpec): string {
  const lr = "lr=SETTINGS['lr']";
  switch (o.type) {
    case 'sgd':
      return `torch.optim.SGD(groups, ${lr}, momentum=${o.momentum ?? 0}, nesterov=${pyLiteral(o.nesterov ?? false)})`;
    case 'adam':
    case 'adamw': {
      const [b1, b2] = o.betas ?? [0.9, 0.999];
      return `torch.optim.${o.type === 'adam' ? 'Adam' : 'AdamW'}(groups, ${lr}, betas=(${b1}, ${b2}), eps=${o.eps ?? 1e-8})`;
    }
    case 'rmsprop':
      // TensorFlow's epsilon inside the square root has no torch.optim counterpart: train.py's RMSpropTF.
      return `${o.tfEps ? 'RMSpropTF' : 'torch.optim.RMSprop'}(groups, ${lr}, alpha=${o.alpha ?? 0.99}, eps=${o.eps ?? 1e-8}, momentum=${o.momentum ?? 0})`;
  }
}
