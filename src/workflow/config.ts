/**
 * Training settings: defaults, named recipes and validation. Settings are flat and optional (one per
 * CLI flag); resolveTrainConfig merges defaults ← recipe ← explicit settings into a TrainConfig and
 * rejects bad values with a ConfigError that names the setting.
 */
import { AUTO_AUGMENT_POLICIES, type AutoAugmentPolicy } from '../data/transforms-augment.js';
import type { AugmentSettings } from '../data/transforms.js';
import type { MixSettings } from '../data/transforms-mix.js';
import type { OptimizerSpec, OptimizerType } from '../train/optimizers.js';
import { SCHEDULE_TYPES, type ScheduleSpec } from '../train/schedules.js';
import type { Preprocessing } from '../data/preprocessing.js';

/** What a pretrained file is, recorded in the run's config (so a resumed run needs nothing else). */
export interface PretrainedSource {
  /** Absolute path. */
  file: string;
  sha256: string;
  kind: 'checkpoint' | 'state dict';
  /** A checkpoint's model and options (without numClasses and seed, which the new run sets). */
  model?: string;
  modelOptions?: Record<string, unknown>;
  /** Outputs of the source's classifier (its last 2-D tensor for a state dict). */
  numClasses?: number;
  classNames?: string[];
  /** The source's preprocessing: its record's, or ImageNet's for a 1000-class state dict. */
  preprocessing?: Preprocessing;
  /** The tensors file a checkpoint's weights come from (its EMA weights when it kept them: what it evaluated). */
  weights: string;
}

/** Where a fine-tuning run's starting weights came from, and what of them it used (in its checkpoints). */
export interface PretrainedRecord {
  file: string;
  sha256: string;
  kind: 'checkpoint' | 'state dict';
  /** Tensors loaded. */
  loaded: number;
  /** The model's tensors that kept their own initialization (the new classifier, typically). */
  reinitialized: string[];
  /** The file's tensors the model does not have. */
  unexpected: string[];
}
import { ConfigError } from '../config-error.js';

export { ConfigError };

export const OPTIMIZER_TYPES = ['adam', 'adamw', 'sgd', 'rmsprop'] as const satisfies readonly OptimizerType[];
export type ScheduleType = (typeof SCHEDULE_TYPES)[number];

/** Everything a training run needs besides where to write (stored in checkpoints, so resume is exact). */
export interface TrainConfig {
  model: string;
  /** createModel options chosen by the user (widthMult, groups, size, stem, dropout, ...); numClasses comes from the dataset. */
  modelOptions: Record<string, unknown>;
  dataset: string;
  /** A directory searched first for the dataset (the image root for `folder`). */
  dataDir?: string;
  /** Allow downloading a missing dataset (never by default). */
  download: boolean;
  /** Train on a dataset of one class (otherwise an error). */
  allowSingleClass?: boolean;
  /** Square training / evaluation resolution; default chosen from the dataset and stem (see planModel). */
  input?: number;
  epochs: number;
  batchSize: number;
  optimizer: OptimizerSpec;
  lr: number;
  schedule: ScheduleSpec;
  warmupEpochs: number;
  labelSmoothing: number;
  augment: boolean;
  /** Probability of torchvision's RandomErasing on training images (0: off). */
  randomErasing: number;
  /** torchvision's augmentations added to the training transform (absent: none). */
  augmentation?: AugmentSettings;
  /** Batch mixup / cutmix (absent: none); the loss then takes class probabilities. */
  mix?: MixSettings;
  seed: number;
  /** Use only the first `limit` training samples. */
  limit?: number;
  /** Use only the first `testLimit` test samples (default with `limit`: ceil(limit / 5)). */
  testLimit?: number;
  emaDecay?: number;
  /**
   * A wall-clock budget (minutes) for training and its evaluations. The schedule then follows the clock:
   * its position is epochs × elapsed / budget, so warmup and decay keep their shape and the decay ends
   * when time is up, however fast the machine runs; training stops there, wherever the epoch is.
   */
  minutes?: number;
  recipe?: string;
  /** Fine-tuning: the weights to start from (src/workflow/pretrained.ts); absent: the model's own initialization. */
  pretrained?: PretrainedSource;
  /** What does not train: 'none', 'backbone' (all but the classifier) or a module path (it and everything before it). */
  freeze: string;
  /** From this epoch (1-based) on nothing is frozen (gradual unfreezing). */
  unfreezeAt?: number;
  /** With `freeze` backbone and nothing that changes images between epochs: train the classifier on embeddings computed once (default true; src/train/feature-cache.ts). */
  featureCache?: boolean;
  /** Learning-rate factor of the parameters outside the classifier (default 1). */
  backboneLrMult: number;
  /**
   * Fraction of the training split held out for validation (seeded, stratified by class; 0: none). A
   * folder with train/, val/ and test/ validates on val/ instead.
   */
  valSplit: number;
  /** What chooses the best checkpoint and drives early stopping. */
  monitor: Monitor;
  /** Stop when the monitored value has not improved by more than minDelta for this many epochs. */
  earlyStopping?: number;
  minDelta: number;
  /** Evaluate the test split every N epochs too (default: only at the end, or every epoch without validation). */
  evalTestEvery?: number;
}

