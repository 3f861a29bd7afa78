/**
 * Browser images to the pixels the preprocessing starts from: drawn at natural size on a canvas, read
 * back with getImageData, alpha dropped (RGBA → RGB), as src/data/decode.ts does with sharp in Node.
 *
 * Where a browser can differ from sharp for the same file:
 * - semi-transparent pixels: a canvas stores premultiplied alpha, so getImageData returns colors
 *   un-premultiplied again, rounded (sharp keeps the file's colors); fully opaque images are unaffected;
 * - JPEG: decoders (libjpeg-turbo in sharp, each browser's own) may differ by a level in some pixels
 *   (IDCT and chroma upsampling);
 * - color profiles: both convert to sRGB, with their own color-management code; images without a
 *   profile are taken as sRGB by both.
 * Both apply the EXIF orientation (browsers by default, `image-orientation: from-image`).
 */
import type { Image } from '../data/transforms.js';

/** What classify accepts: an image URL, an element or canvas holding an image, or pixels. */
export type PixelSource = string | HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | ImageBitmap | ImageData;

/** RGBA pixels (ImageData, or anything shaped like it) → uint8 RGB HWC. */
export function rgbFromRgba(pixels: { data: ArrayLike<number>; width: number; height: number }): Image & { channels: 3 } {
  const { data, width, height } = pixels;
  if (data.length !== width * height * 4) throw new Error(`pixels: ${data.length} bytes for ${width}x${height} RGBA`);
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
    rgb[q] = data[p]!;
    rgb[q + 1] = data[p + 1]!;
    rgb[q + 2] = data[p + 2]!;
  }
  return { data: rgb, height, width, channels: 3 };
}

async function loadImage(url: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    throw new Error(`cannot load image ${url}`);
  }
  return img;
}

function naturalSize(source: Exclude<PixelSource, string | ImageData>): [number, number] {
  if (source instanceof HTMLImageElement) return [source.naturalWidth, source.naturalHeight];
  if (source instanceof HTMLVideoElement) return [source.videoWidth, source.videoHeight];
  return [source.width, source.height];
}

/** The RGBA pixels of a source at its natural size. */
export async function imageDataOf(source: PixelSource): Promise<ImageData> {
  if (source instanceof ImageData) return source;
  const drawable = typeof source === 'string' ? await loadImage(source) : source;
  if (drawable instanceof HTMLImageElement && !drawable.complete) await drawable.decode();
  const [width, height] = naturalSize(drawable);
  if (!(width > 0 && height > 0)) throw new Error('image has no pixels (not loaded yet, or a video without a frame)');
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.drawImage(drawable, 0, 0);
  try {
    return ctx.getImageData(0, 0, width, height);
  } catch (e) {
    if ((e as DOMException).name === 'SecurityError') throw new Error('cannot read the pixels of an image from another origin (its server must allow it with CORS, and the element must have crossOrigin set)');
    throw e;
  }
}
