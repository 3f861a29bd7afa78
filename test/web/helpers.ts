/** Fixtures of the web tests: tiny models with decisive outputs, test PNGs, a static file server. */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import sharp from 'sharp';
import { recordPreprocessing } from '../../src/data/preprocessing.js';
import { Rng } from '../../src/data/random.js';
import { saveSafetensorsFile } from '../../src/io/checkpoint.js';
import { createModel } from '../../src/models/registry.js';
import { decodeModel, encodeModel } from '../../src/onnx/proto.js';
import { exportOnnx, modelMetadata, openNetworkClassifier } from '../../src/workflow/index.js';

export const CHROMIUM = '/usr/bin/chromium';

/** The network of the tests: MobileNetV2 0.25x, CIFAR stem, 32x32 input, 10 classes. */
export const MODEL = { model: 'mobilenet_v2', modelOptions: { widthMult: 0.25, numClasses: 10, stem: 'cifar' } };

/**
 * Random weights whose classifier is scaled up, so that the classes are far apart: at initialization
 * the features reaching the classifier are about 1e-4 (activations shrink through the eval-mode
 * network), the logits about 1e-6, every probability 1/10 to five digits and the top class a matter of
 * rounding. Scaled, the logits are of order 1.
 */
export async function decisiveWeights(file: string): Promise<void> {
  const sd = createModel(MODEL.model, { ...MODEL.modelOptions, seed: 3 }).stateDict();
  const w = sd.get('classifier.1.weight')!.data as Float32Array;
  for (let i = 0; i < w.length; i++) w[i]! *= 1e6;
  await saveSafetensorsFile(file, sd);
}

/** A PNG of smooth random color blobs (or gray levels), width x height. */
export async function writePng(file: string, width: number, height: number, channels: 1 | 3, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const blobs = Array.from({ length: 4 }, () => ({ x: rng.random() * width, y: rng.random() * height, r: 3 + rng.random() * width / 2, c: [0, 1, 2].map(() => rng.int(256)) }));
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        let v = 20 + rng.int(30);
        for (const b of blobs) v += b.c[c]! * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r));
        data[(y * width + x) * channels + c] = Math.min(255, Math.round(v));
      }
    }
  }
  await sharp(data, { raw: { width, height, channels } }).png().toFile(file);
}

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * An ONNX file whose metadata records a Fashion-MNIST-like preprocessing (what train writes for it:
 * luma, fit to 28x28, pad 2, gray → RGB, normalize) and its class names.
 */
export async function grayscaleOnnx(weights: string, out: string): Promise<void> {
  await exportOnnx({ ...MODEL, weights, out });
  const c = await openNetworkClassifier({ ...MODEL, weights });
  const preprocessing = recordPreprocessing({ channels: 1, height: 28, width: 28 }, [
    { op: 'pad', padding: 2 },
    { op: 'grayscaleToRgb' },
    { op: 'normalize', mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353] },
  ]);
  await c.dispose();
  await rewriteMetadata(out, modelMetadata({ ...c, classNames: FASHION_CLASSES, preprocessing }));
}

/** Replaces the metadata of an ONNX file. */
export async function rewriteMetadata(file: string, metadataProps: { key: string; value: string }[], to = file): Promise<void> {
  const model = decodeModel(new Uint8Array(await readFile(file)));
  await writeFile(to, encodeModel({ ...model, metadataProps }));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.json': 'application/json', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.png': 'image/png',
};

/** A static server on 127.0.0.1: URL prefix → folder (and the headers of its responses). */
export async function serve(roots: Record<string, string | { dir: string; headers: Record<string, string> }>): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const prefix = Object.keys(roots).find((p) => path.startsWith(p));
      const rel = prefix === undefined ? undefined : normalize(path.slice(prefix.length) || 'index.html');
      if (prefix === undefined || rel === undefined || rel.startsWith('..') || rel.includes(`${sep}..`)) {
        res.writeHead(404).end();
        return;
      }
      const root = roots[prefix]!;
      const { dir, headers } = typeof root === 'string' ? { dir: root, headers: {} } : root;
      const file = join(dir, rel.endsWith(sep) ? join(rel, 'index.html') : rel);
      try {
        if (!(await stat(file)).isFile()) throw new Error('not a file');
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', ...headers }).end(await readFile(file));
      } catch {
        res.writeHead(404).end();
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