export const MONITORS = ['val_loss', 'val_acc'] as const;
export type Monitor = (typeof MONITORS)[number];

/** Flat, optional settings, one per `mobilezoo train` flag (the command line maps each to its flag). */
export interface TrainSettings {
  model?: string;
  modelOptions?: Record<string, unknown>;
  dataset?: string;
  dataDir?: string;
  download?: boolean;
  allowSingleClass?: boolean;
  input?: number;
  epochs?: number;
  batchSize?: number;
  optimizer?: string;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** The optimizer's constants besides lr, momentum and weight decay (recipes set them; no flag). */
  optimizerConstants?: OptimizerConstants;
  /** No weight decay on BatchNorm parameters and biases. */
  noDecayBnBias?: boolean;
  schedule?: string;
  /** Decay factor of the step / exponential schedules. */
  gamma?: number;
  /** Epochs between decays of the step schedule. */
  stepSize?: number;
  warmup?: number;
  labelSmoothing?: number;
  augment?: boolean;
  randomErasing?: number;
  /** RandomResizedCrop: true for torchvision's scale [0.08, 1], or [min, max]. */
  randomResizedCrop?: boolean | number[];
  /** ColorJitter: [x] for brightness, contrast and saturation x (timm's), or [b, c, s] or [b, c, s, hue]. */
  colorJitter?: number[];
  autoAugment?: string;
  /** RandAugment: true for num_ops 2, magnitude 9, or [numOps, magnitude]. */
  randAugment?: boolean | number[];
  trivialAugment?: boolean;
  /** Mixup's and cutmix's Beta(α, α). */
  mixup?: number;
  cutmix?: number;
  mixProb?: number;
  mixSwitchProb?: number;
  seed?: number;
  limit?: number;
  testLimit?: number;
  ema?: number;
  minutes?: number;
  /**
   * A named preset (RECIPES) under the explicit settings, or `none`. Default: `fine-tune` when starting
   * from ImageNet weights (defaultRecipe), else none.
   */
  recipe?: string;
  /** Inspected by inspectPretrained. */
  pretrained?: PretrainedSource;
  freeze?: string;
  unfreezeAt?: number;
  /** false: no frozen-backbone cache (the full step at every epoch; same results, slower). */
  featureCache?: boolean;
  backboneLrMult?: number;
  /** Fraction of the training split held out for validation (default 0.1; 0: none). */
  valSplit?: number;
  /** val_loss (default) or val_acc: chooses checkpoint-best and drives early stopping. */
  monitor?: string;
  /** Patience in epochs. */
  earlyStopping?: number;
  /** The smallest change of the monitored value that counts as an improvement for early stopping (default 0). */
  minDelta?: number;
  evalTestEvery?: number;
}

/** RMSprop's smoothing constant alpha and epsilon (TF-style inside the square root with tfEps), Adam's betas and epsilon. */
export interface OptimizerConstants {
  alpha?: number;
  eps?: number;
  tfEps?: boolean;
  betas?: [number, number];
}

export const TRAIN_DEFAULTS = {
  model: 'mobilenet_v2',
  dataset: 'cifar10',
  epochs: 15,
  batchSize: 128,
  optimizer: 'adam',
  lr: 1e-3,
  momentum: 0.9,
  weightDecay: 0,
  schedule: 'constant',
  warmup: 0,
  labelSmoothing: 0,
  augment: true,
  seed: 0,
  valSplit: 0.1,
  monitor: 'val_loss',
  minDelta: 0,
} as const;

