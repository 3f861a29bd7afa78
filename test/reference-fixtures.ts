/**
 * Where the PyTorch reference fixtures are (not a test file): ../shared beside the clone, where this
 * project's machines keep them; else $MOBILEZOO_FIXTURES; else .cache/reference, which
 * `dev/reference-fixtures.py` writes. Tests that need them skip with NO_FIXTURES, a line that says how
 * to get them.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const BESIDE = join(ROOT, '..', 'shared');

const found = [BESIDE, process.env.MOBILEZOO_FIXTURES, join(ROOT, '.cache', 'reference')]
  .filter((d): d is string => Boolean(d))
  .find((d) => existsSync(join(d, 'fixtures', 'reference')));

/** The folder holding fixtures/ and reference-bench/ (with a trailing slash), or '' when there is none. */
export const SHARED = found ? `${found}/` : '';
export const REFERENCE = `${SHARED}fixtures/reference/`;
export const COUNTS = `${SHARED}fixtures/counts.json`;
export const REFERENCE_BENCH_ONNX = `${SHARED}reference-bench/mobilenet_v2_cifar.onnx`;
/** True when they are ../shared's own files, whose exact weights some committed references were made from. */
export const ORIGINAL_FIXTURES = found === BESIDE;

export const NO_FIXTURES: string | false = found
  ? false
  : 'the PyTorch reference fixtures are not in ../shared, $MOBILEZOO_FIXTURES or .cache/reference: make them with /usr/bin/python3 dev/reference-fixtures.py (Debian\'s python3-torch)';
