/**
 * The weights a project starts from, as the command line's `train --pretrained` reads them: our
 * checkpoint (its .json with the weights file it names), a state dict (torchvision's .pth, megvii's
 * .pth.tar, .safetensors), or the files bundled in the site by `export --web --teach`. The model and
 * the preprocessing follow the source: a checkpoint's record, a published file's model and ImageNet
 * preprocessing (src/models/published-weights.ts), ImageNet's for any 1000-class state dict.
 */
import { imagenetPreprocessing } from '../../data/preprocessing.js';
import { loadCheckpoint } from '../../io/state-dict-bytes.js';
import { writeSafetensors } from '../../io/safetensors.js';
import { publishedWeightsOf } from '../../models/published-weights.js';
import { createModel, listModels } from '../../models/registry.js';
import type { StateDict } from '../../tensor.js';
import { parseCheckpointRecord } from '../../workflow/checkpoint-record.js';
import type { Project, StartWeights } from './project.js';

export interface StartChoice {
  start: StartWeights;
  /** The model the weights are for, when they say (a checkpoint, a published file). */
  model?: Project['model'];
}

export interface NamedBytes {
  name: string;
  bytes: Uint8Array;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The class count of a state dict: the rows of its last matrix (the classifier's weight). */
function classCount(sd: StateDict): number | undefined {
  const matrices = [...sd.values()].filter((t) => t.shape.length === 2);
  return matrices[matrices.length - 1]?.shape[0];
}

/** Checks that the weights fit the model: some parameter matches by name and shape (the rest, e.g. the classifier, is initialized). */
export function checkWeightsFit(sd: StateDict, model: Project['model'], label: string): void {
  const network = createModel(model.name, { ...model.options, numClasses: classCount(sd) ?? 2 });
  const params = new Map(network.namedParameters());
  const matching = [...sd].filter(([k, t]) => params.get(k)?.shape.join('x') === t.shape.join('x'));
  if (matching.length === 0) {
    throw new Error(`${label}: these weights are not for ${model.name} ${JSON.stringify(model.options)}: no tensor matches it by name and shape (choose the model they were trained as, or other weights)`);
  }
}

/** The start of a checkpoint record's JSON and the files dropped with it. */
async function fromCheckpoint(json: NamedBytes, others: NamedBytes[]): Promise<StartChoice> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(json.bytes));
  } catch {
    throw new Error(`${json.name}: not a checkpoint (not JSON)`);
  }
  const record = parseCheckpointRecord(parsed, json.name);
  const wanted = record.files.ema ?? record.files.weights;
  const file = others.find((f) => f.name === wanted) ?? others.find((f) => f.name === record.files.weights);
  if (!file) throw new Error(`${json.name} names its weights ${wanted}: drop or choose the two files together (${json.name} and ${wanted})`);
  let sd: StateDict;
  try {
    sd = loadCheckpoint(file.bytes, file.name);
  } catch (e) {
    throw new Error(`${file.name}: not readable weights (${(e as Error).message})`);
  }
  const { numClasses: _n, seed: _s, ...options } = record.model.options;
  const model = { name: record.model.name, options };
  checkWeightsFit(sd, model, file.name);
  return {
    model,
    start: {
      kind: 'file', label: `${json.name} (${record.model.name}, ${record.dataset.title || record.dataset.name}, ${record.dataset.classNames.length} classes)`,
      weights: writeSafetensors(sd), preprocessing: record.preprocessing, sourceKind: 'checkpoint', sha256: await sha256(json.bytes),
    },
  };
}

/** The start of dropped or chosen files: a checkpoint .json with its weights, or one state dict file. */
export async function startFromFiles(files: NamedBytes[], current: Project['model']): Promise<StartChoice> {
  if (files.length === 0) throw new Error('no file given');
  const json = files.find((f) => f.name.toLowerCase().endsWith('.json'));
  if (json) return fromCheckpoint(json, files.filter((f) => f !== json));
  if (files.length > 1) throw new Error(`${files.map((f) => f.name).join(', ')}: give one weights file (.pth, .pth.tar, .safetensors), or a checkpoint's .json with its .safetensors`);
  const file = files[0]!;
  let sd: StateDict;
  try {
    sd = loadCheckpoint(file.bytes, file.name);
  } catch (e) {
    throw new Error(`${file.name}: not weights this page reads (a checkpoint .json with its .safetensors, a torchvision .pth, a megvii .pth.tar or a .safetensors state dict): ${(e as Error).message}`);
  }
  if (sd.size === 0) throw new Error(`${file.name}: holds no tensors`);
  const published = publishedWeightsOf(file.name);
  const known = listModels().map((m) => m.name);
  const model = published && known.includes(published.model) ? { name: published.model, options: {} } : current;
  checkWeightsFit(sd, model, file.name);
  const n = classCount(sd);
  const preprocessing = published ? imagenetPreprocessing(published.crop, published.resize) : n === 1000 ? imagenetPreprocessing(224) : undefined;
  return {
    ...(published ? { model } : {}),
    start: { kind: 'file', label: `${file.name} (${n ?? '?'} classes)`, weights: writeSafetensors(sd), ...(preprocessing ? { preprocessing } : {}), sourceKind: 'state dict', sha256: await sha256(file.bytes) },
  };
}

/** What `export --web --teach` bundles: teach.json's `start` lists the files of start/ (none: the model alone), the model and a label. */
export interface BundledStart {
  files: string[];
  label: string;
  /** The model (given with --model; a checkpoint records its own). */
  model?: Project['model'];
}

/** The site's bundled start, if it has one (teach.json's `start`, files in start/, relative to the page). */
export async function bundledStart(base: string, current: Project['model']): Promise<StartChoice | undefined> {
  const r = await fetch(new URL('teach.json', base));
  if (!r.ok) throw new Error(`teach.json: ${r.status} ${r.statusText} (the site is incomplete)`);
  const spec = ((await r.json()) as { start?: BundledStart }).start;
  if (!spec) return undefined;
  const files: NamedBytes[] = [];
  for (const name of spec.files) {
    const f = await fetch(new URL(`start/${encodeURIComponent(name)}`, base));
    if (!f.ok) throw new Error(`start/${name}: ${f.status} ${f.statusText}`);
    files.push({ name, bytes: new Uint8Array(await f.arrayBuffer()) });
  }
  const model = spec.model ?? current;
  if (files.length === 0) return { model, start: { kind: 'none', label: 'none (random initialization)' } };
  const choice = await startFromFiles(files, model);
  return { model: choice.model ?? model, start: { ...choice.start, kind: 'bundled', label: `${choice.start.label} (bundled with this page)` } };
}
