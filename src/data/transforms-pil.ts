/**
 * The image operations of torchvision's augmentations as PIL computes them on 8-bit images (torchvision
 * applies them to PIL images in its ImageNet recipes): blends of ImageEnhance, the HSV round trip of
 * adjust_hue, ImageOps' lookup tables, the SMOOTH filter, and nearest-neighbour affine transforms with
 * PIL's fixed-point and floating-point paths. Float arithmetic follows PIL's C code, single precision
 * where it is single (Math.fround), so that results match bit for bit. uint8 HWC, 1 or 3 channels (PIL's
 * "L" and "RGB"). No Node dependencies: the browser entry imports this module.
 */
import type { Image } from './transforms.js';

const f32 = Math.fround;

function like(img: Image, data = new Uint8Array(img.data.length)): Image {
  return { data, height: img.height, width: img.width, channels: img.channels };
}

/** PIL's Image.blend (ImagingBlend): a + alpha·(b − a) in single precision, truncated; clipped when extrapolating. */
export function blendImages(a: Image, b: Image, alpha: number): Image {
  const k = f32(alpha);
  if (k === 0) return like(a, a.data.slice());
  if (k === 1) return like(b, b.data.slice());
  const interpolate = k >= 0 && k <= 1;
  // The value for each pair (a, b) depends on b − a through one product: tabulated, the same floats.
  const product = Float32Array.from({ length: 511 }, (_, d) => k * (d - 255));
  const out = new Uint8Array(a.data.length);
  const ad = a.data;
  const bd = b.data;
  for (let i = 0; i < out.length; i++) {
    const x = ad[i]!;
    const t = f32(x + product[bd[i]! - x + 255]!);
    // Uint8Array stores truncate toward zero; extrapolation clips first.
    out[i] = interpolate ? t : t <= 0 ? 0 : t >= 255 ? 255 : t;
  }
  return like(a, out);
}

/** A blend with a constant first image (black, or the mean grey): a lookup table over the second. */
function blendConstant(level: number, b: Image, alpha: number): Image {
  const k = f32(alpha);
  if (k === 0) return like(b, new Uint8Array(b.data.length).fill(level));
  const row = (data: Uint8Array): Image => ({ data, height: 1, width: 256, channels: 1 });
  const lut = blendImages(row(new Uint8Array(256).fill(level)), row(Uint8Array.from({ length: 256 }, (_, i) => i)), alpha).data;
  const out = new Uint8Array(b.data.length);
  for (let i = 0; i < out.length; i++) out[i] = lut[b.data[i]!]!;
  return like(b, out);
}

/** PIL's convert('L') of an RGB image replicated back to RGB (convert('L').convert('RGB')); a copy for 1 channel. */
function lumaImage(img: Image): Image {
  if (img.channels === 1) return like(img, img.data.slice());
  const n = img.height * img.width;
  const out = new Uint8Array(n * 3);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    const l = (d[3 * i]! * 19595 + d[3 * i + 1]! * 38470 + d[3 * i + 2]! * 7471 + 0x8000) >> 16;
    out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = l;
  }
  return like(img, out);
}

/** ImageEnhance.Brightness: a blend with black. */
export function adjustBrightness(img: Image, factor: number): Image {
  return blendConstant(0, img, factor);
}

/** ImageEnhance.Contrast: a blend with the image's mean luma, int(mean + 0.5), everywhere. */
export function adjustContrast(img: Image, factor: number): Image {
  const luma = lumaImage(img);
  let sum = 0;
  for (let i = 0; i < luma.data.length; i += img.channels) sum += luma.data[i]!;
  const mean = Math.trunc(sum / (img.height * img.width) + 0.5);
  return blendConstant(mean, img, factor);
}

/** ImageEnhance.Color (torchvision's adjust_saturation): a blend with the luma image; no change for 1 channel. */
export function adjustSaturation(img: Image, factor: number): Image {
  return blendImages(lumaImage(img), img, factor);
}

