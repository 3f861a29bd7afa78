/**
 * A project as one file (a zip, stored entries): `project.json` (everything but bytes), `images/<id>`
 * (each image's file as it was added), `start.safetensors` (the starting weights) and `result/<name>`
 * (the last checkpoint's files). Reading checks the format, names and sizes, and never trusts a path.
 */
import { plainFileName } from '../../io/file-names.js';
import { alignedStoredZip } from '../../io/zip-writer.js';
import { isZip, zipEntries, zipEntryBytes } from '../../io/zip-reader.js';
import { PROJECT_FORMAT, PROJECT_VERSION, type Project } from './project.js';

/** Largest project file read (images and weights of a project that fits in a tab). */
const MAX_PROJECT_BYTES = 1024 ** 3;

const MIME: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', bmp: 'image/bmp' };

export async function writeProjectFile(p: Project): Promise<Uint8Array> {
  const entries = new Map<string, Uint8Array>();
  const classes = [];
  for (const c of p.classes) {
    const images = [];
    for (const im of c.images) {
      entries.set(`images/${im.id}`, new Uint8Array(await im.blob.arrayBuffer()));
      images.push({ id: im.id, name: im.name, type: im.blob.type, width: im.width, height: im.height });
    }
    classes.push({ id: c.id, name: c.name, images });
  }
  const { weights, ...start } = p.start;
  if (weights) entries.set('start.safetensors', weights);
  let result;
  if (p.result) {
    const { files, ...rest } = p.result;
    for (const f of files) entries.set(`result/${f.name}`, f.bytes);
    result = { ...rest, files: files.map((f) => f.name) };
  }
  const json = { ...p, start, classes, result };
  entries.set('project.json', new TextEncoder().encode(JSON.stringify(json)));
  return alignedStoredZip(entries);
}

export async function readProjectFile(bytes: Uint8Array, fileName: string): Promise<Project> {
  if (bytes.length > MAX_PROJECT_BYTES) throw new Error(`${fileName}: ${bytes.length} bytes, more than a project file may have (${MAX_PROJECT_BYTES})`);
  if (!isZip(bytes)) throw new Error(`${fileName}: not a project file (a project file is a zip written by "Export project")`);
  const entries = zipEntries(bytes, fileName);
  const entry = (name: string) => {
    const e = entries.get(name);
    if (!e) throw new Error(`${fileName}: not a project file (no ${name})`);
    return zipEntryBytes(bytes, e, e.size, fileName).slice();
  };
  const json = JSON.parse(new TextDecoder().decode(entry('project.json'))) as Record<string, unknown> & { classes: { id: string; name: string; images: { id: string; name: string; type: string; width: number; height: number }[] }[]; start: Project['start']; result?: Record<string, unknown> & { files: string[] } };
  if (json.format !== PROJECT_FORMAT) throw new Error(`${fileName}: not a project file (format must be "${PROJECT_FORMAT}")`);
  if (json.version !== PROJECT_VERSION) throw new Error(`${fileName}: project version ${String(json.version)} is not one this page reads (${PROJECT_VERSION})`);
  if (!Array.isArray(json.classes)) throw new Error(`${fileName}: project.json has no classes`);
  const classes = json.classes.map((c) => ({
    id: String(c.id),
    name: String(c.name),
    images: c.images.map((im) => {
      plainFileName(im.id, `${fileName}: image id`);
      const ext = String(im.name).split('.').pop()!.toLowerCase();
      return { id: im.id, name: String(im.name), width: Number(im.width), height: Number(im.height), blob: new Blob([entry(`images/${im.id}`)], { type: im.type || MIME[ext] || '' }) };
    }),
  }));
  const start = { ...json.start, ...(entries.has('start.safetensors') ? { weights: entry('start.safetensors') } : {}) };
  const result = json.result
    ? { ...json.result, files: json.result.files.map((n) => ({ name: plainFileName(n, `${fileName}: result file`), bytes: entry(`result/${n}`) })) }
    : undefined;
  return { ...(json as unknown as Project), classes, start, result: result as Project['result'] };
}
