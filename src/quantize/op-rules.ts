/**
 * How each op takes part in QDQ quantization, as ORT's CPU EP fuses it (its QDQ selectors, in
 * onnxruntime/core/optimizer/qdq_transformer/selectors_actions):
 * - compute: DQ on every activation input (and on int8 weights, int32 bias) and Q on the output become
 *   one integer kernel: Conv → QLinearConv, Gemm → QGemm, Add/Mul → QLinearAdd/QLinearMul, Concat →
 *   QLinearConcat, (Global)AveragePool, Sigmoid → QLinear*. QGemm may also end in float (no Q after it).
 * - movement: ops that only move or select values run on the uint8 data when the DQ before and the Q
 *   after share one scale and zero point (ORT drops both); Split too, with equal parameters on all outputs.
 * - activation: Relu and Clip right after a compute op are absorbed by that op's output quantization:
 *   with zero point 0 (and 255·scale ≤ 6 for ReLU6) ORT's ReluQuantFusion / ClipQuantFusion remove them.
 * - rescale: a Mul by a positive scalar constant is no op at all on quantized values, only a scale: its
 *   readers dequantize its input's uint8 values with the scale times the constant.
 * Any other op has no integer kernel and runs in float between a DQ and a Q. Activation inputs that are
 * constants (the 3 of relu6(x + 3)) are quantized like any activation, from their own values.
 */
import { type Attrs, type Graph, type Node, intAttr } from '../graph/ir.js';

export type OpRule =
  | {
      kind: 'compute';
      /** Inputs that are activations (quantized per tensor); 'all' for variadic ops. */
      activations: number[] | 'all';
      /** The weight input, quantized int8 per channel along `axis`. */
      weight?: { input: number; axis: (attrs: Attrs) => number };
      /** The bias input, quantized int32 on input scale × weight scale. */
      bias?: number;
      /** Whether the fused kernel needs a Q on the output, or may also produce float. */
      output: 'quantized' | 'either';
    }
  | { kind: 'movement' }
  | { kind: 'activation' }
  | { kind: 'rescale'; input: number; factor: number };

const unary: OpRule = { kind: 'compute', activations: [0], output: 'quantized' };
const binary: OpRule = { kind: 'compute', activations: [0, 1], output: 'quantized' };
const movement: OpRule = { kind: 'movement' };

export const OP_RULES: Record<string, OpRule> = {
  Conv: { kind: 'compute', activations: [0], weight: { input: 1, axis: () => 0 }, bias: 2, output: 'quantized' },
  // The output channels of B are its rows when transB = 1 (PyTorch's Linear), its columns otherwise.
  Gemm: { kind: 'compute', activations: [0], weight: { input: 1, axis: (a) => (intAttr(a, 'transB', 0) ? 0 : 1) }, bias: 2, output: 'either' },
  Add: binary,
  Mul: binary,
  Concat: { kind: 'compute', activations: 'all', output: 'quantized' },
  GlobalAveragePool: unary,
  AveragePool: unary,
  Sigmoid: unary,
  MaxPool: movement,
  Reshape: movement,
  Transpose: movement,
  Flatten: movement,
  Split: movement,
  Squeeze: movement,
  Unsqueeze: movement,
  Relu: { kind: 'activation' },
  Clip: { kind: 'activation' },
};

/**
 * The rule of a node: its op's, except that a Mul by a positive scalar constant is a rescale, and a
 * Clip is an absorbable activation only from 0 to a constant (ReLU6): a quantized range that starts
 * at 0 lies inside that clip, not inside one with another lower bound.
 */
export function ruleOf(graph: Graph, node: Node): OpRule | undefined {
  const c = node.inputs.map((i) => graph.initializers.get(i));
  const value = (i: number) => (c[i]?.size === 1 && c[i]!.dtype === 'float32' ? c[i]!.toFloat32()[0]! : undefined);
  if (node.op === 'Mul') {
    const k = [0, 1].find((i) => value(i)! > 0);
    if (k !== undefined && !c[1 - k]) return { kind: 'rescale', input: 1 - k, factor: value(k)! };
  }
  if (node.op === 'Clip' && !(value(1) === 0 && value(2)! > 0)) return undefined;
  return OP_RULES[node.op];
}

/** Indices of a compute node's activation inputs. */
export function activationInputs(rule: OpRule & { kind: 'compute' }, inputs: string[]): number[] {
  return rule.activations === 'all' ? inputs.map((_, i) => i) : rule.activations.filter((i) => inputs[i]);
}