/** PIL's ImageFilter.SMOOTH (3x3 kernel 1 1 1 / 1 5 1 / 1 1 1, divided by 13) with ImagingFilter3x3's copied border. */
function smoothImage(img: Image): Image {
  const { data, height: h, width: w, channels: c } = img;
  const out = data.slice();
  // The float products of every value with the two weights, tabulated (the same floats PIL multiplies).
  const byK = Float32Array.from({ length: 256 }, (_, v) => v * f32(1 / 13));
  const byCentre = Float32Array.from({ length: 256 }, (_, v) => v * f32(5 / 13));
  const stride = w * c;
  // Each row's three-tap float sums, in PIL's order: with the side weight (used for the rows above and below) and with the centre one.
  const side = new Float32Array(h * stride);
  const centre = new Float32Array(h * stride);
  for (let y = 0; y < h; y++) {
    for (let i = y * stride + c; i < (y + 1) * stride - c; i++) {
      const left = byK[data[i - c]!]!;
      const right = byK[data[i + c]!]!;
      side[i] = f32(f32(left + byK[data[i]!]!) + right);
      centre[i] = f32(f32(left + byCentre[data[i]!]!) + right);
    }
  }
  for (let y = 1; y < h - 1; y++) {
    for (let i = y * stride + c; i < (y + 1) * stride - c; i++) {
      // The rows in PIL's order (y+1, y, y−1), added to the 0.5 of rounding.
      const ss = f32(f32(f32(0.5 + side[i + stride]!) + centre[i]!) + side[i - stride]!);
      out[i] = ss <= 0 ? 0 : ss >= 255 ? 255 : Math.trunc(ss);
    }
  }
  return like(img, out);
}

/** ImageEnhance.Sharpness: a blend with the SMOOTH-filtered image. */
export function adjustSharpness(img: Image, factor: number): Image {
  return blendImages(smoothImage(img), img, factor);
}

/** PIL's rgb2hsv for one pixel (Convert.c), into out[o..o+2]. */
function rgbToHsv(r: number, g: number, b: number, out: Uint8Array, o: number): void {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  out[o + 2] = maxc;
  if (minc === maxc) {
    out[o] = 0;
    out[o + 1] = 0;
    return;
  }
  const cr = f32(maxc - minc);
  const s = f32(cr / maxc);
  const rc = f32((maxc - r) / cr);
  const gc = f32((maxc - g) / cr);
  const bc = f32((maxc - b) / cr);
  let h: number;
  if (r === maxc) h = f32(bc - gc);
  else if (g === maxc) h = f32(2.0 + rc - bc);
  else h = f32(4.0 + gc - rc);
  h = f32((h / 6.0 + 1.0) % 1.0);
  out[o] = clip8(Math.trunc(h * 255.0));
  out[o + 1] = clip8(Math.trunc(s * 255.0));
}

/** PIL's hsv2rgb for one pixel (Convert.c), into out[o..o+2]. */
function hsvToRgb(h: number, s: number, v: number, out: Uint8Array, o: number): void {
  if (s === 0) {
    out[o] = out[o + 1] = out[o + 2] = v;
    return;
  }
  const i = Math.floor((h * 6.0) / 255.0);
  const f = f32((h * 6.0) / 255.0 - i);
  const fs = f32(s / 255.0);
  const p = clip8(roundHalfAway(v * (1.0 - fs)));
  // fs·f is a float product in C; the rest is double.
  const q = clip8(roundHalfAway(v * (1.0 - f32(fs * f))));
  const t = clip8(roundHalfAway(v * (1.0 - fs * (1.0 - f))));
  let r: number, g: number, b: number;
  switch (i % 6) {
    case 0: [r, g, b] = [v, t, p]; break;
    case 1: [r, g, b] = [q, v, p]; break;
    case 2: [r, g, b] = [p, v, t]; break;
    case 3: [r, g, b] = [p, q, v]; break;
    case 4: [r, g, b] = [t, p, v]; break;
    default: [r, g, b] = [v, p, q];
  }
  out[o] = r;
  out[o + 1] = g;
  out[o + 2] = b;
}

/** C's round(): half away from zero. */
function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

function clip8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

/**
 * torchvision's adjust_hue on a PIL image: to PIL's HSV, the hue channel shifted by uint8(hue·255) with
 * uint8 wrap-around (numpy's cast truncates toward zero), back to RGB. 1-channel images are returned as they are.
 */
export function adjustHue(img: Image, hue: number): Image {
  if (!(hue >= -0.5 && hue <= 0.5)) throw new RangeError(`adjustHue: hue must be in [-0.5, 0.5], got ${hue}`);
  if (img.channels === 1) return like(img, img.data.slice());
  const shift = ((Math.trunc(hue * 255) % 256) + 256) % 256;
  const n = img.height * img.width;
  const out = new Uint8Array(n * 3);
  const hsv = new Uint8Array(3);
  const d = img.data;
  for (let i = 0; i < n; i++) {
    rgbToHsv(d[3 * i]!, d[3 * i + 1]!, d[3 * i + 2]!, hsv, 0);
    hsvToRgb((hsv[0]! + shift) & 255, hsv[1]!, hsv[2]!, out, 3 * i);
  }
  return like(img, out);
}

