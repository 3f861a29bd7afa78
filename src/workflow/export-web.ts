/**
 * `mobilezoo export --web DIR`: a static site that classifies images in the browser, offline, from any
 * static server. DIR holds index.html and page.css, the model (model.onnx) and its sidecar (model.json),
 * onnxruntime-web's wasm build (ort/) and the compiled browser modules (lib/: src/web and the
 * src/data preprocessing it imports, copied from dist/ keeping their relative imports).
 *
 * The site is built and checked in a temporary sibling of DIR, then its files are renamed into DIR,
 * which is locked meanwhile and keeps a manifest of what the export wrote (src/io/output-folder.ts):
 * files the user added are kept, files of a previous export the user changed are never replaced (the
 * export refuses, naming them), and files of a previous export that this one does not write are removed.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WriteError, removeDeadTempSiblings, tempPathFor } from '../io/atomic.js';
import { LOCK_FILE } from '../io/folder-lock.js';
import { MANIFEST_FILE, OutputFolder } from '../io/output-folder.js';
import { refuseOutputsOverInputs } from '../io/output-guard.js';
import { RefusedError } from '../io/refused.js';
import { SIDECAR_FORMAT, SIDECAR_VERSION, type WebSidecar } from '../web/sidecar.js';
import { type ClassifierSource, classifierInputs, openClassifier, readOnnxFile } from './classifier.js';
import { type ExportResult, exportOnnx } from './export.js';
import { moduleGraph } from './module-graph.js';

export interface ExportWebOptions extends ClassifierSource {
  /** The site's folder: new, empty, or a previous export --web (replaced). */
  dir: string;
  /** Square input size when exporting a network (default: the checkpoint's or the model's). */
  input?: number;
  threads?: number;
  /** The page's title (default: the model's name). */
  title?: string;
  /** The command line, kept in the folder's lock. */
  command?: string;
  /** Notes: files of a previous export removed or kept, what a killed export left. */
  log?: (message: string) => void;
}

export interface ExportWebResult {
  dir: string;
  /** Every file written, relative to dir, with its size. */
  files: { path: string; bytes: number }[];
  bytes: number;
  model: string;
  /** What model.onnx was made from. */
  source: string;
  sidecar: WebSidecar;
  /** The export of a network (absent when an ONNX file was copied). */
  onnx?: ExportResult;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');
/** The page's module; everything it imports is copied with it. */
const PAGE_ENTRY = join(DIST, 'web', 'page.js');
const SITE_ASSETS = join(ROOT, 'src', 'web', 'site');
const PAGE_FILES = ['index.html', 'page.css'];
/** onnxruntime-web's wasm-only ESM build, its Emscripten loader and the (SIMD, threads-capable) binary. */
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
const MODEL = 'model.onnx';
const SIDECAR = 'model.json';
/** The metadata the page needs from an ONNX file. */
const REQUIRED_METADATA = ['mobilezoo.preprocessing', 'mobilezoo.class_names'];

const require = createRequire(import.meta.url);

/** Refuses a folder that is neither new, empty, nor a previous export (with its manifest). */
async function checkTarget(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  if (!(await stat(dir)).isDirectory()) throw new RefusedError(`${dir}: not a folder`);
  const entries = (await readdir(dir)).filter((n) => n !== LOCK_FILE);
  if (entries.length === 0 || entries.includes(MANIFEST_FILE)) return;
  throw new RefusedError(`${dir}: the folder is not empty and not a previous export --web (no ${MANIFEST_FILE}); give a new or empty folder`);
}

/** The compiled browser modules, checked to import nothing outside them and to be built from the current sources. */
async function browserModules(): Promise<string[]> {
  if (!existsSync(PAGE_ENTRY)) throw new Error(`${PAGE_ENTRY} not found: build the package first (npm run build)`);
  const graph = await moduleGraph([PAGE_ENTRY]);
  const outside = graph.external[0];
  if (outside) throw new Error(`${outside.from} imports '${outside.specifier}', which the browser cannot load`);
  for (const file of graph.files) {
    const source = join(ROOT, 'src', relative(DIST, file)).replace(/\.js$/, '.ts');
    if (existsSync(source) && (await stat(source)).mtimeMs > (await stat(file)).mtimeMs) {
      throw new Error(`${file} is older than ${source}: rebuild the package (npm run build)`);
    }
  }
  return graph.files;
}

/** Checks that an ONNX file can be put on the page as it is, before anything is written. */
async function checkOnnxSource(o: ExportWebOptions & { onnx: string }): Promise<void> {
  if (o.checkpoint || o.weights || o.model) throw new Error('give an ONNX file or a checkpoint / weights / model, not both');
  if (o.input !== undefined) throw new Error(`${o.onnx}: an exported model keeps its input size (export it again with --input ${o.input})`);
  const { meta } = await readOnnxFile(o.onnx);
  const missing = REQUIRED_METADATA.find((k) => !meta.has(k));
  if (missing) throw new Error(`${o.onnx}: the ONNX metadata has no ${missing} (the page needs the model's preprocessing and class names: export the model with mobilezoo export)`);
}

/** model.onnx: the given ONNX file, or the export of the checkpoint / weights / model. */
async function writeModel(o: ExportWebOptions, path: string): Promise<{ source: string; onnx?: ExportResult }> {
  if (o.onnx) {
    await copyFile(o.onnx, path);
    return { source: resolve(o.onnx) };
  }
  const onnx = await exportOnnx({ ...o, out: path });
  return { source: onnx.weights, onnx };
}

/** What quantize recorded in the metadata, in words. */
function quantization(meta: ReadonlyMap<string, string>): string | undefined {
  const v = meta.get('mobilezoo.quantization');
  if (!v) return undefined;
  try {
    const q = JSON.parse(v) as { format?: string; method?: string; calibrationImages?: number };
    return `int8 (${[q.format, q.method && `${q.method} calibration${q.calibrationImages ? ` on ${q.calibrationImages} images` : ''}`].filter(Boolean).join(', ')})`;
  } catch {
    return 'int8';
  }
}

/** The sidecar of model.onnx, read back from the file (so it says what its metadata says) and checked by opening it in onnxruntime. */
async function sidecarOf(path: string, source: string, threads?: number, title?: string): Promise<WebSidecar> {
  const c = await openClassifier({ onnx: path }, { threads });
  await c.dispose();
  const options = c.metadata!.get('mobilezoo.options');
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    format: SIDECAR_FORMAT,
    version: SIDECAR_VERSION,
    model: c.model,
    ...(options ? { options: JSON.parse(options) as Record<string, unknown> } : {}),
    classNames: c.classNames,
    preprocessing: c.preprocessing,
    inputSize: c.preprocessing.inputSize,
    file: { name: basename(path), bytes: (await stat(path)).size, input: c.io!.input, output: c.io!.output },
    // Only the file name: the site is meant to be published, the folders are the exporter's.
    source: basename(source),
    exporter: `mobilezoo ${pkg.version}`,
    ...(title ? { title } : {}),
    ...(quantization(c.metadata!) ? { quantization: quantization(c.metadata!) } : {}),
  };
}

