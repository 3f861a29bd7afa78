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
 * Any other op (HardSwish, HardSigmoid, ...) has no integer kernel and runs in float between a DQ and a Q.
 */
import { type Attrs, intAttr } from '../graph/ir.js';

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
  | { kind: 'activation' };

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

/** Indices of a compute node's activation inputs. */
export function activationInputs(rule: OpRule & { kind: 'compute' }, inputs: string[]): number[] {
  return rule.activations === 'all' ? inputs.map((_, i) => i) : rule.activations.filter((i) => inputs[i]);
}
