/**
 * The teach page (`mobilezoo export --web DIR --teach`): start from a model and weights, collect classes
 * of images (files, folders, webcam), train in a Web Worker, evaluate on held-out images, use the model,
 * keep the project (IndexedDB, one file) and download what it made. State is the Project (project.ts),
 * saved after every change; views are redrawn from it (the Classes tab is classes-view.ts, the pictures
 * views.ts). `window.teach` is for scripts and tests.
 */
import type { EpochMetrics } from '../../report/csv.js';
import { describePreprocessing } from '../../data/preprocessing.js';
import type { Image } from '../../data/transforms.js';
import { createModel, listModels, modelOptionNames } from '../../models/registry.js';
import { classifierName } from '../../nn/module.js';
import { type OrtWebModule, webBackend } from '../../runtime/web-backend.js';
import { type WebClassifier, createWebClassifier } from '../classifier.js';
import { imageDataOf, rgbFromRgba } from '../pixels.js';
import { RemoteTrainer } from '../trainer-client.js';
import { classifyPageZip, download, onnxOf, pthOf, sidecarOf } from './downloads.js';
import { type Project, type ProjectImage, DEFAULT_SETTINGS, newProject, problems } from './project.js';
import { readProjectFile, writeProjectFile } from './project-file.js';
import { RunControl, trainProject } from './session.js';
import { type NamedBytes, type StartChoice, bundledStart, startFromFiles } from './start.js';
import { deleteProject, loadProject, saveProject } from './store.js';
import { $, drawBars, drawChart, drawConfusion, duration, el } from './views.js';
import { dropZone, mountClasses } from './classes-view.js';

export interface TeachOptions {
  ort: OrtWebModule;
  /** The site's URL (document.baseURI): ort/, lib/, start/ and teach.json are relative to it. */
  base: string;
}

export interface TeachApi {
  /** Resolves once the project is loaded and shown. */
  ready: Promise<void>;
  project(): Project;
  /** Resolves when the current training run (if any) has ended. */
  idle(): Promise<void>;
  /** Resolves once the last change is in IndexedDB. */
  saved(): Promise<void>;
}

declare global {
  interface Window {
    teach: TeachApi;
  }
}


/** RGB pixels of an image file at its own size (EXIF orientation applied, alpha dropped). */
async function decodeBlob(blob: Blob): Promise<Image> {
  const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  try {
    return rgbFromRgba(await imageDataOf(bitmap));
  } finally {
    bitmap.close();
  }
}



