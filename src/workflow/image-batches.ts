/** Image files as batches of model inputs: decoded at their own size, then the model's preprocessing. */
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { decodeImageRgb } from '../data/decode.js';
import { IMAGE_EXTENSIONS } from '../data/folder.js';
import { type Preprocessing, compilePreprocessing } from '../data/preprocessing.js';

/** The images of a folder, its subfolders included, in sorted order (hidden entries skipped). */
function imagesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).filter((n) => !n.startsWith('.')).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...imagesUnder(p));
    else if (IMAGE_EXTENSIONS.includes(extname(name).toLowerCase())) out.push(p);
  }
  return out;
}

/** Image paths with each folder replaced by the images in it (an error names a folder without any). */
export function imageFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    let dir = false;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      return [p]; // decoding names what is missing
    }
    if (!dir) return [p];
    const found = imagesUnder(p);
    if (found.length === 0) throw new Error(`${p}: a folder without images (${IMAGE_EXTENSIONS.join(', ')})`);
    return found;
  });
}

export async function* imageBatches(files: string[], p: Preprocessing, batch = 16): AsyncGenerator<{ files: string[]; images: Float32Array }> {
  const prepare = compilePreprocessing(p);
  const per = p.inputSize.reduce((a, b) => a * b, 1);
  for (let s = 0; s < files.length; s += batch) {
    const chunk = files.slice(s, s + batch);
    const images = new Float32Array(chunk.length * per);
    for (let i = 0; i < chunk.length; i++) images.set(prepare(await decodeImageRgb(chunk[i]!)), i * per);
    yield { files: chunk, images };
  }
}
