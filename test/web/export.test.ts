/**
 * export --web without a browser: the compiled browser entry imports no Node module, the site's files,
 * its sidecar, refused folders and ONNX files, and mobilezoo/web's classifier (on onnxruntime-node here)
 * giving predict's numbers from the site's model.onnx and model.json.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { decodeImageRgb } from '../../src/data/decode.js';
import { compilePreprocessing } from '../../src/data/preprocessing.js';
import { exportWeb, onnxMetadata, predictImages } from '../../src/workflow/index.js';
import { importSpecifiers, moduleGraph } from '../../src/workflow/module-graph.js';
import { createWebClassifier, parseSidecar, rgbFromRgba } from '../../src/web/index.js';
import { runCli } from '../../src/cli/program.js';
import { ROOT, memoryStreams, rmrf, tempDir } from '../cli/helpers.js';
import { FASHION_CLASSES, MODEL, decisiveWeights, grayscaleOnnx, rewriteMetadata, writePng } from './helpers.js';
import { nodeBackend } from '../../src/runtime/node-backend.js';

const DIST = join(ROOT, 'dist');
const dir = tempDir('mobilezoo-web-test-');
const weights = join(dir, 'weights.safetensors');
const grayOnnx = join(dir, 'gray.onnx');
const images = { wide: join(dir, 'wide-40x30.png'), tall: join(dir, 'tall-50x70.png'), gray: join(dir, 'gray-28x28.png') };

after(() => rmrf(dir));

before(async () => {
  await decisiveWeights(weights);
  await grayscaleOnnx(weights, grayOnnx);
  await writePng(images.wide, 40, 30, 3, 1);
  await writePng(images.tall, 50, 70, 3, 2);
  await writePng(images.gray, 28, 28, 1, 3);
});

describe('the browser modules', () => {
  test('importSpecifiers finds static, re-export, side-effect and dynamic imports', () => {
    const code = [
      `import { a } from './a.js';`, `import * as b from "node:fs";`, `export { c } from '../c.js';`, `export * from './d.js';`, `import {`, `  h,`, `} from './h.js';`,
      `import './e.js';`, `const f = await import('sharp');`, `const g = Array.from('xyz');`, `/**`, ` * import * as ort from 'onnxruntime-web';`, ` * await import('x');`, ` */`, `// import('y')`,
    ].join('\n');
    assert.deepEqual(importSpecifiers(code).sort(), ['../c.js', './a.js', './d.js', './e.js', './h.js', 'node:fs', 'sharp']);
  });

  test('the compiled mobilezoo/web entry, the trainer\'s modules included, and the page reach no node: module, sharp or onnxruntime-node', async () => {
    const graph = await moduleGraph([join(DIST, 'web', 'index.js')]);
    // fflate (zip for .pth) is an ES module with a browser build; a page maps its name (an import map).
    // The ONNX codec is our own ES module (no onnx-proto, which is CommonJS).
    const external = [...new Set(graph.external.map((e) => e.specifier))].sort();
    assert.deepEqual(external, ['fflate'], JSON.stringify(graph.external));
    const files = graph.files.map((f) => relative(DIST, f)).sort();
    const engine = [
      'graph/ir.js', 'graph/builder.js', 'autodiff/backward.js', 'autodiff/rules.js', 'autodiff/nchwc.js', 'nn/module.js', 'models/registry.js',
      'onnx/serialize.js', 'runtime/backend.js', 'runtime/web-backend.js', 'runtime/inference.js', 'train/trainer.js', 'train/step-graph.js',
      'train/optimizers.js', 'train/schedules.js', 'train/freeze.js', 'io/safetensors.js', 'io/pth.js', 'io/pth-zip.js', 'io/pth-legacy.js',
      'io/state-dict-bytes.js', 'data/preprocessing.js', 'data/transforms.js', 'data/batch-loader.js', 'workflow/checkpoint-record.js',
      'workflow/config.js', 'workflow/model-plan.js', 'workflow/evaluate.js', 'web/classifier.js',
    ];
    for (const f of engine) assert.ok(files.includes(f), f);
    assert.ok(!files.some((f) => f.startsWith('cli/') || f === 'runtime/node-backend.js'), files.join(', '));

    // The trainer's Web Worker imports no package at all: import maps do not reach into workers.
    assert.deepEqual((await moduleGraph([join(DIST, 'web', 'trainer-worker-main.js')])).external, []);

    // The page of export --web loads only what classifying needs (the site's lib/), and nothing external.
    const page = await moduleGraph([join(DIST, 'web', 'page.js')]);
    assert.deepEqual(page.external, []);
    const pageFiles = page.files.map((f) => relative(DIST, f)).sort();
    // The preprocessing is the library's own compiled modules, not a copy.
    for (const f of ['data/preprocessing.js', 'data/transforms.js', 'data/random.js', 'web/classifier.js']) assert.ok(pageFiles.includes(f), f);
    assert.ok(pageFiles.every((f) => /^(web|data|report|runtime)\//.test(f) || f === 'io/file-names.js'), pageFiles.join(', '));
    // The same walk does see Node imports where there are some.
    const node = await moduleGraph([join(DIST, 'workflow', 'predict.js')]);
    for (const s of ['sharp', 'onnxruntime-node']) assert.ok(node.external.some((e) => e.specifier === s), s);
    assert.ok(node.external.some((e) => e.specifier.startsWith('node:')));
  });

  test('package.json exports mobilezoo/web with its types', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }>; dependencies: Record<string, string> };
    assert.deepEqual(pkg.exports['./web'], { types: './dist/web/index.d.ts', default: './dist/web/index.js' });
    assert.ok(existsSync(join(ROOT, 'dist/web/index.d.ts')));
    // The package's own name resolves through its exports map to the compiled entry.
    assert.equal(import.meta.resolve('mobilezoo/web'), pathToFileURL(join(DIST, 'web/index.js')).href);
    assert.equal(typeof (await import('mobilezoo/web')).createWebClassifier, 'function');
    const web = JSON.parse(await readFile(join(ROOT, 'node_modules/onnxruntime-web/package.json'), 'utf8')) as { version: string };
    const node = JSON.parse(await readFile(join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string };
    assert.equal(web.version, node.version);
  });

  test('rgbFromRgba drops alpha', () => {
    const rgb = rgbFromRgba({ data: new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 0]), width: 2, height: 1 });
    assert.deepEqual([...rgb.data], [1, 2, 3, 4, 5, 6]);
    assert.throws(() => rgbFromRgba({ data: new Uint8ClampedArray(7), width: 2, height: 1 }), /7 bytes for 2x1 RGBA/);
  });
});