export function startTeach(o: TeachOptions): TeachApi {
  let project: Project = newProject();
  let bundled: StartChoice | undefined;
  let running: Promise<void> | undefined;
  let control: RunControl | undefined;
  let remote: Promise<RemoteTrainer> | undefined;
  let classifier: { key: TeachResultKey; c: Promise<WebClassifier> } | undefined;
  let saving: Promise<void> = Promise.resolve();
  const thumbs = new Map<string, string>();
  const backend = webBackend(o.ort, { wasmPaths: new URL('ort/', o.base).href });
  type TeachResultKey = string;

  // Messages: in the page, never console-only.
  const messages = $<HTMLDivElement>('messages');
  const say = (text: string, kind: 'error' | 'info' = 'error') => {
    messages.textContent = text;
    messages.className = `messages${kind === 'info' ? ' info' : ''}`;
    messages.hidden = false;
  };
  const clear = () => (messages.hidden = true);
  const guard = <A extends unknown[]>(fn: (...a: A) => Promise<void> | void) => (...a: A) => {
    Promise.resolve()
      .then(() => fn(...a))
      .catch((e: unknown) => say((e as Error).message ?? String(e)));
  };
  addEventListener('unhandledrejection', (e) => say(`Something failed: ${(e.reason as Error)?.message ?? String(e.reason)}`));

  const save = () => {
    $('saved').textContent = 'Saving…';
    const snapshot = project;
    saving = saving.then(() => saveProject(snapshot)).then(
      () => void ($('saved').textContent = `Saved in this browser · ${countImages()} images`),
      (e: Error) => say(`The project could not be saved in this browser: ${e.message}. Export it to keep a copy.`),
    );
  };
  const countImages = () => project.classes.reduce((n, c) => n + c.images.length, 0);
  const thumbUrl = (im: ProjectImage) => {
    let u = thumbs.get(im.id);
    if (!u) thumbs.set(im.id, (u = URL.createObjectURL(im.blob)));
    return u;
  };

  // Tabs.
  const tabs = [...document.querySelectorAll<HTMLButtonElement>('#tabs button')];
  const show = (name: string) => {
    for (const t of tabs) t.setAttribute('aria-selected', String(t.dataset.tab === name));
    for (const s of document.querySelectorAll<HTMLElement>('section.tab')) s.hidden = s.id !== `tab-${name}`;
    if (name !== 'use') stopLive?.();
  };
  for (const t of tabs) t.addEventListener('click', () => show(t.dataset.tab!));
  for (const b of document.querySelectorAll<HTMLButtonElement>('[data-goto]')) b.addEventListener('click', () => show(b.dataset.goto!));

  // Start: model, options, weights.
  const modelSelect = $<HTMLSelectElement>('model');
  modelSelect.replaceChildren(...listModels().map((m) => el('option', { value: m.name, textContent: `${m.name} · ${m.description}` })));
  const renderStart = () => {
    modelSelect.value = project.model.name;
    const accepts = modelOptionNames(project.model.name);
    $<HTMLSelectElement>('width').disabled = !accepts.includes('widthMult');
    $<HTMLSelectElement>('width').value = project.model.options.widthMult !== undefined ? String(project.model.options.widthMult) : '';
    $<HTMLSelectElement>('stem').value = (project.model.options.stem as string | undefined) ?? '';
    $('start-label').textContent = project.start.label;
    const pre = project.start.preprocessing;
    $('start-preprocessing').textContent = pre ? `Preprocessing of the source: ${describePreprocessing(pre)}` : 'Preprocessing: fit to the input size, normalized with the training images\' own statistics.';
    for (const r of document.querySelectorAll<HTMLInputElement>('input[name="weights"]')) r.checked = r.value === project.start.kind;
    $('weights-drop').hidden = project.start.kind !== 'file';
    renderFreeze();
  };
  const setModel = (name: string, options: Record<string, unknown>) => {
    const accepted = modelOptionNames(name);
    const kept = Object.fromEntries(Object.entries(options).filter(([k, v]) => accepted.includes(k) && v !== undefined && v !== ''));
    createModel(name, { ...kept, numClasses: 2 }); // refuses options the model cannot take, with the reason
    project = { ...project, model: { name, options: kept } };
  };
  const changeModel = guard(() => {
    const width = $<HTMLSelectElement>('width').value;
    const stem = $<HTMLSelectElement>('stem').value;
    const name = modelSelect.value;
    const options = { ...(width ? { widthMult: Number(width) } : {}), ...(stem ? { stem } : {}) };
    if (project.start.weights && name !== project.model.name) {
      project = { ...project, start: { kind: 'none', label: 'none (random initialization)' } };
      say('The starting weights were for the other model: starting from none now. Choose weights for this model if you have them.', 'info');
    }
    setModel(name, options);
    save();
    renderStart();
  });
  for (const id of ['model', 'width', 'stem']) $(id).addEventListener('change', changeModel);

  const useStart = (choice: StartChoice) => {
    if (choice.model) setModel(choice.model.name, choice.model.options);
    project = { ...project, start: choice.start };
    save();
    renderStart();
    say(`Starting from ${choice.start.label}.`, 'info');
  };
  const readFiles = async (files: File[]): Promise<NamedBytes[]> => Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  const weightsFromFiles = guard(async (files: File[]) => {
    if (files.length === 0) return;
    clear();
    useStart(await startFromFiles(await readFiles(files), project.model));
  });
  $<HTMLInputElement>('weights-file').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    weightsFromFiles([...(input.files ?? [])]);
    input.value = '';
  });
  dropZone($('weights-drop'), (dt) => weightsFromFiles([...dt.files]));
  for (const r of document.querySelectorAll<HTMLInputElement>('input[name="weights"]')) {
    r.addEventListener('change', guard(() => {
      // 'file' waits for the files; the others start now.
      $('weights-drop').hidden = r.value !== 'file';
      if (r.value === 'none') {
        project = { ...project, start: { kind: 'none', label: 'none (random initialization)' } };
        save();
        renderStart();
      } else if (r.value === 'bundled' && bundled) useStart(bundled);
    }));
  }

  // Classes (classes-view.ts).
  const classes = mountClasses({
    project: () => project, changed: save, say, clear, guard, thumbUrl,
  });
  const renderClasses = classes.render;

  // Training settings.
  const renderFreeze = () => {
    const select = $<HTMLSelectElement>('freeze');
    const model = createModel(project.model.name, { ...project.model.options, numClasses: 2 });
    const head = classifierName(model);
    const blocks = [...model.children].filter(([n]) => n !== head).flatMap(([n, m]) => (m.children.size > 1 ? [...m.children.keys()].map((k) => `${n}.${k}`) : [n]));
    const options = [
      el('option', { value: 'backbone', textContent: `the classifier only (frozen backbone)` }),
      ...blocks.slice(Math.max(0, blocks.length - 6), -1).reverse().map((b) => el('option', { value: b, textContent: `the layers after ${b}` })),
      el('option', { value: 'none', textContent: 'every layer' }),
    ];
    select.replaceChildren(...options);
    select.value = options.some((x) => x.value === project.settings.freeze) ? project.settings.freeze : 'backbone';
  };
  const settingInputs = { epochs: 'epochs', lr: 'lr', batchSize: 'batch-size', heldOut: 'held-out', seed: 'seed' } as const;
  const renderSettings = () => {
    const s = project.settings;
    for (const [k, id] of Object.entries(settingInputs)) $<HTMLInputElement>(id).value = String(s[k as keyof typeof settingInputs]);
    $<HTMLInputElement>('augment').checked = s.augment;
    $<HTMLSelectElement>('freeze').value = s.freeze;
    $('cache-note').textContent = s.freeze === 'backbone' && !s.augment
      ? 'The backbone is frozen and the images are not augmented: each image goes through the network once, then only the classifier trains (fast).'
      : 'The network runs on every image at every step.';
  };
  const readSettings = () => {
    const num = (id: string) => Number($<HTMLInputElement>(id).value);
    project.settings = {
      ...project.settings,
      freeze: $<HTMLSelectElement>('freeze').value, epochs: num('epochs'), lr: num('lr'), batchSize: num('batch-size'),
      heldOut: num('held-out'), seed: num('seed'), augment: $<HTMLInputElement>('augment').checked,
    };
    renderSettings();
    renderClasses();
  };
  for (const id of ['freeze', 'epochs', 'lr', 'batch-size', 'held-out', 'seed', 'augment']) $(id).addEventListener('change', readSettings);

  // Train.
  const log = (m: string) => ($('log').textContent += `${m}\n`);
  const startWorker = async () => {
    const worker = new Worker(new URL('lib/web/trainer-worker-main.js', o.base), { type: 'module' });
    worker.addEventListener('error', (e) => say(`The training worker failed: ${e.message ?? 'could not start'}`));
    return RemoteTrainer.start(worker, { ortUrl: new URL('ort/ort.wasm.min.mjs', o.base).href, wasmPaths: new URL('ort/', o.base).href });
  };
  const setRunning = (on: boolean) => {
    $<HTMLButtonElement>('train').disabled = on;
    $<HTMLButtonElement>('pause').disabled = !on;
    $<HTMLButtonElement>('stop').disabled = !on;
    $('pause').textContent = 'Pause';
  };
  $('train').addEventListener('click', guard(async () => {
    clear();
    readSettings();
    const bad = problems(project);
    if (bad.length) throw new Error(bad.join('\n'));
    const ctl = (control = new RunControl());
    setRunning(true);
    $('log').textContent = '';
    const history: EpochMetrics[] = [];
    drawChart($('chart'), history, project.settings.epochs);
    const run = async () => {
      try {
        remote ??= startWorker();
        const result = await trainProject(project, {
          remote: await remote, control: ctl, decode: (blob) => decodeBlob(blob),
          events: {
            note: log,
            progress: (p) => {
              $('progress-bar').style.width = `${Math.min(100, (100 * p.done) / Math.max(1, p.total)).toFixed(1)}%`;
              const what = p.phase === 'preparing' ? 'reading images' : p.phase === 'embedding' ? 'computing embeddings' : p.phase === 'evaluating' ? `epoch ${p.epoch}/${p.epochs}: evaluating` : `epoch ${p.epoch}/${p.epochs}`;
              $('progress-text').textContent = `${ctl.isPaused ? 'paused · ' : ''}${what}${p.imagesPerSec ? ` · ${p.imagesPerSec.toFixed(0)} images/s · ETA ${duration(p.etaSeconds)}` : ''}`;
            },
            epoch: (row) => {
              history.push(row);
              drawChart($('chart'), history, project.settings.epochs);
              log(`epoch ${row.epoch}: train loss ${row.trainLoss.toFixed(4)}, accuracy ${(row.trainAcc * 100).toFixed(1)}%; held-out loss ${row.testLoss.toFixed(4)}, accuracy ${(row.testAcc * 100).toFixed(1)}% (${row.seconds.toFixed(1)} s)`);
            },
          },
        });
        if (!result) {
          $('progress-text').textContent = 'Stopped before the first epoch ended: nothing to keep.';
          return;
        }
        project = { ...project, result };
        classifier = undefined;
        save();
        renderResult();
        const last = result.history[result.history.length - 1]!;
        $('progress-bar').style.width = '100%';
        $('progress-text').textContent = `Done: ${result.history.length} epoch${result.history.length === 1 ? '' : 's'} in ${duration(result.seconds)}${result.cached ? ' (cached embeddings)' : ''} · held-out accuracy ${(result.evaluation.accuracy * 100).toFixed(1)}% · ${last.imagesPerSec.toFixed(0)} images/s`;
      } catch (e) {
        say(`Training failed: ${(e as Error).message}`);
        $('progress-text').textContent = 'Training failed.';
      } finally {
        setRunning(false);
        control = undefined;
      }
    };
    await (running = run());
  }));
  $('pause').addEventListener('click', () => {
    if (!control) return;
    if (control.isPaused) {
      control.play();
      $('pause').textContent = 'Pause';
    } else {
      control.pause();
      $('pause').textContent = 'Resume';
      $('progress-text').textContent = `paused · ${$('progress-text').textContent}`;
    }
  });
  $('stop').addEventListener('click', () => control?.stop());

  // Evaluate.
  const renderResult = () => {
    const r = project.result;
    for (const id of ['dl-checkpoint', 'dl-onnx', 'dl-pth', 'dl-page']) $<HTMLButtonElement>(id).disabled = !r;
    if (!r) {
      $('accuracy').textContent = 'Train the model to see how it does on images it has not trained on.';
      $('split').textContent = '';
      $('confusion').replaceChildren();
      $('confusion-help').textContent = '';
      $('cell-images').replaceChildren();
      drawChart($('chart'), [], project.settings.epochs);
      return;
    }
    drawChart($('chart'), r.history, Math.max(r.history.length, project.settings.epochs));
    if (!control) $('progress-text').textContent = `Trained ${r.history.length} epoch${r.history.length === 1 ? '' : 's'} on ${new Date(r.createdAt).toLocaleString()}${r.cached ? ' (cached embeddings)' : ''} · held-out accuracy ${(r.evaluation.accuracy * 100).toFixed(1)}%`;
    const ev = r.evaluation;
    const n = ev.predictions.length;
    $('accuracy').textContent = n ? `Held-out accuracy: ${(ev.accuracy * 100).toFixed(1)}% (${Math.round(ev.accuracy * n)} of ${n} images)` : 'No images were held out: set a held-out share to evaluate.';
    const per = r.classNames.map((name, k) => `${name}: ${ev.predictions.filter((p) => p.label === k).length}`);
    $('split').textContent = `Held out per class (seed ${project.settings.seed}, ${Math.round(project.settings.heldOut * 100)}%): ${per.join(' · ')}. Trained on the rest; held-out images have an orange frame in Classes.`;
    $('confusion-help').textContent = 'Rows: the true class; columns: the predicted one. Click a cell to see its images.';
    const byId = new Map(project.classes.flatMap((c) => c.images.map((im) => [im.id, im] as const)));
    drawConfusion($<HTMLTableElement>('confusion'), r.classNames, ev.confusion, (t, p, cell) => {
      for (const c of document.querySelectorAll('#confusion td.selected')) c.classList.remove('selected');
      cell.classList.add('selected');
      const images = ev.predictions.filter((x) => x.label === t && x.predicted === p).map((x) => byId.get(x.image)).filter((x): x is ProjectImage => !!x);
      $('cell-images').replaceChildren(
        el('p', { className: 'muted', textContent: `${images.length} image${images.length === 1 ? '' : 's'} of "${r.classNames[t]}" predicted as "${r.classNames[p]}"` }),
        ...images.map((im) => el('div', { className: 'thumb' }, el('img', { src: thumbUrl(im), alt: im.name, title: im.name }))),
      );
    });
    $('cell-images').replaceChildren();
  };

  // Use.
  const currentClassifier = () => {
    const r = project.result;
    if (!r) throw new Error('Train the model first (tab 3).');
    const key = r.createdAt;
    if (classifier?.key !== key) {
      const onnx = onnxOf(project, r);
      classifier = { key, c: createWebClassifier({ model: onnx, sidecar: sidecarOf(project, r, onnx, 'mobilezoo teach page'), backend }) };
    }
    return classifier.c;
  };
  const showUse = (top: Awaited<ReturnType<WebClassifier['classify']>>) => {
    drawBars($<HTMLOListElement>('bars'), top.top);
    $('use-latency').textContent = `${(top.ms.preprocess + top.ms.inference).toFixed(1)} ms (preprocessing ${top.ms.preprocess.toFixed(1)} ms, model ${top.ms.inference.toFixed(1)} ms)`;
  };
  const classifyFile = guard(async (file: File) => {
    clear();
    stopLive?.();
    const c = await currentClassifier();
    const img = $<HTMLImageElement>('use-preview');
    URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(file);
    img.hidden = false;
    try {
      await img.decode();
    } catch {
      throw new Error(`${file.name}: not an image this browser can read`);
    }
    showUse(await c.classify(await imageDataOf(img), 5));
  });
  $<HTMLInputElement>('use-file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) classifyFile(f);
    (e.target as HTMLInputElement).value = '';
  });
  dropZone($('use-drop'), (dt) => dt.files[0] && classifyFile(dt.files[0]));
  let stopLive: (() => void) | undefined;
  $('live').addEventListener('click', guard(async () => {
    if (stopLive) return stopLive();
    const c = await currentClassifier();
    if (typeof navigator.mediaDevices?.getUserMedia !== 'function') throw new Error('This browser gives no camera here (a camera needs https or localhost).');
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    const video = $<HTMLVideoElement>('use-video');
    let live = true;
    stopLive = () => {
      live = false;
      stream.getTracks().forEach((t) => t.stop());
      video.hidden = true;
      $('live').textContent = 'Live webcam';
      stopLive = undefined;
    };
    $<HTMLImageElement>('use-preview').hidden = true;
    video.hidden = false;
    video.srcObject = stream;
    $('live').textContent = 'Stop the webcam';
    await video.play();
    while (live) {
      const r = await c.classify(await imageDataOf(video), 5);
      if (live) showUse(r);
      await new Promise((res) => requestAnimationFrame(res));
    }
  }));

  // Keep and download.
  const stem = () => project.name.trim().replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'teach';
  $('dl-checkpoint').addEventListener('click', guard(() => {
    for (const f of project.result!.files) download(f.name, f.bytes, f.name.endsWith('.json') ? 'application/json' : undefined);
  }));
  $('dl-onnx').addEventListener('click', guard(() => download(`${stem()}.onnx`, onnxOf(project, project.result!))));
  $('dl-pth').addEventListener('click', guard(() => download(`${stem()}.pth`, pthOf(project, project.result!))));
  $('dl-page').addEventListener('click', guard(async () => download(`${stem()}-page.zip`, await classifyPageZip(project, project.result!, o.base, `${stem()}-page`), 'application/zip')));
  $('export-project').addEventListener('click', guard(async () => download(`${stem()}.mzteach.zip`, await writeProjectFile(project), 'application/zip')));
  $<HTMLInputElement>('import-project').addEventListener('change', guard(async (e: Event) => {
    const input = e.target as HTMLInputElement;
    const f = input.files?.[0];
    input.value = '';
    if (!f) return;
    const p = await readProjectFile(new Uint8Array(await f.arrayBuffer()), f.name);
    project = p;
    save();
    renderAll();
    say(`Imported ${f.name}: ${p.classes.length} classes, ${countImages()} images${p.result ? ', with its trained model' : ''}.`, 'info');
  }));
  $('reset').addEventListener('click', guard(async () => {
    if (!confirm('Start a new project? The current one is deleted from this browser (export it first to keep it).')) return;
    await deleteProject();
    project = newProject();
    if (bundled) useStart(bundled);
    clear();
    save();
    renderAll();
  }));
  $<HTMLInputElement>('project-name').addEventListener('change', (e) => {
    project.name = (e.target as HTMLInputElement).value;
    save();
  });

  const renderAll = () => {
    $<HTMLInputElement>('project-name').value = project.name;
    renderStart();
    renderSettings();
    renderClasses();
    renderResult();
  };

  const ready = (async () => {
    try {
      bundled = await bundledStart(o.base, project.model).catch((e: Error) => {
        say(`The weights bundled with this page could not be read: ${e.message}`);
        return undefined;
      });
      if (bundled?.start.kind === 'bundled') {
        $('bundled-choice').hidden = false;
        $('bundled-label').textContent = bundled.start.label;
      }
      const stored = await loadProject().catch((e: Error) => {
        say(`${e.message}: the project will not be kept after a reload.`);
        return undefined;
      });
      if (stored) project = { ...stored, settings: { ...DEFAULT_SETTINGS, ...stored.settings } };
      else if (bundled) {
        if (bundled.model) setModel(bundled.model.name, bundled.model.options);
        project = { ...project, start: bundled.start };
      }
      renderAll();
      await saving;
    } catch (e) {
      say(`The page could not start: ${(e as Error).message}`);
      throw e;
    }
  })();

  window.teach = { ready, project: () => project, idle: async () => void (await running), saved: () => saving };
  return window.teach;
}
