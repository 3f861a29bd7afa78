/**
 * HardSwish and PyTorch's HardSigmoid written as the ops they are made of, x·relu6(x + 3)/6 and
 * relu6(x + 3)/6, because ORT has integer kernels for those (QLinearAdd with the Clip absorbed by its
 * output quantization, a rescale, QLinearMul) and none for the two activations themselves, which would
 * otherwise each run in float between a DequantizeLinear and a QuantizeLinear.
 */
import type { Graph, Node } from '../graph/ir.js';
import { floatAttr } from '../graph/ir.js';
import { inferShapes } from '../graph/shapes.js';
import { Tensor } from '../tensor.js';

function scalar(graph: Graph, v: number): string {
  const name = `hard_activation_constant_${v}`;
  if (!graph.initializers.has(name)) {
    graph.initializers.set(name, Tensor.float32([], [v]));
    graph.values.set(name, { name, dtype: 'float32', shape: [] });
  }
  return name;
}

/** relu6(x + 3)/6 (and ×x), as nodes writing `out`. */
function expand(graph: Graph, n: Node, withInput: boolean): Node[] {
  const [x] = n.inputs as [string];
  const out = n.outputs[0]!;
  const nodes: Node[] = [];
  const emit = (op: string, inputs: string[], name: string) => {
    const [info] = inferShapes({ op, attrs: {}, inputs: inputs.map((i) => graph.info(i)), constant: (i) => graph.initializers.get(inputs[i]!) });
    graph.values.set(name, { name, ...info! });
    nodes.push({ name: `${name}_node`, op, inputs, outputs: [name], attrs: {}, scope: n.scope });
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
