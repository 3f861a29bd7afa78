/** Plain-text renderings of summaries, evaluations and predictions. */
import type { Summary } from '../nn/summary.js';
import { classSupport, formatTable, humanBytes } from '../report/metrics.js';
import type { EmbedResult, ExportPthResult, ExportResult, QuantizeResult, ExportWebResult, PredictResult, TestResult } from '../workflow/index.js';
import type { EvalResult, ExportPytorchResult } from '../workflow/index.js';
import { TTA_DESCRIPTIONS } from '../workflow/tta.js';
import { shellQuote } from './parse.js';

export const grouped = (n: number) => n.toLocaleString('en-US');

/**
 * Control characters (C0 but newline and tab, DEL, C1) and the bidirectional overrides, written as
 * `\uXXXX`: a class or file name that came from a folder must not move the cursor, recolour or retitle
 * the terminal, or reorder what is shown. The escape is also valid inside JSON strings, so --json output
 * decodes to the same names.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function escapeControl(s: string): string {
  return s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A stream that writes through escapeControl; `raw` is the stream itself (for progress bars, which draw with escapes). */
export function escapingStream<S extends NodeJS.WritableStream & { isTTY?: boolean }>(stream: S): S & { raw: S } {
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'raw') return target;
      if (prop === 'write') {
        return (chunk: string | Uint8Array, ...rest: unknown[]) =>
          (target.write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(typeof chunk === 'string' ? escapeControl(chunk) : escapeControl(Buffer.from(chunk).toString('utf8')), ...rest);
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as S & { raw: S };
}

export function humanCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '-');
const shape = (s: readonly (number | string)[]) => `[${s.join(', ')}]`;

export function summaryText(model: string, options: Record<string, unknown>, s: Summary): string {
  const rows = s.rows.map((r) => [r.name, r.type, shape(r.outputShape), grouped(r.params), grouped(r.macs)]);
  const opts = Object.entries(options).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
  return [
    `${model}${opts ? ` (${opts})` : ''}, input ${shape([1, ...s.inputShape])}`,
    '',
    formatTable(rows, ['name', 'type', 'output shape', 'params', 'MACs'], { align: ['left', 'left', 'left', 'right', 'right'] }),
    '',
    `layers:           ${s.rows.length}`,
    `total params:     ${grouped(s.totalParams)} (${humanCount(s.totalParams)})`,
    `trainable params: ${grouped(s.trainableParams)}`,
    `total MACs:       ${grouped(s.totalMacs)} (${humanCount(s.totalMacs)})`,
    `output:           ${shape(s.outputShape)}`,
  ].join('\n');
}

/**
 * Loss, top-1/5, per-class accuracy and the confusion matrix. With `present` (the classes a subset test
 * split holds) only those rows are shown, and predictions of the other classes are one "other" column.
 */
export function evalText(r: EvalResult, classNames: string[], present?: number[]): string {
  const support = classSupport(r.confusion);
  const shown = present ?? classNames.map((_, i) => i);
  const subset = shown.length < classNames.length;
  const lines = [
    `loss ${r.loss.toFixed(4)}  top-1 ${pct(r.top1)}  top-5 ${pct(r.top5)}  (${r.count} images${subset ? `, ${shown.length} of the model's ${classNames.length} classes` : ''})`,
    '',
    formatTable(
      shown.map((i) => [i, classNames[i]!, pct(r.perClass[i]!), support[i]!]),
      ['#', 'class', 'accuracy', 'support'],
      { align: ['right', 'left', 'right', 'right'] },
    ),
  ];
  if (shown.length <= 20) {
    const cols = [...shown.map(String), ...(subset ? ['other'] : [])];
    const rows = shown.map((i) => {
      const row = r.confusion[i]!;
      const cells = shown.map((j) => row[j]!);
      if (subset) cells.push(row.reduce((a, v) => a + v, 0) - cells.reduce((a, v) => a + v, 0));
      return [`${i} ${classNames[i]}`, ...cells];
    });
    lines.push(
      '',
      `confusion matrix (rows: true class, columns: predicted class #${subset ? '; other: any class not in the test split' : ''})`,
      formatTable(rows, ['', ...cols], { align: ['left', ...cols.map(() => 'right' as const)] }),
    );
  } else {
    lines.push('', `(confusion matrix of ${shown.length} classes not printed; see --json or --out)`);
  }
  return lines.join('\n');
}

export function testText(r: TestResult): string {
  const tta = r.tta !== 'none' ? `, test-time augmentation: ${r.tta} (softmax averaged over ${TTA_DESCRIPTIONS[r.tta]})` : '';
  const mapped = r.classMap ? [`classes mapped by name: ${r.classMap.map((m) => `${m.dataset} → ${m.model}`).join(', ')}`] : [];
  return [`${r.model} on the ${r.dataset} test split, input ${r.inputSize.join('x')}, weights ${r.weights}${tta}`, ...mapped, evalText(r, r.classNames, r.present)].join('\n');
}

export { testResultJson as testJson } from '../workflow/test.js';

