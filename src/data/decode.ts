/**
 * Image files to pixels with sharp: decoded at their own size, EXIF orientation applied, alpha dropped,
 * in sRGB: what a browser canvas holds for the same file. Every resize happens afterwards, in the
 * JavaScript transforms (src/data/transforms.ts), so Node and the browser compute the same numbers.
 */
import sharp, { type OutputInfo } from 'sharp';
import { DatasetFormatError } from './dataset.js';
import type { Image } from './transforms.js';

/** Decodes an image file (any format sharp reads) to RGB HWC uint8 at its own size. */
export async function decodeImageRgb(file: string): Promise<Image & { channels: 3 }> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(file, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new DatasetFormatError(file, `cannot decode image: ${(e as Error).message}`);
  }
  const { data, info } = out;
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width, channels: 3 };
}

