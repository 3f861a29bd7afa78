/**
 * The Classes tab of the teach page: class cards (rename, delete, thumbnails, delete an image), images
 * from the file and folder pickers, drag-and-drop of files and folders, and webcam bursts. It changes
 * the project's classes in place and calls `changed` (the page saves and redraws).
 */
import { humanBytes } from '../../report/metrics.js';
import { type Project, type ProjectClass, type ProjectImage, heldOutSplit, newId } from './project.js';
import { $, el } from './views.js';

const IMAGE_TYPES = /\.(png|jpe?g|webp|gif|bmp)$/i;
/** Largest image file added (a photo is a few MB). */
const MAX_IMAGE_BYTES = 40 * 1024 ** 2;
const WEBCAM_SIZE = 224;
const WEBCAM_INTERVAL_MS = 120;

export interface ClassesContext {
  project(): Project;
  /** The classes changed: save the project. */
  changed(): void;
  say(text: string, kind?: 'error' | 'info'): void;
  clear(): void;
  guard<A extends unknown[]>(fn: (...a: A) => Promise<void> | void): (...a: A) => void;
  thumbUrl(im: ProjectImage): string;
}

async function imageSize(blob: Blob): Promise<{ width: number; height: number }> {
  const bitmap = await createImageBitmap(blob);
  const size = { width: bitmap.width, height: bitmap.height };
  bitmap.close();
  return size;
}

/** Files of a drop, folders walked (webkitGetAsEntry), each with its folder path. */
async function droppedFiles(dt: DataTransfer): Promise<{ file: File; path: string }[]> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return [...dt.files].map((file) => ({ file, path: file.name }));
  const out: { file: File; path: string }[] = [];
  const walk = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isFile) {
      out.push({ file: await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)), path: path + entry.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, `${path}${entry.name}/`);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