export interface Recipe {
  /** One line: what the recipe is for and what it sets (the `--recipe` help). */
  description: string;
  /** Its settings, as explicit settings give them; explicit settings override them (see resolveTrainConfig). */
  settings: Readonly<TrainSettings>;
}

/**
 * Named presets: data, merged under the explicit settings by resolveTrainConfig (the README's recipe
 * table shows them, and test/workflow/recipes.test.ts checks that it does).
 * - cifar: the usual CIFAR ResNet/MobileNet recipe: SGD lr 0.1, momentum 0.9, Nesterov, weight decay 5e-4,
 *   cosine decay, random crop (pad 4) + flip, batch 128, 200 epochs.
 * - fashion-mnist: SGD lr 0.1 Nesterov momentum 0.9, weight decay 5e-4 (not on BatchNorm / biases), label
 *   smoothing 0.1, linear warmup over the first epoch then cosine decay to 0, random crop (pad 2 after
 *   padding 28 → 32) + flip, batch 128, 30 epochs.
 * - mobilenet-v2-paper: Sandler et al.: RMSprop (decay 0.9, momentum 0.9; TF-style epsilon 1e-3 inside the
 *   square root, timm's setting for this recipe), lr 0.045, weight decay 4e-5, ×0.98 per epoch, batch 96,
 *   200 epochs.
 * - fine-tune: from pretrained weights on a folder of photos, as timm's and torchvision's fine-tuning
 *   references do: RandomResizedCrop + flip + TrivialAugmentWide, AdamW (decoupled weight decay 0.05),
 *   1 warmup epoch then cosine, label smoothing 0.1, the backbone at a tenth of the classifier's learning
 *   rate, batch 32, 20 epochs. The default of a run from ImageNet weights (see defaultRecipe).
 */
export const RECIPES: Record<string, Recipe> = {
  cifar: {
    description: 'SGD 0.1, momentum 0.9 Nesterov, wd 5e-4, cosine, crop+flip, batch 128, 200 epochs',
    settings: {
      dataset: 'cifar10', epochs: 200, batchSize: 128, optimizer: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true,
      weightDecay: 5e-4, schedule: 'cosine', augment: true,
    },
  },
  'fashion-mnist': {
    description: 'SGD 0.1 Nesterov, wd 5e-4 (not BN/bias), label smoothing 0.1, warmup + cosine, crop+flip, batch 128, 30 epochs',
    settings: {
      dataset: 'fashion-mnist', epochs: 30, batchSize: 128, optimizer: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true,
      weightDecay: 5e-4, noDecayBnBias: true, labelSmoothing: 0.1, schedule: 'cosine', warmup: 1, augment: true,
    },
  },
  'mobilenet-v2-paper': {
    description: 'RMSprop (0.9, momentum 0.9, eps 1e-3 TF-style), lr 0.045, wd 4e-5, exponential 0.98/epoch, batch 96, 200 epochs',
    settings: {
      epochs: 200, batchSize: 96, optimizer: 'rmsprop', optimizerConstants: { alpha: 0.9, eps: 1e-3, tfEps: true }, lr: 0.045,
      momentum: 0.9, weightDecay: 4e-5, schedule: 'exponential', gamma: 0.98, augment: true,
    },
  },
  'fine-tune': {
    description: 'from pretrained weights on a folder: RandomResizedCrop + flip + TrivialAugment, AdamW 1e-3 wd 0.05, warmup + cosine, label smoothing 0.1, backbone lr x0.1, batch 32, 20 epochs (the default from ImageNet weights)',
    settings: {
      dataset: 'folder', epochs: 20, batchSize: 32, optimizer: 'adamw', lr: 1e-3, weightDecay: 0.05, noDecayBnBias: true,
      schedule: 'cosine', warmup: 1, labelSmoothing: 0.1, backboneLrMult: 0.1, augment: true, randomResizedCrop: true, trivialAugment: true,
    },
  },
};

/** The recipe a run gets when it names none: `fine-tune` from ImageNet weights (a 1000-class state dict), else none. */
export function defaultRecipe(s: Pick<TrainSettings, 'pretrained'>): string | undefined {
  return s.pretrained?.kind === 'state dict' && s.pretrained.numClasses === 1000 ? 'fine-tune' : undefined;
}

