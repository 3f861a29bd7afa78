/**
 * A teach project: the model to start from, the classes and their images, the training settings and
 * the last result. Plain data (images are Blobs), so it is stored as it is in IndexedDB (store.ts) and
 * written to one file (project-file.ts). The held-out split is the command line's folder split
 * (src/data/folder.ts, indexFolder): per class, the same seeded permutation of its images in their order.
 */
import { Rng } from '../../data/random.js';
import type { Preprocessing } from '../../data/preprocessing.js';
import type { EpochMetrics } from '../../report/csv.js';

export const PROJECT_FORMAT = 'mobilezoo-teach-project';
export const PROJECT_VERSION = 1;

export interface ProjectImage {
  id: string;
  /** The file's name (or 'webcam-<n>.png'). */
  name: string;
  blob: Blob;
  width: number;
  height: number;
}

export interface ProjectClass {
  id: string;
  name: string;
  images: ProjectImage[];
}

/** Where the weights start: none (the model's initialization), a file the user gave, or the site's bundled ones. */
export interface StartWeights {
  kind: 'none' | 'file' | 'bundled';
  /** What it is, for people: 'mobilenet_v3_small-047dcff4.pth', 'checkpoint-last.json (fashion-mnist)'. */
  label: string;
  /** The state dict, as safetensors bytes (absent for none). */
  weights?: Uint8Array;
  /** The source's preprocessing (a checkpoint's record, ImageNet's for 1000-class weights), as --pretrained takes it. */
  preprocessing?: Preprocessing;
  /** 'checkpoint' or 'state dict', as the command line's PretrainedRecord says. */
  sourceKind?: 'checkpoint' | 'state dict';
  sha256?: string;
}

export interface TeachSettings {
  /** 'backbone' (the classifier trains), 'none' (everything trains) or a module path: it and every module before it stay frozen. */
  freeze: string;
  epochs: number;
  lr: number;
  batchSize: number;
  augment: boolean;
  /** Fraction of each class held out for evaluation. */
  heldOut: number;
  seed: number;
  /** false: no frozen-backbone cache (for measurements; the page has no control for it). */
  featureCache?: boolean;
}

export interface Evaluation {
  accuracy: number;
  top5: number;
  loss: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** Per held-out image: its id, its class and the predicted class. */
  predictions: { image: string; label: number; predicted: number }[];
}

export interface TeachResult {
  classNames: string[];
  /** createModel options of the trained network (numClasses, stem, seed included). */
  modelOptions: Record<string, unknown>;
  preprocessing: Preprocessing;
  history: EpochMetrics[];
  evaluation: Evaluation;
  /** The checkpoint's files (trainingCheckpointFiles): what `mobilezoo test` reads. */
  files: { name: string; bytes: Uint8Array }[];
  /** Whether training used the frozen-backbone cache. */
  cached: boolean;
  seconds: number;
  createdAt: string;
}

export interface Project {
  format: typeof PROJECT_FORMAT;
  version: typeof PROJECT_VERSION;
  name: string;
  model: { name: string; options: Record<string, unknown> };
  start: StartWeights;
  classes: ProjectClass[];
  settings: TeachSettings;
  result?: TeachResult;
}

/** Defaults for 20-200 images per class: the classifier alone on cached embeddings, Adam, no augmentation. */
export const DEFAULT_SETTINGS: TeachSettings = { freeze: 'backbone', epochs: 20, lr: 1e-3, batchSize: 16, augment: false, heldOut: 0.2, seed: 0 };

export function newProject(): Project {
  return {
    format: PROJECT_FORMAT, version: PROJECT_VERSION, name: 'my classifier',
    model: { name: 'mobilenet_v3_small', options: {} },
    start: { kind: 'none', label: 'none (random initialization)' },
    classes: [
      { id: newId(), name: 'class 1', images: [] },
      { id: newId(), name: 'class 2', images: [] },
    ],
    settings: { ...DEFAULT_SETTINGS },
  };
}

let counter = 0;
export function newId(): string {
  counter++;
  return `${Date.now().toString(36)}-${counter.toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

export interface Split {
  train: { image: ProjectImage; label: number }[];
  test: { image: ProjectImage; label: number }[];
}

/**
 * The held-out split: per class, round(n x fraction) images chosen by the seeded permutation of the
 * command line's folder split (indexFolder: Rng.from(seed, 'folder-split', class name)); images keep
 * their class's order. So a folder of these classes gives `train --data` the same held-out images.
 */
export function heldOutSplit(classes: readonly ProjectClass[], fraction: number, seed: number): Split {
  const split: Split = { train: [], test: [] };
  classes.forEach((c, label) => {
    const n = c.images.length;
    const nTest = Math.round(n * fraction);
    const perm = Rng.from(seed, 'folder-split', c.name).permutation(n);
    const isTest = new Uint8Array(n);
    for (let k = 0; k < nTest; k++) isTest[perm[k]!] = 1;
    c.images.forEach((image, k) => (isTest[k] ? split.test : split.train).push({ image, label }));
  });
  return split;
}

/**
 * What keeps a project from training, in words for the page (empty when it can train): fewer than two
 * classes, a class without images or a name, two classes with one name, a class too small to hold some
 * images out and keep some for training, settings out of range.
 */
export function problems(p: Project): string[] {
  const out: string[] = [];
  if (p.classes.length < 2) out.push('Add at least two classes: a classifier chooses between classes.');
  const names = new Set<string>();
  for (const c of p.classes) {
    const name = c.name.trim();
    if (!name) out.push('A class has no name.');
    else if (names.has(name)) out.push(`Two classes are named "${name}": give each class its own name.`);
    names.add(name);
    if (c.images.length === 0) out.push(`Class "${c.name}" has no images.`);
    else {
      const nTest = Math.round(c.images.length * p.settings.heldOut);
      if (p.settings.heldOut > 0 && (nTest === 0 || nTest === c.images.length)) {
        out.push(`Class "${c.name}" has ${c.images.length} image${c.images.length === 1 ? '' : 's'}: too few to hold ${Math.round(p.settings.heldOut * 100)}% out for evaluation and train on the rest (add images, or change the held-out share).`);
      }
    }
  }
  const s = p.settings;
  if (!(Number.isInteger(s.epochs) && s.epochs >= 1 && s.epochs <= 1000)) out.push('Epochs must be a whole number from 1 to 1000.');
  if (!(s.lr > 0 && s.lr <= 10)) out.push('The learning rate must be a number above 0 (for example 0.001).');
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 2 && s.batchSize <= 256)) out.push('The batch size must be a whole number from 2 to 256.');
  if (!(s.heldOut >= 0 && s.heldOut < 1)) out.push('The held-out share must be from 0 to 0.9.');
  return out;
}

/** Accuracy and the confusion matrix of predicted classes. */
export function confusionOf(labels: ArrayLike<number>, predicted: ArrayLike<number>, numClasses: number): { accuracy: number; confusion: number[][] } {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    confusion[labels[i]!]![predicted[i]!]!++;
    if (labels[i] === predicted[i]) correct++;
  }
  return { accuracy: labels.length ? correct / labels.length : 0, confusion };
}
