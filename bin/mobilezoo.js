#!/usr/bin/env node
// The mobilezoo command. Runs the compiled CLI (dist/: shipped in the package; in a checkout built by
// `npm run build`, `npm run demo` or `npm pack`); without a build, runs the TypeScript sources through
// tsx (a devDependency).
// MOBILEZOO_FROM_SRC=1 forces the sources even when dist/ exists.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/main.js', import.meta.url);
const src = new URL('../src/cli/main.ts', import.meta.url);
const fromSrc = process.env.MOBILEZOO_FROM_SRC === '1' || !existsSync(fileURLToPath(dist));

if (!fromSrc) {
  await import(dist.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'mobilezoo: dist/ is not built and tsx is not installed.\n' +
        'Build it with `npm run build`.\n',
    );
    process.exit(1);
  }
  if (!existsSync(fileURLToPath(src))) {
    process.stderr.write('mobilezoo: neither dist/cli/main.js nor src/cli/main.ts found; run `npm run build`.\n');
    process.exit(1);
  }
  register();
  await import(src.href);
}