/** The settings of each group that an explicit setting of the group replaces as a whole (see recipeUnder). */
const POLICY_SETTINGS = ['autoAugment', 'randAugment', 'trivialAugment'] as const;
const AUGMENT_SETTINGS = ['randomResizedCrop', 'colorJitter', ...POLICY_SETTINGS, 'randomErasing', 'mixup', 'cutmix', 'mixProb', 'mixSwitchProb'] as const;
const OPTIMIZER_SETTINGS = ['momentum', 'nesterov', 'optimizerConstants'] as const;

/**
 * A recipe's settings under the explicit ones: each explicit setting replaces the recipe's, and a few
 * replace a group. An augmentation policy replaces the recipe's policy (one policy at a time); `augment:
 * false` drops all the recipe's augmentations (mixup and cutmix included); another optimizer drops the
 * recipe's optimizer-specific settings (momentum, Nesterov, constants). A recipe's warmup takes at most
 * a tenth of a shorter run.
 */
function recipeUnder(recipe: Readonly<TrainSettings>, explicit: TrainSettings): TrainSettings {
  const r: TrainSettings = { ...recipe };
  const drop = (keys: readonly (keyof TrainSettings)[]) => keys.forEach((k) => delete r[k]);
  if (POLICY_SETTINGS.some((k) => explicit[k] !== undefined)) drop(POLICY_SETTINGS);
  if (explicit.augment === false) drop(AUGMENT_SETTINGS);
  if (explicit.optimizer !== undefined && explicit.optimizer !== r.optimizer) drop(OPTIMIZER_SETTINGS);
  if (r.warmup !== undefined) r.warmup = Math.min(r.warmup, (explicit.epochs ?? r.epochs ?? TRAIN_DEFAULTS.epochs) / 10);
  return r;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The recipe setting that asks for none, not even the default one. */
export const NO_RECIPE = 'none';

/** The optimizer constants that apply to this optimizer, checked. */
function optimizerConstants(type: OptimizerType, c: OptimizerConstants | undefined): OptimizerConstants {
  if (!c) return {};
  const allowed: Record<OptimizerType, (keyof OptimizerConstants)[]> = { sgd: [], adam: ['betas', 'eps'], adamw: ['betas', 'eps'], rmsprop: ['alpha', 'eps', 'tfEps'] };
  const stray = Object.keys(c).find((key) => !allowed[type].includes(key as keyof OptimizerConstants));
  if (stray) throw new ConfigError('optimizerConstants', `${stray} does not apply to \`optimizer\` ${type}`);
  if (c.eps !== undefined && !(isNum(c.eps) && c.eps > 0)) throw new ConfigError('optimizerConstants', `eps: expected a positive number, got ${c.eps}`);
  if (c.alpha !== undefined && !(isNum(c.alpha) && c.alpha >= 0 && c.alpha < 1)) throw new ConfigError('optimizerConstants', `alpha: expected a number in [0, 1), got ${c.alpha}`);
  if (c.betas !== undefined && !(c.betas.length === 2 && c.betas.every((b) => isNum(b) && b >= 0 && b < 1))) throw new ConfigError('optimizerConstants', `betas: expected two numbers in [0, 1), got ${c.betas}`);
  return { ...c };
}

function positiveInt(setting: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(setting, `expected a positive integer, got ${v}`);
  return v;
}

/** Merges defaults ← recipe ← explicit settings and validates the result. */
export function resolveTrainConfig(s: TrainSettings): TrainConfig {
  const defined = Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as TrainSettings;
  const recipeName = s.recipe === NO_RECIPE ? undefined : s.recipe ?? defaultRecipe(s);
  let recipe: TrainSettings = {};
  if (recipeName !== undefined) {
    if (!Object.hasOwn(RECIPES, recipeName)) throw new ConfigError('recipe', `unknown recipe '${recipeName}'; known: ${Object.keys(RECIPES).join(', ')} (or ${NO_RECIPE})`);
    recipe = recipeUnder(RECIPES[recipeName]!.settings, defined);
  }
  const m: TrainSettings = { ...TRAIN_DEFAULTS, ...recipe, ...defined, recipe: recipeName };

  const epochs = positiveInt('epochs', m.epochs!);
  const batchSize = positiveInt('batchSize', m.batchSize!);
  if (!isNum(m.lr) || m.lr <= 0) throw new ConfigError('lr', `expected a positive number, got ${m.lr}`);
  const type = m.optimizer as OptimizerType;
  if (!(OPTIMIZER_TYPES as readonly string[]).includes(type)) {
    throw new ConfigError('optimizer', `expected one of ${OPTIMIZER_TYPES.join(', ')}, got '${m.optimizer}'`);
  }
  const wd = m.weightDecay!;
  if (!isNum(wd) || wd < 0) throw new ConfigError('weightDecay', `expected a non-negative number, got ${wd}`);
  const momentum = m.momentum!;
  if (!isNum(momentum) || momentum < 0 || momentum >= 1) throw new ConfigError('momentum', `expected a number in [0, 1), got ${momentum}`);
  if (defined.momentum !== undefined && (type === 'adam' || type === 'adamw')) {
    throw new ConfigError('momentum', `does not apply to \`optimizer\` ${type} (only sgd and rmsprop)`);
  }
  if (m.nesterov && type !== 'sgd') throw new ConfigError('nesterov', `only applies to \`optimizer\` sgd, not ${type}`);
  if (m.nesterov && momentum === 0) throw new ConfigError('nesterov', 'needs a `momentum` > 0');
  const noDecayBnBias = m.noDecayBnBias ?? false;
  const k = optimizerConstants(type, m.optimizerConstants);
  let optimizer: OptimizerSpec;
  switch (type) {
    case 'sgd': optimizer = { type, momentum, nesterov: m.nesterov ?? false, weightDecay: wd, noDecayBnBias }; break;
    case 'adam':
    case 'adamw': optimizer = { type, ...k, weightDecay: wd, noDecayBnBias }; break;
    case 'rmsprop': optimizer = { type, ...k, momentum, weightDecay: wd, noDecayBnBias }; break;
  }

  const st = m.schedule as ScheduleType;
  if (!(SCHEDULE_TYPES as readonly string[]).includes(st)) {
    throw new ConfigError('schedule', `expected one of ${SCHEDULE_TYPES.join(', ')}, got '${m.schedule}'`);
  }
  if (m.gamma !== undefined && (!isNum(m.gamma) || m.gamma <= 0 || m.gamma > 1)) throw new ConfigError('gamma', `expected a number in (0, 1], got ${m.gamma}`);
  if (defined.gamma !== undefined && st !== 'step' && st !== 'exponential') throw new ConfigError('gamma', `only applies to \`schedule\` step or exponential, not ${st}`);
  if (defined.stepSize !== undefined && st !== 'step') throw new ConfigError('stepSize', `only applies to \`schedule\` step, not ${st}`);
  let schedule: ScheduleSpec;
  switch (st) {
    case 'step': {
      const stepSize = m.stepSize ?? Math.max(1, Math.round(epochs / 3));
      if (!isNum(stepSize) || stepSize <= 0) throw new ConfigError('stepSize', `expected a positive number, got ${stepSize}`);
      schedule = { type: 'step', stepSize, gamma: m.gamma ?? 0.1 };
      break;
    }
    case 'exponential': schedule = { type: 'exponential', gamma: m.gamma ?? 0.98 }; break;
    case 'cosine': schedule = { type: 'cosine' }; break;
    case 'linear': schedule = { type: 'linear' }; break;
    default: schedule = { type: 'constant' };
  }
  const warmupEpochs = m.warmup!;
  if (!isNum(warmupEpochs) || warmupEpochs < 0) throw new ConfigError('warmup', `expected a non-negative number of epochs, got ${warmupEpochs}`);
  if (warmupEpochs >= epochs && warmupEpochs > 0) throw new ConfigError('warmup', `${warmupEpochs} epochs of warmup leave nothing of a ${epochs}-epoch run`);
  const ls = m.labelSmoothing!;
  if (!isNum(ls) || ls < 0 || ls >= 1) throw new ConfigError('labelSmoothing', `expected a number in [0, 1), got ${ls}`);
  if (m.ema !== undefined && (!isNum(m.ema) || m.ema <= 0 || m.ema >= 1)) throw new ConfigError('ema', `expected a decay in (0, 1), e.g. 0.999, got ${m.ema}`);
  const erasing = m.randomErasing ?? 0;
  if (!isNum(erasing) || erasing < 0 || erasing > 1) throw new ConfigError('randomErasing', `expected a probability in [0, 1], got ${m.randomErasing}`);
  if (typeof m.seed !== 'number' || !Number.isInteger(m.seed) || m.seed < 0) throw new ConfigError('seed', `expected a non-negative integer, got ${m.seed}`);
  if (m.minutes !== undefined && (!isNum(m.minutes) || m.minutes <= 0)) throw new ConfigError('minutes', `expected a positive number of minutes, got ${m.minutes}`);
  if (m.limit !== undefined) positiveInt('limit', m.limit);
  if (m.testLimit !== undefined) positiveInt('testLimit', m.testLimit);
  if (m.input !== undefined && (!Number.isInteger(m.input) || m.input < 8)) throw new ConfigError('input', `expected an integer image size ≥ 8, got ${m.input}`);
  const freeze = m.freeze ?? 'none';
  if (typeof freeze !== 'string' || freeze === '') throw new ConfigError('freeze', 'expected none, backbone or a module path such as features.12');
  if (m.unfreezeAt !== undefined) {
    positiveInt('unfreezeAt', m.unfreezeAt);
    if (freeze === 'none') throw new ConfigError('unfreezeAt', 'needs `freeze` (there is nothing to unfreeze)');
    if (m.unfreezeAt > epochs) throw new ConfigError('unfreezeAt', `epoch ${m.unfreezeAt} is after the last of ${epochs} epochs`);
  }
  const backboneLrMult = m.backboneLrMult ?? 1;
  if (!isNum(backboneLrMult) || backboneLrMult <= 0) throw new ConfigError('backboneLrMult', `expected a positive number, got ${m.backboneLrMult}`);
  const valSplit = m.valSplit!;
  if (!isNum(valSplit) || valSplit < 0 || valSplit >= 1) throw new ConfigError('valSplit', `expected a fraction in [0, 1), got ${m.valSplit}`);
  const monitor = m.monitor as Monitor;
  if (!(MONITORS as readonly string[]).includes(monitor)) throw new ConfigError('monitor', `expected one of ${MONITORS.join(', ')}, got '${m.monitor}'`);
  if (valSplit === 0 && defined.monitor !== undefined) throw new ConfigError('monitor', 'needs a validation split (`valSplit` > 0)');
  if (m.earlyStopping !== undefined) {
    positiveInt('earlyStopping', m.earlyStopping);
    if (valSplit === 0) throw new ConfigError('earlyStopping', 'needs a validation split (`valSplit` > 0): the test split never chooses');
  }
  const minDelta = m.minDelta!;
  if (!isNum(minDelta) || minDelta < 0) throw new ConfigError('minDelta', `expected a non-negative number, got ${m.minDelta}`);
  if (defined.minDelta !== undefined && m.earlyStopping === undefined) throw new ConfigError('minDelta', 'only applies with `earlyStopping`');
  if (m.evalTestEvery !== undefined) positiveInt('evalTestEvery', m.evalTestEvery);
  if (m.dataset === 'folder' && !m.dataDir) throw new ConfigError('dataDir', 'the folder dataset needs an image folder (DIR/<class>/*.jpg)');
  const augmentation = resolveAugmentation(m);
  if (augmentation && m.augment === false) throw new ConfigError('augment', 'turns off the training augmentation that the augmentation settings add to');
  const mix = resolveMix(m, defined);

  return {
    model: m.model!,
    modelOptions: { ...(m.modelOptions ?? {}) },
    dataset: m.dataset!,
    dataDir: m.dataDir,
    download: m.download ?? false,
    ...(m.allowSingleClass ? { allowSingleClass: true } : {}),
    input: m.input,
    epochs,
    batchSize,
    optimizer,
    lr: m.lr,
    schedule,
    warmupEpochs,
    labelSmoothing: ls,
    augment: m.augment ?? true,
    randomErasing: erasing,
    ...(augmentation ? { augmentation } : {}),
    ...(mix ? { mix } : {}),
    seed: m.seed!,
    limit: m.limit,
    testLimit: m.testLimit,
    emaDecay: m.ema,
    minutes: m.minutes,
    recipe: m.recipe,
    ...(m.pretrained ? { pretrained: m.pretrained } : {}),
    freeze,
    ...(m.unfreezeAt !== undefined ? { unfreezeAt: m.unfreezeAt } : {}),
    ...(m.featureCache === false ? { featureCache: false } : {}),
    backboneLrMult,
    valSplit,
    monitor,
    ...(m.earlyStopping !== undefined ? { earlyStopping: m.earlyStopping } : {}),
    minDelta,
    ...(m.evalTestEvery !== undefined ? { evalTestEvery: m.evalTestEvery } : {}),
  };
}

/** The augmentation settings, checked; undefined when none is asked for. */
function resolveAugmentation(m: TrainSettings): AugmentSettings | undefined {
  const a: AugmentSettings = {};
  if (m.randomResizedCrop !== undefined && m.randomResizedCrop !== false) {
    const scale = m.randomResizedCrop === true ? [0.08, 1] : m.randomResizedCrop;
    if (scale.length !== 2 || !(scale[0]! > 0 && scale[0]! <= scale[1]! && scale[1]! <= 1)) {
      throw new ConfigError('randomResizedCrop', `expected the area fraction's range MIN,MAX with 0 < MIN <= MAX <= 1, got ${scale.join(',')}`);
    }
    a.randomResizedCrop = { scale: [scale[0]!, scale[1]!] };
  }
  if (m.colorJitter !== undefined) {
    const v = m.colorJitter;
    if (v.length < 1 || v.length > 4 || v.length === 2 || v.some((x) => !(x >= 0))) {
      throw new ConfigError('colorJitter', `expected B (brightness, contrast and saturation), B,C,S or B,C,S,HUE, each >= 0, got ${v.join(',')}`);
    }
    if (v.length === 4 && v[3]! > 0.5) throw new ConfigError('colorJitter', `hue must be at most 0.5, got ${v[3]}`);
    const [b, c = b, sat = b, hue = 0] = v as [number, number?, number?, number?];
    a.colorJitter = { brightness: b, contrast: c, saturation: sat, ...(hue ? { hue } : {}) };
  }
  if (m.autoAugment !== undefined) {
    if (!(AUTO_AUGMENT_POLICIES as readonly string[]).includes(m.autoAugment)) throw new ConfigError('autoAugment', `expected one of ${AUTO_AUGMENT_POLICIES.join(', ')}, got '${m.autoAugment}'`);
    a.autoAugment = m.autoAugment as AutoAugmentPolicy;
  }
  if (m.randAugment !== undefined && m.randAugment !== false) {
    const [numOps, magnitude] = m.randAugment === true ? [2, 9] : m.randAugment;
    if (m.randAugment !== true && (m.randAugment.length !== 2 || !Number.isInteger(numOps) || numOps! < 0 || !Number.isInteger(magnitude) || magnitude! < 0 || magnitude! > 30)) {
      throw new ConfigError('randAugment', `expected NUM_OPS,MAGNITUDE (integers, magnitude 0-30 of 31 bins), got ${m.randAugment.join(',')}`);
    }
    a.randAugment = { numOps: numOps!, magnitude: magnitude! };
  }
  if (m.trivialAugment) a.trivialAugmentWide = true;
  const policies = [a.autoAugment && 'autoAugment', a.randAugment && 'randAugment', a.trivialAugmentWide && 'trivialAugment'].filter((f): f is string => !!f);
  if (policies.length > 1) throw new ConfigError(policies[1]!, `choose one policy: ${policies.map((p) => `\`${p}\``).join(' or ')}`);
  return Object.keys(a).length ? a : undefined;
}

/** The mixup / cutmix settings, checked; undefined when neither is on. */
function resolveMix(m: TrainSettings, explicit: TrainSettings): MixSettings | undefined {
  for (const [flag, v] of [['mixup', m.mixup], ['cutmix', m.cutmix]] as const) {
    if (v !== undefined && !(isNum(v) && v >= 0)) throw new ConfigError(flag, `expected the Beta distribution's alpha >= 0 (e.g. 0.2 for mixup, 1 for cutmix), got ${v}`);
  }
  for (const [flag, v] of [['mixProb', m.mixProb], ['mixSwitchProb', m.mixSwitchProb]] as const) {
    if (v !== undefined && !(isNum(v) && v >= 0 && v <= 1)) throw new ConfigError(flag, `expected a probability in [0, 1], got ${v}`);
  }
  const mixup = m.mixup ?? 0;
  const cutmix = m.cutmix ?? 0;
  if (mixup === 0 && cutmix === 0) {
    if (explicit.mixProb !== undefined) throw new ConfigError('mixProb', 'needs `mixup` or `cutmix`');
    if (explicit.mixSwitchProb !== undefined) throw new ConfigError('mixSwitchProb', 'needs `mixup` or `cutmix`');
    return undefined;
  }
  // A recipe's switch probability is moot once explicit settings leave one of the two.
  if (explicit.mixSwitchProb !== undefined && (mixup === 0 || cutmix === 0)) throw new ConfigError('mixSwitchProb', 'chooses between mixup and cutmix: it needs both `mixup` and `cutmix`');
  return {
    ...(mixup ? { mixupAlpha: mixup } : {}), ...(cutmix ? { cutmixAlpha: cutmix } : {}),
    prob: m.mixProb ?? 1, ...(mixup && cutmix ? { switchProb: m.mixSwitchProb ?? 0.5 } : {}),
  };
}

