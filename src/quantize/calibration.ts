/**
 * Activation ranges from calibration: the float graph runs on the calibration batches with the values
 * to be quantized as extra outputs; each value's range is its min/max over all batches, or a percentile
 * of its histogram (a second pass over the same batches, binned over the min/max of the first).
 */
import { copyGraph } from '../graph/edit.js';
import type { Graph } from '../graph/ir.js';
import { serializeModel } from '../onnx/serialize.js';
import { createSession, ort } from '../runtime/node-backend.js';
import { Histogram } from './histogram.js';

export type CalibrationMethod = 'minmax' | 'percentile';

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** Percentage of values the percentile range keeps (default 99.99). */
  percentile?: number;
  /** Histogram bins for the percentile method (default 2048). */
  bins?: number;
  threads?: number;
}

export interface Range {
  min: number;
  max: number;
}

export type CalibrationData = AsyncIterable<Float32Array> | Iterable<Float32Array>;

/** The same graph with more values as outputs. */
function withOutputs(graph: Graph, names: string[]): Graph {
  const g = copyGraph(graph);
  const present = new Set([...graph.inputs, ...graph.outputs].map((v) => v.name));
  g.outputs.push(...names.filter((n) => !present.has(n)).map((n) => graph.info(n)));
  return g;
}

function minMax(values: Float32Array, r: Range): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < r.min) r.min = v;
    if (v > r.max) r.max = v;
  }
}

/**
 * Ranges of `names` (values of `graph`, which has one input [N, ...inputSize]) over the calibration
 * batches (NCHW, preprocessed as the model expects). Returns the ranges and the number of images seen.
 */
export async function calibrateRanges(
  graph: Graph,
  names: string[],
  calibration: CalibrationData,
  inputSize: [number, number, number],
  o: CalibrationOptions = {},
): Promise<{ ranges: Map<string, Range>; images: number }> {
  const [input] = graph.inputs;
  if (!input || graph.inputs.length !== 1) throw new Error('calibration: the graph must have exactly one input');
  const p = o.percentile ?? 99.99;
  if (!(p > 0 && p <= 100)) throw new Error(`calibration: percentile must be in (0, 100], got ${p}`);
  const session = await createSession(serializeModel(withOutputs(graph, names)), { threads: o.threads });
  const per = inputSize[0] * inputSize[1] * inputSize[2];
  const percentile = o.method === 'percentile';
  const kept: Float32Array[] = [];
  let images = 0;
  /** Each batch's value of every name, handed to `visit`. */
  const pass = async (batches: CalibrationData, visit: (name: string, values: Float32Array) => void) => {
    for await (const x of batches) {
      const n = x.length / per;
      if (!Number.isInteger(n) || n < 1) throw new Error(`calibration: a batch of ${x.length} values is not a whole number of ${inputSize.join('x')} images`);
      if (percentile && batches === calibration) kept.push(x);
      if (batches === calibration) images += n;
      const out = await session.run({ [input.name]: new ort.Tensor('float32', x, [n, ...inputSize]) });
      for (const name of names) visit(name, name === input.name ? x : (out[name]!.data as Float32Array));
    }
  };
  try {
    const ranges = new Map(names.map((n) => [n, { min: Infinity, max: -Infinity }]));
    await pass(calibration, (name, v) => minMax(v, ranges.get(name)!));
    if (images === 0) throw new Error('calibration: no calibration images');
    if (!percentile) return { ranges, images };
    const histograms = new Map(names.map((n) => [n, new Histogram(ranges.get(n)!.min, ranges.get(n)!.max, o.bins)]));
    await pass(kept, (name, v) => histograms.get(name)!.add(v));
    return { ranges: new Map(names.map((n) => [n, histograms.get(n)!.percentileRange(p)])), images };
  } finally {
    await session.release();
  }
}