/** The site's files (relative, '/'-separated): the page, the model and its sidecar, ort/ and lib/. */
function siteFiles(modules: string[]): string[] {
  return [...PAGE_FILES, MODEL, SIDECAR, ...ORT_FILES.map((f) => `ort/${f}`), ...modules.map(libPath)].sort();
}

const libPath = (file: string) => ['lib', ...relative(DIST, file).split(sep)].join('/');

/** index.html, page.css, onnxruntime-web (ort/) and the compiled modules (lib/, as laid out in dist/). */
async function copyPage(dir: string, modules: string[]): Promise<void> {
  for (const f of PAGE_FILES) await copyFile(join(SITE_ASSETS, f), join(dir, f));
  const ortDir = dirname(require.resolve('onnxruntime-web'));
  await mkdir(join(dir, 'ort'));
  for (const f of ORT_FILES) await copyFile(join(ortDir, f), join(dir, 'ort', f));
  for (const file of modules) {
    const dest = join(dir, libPath(file));
    await mkdir(dirname(dest), { recursive: true });
    // The source maps point into src/, which the site does not hold.
    await writeFile(dest, (await readFile(file, 'utf8')).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
  }
}

export async function exportWeb(o: ExportWebOptions): Promise<ExportWebResult> {
  const dir = resolve(o.dir);
  const modules = await browserModules();
  if (o.onnx) await checkOnnxSource({ ...o, onnx: o.onnx });
  refuseOutputsOverInputs([{ path: dir, what: 'the site folder', folder: true }], await classifierInputs(o));
  await checkTarget(dir);
  const names = siteFiles(modules);
  const writes = new Set(names);
  const folder = await OutputFolder.open(dir, { command: o.command ?? 'mobilezoo export --web', writes: names, log: o.log });
  try {
    const left = await removeDeadTempSiblings(dir);
    if (left.length) o.log?.(`removed ${left.join(', ')}: left by an export that did not finish`);
    const tmp = tempPathFor(dir);
    try {
      await mkdir(tmp);
      const { source, onnx } = await writeModel(o, join(tmp, MODEL));
      const sidecar = await sidecarOf(join(tmp, MODEL), source, o.threads, o.title);
      try {
        await copyPage(tmp, modules);
        await writeFile(join(tmp, SIDECAR), JSON.stringify(sidecar, null, 2) + '\n');
      } catch (e) {
        throw new WriteError(tmp, e);
      }
      // Everything is written and checked: now into the site, the sidecar last.
      const order = [...names.filter((n) => n !== SIDECAR), SIDECAR];
      await folder.track(order, async () => {
        for (const n of order) {
          try {
            await mkdir(dirname(join(dir, n)), { recursive: true });
            await rename(join(tmp, n), join(dir, n));
          } catch (e) {
            throw new WriteError(join(dir, n), e);
          }
        }
      });
      for (const f of folder.files.filter((f) => !writes.has(f))) {
        if (!(await folder.removeOwn(f))) o.log?.(`${join(dir, f)}: kept (a file of a previous export, changed since; this export does not write it)`);
      }
      const files = await Promise.all(names.map(async (path) => ({ path, bytes: (await stat(join(dir, path))).size })));
      return { dir, files, bytes: files.reduce((a, f) => a + f.bytes, 0), model: sidecar.model, source, sidecar, onnx };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } finally {
    await folder.close();
  }
}