function mapLut(img: Image, lut: (band: number) => Uint8Array): Image {
  const c = img.channels;
  const out = new Uint8Array(img.data.length);
  for (let band = 0; band < c; band++) {
    const table = lut(band);
    for (let i = band; i < out.length; i += c) out[i] = table[img.data[i]!]!;
  }
  return like(img, out);
}

function histogram(img: Image, band: number): Float64Array {
  const h = new Float64Array(256);
  for (let i = band; i < img.data.length; i += img.channels) h[img.data[i]!]!++;
  return h;
}

/** ImageOps.posterize: keep the top `bits` bits. */
export function posterize(img: Image, bits: number): Image {
  if (!(Number.isInteger(bits) && bits >= 0 && bits <= 8)) throw new RangeError(`posterize: bits must be an integer in [0, 8], got ${bits}`);
  const mask = ~(2 ** (8 - bits) - 1) & 255;
  const lut = Uint8Array.from({ length: 256 }, (_, i) => i & mask);
  return mapLut(img, () => lut);
}

/** ImageOps.solarize: values at or above the threshold inverted. */
export function solarize(img: Image, threshold: number): Image {
  const lut = Uint8Array.from({ length: 256 }, (_, i) => (i < threshold ? i : 255 - i));
  return mapLut(img, () => lut);
}

/** ImageOps.invert. */
export function invert(img: Image): Image {
  const lut = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
  return mapLut(img, () => lut);
}

/** ImageOps.autocontrast (cutoff 0), per band: the lowest and highest present values stretched to 0 and 255. */
export function autocontrast(img: Image): Image {
  return mapLut(img, (band) => {
    const h = histogram(img, band);
    let lo = 0;
    while (lo < 255 && !h[lo]) lo++;
    let hi = 255;
    while (hi > 0 && !h[hi]) hi--;
    if (hi <= lo) return Uint8Array.from({ length: 256 }, (_, i) => i);
    const scale = 255.0 / (hi - lo);
    const offset = -lo * scale;
    return Uint8Array.from({ length: 256 }, (_, i) => clip8(Math.trunc(i * scale + offset)));
  });
}

/** ImageOps.equalize, per band: PIL's cumulative-histogram lookup table. */
export function equalize(img: Image): Image {
  return mapLut(img, (band) => {
    const h = histogram(img, band);
    const present = [...h].filter((v) => v > 0);
    const identity = Uint8Array.from({ length: 256 }, (_, i) => i);
    if (present.length <= 1) return identity;
    const step = Math.floor((present.reduce((a, b) => a + b, 0) - present[present.length - 1]!) / 255);
    if (!step) return identity;
    const lut = new Uint8Array(256);
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = clip8(Math.floor(n / step));
      n += h[i]!;
    }
    return lut;
  });
}

/**
 * PIL's Image.transform(size, AFFINE, a, NEAREST) to the same size (ImagingTransformAffine): output pixel
 * (x, y) takes input pixel (a0·x' + a1·y' + a2, a3·x' + a4·y' + a5) at pixel centres x' = x + 0.5, or
 * `fill` outside. PIL computes it three ways, each reproduced: a pure scale/translation with a table of
 * columns, else 16.16 fixed point when the corners fit, else accumulated doubles.
 */
