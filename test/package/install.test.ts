/**
 * The package as users install it: `npm pack`, then `npm install --offline` of the tarball into a fresh
 * project (npm takes the dependencies from its cache where it has them; nothing else is downloaded:
 * onnxruntime-node's CPU build ships in its package and its CUDA fetch is denied by the project's
 * allowScripts), then import, require, run a model, the CLI and export --web.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createModel } from '../../src/models/registry.js';
import { ROOT, rmrf, tempDir } from '../cli/helpers.js';

const dir = tempDir('mobilezoo-package-');
after(() => rmrf(dir));

/** The environment of a user's shell: none of the npm_* variables `npm test` sets (a nested npm would take them as its config), no install-skip variable. */
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'ONNXRUNTIME_NODE_INSTALL'));

function run(cmd: string, args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...userEnv, npm_config_update_notifier: 'false' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('npm pack + npm install of the tarball', () => {
  test('installs offline without warnings, ships only what users need, imports, requires and runs', () => {
    const pack = run('npm', ['pack', '--silent', '--pack-destination', dir], ROOT);
    assert.equal(pack.code, 0, pack.err);
    const tarball = join(dir, pack.out.trim().split('\n').pop()!);
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    const top = new Set(listing.map((f) => f.split('/')[1]));
    assert.deepEqual([...top].sort(), ['LICENSE', 'README.md', 'bin', 'dist', 'package.json', 'src']);
    assert.ok(listing.filter((f) => f.startsWith('package/src/')).every((f) => f.startsWith('package/src/web/site/')), 'only the page assets of src/');
    assert.ok(listing.includes('package/dist/index.d.ts'));

    const project = join(dir, 'project');
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({
      name: 'uses-mobilezoo', version: '1.0.0', private: true,
      // What the README tells npm 11 users (npm 12 blocks dependency install scripts by default).
      allowScripts: { 'onnxruntime-node': false, protobufjs: false },
    }));
    // --prefer-offline: a fresh CI machine's cache holds the lockfile's tarballs but not the registry's
    // package lists that resolving the tarball's version ranges needs.
    const install = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
    assert.equal(install.code, 0, install.err);
    assert.doesNotMatch(install.err, /npm warn/i);
    const ortBin = join(project, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64');
    if (existsSync(ortBin)) assert.ok(!readdirSync(ortBin).some((f) => /cuda|tensorrt/.test(f)), 'no CUDA provider was fetched');

    const esm = run(process.execPath, ['--input-type=module', '-e', `
      import { createModel, InferenceSession, nodeBackend } from 'mobilezoo';
      const model = createModel('shufflenet_v2_x0_5', { numClasses: 3, stem: 'cifar' });
      const s = await InferenceSession.create(model, { inputSize: [3, 32, 32], backend: nodeBackend({ threads: 1 }) });
      const y = await s.run(new Float32Array(2 * 3 * 32 * 32).fill(0.5));
      console.log(JSON.stringify({ n: y.length, finite: y.every(Number.isFinite) }));
      await s.dispose();`], project);
    assert.equal(esm.code, 0, esm.err);
    assert.deepEqual(JSON.parse(esm.out), { n: 6, finite: true });

    const cjs = run(process.execPath, ['-e', "console.log(typeof require('mobilezoo').createModel)"], project);
    assert.equal(cjs.code, 0, cjs.err);
    assert.equal(cjs.out.trim(), 'function');

    const cli = run(join(project, 'node_modules/.bin/mobilezoo'), ['summary', 'mobilenet_v3_small', '--json'], project);
    assert.equal(cli.code, 0, cli.err);
    const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(JSON.parse(cli.out).totalParams, createModel('mobilenet_v3_small').parameterCount());
    assert.equal(run(join(project, 'node_modules/.bin/mobilezoo'), ['--version'], project).out.trim(), own.version);
    const web = run(join(project, 'node_modules/.bin/mobilezoo'), ['export', '--web', 'site', '--model', 'shufflenet_v2_x0_5', '--classes', '3', '--stem', 'cifar', '--json'], project);
    assert.equal(web.code, 0, web.err);
    for (const f of ['index.html', 'model.onnx', 'model.json', 'ort/ort-wasm-simd-threaded.wasm', 'lib/web/page.js']) assert.ok(existsSync(join(project, 'site', f)), f);
  });
});