export function predictText(r: PredictResult): string {
  const lines = [`${r.model}, weights ${r.weights}`, `preprocessing: ${r.preprocessing}`];
  for (const p of r.predictions) {
    lines.push('', p.file);
    const w = Math.max(...p.top.map((t) => t.label.length));
    p.top.forEach((t, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${t.label.padEnd(w)}  ${(t.probability * 100).toFixed(2).padStart(6)}%  (class ${t.index})`));
  }
  return lines.join('\n');
}

export function exportText(r: ExportResult): string {
  const io = [
    ...r.inputs.map((v) => ['input', v.name, 'float32', shape(v.shape)]),
    ...r.outputs.map((v) => ['output', v.name, 'float32', shape(v.shape)]),
  ];
  return [
    `wrote ${r.path} (${humanBytes(r.bytes)}, ${grouped(r.bytes)} bytes): ${r.model}, weights ${r.weights}`,
    formatTable(io, ['', 'name', 'type', 'shape'], { align: ['left', 'left', 'left', 'left'] }),
    `verified in onnxruntime: a batch of ${r.check.batch} → ${shape(r.check.outputShape)}, finite, in ${r.check.ms.toFixed(1)} ms`,
  ].join('\n');
}

export function exportWebText(r: ExportWebResult): string {
  const s = r.sidecar;
  if (!s) {
    return [
      `wrote ${r.dir} (${r.files.length} files, ${humanBytes(r.bytes)}): the teach page; ${r.teach?.start.length ? `it starts from ${r.model}, weights ${r.source} (start/)` : `no bundled weights (the page starts from ${r.model}, or weights a user gives it)`}`,
      formatTable(r.files.filter((f) => !f.path.startsWith('lib/')).map((f) => [f.path, humanBytes(f.bytes)]), ['file', 'size'], { align: ['left', 'right'] }),
      `lib/: ${r.files.filter((f) => f.path.startsWith('lib/')).length} modules`,
      `serve the folder with any static server (a file:// page cannot load modules), e.g. python3 -m http.server -d ${shellQuote([r.dir])} 8000, then open http://localhost:8000/; for several wasm threads, serve it cross-origin isolated (see the README)`,
    ].join('\n');
  }
  return [
    `wrote ${r.dir} (${r.files.length} files, ${humanBytes(r.bytes)}): a web page for ${r.model}, weights ${r.source}`,
    `model.onnx: ${humanBytes(s.file.bytes)}, input ${s.inputSize.join('x')}, ${s.classNames.length} classes${r.onnx ? `, verified in onnxruntime (a batch of ${r.onnx.check.batch} in ${r.onnx.check.ms.toFixed(1)} ms)` : ''}`,
    formatTable(r.files.map((f) => [f.path, humanBytes(f.bytes)]), ['file', 'size'], { align: ['left', 'right'] }),
    `serve the folder with any static server (a file:// page cannot load the model), e.g. python3 -m http.server -d ${shellQuote([r.dir])} 8000, then open http://localhost:8000/`,
  ].join('\n');
}

export function exportPthText(r: ExportPthResult): string {
  return `wrote ${r.path} (${humanBytes(r.bytes)}, ${grouped(r.bytes)} bytes): state dict of ${r.tensors} tensors, ${r.model}, weights ${r.weights}`;
}

export function exportPytorchText(r: ExportPytorchResult): string {
  const start = r.mode === 'resume' ? `continues its run at epoch ${r.epoch} of ${r.epochs} (step ${r.step})` : `a new run of ${r.epochs} epochs from its weights`;
  return [
    `wrote ${r.dir}: ${r.files.join(', ')}`,
    `${r.model} on ${r.dataset}: ${start}`,
    ...r.notes.map((n) => `note: ${n}`),
    `run it: cd ${r.dir} && python train.py   (torchrun --nproc_per_node N train.py on N GPUs; see its README.md)`,
  ].join('\n');
}

export function embedText(r: EmbedResult): string {
  const lines = [`${r.model}, weights ${r.weights}`, `preprocessing: ${r.preprocessing}`, `${r.dim} values per image (--out FILE or --json for all of them)`];
  r.files.forEach((file, i) => {
    const v = r.embeddings.subarray(i * r.dim, (i + 1) * r.dim);
    const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    lines.push(`${file}  norm ${norm.toFixed(4)}  [${Array.from(v.subarray(0, 4), (x) => x.toFixed(4)).join(', ')}, …]`);
  });
  return lines.join('\n');
}

export function quantizeText(r: QuantizeResult): string {
  const fused = Object.entries(r.fused).filter(([op]) => /^QLinear|^QGemm|^MatMulInteger|^ConvInteger/.test(op)).map(([op, n]) => `${n} ${op}`).join(', ');
  const float = Object.entries(r.report.floatNodes).map(([op, n]) => `${n} ${op}`).join(', ');
  return [
    `wrote ${r.path} (${humanBytes(r.bytes)}, ${grouped(r.bytes)} bytes): int8 ${r.model}, weights ${r.weights}`,
    `calibrated (${r.method}) on ${r.calibrationImages} ${r.dataset} training images; BatchNorms folded: ${r.report.foldedBatchNorms}; kept in float: ${r.keepFloat.join(', ') || 'nothing'}${float ? ` (${float})` : ''}`,
    `ONNX Runtime runs it on: ${fused || 'no int8 kernel'}`,
  ].join('\n');
}
