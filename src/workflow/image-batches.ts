/** Image files as batches of model inputs: decoded at their own size, then the model's preprocessing. */
import { decodeImageRgb } from '../data/decode.js';
import { type Preprocessing, compilePreprocessing } from '../data/preprocessing.js';

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
