/** createModel(name, options) / listModels(): every network by its torchvision-style name. */
import { withoutValues } from '../nn/init.js';
import { MobileNetV1, type MobileNetV1Options } from './mobilenet_v1.js';
import { type InvertedResidualRow, MobileNetV2, type MobileNetV2Options } from './mobilenet_v2.js';
import { MobileNetV3, type MobileNetV3Options } from './mobilenet_v3.js';
import type { Network } from './network.js';
import { SHUFFLENET_V1_GROUPS, SHUFFLENET_V1_SIZES, ShuffleNetV1, type ShuffleNetV1Groups, type ShuffleNetV1Options, type ShuffleNetV1Size } from './shufflenet_v1.js';
import { ShuffleNetV2, type ShuffleNetV2Options, type ShuffleNetV2Size } from './shufflenet_v2.js';

/** Every model name and the options its constructor takes. */
export interface ModelOptionsByName {
  mobilenet_v1: MobileNetV1Options;
  mobilenet_v2: MobileNetV2Options;
  mobilenet_v3_large: MobileNetV3Options;
  mobilenet_v3_small: MobileNetV3Options;
  shufflenet_v1: ShuffleNetV1Options;
  shufflenet_v2_x0_5: ShuffleNetV2Options;
  shufflenet_v2_x1_0: ShuffleNetV2Options;
  shufflenet_v2_x1_5: ShuffleNetV2Options;
  shufflenet_v2_x2_0: ShuffleNetV2Options;
}

export type ModelName = keyof ModelOptionsByName;

type OptionKind = 'number' | 'integer' | 'positive' | 'boolean' | 'stem' | 'rows' | readonly (string | number)[];

const common = { numClasses: 'positive', stem: 'stem', seed: 'integer' } as const;

interface Entry {
  description: string;
  options: Record<string, OptionKind>;
  build(o: Record<string, unknown>): Network;
}

const shuffleV2 = (size: ShuffleNetV2Size): Entry => ({
  description: `ShuffleNetV2 ${size.slice(1).replace('_', '.')}x (torchvision)`,
  options: { ...common },
  build: (o) => new ShuffleNetV2(size, o),
});

// Looked up with Object.hasOwn only: a name read from a file ('constructor', '__proto__') must not find Object's properties.
const REGISTRY: Record<ModelName, Entry> = {
  mobilenet_v1: {
    description: 'MobileNetV1 with ReLU6, torchvision-style names',
    options: { ...common, widthMult: 'number', dropout: 'number' },
    build: (o) => new MobileNetV1(o),
  },
  mobilenet_v2: {
    description: 'MobileNetV2 (torchvision)',
    options: { ...common, widthMult: 'number', roundNearest: 'integer', invertedResidualSetting: 'rows', dropout: 'number' },
    build: (o) => new MobileNetV2({ ...o, invertedResidualSetting: o.invertedResidualSetting as InvertedResidualRow[] | undefined }),
  },
  mobilenet_v3_large: {
    description: 'MobileNetV3-Large (torchvision)',
    options: { ...common, widthMult: 'number', reducedTail: 'boolean', dilated: 'boolean', dropout: 'number' },
    build: (o) => new MobileNetV3('large', o),
  },
  mobilenet_v3_small: {
    description: 'MobileNetV3-Small (torchvision)',
    options: { ...common, widthMult: 'number', reducedTail: 'boolean', dilated: 'boolean', dropout: 'number' },
    build: (o) => new MobileNetV3('small', o),
  },
  shufflenet_v1: {
    description: 'ShuffleNetV1 (megvii ShuffleNet-Series)',
    options: { ...common, groups: SHUFFLENET_V1_GROUPS, size: SHUFFLENET_V1_SIZES },
    build: (o) => new ShuffleNetV1({ ...o, groups: o.groups as ShuffleNetV1Groups | undefined, size: o.size as ShuffleNetV1Size | undefined }),
  },
  shufflenet_v2_x0_5: shuffleV2('x0_5'),
  shufflenet_v2_x1_0: shuffleV2('x1_0'),
  shufflenet_v2_x1_5: shuffleV2('x1_5'),
  shufflenet_v2_x2_0: shuffleV2('x2_0'),
};

export interface ModelListing {
  name: string;
  description: string;
  options: string[];
}

export function listModels(): ModelListing[] {
  return Object.entries(REGISTRY).map(([name, e]) => ({ name, description: e.description, options: Object.keys(e.options) }));
}

export function modelOptionNames(name: string): string[] {
  return Object.keys(entry(name).options);
}

export function isModelName(name: string): name is ModelName {
  return typeof name === 'string' && Object.hasOwn(REGISTRY, name);
}

function entry(name: string): Entry {
  if (!isModelName(name)) throw new Error(`unknown model '${String(name)}'; available: ${Object.keys(REGISTRY).join(', ')}`);
  return REGISTRY[name];
}

/**
 * A network by name. A name written in the code is checked at compile time, and so are the options its
 * family takes (`createModel('mobilenet_v3_small', { widthMult: 0.75, numClasses: 10 })`); a name held
 * in a string (a command line, a checkpoint record) takes any options. Either way they are checked at
 * run time: an unknown model, option or value is an error that names it and lists what is accepted.
 */
export function createModel<N extends string>(
  name: string extends N ? N : N extends ModelName ? N : ModelName,
  options?: N extends ModelName ? ModelOptionsByName[N] : Record<string, unknown>,
): Network {
  const e = entry(name);
  const o = (options ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(o)) {
    if (value === undefined) continue;
    const kind = Object.hasOwn(e.options, key) ? e.options[key] : undefined;
    if (!kind) throw new Error(`${name}: unknown option '${key}'; accepted: ${Object.keys(e.options).join(', ')}`);
    checkOption(name, key, value, kind);
  }
  return e.build(o);
}

/**
 * The network `createModel(name, options)` would build, with shape-only parameters: nothing is drawn or
 * allocated, so its size can be checked (parameterCount, summary) before the real one is built.
 */
export function createModelShapes(name: string, options: Record<string, unknown> = {}): Network {
  return withoutValues(() => createModel(name, options));
}

function checkOption(model: string, key: string, v: unknown, kind: OptionKind): void {
  const bad = (expected: string) => new Error(`${model}: option '${key}' must be ${expected}, got ${JSON.stringify(v)}`);
  if (Array.isArray(kind)) {
    if (!kind.includes(v as string | number)) throw bad(`one of ${kind.join(', ')}`);
  } else if (kind === 'number') {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('a number');
  } else if (kind === 'integer') {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad('a non-negative integer');
  } else if (kind === 'positive') {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad('a positive integer');
  } else if (kind === 'boolean') {
    if (typeof v !== 'boolean') throw bad('true or false');
  } else if (kind === 'stem') {
    if (v !== 'imagenet' && v !== 'cifar') throw bad("'imagenet' or 'cifar'");
  } else if (kind === 'rows') {
    if (!Array.isArray(v)) throw bad('a list of [t, c, n, s] rows');
  }
}
