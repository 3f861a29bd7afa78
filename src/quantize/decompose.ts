/**
 * HardSwish and PyTorch's HardSigmoid written as the ops they are made of, x·relu6(x + 3)/6 and
 * relu6(x + 3)/6, because ORT has integer kernels for those (QLinearAdd with the Clip absorbed by its
 * output quantization, a rescale, QLinearMul) and none for the two activations themselves, which would
 * otherwise each run in float between a DequantizeLinear and a QuantizeLinear.
 */
import type { Graph, Node } from '../graph/ir.js';
import { floatAttr } from '../graph/ir.js';
import { addInitializer, makeNode } from '../graph/edit.js';
import { Tensor } from '../tensor.js';

const scalar = (graph: Graph, v: number) => addInitializer(graph, `hard_activation_constant_${v}`, Tensor.float32([], [v]));

/** relu6(x + 3)/6 (and ×x), as nodes writing `out`. */
function expand(graph: Graph, n: Node, withInput: boolean): Node[] {
  const [x] = n.inputs as [string];
  const out = n.outputs[0]!;
  const nodes: Node[] = [];
  const emit = (op: string, inputs: string[], name: string) => {
    nodes.push(makeNode(graph, op, inputs, name, {}, n.scope));
    return name;
  };
  const relu6 = emit('Clip', [emit('Add', [x, scalar(graph, 3)], `${out}_plus_3`), scalar(graph, 0), scalar(graph, 6)], `${out}_relu6`);
  const sigmoid = emit('Mul', [relu6, scalar(graph, 1 / 6)], withInput ? `${out}_hardsigmoid` : out);
  if (withInput) emit('Mul', [x, sigmoid], out);
  return nodes;
}

const isPyTorchHardSigmoid = (n: Node) =>
  n.op === 'HardSigmoid' && Math.abs(floatAttr(n.attrs, 'alpha', 0.2) - 1 / 6) < 1e-7 && floatAttr(n.attrs, 'beta', 0.5) === 0.5;

/** Rewrites the HardSwish and HardSigmoid(1/6, 1/2) nodes `keep` does not keep; returns how many. */
export function decomposeHardActivations(graph: Graph, keep: (node: Node) => boolean): number {
  let count = 0;
  const nodes = graph.nodes.flatMap((n) => {
    if (keep(n) || !(n.op === 'HardSwish' || isPyTorchHardSigmoid(n))) return [n];
    count++;
    return expand(graph, n, n.op === 'HardSwish');
  });
  graph.nodes.splice(0, graph.nodes.length, ...nodes);
  return count;
}
