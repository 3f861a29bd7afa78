/** Dead-code elimination over the graph IR. */
import type { Graph } from './ir.js';

/**
 * Removes the nodes no graph output depends on, and the initializers only they read. Gradient rules
 * return every input's gradient and the caller keeps the ones it needs; ORT runs the rest (the first
 * conv's input gradient, for one, 2.5% of a ShuffleNetV2 0.5x step) unless they are dropped here.
 * Returns the number of nodes removed.
 */
export function pruneDeadNodes(graph: Graph): number {
  const producers = graph.producers();
  const live = new Set<string>(graph.outputs.map((v) => v.name));
  const keep = new Set<object>();
  const stack = [...live];
  while (stack.length > 0) {
    const node = producers.get(stack.pop()!);
    if (!node || keep.has(node)) continue;
    keep.add(node);
    for (const i of node.inputs) {
      if (i && !live.has(i)) {
        live.add(i);
        stack.push(i);
      }
    }
  }
  const before = graph.nodes.length;
  const kept = graph.nodes.filter((n) => keep.has(n));
  graph.nodes.splice(0, graph.nodes.length, ...kept);
  for (const name of [...graph.initializers.keys()]) if (!live.has(name)) graph.initializers.delete(name);
  for (const name of [...graph.values.keys()]) {
    if (!live.has(name) && !graph.inputs.some((v) => v.name === name)) graph.values.delete(name);
  }
  return before - kept.length;
}