/** Mounts the tab; `render` redraws the cards from the project. */
export function mountClasses(ctx: ClassesContext): { render(): void } {
  const { guard, say, clear, thumbUrl } = ctx;
  const classesHost = $('classes');
  const renderClasses = () => {
    const split = heldOutSplit(ctx.project().classes, ctx.project().settings.heldOut, ctx.project().settings.seed);
    const held = new Set(split.test.map((t) => t.image.id));
    classesHost.replaceChildren(...ctx.project().classes.map((c) => classCard(c, held)));
    ctx.changed();
  };
  const classCard = (c: ProjectClass, held: Set<string>): HTMLElement => {
    const name = el('input', { className: 'class-name', value: c.name, spellcheck: false });
    name.setAttribute('aria-label', 'class name');
    name.addEventListener('change', () => {
      c.name = name.value;
      renderClasses();
    });
    const files = el('input', { type: 'file', multiple: true, accept: 'image/*' });
    files.dataset.class = c.name;
    files.addEventListener('change', () => {
      addImages(c, [...(files.files ?? [])].map((file) => ({ file, path: file.name })));
      files.value = '';
    });
    const folder = el('input', { type: 'file', multiple: true });
    folder.setAttribute('webkitdirectory', '');
    folder.addEventListener('change', () => {
      addImages(c, [...(folder.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
      folder.value = '';
    });
    const remove = el('button', { className: 'button danger small', type: 'button', textContent: 'Delete class' });
    remove.addEventListener('click', () => {
      if (c.images.length && !confirm(`Delete class "${c.name}" and its ${c.images.length} images?`)) return;
      ctx.project().classes = ctx.project().classes.filter((x) => x !== c);
      renderClasses();
    });
    const webcam = el('button', { className: 'button secondary small', type: 'button', textContent: 'Webcam' });
    webcam.addEventListener('click', guard(() => openWebcam(c)));
    const grid = el('div', { className: 'thumbs' }, ...c.images.map((im) => {
      const x = el('button', { type: 'button', textContent: '×', title: `delete ${im.name}` });
      x.setAttribute('aria-label', `delete ${im.name}`);
      x.addEventListener('click', () => {
        c.images = c.images.filter((i) => i !== im);
        renderClasses();
      });
      const img = el('img', { src: thumbUrl(im), alt: im.name, title: `${im.name} (${im.width}x${im.height})${held.has(im.id) ? ', held out' : ''}`, loading: 'lazy' });
      return el('div', { className: `thumb${held.has(im.id) ? ' held' : ''}` }, img, x);
    }));
    const nHeld = c.images.filter((i) => held.has(i.id)).length;
    const card = el('div', { className: 'class' },
      el('header', {}, name, el('span', { className: 'count', textContent: `${c.images.length} image${c.images.length === 1 ? '' : 's'}${nHeld ? ` · ${nHeld} held out` : ''}` }), remove),
      el('div', { className: 'actions' },
        el('label', { className: 'button secondary small' }, 'Add images', files),
        el('label', { className: 'button secondary small' }, 'Add a folder', folder),
        webcam),
      grid);
    card.dataset.class = c.id;
    dropZone(card, (dt) => droppedFiles(dt).then((f) => addImages(c, f)));
    return card;
  };
  /** Adds image files to a class (sorted by path, as the command line reads a folder); unreadable ones are named in a message. */
  const addImages = guard(async (c: ProjectClass, files: { file: File; path: string }[]) => {
    clear();
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const skipped: string[] = [];
    const added: ProjectImage[] = [];
    for (const { file, path } of sorted) {
      if (file.size > MAX_IMAGE_BYTES) {
        skipped.push(`${path}: ${humanBytes(file.size)}, larger than ${humanBytes(MAX_IMAGE_BYTES)}`);
        continue;
      }
      try {
        const size = await imageSize(file);
        added.push({ id: newId(), name: file.name, blob: file, ...size });
      } catch {
        skipped.push(`${path}: ${IMAGE_TYPES.test(path) ? 'cannot be read as an image' : 'not an image'}`);
      }
    }
    c.images.push(...added);
    renderClasses();
    if (skipped.length) say(`${skipped.length} file${skipped.length === 1 ? ' was' : 's were'} not added to "${c.name}":\n${skipped.slice(0, 8).join('\n')}${skipped.length > 8 ? `\n… and ${skipped.length - 8} more` : ''}`);
  });
  $('add-class').addEventListener('click', () => {
    ctx.project().classes.push({ id: newId(), name: `class ${ctx.project().classes.length + 1}`, images: [] });
    renderClasses();
  });
  // Folders dropped beside the classes: one class per folder.
  dropZone($('tab-classes'), guard(async (dt) => {
    const files = await droppedFiles(dt);
    const byFolder = new Map<string, { file: File; path: string }[]>();
    const loose: string[] = [];
    for (const f of files) {
      const folder = f.path.split('/').slice(-2, -1)[0];
      if (!folder) loose.push(f.path);
      else byFolder.set(folder, [...(byFolder.get(folder) ?? []), f]);
    }
    if (loose.length && byFolder.size === 0) throw new Error(`Drop images on a class (or folders here, one class per folder): ${loose.slice(0, 3).join(', ')}`);
    for (const [folder, list] of byFolder) {
      let c = ctx.project().classes.find((x) => x.name === folder);
      if (!c) {
        // Empty default classes give way to the folders.
        const empty = ctx.project().classes.find((x) => x.images.length === 0 && /^class \d+$/.test(x.name));
        if (empty) empty.name = folder;
        else ctx.project().classes.push({ id: newId(), name: folder, images: [] });
        c = ctx.project().classes.find((x) => x.name === folder)!;
      }
      addImages(c, list);
    }
  }), true);

  // Webcam: hold to record a burst of center crops.
  let webcamStream: MediaStream | undefined;
  let webcamClass: ProjectClass | undefined;
  const openWebcam = async (c: ProjectClass) => {
    if (typeof navigator.mediaDevices?.getUserMedia !== 'function') throw new Error('This browser gives no camera here (a camera needs https or localhost).');
    webcamClass = c;
    webcamStream ??= await navigator.mediaDevices.getUserMedia({ video: true, audio: false }).catch((e: Error) => {
      throw new Error(`The camera could not be opened: ${e.message}`);
    });
    const video = $<HTMLVideoElement>('webcam-video');
    video.srcObject = webcamStream;
    await video.play();
    $('webcam-target').textContent = `Recording into "${c.name}" (${c.images.length} images). Hold the button; release to stop.`;
    $('webcam').hidden = false;
  };
  const closeWebcam = () => {
    webcamStream?.getTracks().forEach((t) => t.stop());
    webcamStream = undefined;
    $('webcam').hidden = true;
  };
  $('webcam-close').addEventListener('click', closeWebcam);
  let recording: number | undefined;
  let shots = 0;
  const grab = () => {
    const video = $<HTMLVideoElement>('webcam-video');
    const side = Math.min(video.videoWidth, video.videoHeight);
    if (!side || !webcamClass) return;
    const canvas = el('canvas', { width: WEBCAM_SIZE, height: WEBCAM_SIZE });
    canvas.getContext('2d')!.drawImage(video, (video.videoWidth - side) / 2, (video.videoHeight - side) / 2, side, side, 0, 0, WEBCAM_SIZE, WEBCAM_SIZE);
    const target = webcamClass;
    canvas.toBlob((blob) => {
      if (!blob) return;
      target.images.push({ id: newId(), name: `webcam-${Date.now()}-${shots++}.png`, blob, width: WEBCAM_SIZE, height: WEBCAM_SIZE });
      $('webcam-target').textContent = `Recording into "${target.name}" (${target.images.length} images). Hold the button; release to stop.`;
    }, 'image/png');
  };
  const startRecording = (e: Event) => {
    e.preventDefault();
    if (recording !== undefined) return;
    $('record').classList.add('recording');
    grab();
    recording = window.setInterval(grab, WEBCAM_INTERVAL_MS);
  };
  const stopRecording = () => {
    if (recording === undefined) return;
    clearInterval(recording);
    recording = undefined;
    $('record').classList.remove('recording');
    setTimeout(renderClasses, 50);
  };
  $('record').addEventListener('pointerdown', startRecording);
  for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) $('record').addEventListener(ev, stopRecording);
  $('record').addEventListener('keydown', (e) => (e.key === ' ' || e.key === 'Enter') && startRecording(e));
  $('record').addEventListener('keyup', stopRecording);

  return { render: renderClasses };
}

/** Drag-and-drop onto an element; `outer`: a container that takes the drops its children (class cards) do not. */
export function dropZone(target: HTMLElement, onDrop: (dt: DataTransfer) => unknown, outer = false): void {
  target.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (!outer || e.target === target) target.classList.add('over');
  });
  target.addEventListener('dragleave', () => target.classList.remove('over'));
  target.addEventListener('drop', (e) => {
    e.preventDefault();
    target.classList.remove('over');
    if (outer && (e.target as HTMLElement).closest('.class')) return;
    if (!outer) e.stopPropagation();
    if (e.dataTransfer) onDrop(e.dataTransfer);
  });
}
