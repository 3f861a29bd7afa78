// Argument mapping and comparisons for the PyTorch reference fixtures (not a test file); where they are: ../reference-fixtures.ts.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { readSafetensors } from '../../src/io/safetensors.js';
import type { Module } from '../../src/nn/module.js';
import type { Backend } from '../../src/runtime/backend.js';
import { InferenceSession } from '../../src/runtime/inference.js';
import { COUNTS, NO_FIXTURES, REFERENCE } from '../reference-fixtures.js';

export { COUNTS, NO_FIXTURES, ORIGINAL_FIXTURES, REFERENCE, REFERENCE_BENCH_ONNX, SHARED } from '../reference-fixtures.js';

export interface CaseMeta {
  id: string;
  builder: string;
  args: Record<string, unknown>;
  input_shape: [number, number, number, number];
  num_classes: number;
  params: number;
  macs: number;
  seed: number;
  fp32_vs_fp64: { logits_eval: number };
}

export interface CountsRow {
  builder: string;
  args: Record<string, unknown>;
  input: [number, number, number];
  params: number;
  macs: number;
}

/** The reference builders' snake_case keyword arguments → createModel options. */
const RENAMES: Record<string, string> = {
  width_mult: 'widthMult',
  num_classes: 'numClasses',
  reduced_tail: 'reducedTail',
  group: 'groups',
  model_size: 'size',
  dropout: 'dropout',
};

export function modelOptions(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    const name = RENAMES[k];
    if (!name) throw new Error(`fixture argument '${k}' has no createModel option mapping`);
    out[name] = v;
  }
  return out;
}

/** The fixture cases ([] without fixtures). */
export function caseIds(): string[] {
  if (NO_FIXTURES) return [];
  return readdirSync(REFERENCE, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function readMeta(id: string): CaseMeta {
  return JSON.parse(readFileSync(`${REFERENCE}${id}/meta.json`, 'utf8')) as CaseMeta;
}

export function readCounts(): CountsRow[] {
  return (JSON.parse(readFileSync(COUNTS, 'utf8')) as { rows: CountsRow[] }).rows;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export interface GradientErrors {
  /** sqrt(Σ‖ours − exact‖² / Σ‖exact‖²) over every stored gradient. */
  globalRelL2: number;
  /** Cosine similarity per tensor whose norm is above 1e-4 of the largest (smaller ones are noise). */
  cosines: Map<string, number>;
  missing: string[];
}

/** Our gradients against a fixture's `grad/<parameter>` tensors. */
export function gradientErrors(exact: Map<string, { toFloat32(): Float32Array }>, ours: Map<string, Float32Array>): GradientErrors {
  const stored = [...exact].filter(([k]) => k.startsWith('grad/')).map(([k, t]) => [k.slice(5), t.toFloat32()] as const);
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  const largest = Math.max(0, ...stored.map(([, e]) => norm(e)));
  let num = 0;
  let den = 0;
  const cosines = new Map<string, number>();
  const missing: string[] = [];
  for (const [name, e] of stored) {
    const o = ours.get(name);
    if (!o) {
      missing.push(name);
      continue;
    }
    let dot = 0;
    let oo = 0;
    let ee = 0;
    for (let i = 0; i < e.length; i++) {
      num += (o[i]! - e[i]!) ** 2;
      dot += o[i]! * e[i]!;
      oo += o[i]! ** 2;
      ee += e[i]! ** 2;
    }
    den += ee;
    if (Math.sqrt(ee) > 1e-4 * largest) cosines.set(name, dot / Math.sqrt(oo * ee));
  }
  return { globalRelL2: Math.sqrt(num / den), cosines, missing };
}

/** The fixtures README's bar for float32 eval logits. */
export const EVAL_TOLERANCE = 1e-4;

/**
 * max |ours − PyTorch| / max |PyTorch| of a case's eval logits, with the case's weights already in
 * `model`, on a backend; asserts the README's bar.
 */
export async function evalLogitsError(id: string, model: Module, backend: Backend): Promise<number> {
  const meta = readMeta(id);
  const [batch, ...inputSize] = meta.input_shape;
  const data = readSafetensors(readFileSync(`${REFERENCE}${id}/case.safetensors`), `${id}/case.safetensors`);
  const input = data.get('input')!;
  const expected = data.get('logits_eval')!.toFloat32();
  assert.deepEqual([...input.shape], meta.input_shape);
  const session = await InferenceSession.create(model, { inputSize: inputSize as [number, number, number], backend });
  let logits: Float32Array;
  try {
    logits = await session.run(input.toFloat32(), batch);
  } finally {
    await session.dispose();
  }
  assert.equal(logits.length, batch * meta.num_classes);
  const rel = maxAbsDiff(logits, expected) / maxAbs(expected);
  assert.ok(rel <= EVAL_TOLERANCE, `${id} on ${backend.name}: eval logits relative error ${rel} > ${EVAL_TOLERANCE}`);
  return rel;
}
