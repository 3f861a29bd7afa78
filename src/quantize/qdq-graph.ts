/**
 * The QDQ form of a float graph under a quantization plan: each quantized value gets a QuantizeLinear
 * (uint8) and a DequantizeLinear that all its readers read; the weights of int8 compute nodes become int8
 * initializers behind a per-channel DequantizeLinear, their biases int32 ones. The graph still computes
 * in float by the ONNX spec; ORT's QDQ transformers turn each node group into its integer kernel.
 */
import { addInitializer, addNode, copyGraph } from '../graph/edit.js';
import { type Graph, attr } from '../graph/ir.js';
import { pruneDeadNodes } from '../graph/simplify.js';
import { Tensor } from '../tensor.js';
import { computeRule, type QuantPlan } from './plan.js';
import { type QParams, quantizeBias, quantizeUint8, quantizeWeights } from './quant-params.js';

/** What was quantized, per value and per weight. */
export interface QdqDetails {
  activations: Map<string, QParams>;
  weightScales: Map<string, Float32Array>;
}

/** A per-channel DequantizeLinear (zero points 0) of constant quantized values along `axis`. */
function dequantizeConstant(g: Graph, name: string, values: Tensor, scales: Float32Array, axis: number, scope: string): string {
  const c = scales.length;
  const zeros = values.dtype === 'int8' ? new Tensor('int8', [c], new Int8Array(c)) : new Tensor('int32', [c], new Int32Array(c));
  const inputs = [addInitializer(g, `${name}_quantized`, values), addInitializer(g, `${name}_scale`, Tensor.float32([c], scales)), addInitializer(g, `${name}_zero_point`, zeros)];
  return addNode(g, 'DequantizeLinear', inputs, `${name}_dequantized`, { axis: attr.i(axis) }, scope);
}

/** The QDQ graph of `source` for `plan`, with the parameters of each root value in `params`. */
export function buildQdqGraph(source: Graph, plan: QuantPlan, params: Map<string, QParams>): { graph: Graph; details: QdqDetails } {
  const g = copyGraph(source, { nodes: false });
  const details: QdqDetails = { activations: new Map(), weightScales: new Map() };
  const paramsOf = (v: string): QParams => {
    const { root, factor } = plan.quantized.get(v)!;
    const p = params.get(root);
    if (!p) throw new Error(`quantize: no range for '${root}'`);
    return factor === 1 ? p : { scale: Math.fround(p.scale * factor), zeroPoint: p.zeroPoint };
  };
  /** Scale and zero point initializers of a value: its root's, or its own where a rescale changed the scale. */
  const paramInputs = (v: string, shape: number[] = []) => {
    const { root, factor } = plan.quantized.get(v)!;
    const p = paramsOf(v);
    const base = factor === 1 ? root : v;
    const n = shape.reduce((a, b) => a * b, 1);
    const suffix = shape.length ? '_per_channel' : '';
    return [
      addInitializer(g, `${base}_scale${suffix}`, Tensor.float32(shape, new Float32Array(n).fill(p.scale))),
      addInitializer(g, `${base}_zero_point${suffix}`, new Tensor('uint8', shape, new Uint8Array(n).fill(p.zeroPoint))),
    ];
  };
  /** The uint8 tensor each quantized value is read from, and its DequantizeLinear. */
  const uint8 = new Map<string, string>();
  const dequantized = new Map<string, string>();
  const dequantize = (v: string, scope: string) => {
    details.activations.set(v, paramsOf(v));
    dequantized.set(v, addNode(g, 'DequantizeLinear', [uint8.get(v)!, ...paramInputs(v)], `${v}_dequantized`, {}, scope));
  };
  const quantizeValue = (v: string, scope: string) => {
    const constant = source.initializers.get(v);
    if (constant) {
      const p = paramsOf(v);
      uint8.set(v, addInitializer(g, `${v}_quantized`, new Tensor('uint8', constant.shape, Uint8Array.from(constant.toFloat32(), (x) => quantizeUint8(x, p)))));
    } else {
      uint8.set(v, addNode(g, 'QuantizeLinear', [v, ...paramInputs(v)], `${v}_quantized`, {}, scope));
    }
    dequantize(v, scope);
  };

  /**
   * A float Conv or Gemm between a per-tensor DequantizeLinear and a QuantizeLinear is one that ORT's
   * WeightBiasQuantization transformer quantizes itself (its weights per tensor) and fuses after all.
   * Kept-float ones therefore read their quantized input through a per-channel DequantizeLinear with
   * the same scale on every channel: the same values, and not the pattern that transformer takes.
   * (Other ops cannot be kept this way: ORT's selectors would fuse them with the per-channel scale,
   * which their kernels refuse; planQuantization rejects those.)
   */
  const perChannel = new Map<string, string>();
  const perChannelDequantized = (v: string, scope: string) => {
    const done = perChannel.get(v);
    if (done) return done;
    const out = addNode(g, 'DequantizeLinear', [uint8.get(v)!, ...paramInputs(v, [g.info(v).shape[1] as number])], `${v}_dequantized_per_channel`, { axis: attr.i(1) }, scope);
    perChannel.set(v, out);
    return out;
  };

  for (const input of source.inputs) if (plan.quantized.has(input.name)) quantizeValue(input.name, '');
  for (const [name] of source.initializers) if (plan.quantized.has(name)) quantizeValue(name, '');
  for (const n of source.nodes) {
    const rule = computeRule(source, n);
    if (plan.rescaled.has(n)) {
      const out = n.outputs[0]!;
      uint8.set(out, uint8.get(n.inputs.find((i) => plan.quantized.has(i))!)!);
      dequantize(out, n.scope);
      continue;
    }
    const floatWithWeights = rule?.weight && plan.keptFloat.has(n);
    const inputs = n.inputs.map((i) => (!dequantized.has(i) ? i : floatWithWeights ? perChannelDequantized(i, n.scope) : dequantized.get(i)!));
    if (plan.compute.has(n) && rule?.weight) {
      const wName = n.inputs[rule.weight.input]!;
      const bName = rule.bias === undefined ? undefined : n.inputs[rule.bias];
      const axis = rule.weight.axis(n.attrs);
      const inputScale = paramsOf(n.inputs[0]!).scale;
      const bias = bName ? source.initializers.get(bName)!.toFloat32() : undefined;
      const weight = source.initializers.get(wName)!;
      const q = quantizeWeights(weight, axis, bias && { values: bias, inputScale });
      details.weightScales.set(wName, q.scales);
      inputs[rule.weight.input] = dequantizeConstant(g, wName, new Tensor('int8', weight.shape, q.values), q.scales, axis, n.scope);
      if (bName && bias) {
        const b = quantizeBias(bias, inputScale, q.scales);
        inputs[rule.bias!] = dequantizeConstant(g, bName, new Tensor('int32', [bias.length], b.values), b.scales, 0, n.scope);
      }
    }
    g.nodes.push({ ...n, inputs });
    for (const o of n.outputs) if (plan.quantized.has(o)) quantizeValue(o, n.scope);
  }
  pruneDeadNodes(g);
  return { graph: g, details };
}
