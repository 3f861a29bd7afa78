/**
 * The page of `mobilezoo export --web`: choose, drop or film an image, see the top classes as bars.
 * It exposes `window.mobilezoo.classify(source, k)` and `window.mobilezoo.ready` for scripts and tests.
 */
import { describePreprocessing } from '../data/preprocessing.js';
import { type ClassScore, humanBytes } from '../report/metrics.js';
import { type OrtWebModule, webBackend } from '../runtime/web-backend.js';
import { type Classification, type WebClassifier, createWebClassifier } from './classifier.js';
import { type PixelSource, imageDataOf } from './pixels.js';
import type { WebSidecar } from './sidecar.js';

export interface PageApi {
  /** Resolves with the sidecar once the model is loaded (rejects if it cannot be). */
  ready: Promise<WebSidecar>;
  /** The k (default 5) most probable classes of an image URL, element, canvas or ImageData. */
  classify(source: PixelSource, k?: number): Promise<ClassScore[]>;
}

declare global {
  interface Window {
    mobilezoo: PageApi;
  }
}

export interface PageOptions {
  ort: OrtWebModule;
  /** Absolute URL of the folder holding onnxruntime-web's .wasm and .mjs loader. */
  wasmPaths: string;
  modelUrl: string;
  sidecarUrl: string;
}

function element<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page: no element #${id}`);
  return e as T;
}

function showBars(list: HTMLOListElement, top: ClassScore[]): void {
  list.replaceChildren(
    ...top.map((t) => {
      const item = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = t.label;
      label.title = t.label; // the whole name, when the column cuts it
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.setProperty('--p', String(t.probability));
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = `${(t.probability * 100).toFixed(1)}%`;
      item.append(label, bar, value);
      return item;
    }),
  );
}

export function startPage(o: PageOptions): PageApi {
  // Up to 4 threads where the page is cross-origin isolated, else 1 (see webBackend).
  const backend = webBackend(o.ort, { wasmPaths: o.wasmPaths });
  const ui = {
    name: element<HTMLHeadingElement>('model-name'),
    info: element<HTMLParagraphElement>('model-info'),
    file: element<HTMLInputElement>('file'),
    drop: element<HTMLElement>('input'),
    camera: element<HTMLButtonElement>('camera'),
    preview: element<HTMLImageElement>('preview'),
    video: element<HTMLVideoElement>('video'),
    top: element<HTMLOListElement>('top'),
    latency: element<HTMLParagraphElement>('latency'),
    preprocessing: element<HTMLElement>('preprocessing'),
  };
  const loading: Promise<WebClassifier> = createWebClassifier({ model: o.modelUrl, sidecar: o.sidecarUrl, backend });
  const ready = loading.then((c) => c.sidecar);

  const run = async (source: PixelSource, k = 5): Promise<Classification> => (await loading).classify(await imageDataOf(source), k);
  const show = (r: Classification) => {
    showBars(ui.top, r.top);
    const { preprocess, inference } = r.ms;
    ui.latency.textContent = `last classification: ${(preprocess + inference).toFixed(1)} ms (preprocessing ${preprocess.toFixed(1)} ms, model ${inference.toFixed(1)} ms)`;
  };
  const fail = (e: unknown) => {
    ui.info.textContent = `error: ${(e as Error).message}`;
    ui.info.classList.add('error');
  };

  ready.then((s) => {
    const title = s.title ?? s.model;
    document.title = `${title} · mobilezoo`;
    ui.name.textContent = title;
    const size = s.inputSize.join('x');
    ui.info.textContent = `${s.title ? `${s.model} · ` : ''}${s.quantization ?? 'float32'} · ${s.classNames.length} classes · input ${size} · ${s.file.name} ${humanBytes(s.file.bytes)} · from ${s.source}`;
    ui.preprocessing.textContent = `preprocessing: ${describePreprocessing(s.preprocessing)}`;
    ui.drop.classList.remove('disabled');
  }, fail);

  let stopCamera: (() => void) | undefined;
  const classifyFile = async (file: File) => {
    stopCamera?.();
    URL.revokeObjectURL(ui.preview.src);
    ui.preview.src = URL.createObjectURL(file);
    ui.preview.hidden = false;
    await ui.preview.decode();
    show(await run(ui.preview));
  };
  ui.file.addEventListener('change', () => {
    const f = ui.file.files?.[0];
    if (f) classifyFile(f).catch(fail);
  });
  ui.drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.drop.classList.add('over');
  });
  ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
  ui.drop.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) classifyFile(f).catch(fail);
  });

  // Insecure origins (plain http other than localhost) and some browsers have no camera API.
  if (typeof navigator.mediaDevices?.getUserMedia === 'function') {
    ui.camera.hidden = false;
    ui.camera.addEventListener('click', () => {
      if (stopCamera) return stopCamera();
      startCamera().catch(fail);
    });
  }
  const startCamera = async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    let live = true;
    stopCamera = () => {
      live = false;
      stream.getTracks().forEach((t) => t.stop());
      ui.video.hidden = true;
      ui.camera.textContent = 'Use the camera';
      stopCamera = undefined;
    };
    ui.preview.hidden = true;
    ui.video.hidden = false;
    ui.video.srcObject = stream;
    ui.camera.textContent = 'Stop the camera';
    await ui.video.play();
    // One frame at a time: the next is read once the last one is shown.
    while (live) {
      const r = await run(ui.video);
      if (live) show(r);
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  };

  window.mobilezoo = { ready, classify: async (source, k = 5) => (await run(source, k)).top };
  return window.mobilezoo;
}
