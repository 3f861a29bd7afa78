/**
 * What a trained project gives: the checkpoint's files (what `mobilezoo test`, `predict`, `export`,
 * `quantize` and `train --pretrained` read), the ONNX model with its metadata, the state dict as a .pth
 * for PyTorch, and a classify-only page (the `export --web` site) for the model, as one zip.
 */
import { readSafetensors } from '../../io/safetensors.js';
import { writePth } from '../../io/pth-writer.js';
import { alignedStoredZip } from '../../io/zip-writer.js';
import type { Network } from '../../models/network.js';
import { createModel } from '../../models/registry.js';
import { classifierOnnx } from '../../workflow/model-metadata.js';
import { SIDECAR_FORMAT, SIDECAR_VERSION, type WebSidecar } from '../sidecar.js';
import type { Project, TeachResult } from './project.js';
import type { BundledStart } from './start.js';

/** The site's list of the classify page's files (written by `export --web --teach`). */
export interface SiteManifest {
  /** Paths relative to the site of the classify page's files: index.html (from classify.html), page.css, ort/, lib/. */
  classifyPage: string[];
  exporter: string;
  /** The bundled start (src/web/teach/start.ts). */
  start?: BundledStart;
}

export function trainedNetwork(p: Project, r: TeachResult): Network {
  const weights = r.files.find((f) => f.name.endsWith('.safetensors') && !f.name.endsWith('.optim.safetensors') && !f.name.endsWith('.ema.safetensors'));
  if (!weights) throw new Error('the result has no weights file');
  const network = createModel(p.model.name, r.modelOptions);
  network.loadStateDict(readSafetensors(weights.bytes, weights.name), { source: weights.name });
  return network;
}

export function onnxOf(p: Project, r: TeachResult, network = trainedNetwork(p, r)): Uint8Array {
  const json = r.files.find((f) => f.name.endsWith('.json'));
  const dataset = json ? (JSON.parse(new TextDecoder().decode(json.bytes)) as { dataset: { name: string; options: object; trainSize: number; testSize: number } }).dataset : undefined;
  return classifierOnnx(network, {
    classNames: r.classNames, preprocessing: r.preprocessing, dataset: 'folder',
    ...(dataset ? { datasetRecord: { name: dataset.name, options: dataset.options, trainSize: dataset.trainSize, testSize: dataset.testSize } } : {}),
  });
}

export function sidecarOf(p: Project, r: TeachResult, onnx: Uint8Array, exporter: string): WebSidecar {
  return {
    format: SIDECAR_FORMAT, version: SIDECAR_VERSION, model: p.model.name, options: r.modelOptions, classNames: r.classNames,
    preprocessing: r.preprocessing, inputSize: r.preprocessing.inputSize,
    file: { name: 'model.onnx', bytes: onnx.length, input: 'input', output: 'logits' },
    source: r.files.find((f) => f.name.endsWith('.json'))?.name ?? 'teach page', exporter,
  };
}

export function pthOf(p: Project, r: TeachResult): Uint8Array {
  return writePth(trainedNetwork(p, r).stateDict());
}

/** The classify-only page of the trained model as a zip of a folder: the site's classify page files, model.onnx and model.json. */
export async function classifyPageZip(p: Project, r: TeachResult, base: string, folder: string): Promise<Uint8Array> {
  const manifest = (await (await fetch(new URL('teach.json', base))).json()) as SiteManifest;
  const entries = new Map<string, Uint8Array>();
  for (const path of manifest.classifyPage) {
    const res = await fetch(new URL(path, base));
    if (!res.ok) throw new Error(`${path}: ${res.status} ${res.statusText} (the site is incomplete)`);
    entries.set(`${folder}/${path === 'classify.html' ? 'index.html' : path}`, new Uint8Array(await res.arrayBuffer()));
  }
  const onnx = onnxOf(p, r);
  entries.set(`${folder}/model.onnx`, onnx);
  entries.set(`${folder}/model.json`, new TextEncoder().encode(JSON.stringify(sidecarOf(p, r, onnx, manifest.exporter), null, 2) + '\n'));
  return alignedStoredZip(entries);
}

/** Offers bytes as a download. */
export function download(name: string, bytes: Uint8Array, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
