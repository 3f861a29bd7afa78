/** Graph clean-ups before lowering: dead-code elimination, and outputs without their Identity copies. */
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
  const inputs = new Set(graph.inputs.map((v) => v.name));
  for (const name of [...graph.values.keys()]) if (!live.has(name) && !inputs.has(name)) graph.values.delete(name);
  return before - kept.length;
}

/**
 * Names an output value after the graph output it feeds, instead of copying it through the Identity
 * that `GraphBuilder.output` adds: ORT runs each as a copy (510 of them in a ShuffleNetV2 1.0x train
 * step: every new parameter, optimizer slot and buffer). Values that are graph inputs, initializers or
 * outputs under another name keep their Identity. Returns the number of Identities removed.
 */
export function elideOutputIdentities(graph: Graph): number {
  const outputs = new Set(graph.outputs.map((v) => v.name));
  const fixed = new Set([...graph.inputs.map((v) => v.name), ...graph.initializers.keys(), ...outputs]);
  const renames = new Map<string, string>();
  const removed = new Set<object>();
  for (const n of graph.nodes) {
    const [from] = n.inputs;
    const [to] = n.outputs;
    if (n.op !== 'Identity' || !from || !to || !outputs.has(to) || fixed.has(from) || renames.has(from)) continue;
    renames.set(from, to);
    removed.add(n);
  }
  if (renames.size === 0) return 0;
  const rename = (v: string) => renames.get(v) ?? v;
  const kept = graph.nodes.filter((n) => !removed.has(n));
  for (const n of kept) {
    n.inputs = n.inputs.map(rename);
    n.outputs = n.outputs.map(rename);
  }
  graph.nodes.splice(0, graph.nodes.length, ...kept);
  for (const from of renames.keys()) graph.values.delete(from);
  return removed.size;
}
