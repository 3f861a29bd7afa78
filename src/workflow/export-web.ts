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
import { checkpointFile, loadModel, readCheckpointRecord } from './checkpoints.js';
import { moduleGraph } from './module-graph.js';

export interface ExportWebOptions extends ClassifierSource {
  /** The site's folder: new, empty, or a previous export --web (replaced). */
  dir: string;
  /**
   * The teach page instead of the classify page (src/web/teach): the checkpoint / weights / model, if
   * given, are bundled as its starting point (start/), not exported to ONNX.
   */
  teach?: boolean;
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
  /** What model.onnx was made from (with teach: the bundled start, or 'none'). */
  source: string;
  /** The classify page's sidecar (absent with teach). */
  sidecar?: WebSidecar;
  /** With teach: the files of start/ (the bundled weights). */
  teach?: { start: string[] };
  /** The export of a network (absent when an ONNX file was copied). */
  onnx?: ExportResult;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist');
/** The page's module; everything it imports is copied with it. */
const PAGE_ENTRY = join(DIST, 'web', 'page.js');
const SITE_ASSETS = join(ROOT, 'src', 'web', 'site');
const PAGE_FILES = ['index.html', 'page.css'];
/** The teach page's module and its worker's; the teach site's page files (index.html is teach.html, classify.html the classify page the teach page zips). */
const TEACH_ENTRY = join(DIST, 'web', 'teach', 'teach-page.js');
const WORKER_ENTRY = join(DIST, 'web', 'trainer-worker-main.js');
const TEACH_PAGE_FILES = ['index.html', 'teach.css', 'classify.html', 'page.css', 'teach.json', 'vendor/fflate.js'];
/** The one package the teach page imports (zip reading and writing), named by its import map; workers import none. */
const TEACH_PACKAGES = ['fflate'];
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

/**
 * The compiled browser modules, checked to import nothing outside them (the teach page: its import
 * map's packages, its worker nothing) and to be built from the current sources.
 */
async function browserModules(teach = false): Promise<string[]> {
  for (const entry of teach ? [PAGE_ENTRY, TEACH_ENTRY, WORKER_ENTRY] : [PAGE_ENTRY]) {
    if (!existsSync(entry)) throw new Error(`${entry} not found: build the package first (npm run build)`);
  }
  const page = await moduleGraph(teach ? [PAGE_ENTRY, TEACH_ENTRY] : [PAGE_ENTRY]);
  const worker = await moduleGraph(teach ? [WORKER_ENTRY] : []);
  const outside = [...page.external.filter((e) => !(teach && TEACH_PACKAGES.includes(e.specifier))), ...worker.external][0];
  if (outside) throw new Error(`${outside.from} imports '${outside.specifier}', which the browser cannot load`);
  const files = [...new Set([...page.files, ...worker.files])];
  for (const file of files) {
    const source = join(ROOT, 'src', relative(DIST, file)).replace(/\.js$/, '.ts');
    if (existsSync(source) && (await stat(source)).mtimeMs > (await stat(file)).mtimeMs) {
      throw new Error(`${file} is older than ${source}: rebuild the package (npm run build)`);
    }
  }
  return files;
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

/** The site's files (relative, '/'-separated): the page, the model and its sidecar, ort/ and lib/ (the teach site: its pages, start/ and no model). */
function siteFiles(modules: string[], teach?: TeachStart): string[] {
  const own = teach ? [...TEACH_PAGE_FILES, ...teach.files.map((f) => `start/${basename(f.path)}`)] : [...PAGE_FILES, MODEL, SIDECAR];
  return [...own, ...ORT_FILES.map((f) => `ort/${f}`), ...modules.map(libPath)].sort();
}

/** What the teach site bundles as its start (teach.json's `start` and its files in start/, read by src/web/teach/start.ts), from the checkpoint / weights / model given. */
interface TeachStart {
  files: { path: string; folder?: string }[];
  spec?: { files: string[]; label: string; model?: { name: string; options: Record<string, unknown> } };
  source: string;
  model: string;
}

async function teachStart(o: ExportWebOptions): Promise<TeachStart> {
  if (o.onnx) throw new Error('--teach: the teach page trains a network; give --checkpoint, --weights with --model, or --model to start from (or none), not an ONNX file');
  if (!o.checkpoint && !o.weights && !o.model) return { files: [], source: 'none', model: 'mobilenet_v3_small' };
  // Loaded once here, so that the page is never given weights that do not load.
  const { model, source } = await loadModel(o);
  if (o.checkpoint) {
    const { record, path } = await readCheckpointRecord(o.checkpoint);
    const weights = checkpointFile(record, path, (o.ema ?? true) && record.files.ema ? 'ema' : 'weights');
    const files = [{ path }, weights];
    return { files, spec: { files: files.map((f) => basename(f.path)), label: basename(path) }, source, model: model.modelName };
  }
  const options = Object.fromEntries(Object.entries(model.options).filter(([k]) => k !== 'numClasses' && k !== 'seed'));
  const spec = { files: o.weights ? [basename(o.weights)] : [], label: o.weights ? basename(o.weights) : model.modelName, model: { name: model.modelName, options } };
  return { files: o.weights ? [{ path: resolve(o.weights) }] : [], spec, source, model: model.modelName };
}

const libPath = (file: string) => ['lib', ...relative(DIST, file).split(sep)].join('/');

/** index.html, page.css, onnxruntime-web (ort/) and the compiled modules (lib/, as laid out in dist/); for teach, its pages, fflate, teach.json and start/. */
async function copyPage(dir: string, modules: string[], teach?: TeachStart): Promise<void> {
  if (teach) {
    await copyFile(join(SITE_ASSETS, 'teach.html'), join(dir, 'index.html'));
    await copyFile(join(SITE_ASSETS, 'teach.css'), join(dir, 'teach.css'));
    await copyFile(join(SITE_ASSETS, 'index.html'), join(dir, 'classify.html'));
    await copyFile(join(SITE_ASSETS, 'page.css'), join(dir, 'page.css'));
    await mkdir(join(dir, 'vendor'));
    await copyFile(join(dirname(require.resolve('fflate')), '..', 'esm', 'browser.js'), join(dir, 'vendor', 'fflate.js'));
    // The classify page the teach page zips for a trained model: its own modules, not the teach page's.
    const classify = (await moduleGraph([PAGE_ENTRY])).files;
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const manifest = { classifyPage: ['classify.html', 'page.css', ...ORT_FILES.map((f) => `ort/${f}`), ...classify.map(libPath)], exporter: `mobilezoo ${pkg.version}`, ...(teach.spec ? { start: teach.spec } : {}) };
    await writeFile(join(dir, 'teach.json'), JSON.stringify(manifest, null, 2) + '\n');
    if (teach.files.length) await mkdir(join(dir, 'start'));
    for (const f of teach.files) await copyFile(f.path, join(dir, 'start', basename(f.path)));
  } else for (const f of PAGE_FILES) await copyFile(join(SITE_ASSETS, f), join(dir, f));
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
  const modules = await browserModules(o.teach);
  if (o.onnx && !o.teach) await checkOnnxSource({ ...o, onnx: o.onnx });
  refuseOutputsOverInputs([{ path: dir, what: 'the site folder', folder: true }], await classifierInputs(o));
  await checkTarget(dir);
  const teach = o.teach ? await teachStart(o) : undefined;
  const names = siteFiles(modules, teach);
  const writes = new Set(names);
  const folder = await OutputFolder.open(dir, { command: o.command ?? 'mobilezoo export --web', writes: names, log: o.log });
  try {
    const left = await removeDeadTempSiblings(dir);
    if (left.length) o.log?.(`removed ${left.join(', ')}: left by an export that did not finish`);
    const tmp = tempPathFor(dir);
    try {
      await mkdir(tmp);
      const { source, onnx } = teach ? { source: teach.source, onnx: undefined } : await writeModel(o, join(tmp, MODEL));
      const sidecar = teach ? undefined : await sidecarOf(join(tmp, MODEL), source, o.threads, o.title);
      try {
        await copyPage(tmp, modules, teach);
        if (sidecar) await writeFile(join(tmp, SIDECAR), JSON.stringify(sidecar, null, 2) + '\n');
      } catch (e) {
        throw new WriteError(tmp, e);
      }
      // Everything is written and checked: now into the site, the page's entry (sidecar / index) last.
      const last = teach ? 'index.html' : SIDECAR;
      const order = [...names.filter((n) => n !== last), last];
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
      const model = sidecar?.model ?? teach!.model;
      return { dir, files, bytes: files.reduce((a, f) => a + f.bytes, 0), model, source, sidecar, onnx, ...(teach ? { teach: { start: teach.files.map((f) => basename(f.path)) } } : {}) };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  } finally {
    await folder.close();
  }
}