export function affineNearest(img: Image, a: readonly number[], fill = 0): Image {
  const { data, height: h, width: w, channels: c } = img;
  const out = new Uint8Array(data.length).fill(fill);
  const copy = (x: number, y: number, xin: number, yin: number) => {
    if (xin < 0 || xin >= w || yin < 0 || yin >= h) return;
    const s = (yin * w + xin) * c;
    const d = (y * w + x) * c;
    for (let k = 0; k < c; k++) out[d + k] = data[s + k]!;
  };
  const coord = (v: number) => (v < 0 ? -1 : Math.trunc(v));
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  if (a1 === 0 && a3 === 0) {
    let xo = a2 + a0 * 0.5;
    const cols: number[] = [];
    for (let x = 0; x < w; x++, xo += a0) cols.push(coord(xo));
    let yo = a5 + a4 * 0.5;
    for (let y = 0; y < h; y++, yo += a4) {
      const yi = coord(yo);
      for (let x = 0; x < w; x++) copy(x, y, cols[x]!, yi);
    }
  } else if ([[0, 0], [w, h], [0, h], [w, 0]].every(([x, y]) => Math.abs(x! * a0 + y! * a1 + a2) < 32768 && Math.abs(x! * a3 + y! * a4 + a5) < 32768)) {
    const fix = (v: number) => Math.floor(v * 65536.0 + 0.5);
    const [k0, k1, k3, k4] = [fix(a0), fix(a1), fix(a3), fix(a4)];
    let k2 = fix(a2 + a0 * 0.5 + a1 * 0.5);
    let k5 = fix(a5 + a3 * 0.5 + a4 * 0.5);
    for (let y = 0; y < h; y++, k2 += k1, k5 += k4) {
      let xx = k2;
      let yy = k5;
      for (let x = 0; x < w; x++, xx += k0, yy += k3) copy(x, y, Math.floor(xx / 65536), Math.floor(yy / 65536));
    }
  } else {
    let xo = a2 + a1 * 0.5 + a0 * 0.5;
    let yo = a5 + a4 * 0.5 + a3 * 0.5;
    for (let y = 0; y < h; y++, xo += a1, yo += a4) {
      let xx = xo;
      let yy = yo;
      for (let x = 0; x < w; x++, xx += a0, yy += a3) copy(x, y, coord(xx), coord(yy));
    }
  }
  return like(img, out);
}

/** Python's round(x, 15), which PIL's rotate applies to its cosines and sines. */
function round15(x: number): number {
  return Number(x.toFixed(15));
}

/** PIL's transpose for ROTATE_90 / 180 / 270 (counter-clockwise) of a square or any image (180). */
function rotateQuarter(img: Image, quarters: 1 | 2 | 3): Image {
  const { data, height: h, width: w, channels: c } = img;
  const oh = quarters === 2 ? h : w;
  const ow = quarters === 2 ? w : h;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [ty, tx] = quarters === 1 ? [w - 1 - x, y] : quarters === 2 ? [h - 1 - y, w - 1 - x] : [x, h - 1 - y];
      for (let k = 0; k < c; k++) out[(ty * ow + tx) * c + k] = data[(y * w + x) * c + k]!;
    }
  }
  return { data: out, height: oh, width: ow, channels: c };
}

/** PIL's Image.rotate(angle, NEAREST, expand=False, fillcolor=fill) about the image centre (counter-clockwise degrees). */
export function rotateNearest(img: Image, angle: number, fill = 0): Image {
  const deg = ((angle % 360) + 360) % 360;
  if (deg === 0) return like(img, img.data.slice());
  if (deg === 180) return rotateQuarter(img, 2);
  if ((deg === 90 || deg === 270) && img.width === img.height) return rotateQuarter(img, deg === 90 ? 1 : 3);
  const [cx, cy] = [img.width / 2.0, img.height / 2.0];
  const r = -(deg * (Math.PI / 180));
  const m = [round15(Math.cos(r)), round15(Math.sin(r)), 0.0, round15(-Math.sin(r)), round15(Math.cos(r)), 0.0];
  const [tx, ty] = [-cx, -cy];
  m[2] = m[0]! * tx + m[1]! * ty + m[2]! + cx;
  m[5] = m[3]! * tx + m[4]! * ty + m[5]! + cy;
  return affineNearest(img, m, fill);
}

/**
 * torchvision's _get_inverse_affine_matrix: the matrix PIL is given for F.affine(angle, translate, scale,
 * shear) about `center` (degrees).
 */
export function inverseAffineMatrix(center: [number, number], angle: number, translate: [number, number], scale: number, shear: [number, number]): number[] {
  const rad = Math.PI / 180;
  const rot = angle * rad;
  const sx = shear[0] * rad;
  const sy = shear[1] * rad;
  const [cx, cy] = center;
  const [tx, ty] = translate;
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0.0, -c, a, 0.0].map((v) => v / scale);
  m[2]! += m[0]! * (-cx - tx) + m[1]! * (-cy - ty);
  m[5]! += m[3]! * (-cx - tx) + m[4]! * (-cy - ty);
  m[2]! += cx;
  m[5]! += cy;
  return m;
}