describe('exportWeb', () => {
  const rgbSite = join(dir, 'rgb-site');
  const graySite = join(dir, 'gray-site');

  before(async () => {
    await exportWeb({ ...MODEL, weights, dir: rgbSite, threads: 1 });
    await exportWeb({ onnx: grayOnnx, dir: graySite, threads: 1 });
  });

  test('writes the page, the model, its sidecar, onnxruntime-web and the compiled modules', async () => {
    const again = await exportWeb({ ...MODEL, weights, dir: rgbSite, threads: 1 }); // over its previous export
    const paths = again.files.map((f) => f.path);
    for (const f of ['index.html', 'page.css', 'model.onnx', 'model.json', 'ort/ort.wasm.min.mjs', 'ort/ort-wasm-simd-threaded.mjs', 'ort/ort-wasm-simd-threaded.wasm', 'lib/web/page.js', 'lib/data/preprocessing.js', 'lib/data/transforms.js']) {
      assert.ok(paths.includes(f), f);
    }
    assert.equal(again.bytes, again.files.reduce((a, f) => a + f.bytes, 0));
    assert.ok(!(await readFile(join(rgbSite, 'lib/web/page.js'), 'utf8')).includes('sourceMappingURL'));
    // The site's modules are dist's, byte for byte but for the source-map line.
    const dist = (await readFile(join(DIST, 'data/transforms.js'), 'utf8')).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
    assert.equal(await readFile(join(rgbSite, 'lib/data/transforms.js'), 'utf8'), dist);
    const html = await readFile(join(rgbSite, 'index.html'), 'utf8');
    assert.ok(!/https?:\/\//.test(html), 'no absolute URL in index.html');

    const sidecar = parseSidecar(JSON.parse(await readFile(join(rgbSite, 'model.json'), 'utf8')));
    const meta = onnxMetadata(new Uint8Array(await readFile(join(rgbSite, 'model.onnx'))));
    assert.deepEqual(sidecar.preprocessing, JSON.parse(meta.get('mobilezoo.preprocessing')!));
    assert.deepEqual(sidecar.classNames, JSON.parse(meta.get('mobilezoo.class_names')!));
    assert.equal(sidecar.model, 'mobilenet_v2');
    assert.deepEqual(sidecar.options, MODEL.modelOptions);
    assert.deepEqual(sidecar.inputSize, [3, 32, 32]);
    assert.equal(sidecar.file.bytes, again.files.find((f) => f.path === 'model.onnx')!.bytes);
    assert.equal(sidecar.source, 'weights.safetensors');
  });

  test('an ONNX file is copied as it is, its metadata giving the sidecar', async () => {
    assert.deepEqual(await readFile(join(graySite, 'model.onnx')), await readFile(grayOnnx));
    const sidecar = parseSidecar(JSON.parse(await readFile(join(graySite, 'model.json'), 'utf8')));
    assert.deepEqual(sidecar.classNames, FASHION_CLASSES);
    assert.deepEqual(sidecar.preprocessing.transform.map((s) => s.op), ['toGrayscale', 'fit', 'pad', 'grayscaleToRgb', 'normalize']);
    assert.equal(sidecar.source, 'gray.onnx');
  });

  test('refuses a folder that is not empty and not a previous export, and ONNX files without the metadata', async () => {
    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'mine');
    await assert.rejects(exportWeb({ ...MODEL, weights, dir: other }), new RegExp(`${other}: the folder is not empty and not a previous export --web`));
    assert.equal(await readFile(join(other, 'notes.txt'), 'utf8'), 'mine');
    // A failed export into a previous one leaves a folder that the next export accepts.
    await assert.rejects(exportWeb({ ...MODEL, weights: join(dir, 'missing.safetensors'), dir: rgbSite }), /missing\.safetensors/);
    await exportWeb({ ...MODEL, weights, dir: rgbSite, threads: 1 });

    const bare = join(dir, 'bare.onnx');
    const meta = [...onnxMetadata(new Uint8Array(await readFile(grayOnnx)))].map(([key, value]) => ({ key, value }));
    await rewriteMetadata(grayOnnx, meta.filter((m) => m.key !== 'mobilezoo.class_names'), bare);
    await assert.rejects(exportWeb({ onnx: bare, dir: join(dir, 'x') }), /bare\.onnx: the ONNX metadata has no mobilezoo\.class_names/);
    await rewriteMetadata(grayOnnx, [], bare);
    await assert.rejects(exportWeb({ onnx: bare, dir: join(dir, 'x') }), /bare\.onnx: the ONNX metadata has no mobilezoo\.preprocessing/);
    assert.ok(!existsSync(join(dir, 'x')), 'nothing written for a refused ONNX file');
  });

  test('mobilezoo/web on the site files gives predict\'s probabilities (onnxruntime-node as the runtime)', async () => {
    for (const [site, reference, files] of [
      [rgbSite, { ...MODEL, weights }, [images.wide, images.tall]],
      [graySite, { onnx: grayOnnx }, [images.gray, images.wide]],
    ] as const) {
      const sidecar = JSON.parse(await readFile(join(site, 'model.json'), 'utf8')) as unknown;
      const classifier = await createWebClassifier({ model: await readFile(join(site, 'model.onnx')), sidecar, backend: nodeBackend({ threads: 1 }) });
      const expected = await predictImages([...files], { ...reference, top: 10, threads: 1 });
      for (const [i, file] of files.entries()) {
        const rgb = await decodeImageRgb(file);
        const rgba = new Uint8ClampedArray(rgb.width * rgb.height * 4).fill(255);
        for (let p = 0; p < rgb.width * rgb.height; p++) rgba.set(rgb.data.subarray(p * 3, p * 3 + 3), p * 4);
        const x = classifier.preprocess({ data: rgba, width: rgb.width, height: rgb.height });
        assert.deepEqual(x, compilePreprocessing(classifier.sidecar.preprocessing)(rgb), 'RGBA input: the same model input as RGB');
        const { top } = await classifier.classify(rgb, 10);
        const want = expected.predictions[i]!.top;
        assert.deepEqual(top.map((t) => t.index), want.map((t) => t.index), file);
        top.forEach((t, k) => assert.ok(Math.abs(t.probability - want[k]!.probability) < 1e-5, `${file} class ${t.index}: ${t.probability} vs ${want[k]!.probability}`));
        assert.ok(want[0]!.probability - want[1]!.probability > 1e-3, `${file}: the top class is ahead by more than the browser test's tolerance (${want[0]!.probability} vs ${want[1]!.probability})`);
      }
      await classifier.release();
    }
  });

  test('mobilezoo export --web and its flags', async () => {
    const site = join(dir, 'cli-site');
    const cli = async (args: string[]) => {
      const m = memoryStreams();
      return { code: await runCli(['export', ...args], m.io), stdout: m.out(), stderr: m.err() };
    };
    const r = await cli(['--web', site, '--from-onnx', grayOnnx, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { dir: string; files: { path: string }[]; sidecar: { classNames: string[] } };
    assert.equal(j.dir, site);
    assert.deepEqual(j.sidecar.classNames, FASHION_CLASSES);
    assert.ok(existsSync(join(site, 'ort/ort-wasm-simd-threaded.wasm')));
    const usage = async (args: string[], re: RegExp) => {
      const u = await cli(args);
      assert.equal(u.code, 2, u.stderr);
      assert.match(u.stderr, re);
    };
    await usage(['--model', 'mobilenet_v2'], /--onnx, --pth, --pytorch or --web: give one output/);
    await usage(['--onnx', join(dir, 'a.onnx'), '--web', site, '--model', 'mobilenet_v2'], /--onnx, --pth, --pytorch or --web: give one output/);
    await usage(['--onnx', join(dir, 'a.onnx'), '--from-onnx', grayOnnx], /--from-onnx: an input of --web/);
    await usage(['--web', site, '--from-onnx', grayOnnx, '--weights', weights, '--model', 'mobilenet_v2'], /--from-onnx: give it or --checkpoint/);
  });
});
