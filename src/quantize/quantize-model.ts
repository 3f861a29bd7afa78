/**
 * Post-training static int8 quantization of a network to ONNX in QDQ form: BatchNorm folded into the
 * convs, activations uint8 per tensor from calibration ranges, weights int8 per output channel, biases
 * int32. uint8 activations with int8 weights (U8S8) are what ORT's x86 kernels run: its QDQ Conv and
 * MatMul selectors take int8 activations only on ARM, and on AVX512-VNNI / AVX-VNNI the u8·s8 dot
 * product accumulates in int32 without the 16-bit saturation of AVX2's vpmaddubsw, so the full 8-bit
 * range needs no reduce_range there (on AVX2-only CPUs ORT rewrites s8 weights to u8 for that reason).
 * Measured with onnxruntime-node 1.30 on AVX512-VNNI: the same MobileNetV2 graph with int8 activations
 * (zero points shifted by 128) got 37 of its 52 convs and none of its 10 Adds fused, and took 1.8x the
 * CPU time of uint8.
 */
import type { Graph } from '../graph/ir.js';
import type { Network } from '../models/network.js';
import { encodeModel, toModelProto } from '../onnx/serialize.js';
import { traceInference } from '../runtime/inference.js';
import { type CalibrationData, type CalibrationMethod, calibrateRanges } from './calibration.js';
import { defaultKeepFloat } from './family-defaults.js';
import { decomposeHardActivations } from './decompose.js';
import { foldBatchNorms } from './fold-batchnorm.js';
import { keepFloatMatcher } from './keep-float.js';
import { computeRule, planQuantization } from './plan.js';
import { buildQdqGraph } from './qdq-graph.js';
import { activationQParams } from './quant-params.js';

export interface QuantizeOptions {
  /** [C, H, W] of one input image. */
  inputSize: [number, number, number];
  /** NCHW batches, preprocessed as the model expects. With 'percentile' they are kept for a second pass. */
  calibration: CalibrationData;
  method?: CalibrationMethod;
  /** Percentage of values the percentile range keeps (default 99.99). */
  percentile?: number;
  /** Module types, module path prefixes, op types or 'DepthwiseConv' to keep in float (default: the family's, see KEEP_FLOAT_DEFAULTS). */
  keepFloat?: string[];
  /** ONNX metadata_props of the model. */
  metadata?: { key: string; value: string }[];
  /** Intra-op threads for calibration. */
  threads?: number;
}

export interface QuantizeReport {
  foldedBatchNorms: number;
  /** HardSwish / HardSigmoid nodes written as Add, Clip and Mul (those keepFloat does not keep, e.g. by op type). */
  decomposedActivations: number;
  calibrationImages: number;
  method: CalibrationMethod;
  keepFloat: string[];
  /** Nodes of the float graph that run in int8, by op type. */
  int8Nodes: Record<string, number>;
  /** Compute nodes (those with an integer kernel) left in float, by op type. */
  floatNodes: Record<string, number>;
  /** Relu/Clip nodes made redundant by the quantization of the output before them. */
  absorbedActivations: number;
  /** Each quantized activation value: the calibrated range of its root and its parameters. */
  activations: { value: string; min: number; max: number; scale: number; zeroPoint: number }[];
  /** Per-channel weight scales, by weight name (after BatchNorm folding). */
  weightScales: Map<string, Float32Array>;
}

function countByOp(nodes: Iterable<{ op: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
  return counts;
}

/** The eval-mode float graph of a network with its BatchNorms folded into the convs. */
export function traceFolded(model: Network, inputSize: [number, number, number]): { graph: Graph; folded: number } {
  const graph = traceInference(model, { inputSize });
  return { graph, folded: foldBatchNorms(graph) };
}

export async function quantizeModel(model: Network, o: QuantizeOptions): Promise<{ bytes: Uint8Array; report: QuantizeReport }> {
  const { graph, folded } = traceFolded(model, o.inputSize);
  const keepFloat = o.keepFloat ?? defaultKeepFloat(model.modelName);
  const keep = keepFloatMatcher(model, graph, keepFloat);
  const decomposed = decomposeHardActivations(graph, keep);
  const plan = planQuantization(graph, keep);
  const roots = [...new Set([...plan.quantized.values()].map((q) => q.root))];
  const method = o.method ?? 'minmax';
  const calibrated = roots.filter((r) => !graph.initializers.has(r));
  const { ranges, images } = await calibrateRanges(graph, calibrated, o.calibration, o.inputSize, { method, percentile: o.percentile, threads: o.threads });
  for (const r of roots) {
    const t = graph.initializers.get(r);
    if (t) ranges.set(r, { min: t.toFloat32().reduce((a, b) => Math.min(a, b)), max: t.toFloat32().reduce((a, b) => Math.max(a, b)) });
  }
  const params = new Map(roots.map((r) => [r, activationQParams(ranges.get(r)!.min, ranges.get(r)!.max)]));
  const { graph: qdq, details } = buildQdqGraph(graph, plan, params);

  const proto = toModelProto(qdq, { docString: `${model.modelName} ${JSON.stringify(model.options)} (mobilezoo, int8 QDQ, ${method} calibration on ${images} images)` });
  proto.metadataProps = o.metadata ?? [];
  const bytes = encodeModel(proto);
  const floatCompute = graph.nodes.filter((n) => computeRule(graph, n) && !plan.compute.has(n));
  return {
    bytes,
    report: {
      foldedBatchNorms: folded,
      decomposedActivations: decomposed,
      calibrationImages: images,
      method,
      keepFloat,
      int8Nodes: countByOp([...plan.compute, ...plan.movement]),
      floatNodes: countByOp(floatCompute),
      absorbedActivations: plan.absorbed.size,
      activations: [...details.activations].map(([value, p]) => ({ value, ...ranges.get(plan.quantized.get(value)!.root)!, ...p })),
      weightScales: details.weightScales,
    },
  };
}
