/** Small edits of a built Graph: copies, initializers and nodes added by name with inferred shapes. */
import type { Tensor } from '../tensor.js';
import { type Attrs, Graph, type Node } from './ir.js';
import { inferShapes } from './shapes.js';

/** A graph with the same inputs, outputs, nodes, initializers and values in arrays and maps of its own. */
export function copyGraph(source: Graph, o: { nodes?: boolean } = {}): Graph {
  const g = new Graph(source.name);
  g.inputs.push(...source.inputs);
  g.outputs.push(...source.outputs);
  if (o.nodes ?? true) g.nodes.push(...source.nodes);
  for (const [k, v] of source.initializers) g.initializers.set(k, v);
  for (const [k, v] of source.values) g.values.set(k, v);
  return g;
}

/** An initializer under `name`, unless the graph has one by that name already. */
export function addInitializer(graph: Graph, name: string, t: Tensor): string {
  if (!graph.initializers.has(name)) {
    graph.initializers.set(name, t);
    graph.values.set(name, { name, dtype: t.dtype, shape: [...t.shape] });
  }
  return name;
}

/** A node writing `output`, its value registered with the inferred shape; not yet placed in the graph. */
export function makeNode(graph: Graph, op: string, inputs: string[], output: string, attrs: Attrs = {}, scope = ''): Node {
  const [info] = inferShapes({ op, attrs, inputs: inputs.map((i) => graph.info(i)), constant: (i) => graph.initializers.get(inputs[i]!) });
  graph.values.set(output, { name: output, ...info! });
  return { name: `${output}_node`, op, inputs, outputs: [output], attrs, scope };
}

/** makeNode, appended to the graph's nodes; returns the output name. */
export function addNode(graph: Graph, op: string, inputs: string[], output: string, attrs: Attrs = {}, scope = ''): string {
  graph.nodes.push(makeNode(graph, op, inputs, output, attrs, scope));
  return output;
}
