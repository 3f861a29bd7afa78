/**
 * Image files to pixels with sharp: decoded at their own size, EXIF orientation applied, alpha dropped,
 * in sRGB: what a browser canvas holds for the same file. Every resize happens afterwards, in the
 * JavaScript transforms (src/data/transforms.ts), so Node and the browser compute the same numbers.
 */
import sharp, { type OutputInfo } from 'sharp';
import { readInputFile } from '../io/input-file.js';
import { DatasetFormatError } from './dataset.js';
import type { Image } from './transforms.js';

/** Far above any photo (a 9459x9459 PNG, PIL's largest, is some 270 MB uncompressed). */
const MAX_IMAGE_FILE_BYTES = 512 * 1024 ** 2;

/** Decodes an image file (any format sharp reads) to RGB HWC uint8 at its own size. */
export async function decodeImageRgb(file: string): Promise<Image & { channels: 3 }> {
  // A regular file of a sane size: a folder, a device or a FIFO is refused by name, not decoded (or waited on).
  const bytes = await readInputFile(file, MAX_IMAGE_FILE_BYTES, 'the image');
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(bytes, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new DatasetFormatError(file, `cannot decode image: ${(e as Error).message}`);
  }
  const { data, info } = out;
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width, channels: 3 };
}