/** One line describing the augmentation settings (empty when there are none), for logs. */
export function describeAugmentation(c: Pick<TrainConfig, 'augmentation' | 'mix'>): string {
  const parts: string[] = [];
  const a = c.augmentation;
  if (a?.randomResizedCrop) parts.push(`random resized crop (scale ${a.randomResizedCrop.scale?.join('-') ?? '0.08-1'})`);
  if (a?.colorJitter) parts.push(`color jitter ${['brightness', 'contrast', 'saturation', 'hue'].map((k) => a.colorJitter![k as 'hue'] ?? 0).join('/')}`);
  if (a?.autoAugment) parts.push(`AutoAugment ${a.autoAugment}`);
  if (a?.randAugment) parts.push(`RandAugment ${a.randAugment.numOps} ops, magnitude ${a.randAugment.magnitude}`);
  if (a?.trivialAugmentWide) parts.push('TrivialAugmentWide');
  const m = c.mix;
  if (m?.mixupAlpha) parts.push(`mixup α ${m.mixupAlpha}`);
  if (m?.cutmixAlpha) parts.push(`cutmix α ${m.cutmixAlpha}`);
  if (m && (m.prob ?? 1) < 1) parts.push(`mixed batches ${m.prob}`);
  if (m?.switchProb !== undefined) parts.push(`cutmix share ${m.switchProb}`);
  return parts.join(', ');
}

/** One line describing the optimizer and schedule, for logs. */
export function describeOptimization(c: TrainConfig): string {
  const o = c.optimizer;
  const parts = [`${c.recipe ? `recipe ${c.recipe}: ` : ''}${o.type} lr ${c.lr}`];
  if ((o.type === 'sgd' || o.type === 'rmsprop') && o.momentum) parts.push(`momentum ${o.momentum}${o.type === 'sgd' && o.nesterov ? ' nesterov' : ''}`);
  if (o.weightDecay) parts.push(`wd ${o.weightDecay}${o.noDecayBnBias ? ' (not BN/bias)' : ''}`);
  const s = c.schedule;
  parts.push(`${s.type} schedule${s.type === 'step' ? ` (×${s.gamma} every ${s.stepSize} epochs)` : s.type === 'exponential' ? ` (×${s.gamma}/epoch)` : ''}`);
  if (c.warmupEpochs) parts.push(`warmup ${c.warmupEpochs} epoch${c.warmupEpochs === 1 ? '' : 's'}`);
  if (c.labelSmoothing) parts.push(`label smoothing ${c.labelSmoothing}`);
  if (c.emaDecay) parts.push(`EMA ${c.emaDecay}`);
  if (c.randomErasing) parts.push(`random erasing ${c.randomErasing}`);
  const augmentation = describeAugmentation(c);
  if (augmentation) parts.push(augmentation);
  if (c.freeze !== 'none') parts.push(`frozen: ${c.freeze}${c.unfreezeAt ? ` until epoch ${c.unfreezeAt}` : ''}`);
  if (c.backboneLrMult !== 1) parts.push(`backbone lr x${c.backboneLrMult}`);
  if (c.earlyStopping) parts.push(`early stopping: ${c.monitor} patience ${c.earlyStopping}${c.minDelta ? `, min delta ${c.minDelta}` : ''}`);
  if (c.minutes) parts.push(`schedule on the clock: the shape of ${c.epochs} epochs over ${Number(c.minutes.toFixed(1))} min`);
  return parts.join(', ');
}
