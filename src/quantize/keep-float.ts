/**
 * Which nodes stay in float, from selectors naming what to keep: a module type ('SqueezeExcitation'),
 * a module path prefix ('features.1', whole path segments), an op type ('HardSwish'), or
 * 'DepthwiseConv' (convolutions with one group per input and output channel).
 */
import type { Graph, Node } from '../graph/ir.js';
import { intAttr } from '../graph/ir.js';
import type { Module } from '../nn/module.js';

export const DEPTHWISE_CONV = 'DepthwiseConv';

function isDepthwise(graph: Graph, n: Node): boolean {
  if (n.op !== 'Conv') return false;
  const [out, perGroup] = graph.info(n.inputs[1]!).shape;
  return perGroup === 1 && intAttr(n.attrs, 'group', 1) === out && out !== 1;
}

/** The scope itself and every enclosing module path: 'a.b.c' → ['a.b.c', 'a.b', 'a', '']. */
function enclosing(scope: string): string[] {
  const parts = scope ? scope.split('.') : [];
  return parts.map((_, i) => parts.slice(0, parts.length - i).join('.')).concat('');
}

/**
 * A predicate for the nodes of `graph` (traced from `model`) that `selectors` keep in float. A
 * selector that matches no node is an error: a misspelt one would otherwise quantize silently.
 */
export function keepFloatMatcher(model: Module, graph: Graph, selectors: string[]): (node: Node) => boolean {
  const types = new Map([...model.modules()].map(([path, m]) => [path, m.typeName]));
  const matches = (s: string, n: Node) =>
    enclosing(n.scope).some((p) => p === s || types.get(p) === s) || n.op === s || (s === DEPTHWISE_CONV && isDepthwise(graph, n));
  const unmatched = selectors.filter((s) => !graph.nodes.some((n) => matches(s, n)));
  if (unmatched.length > 0) {
    throw new Error(`keepFloat: ${unmatched.map((s) => `'${s}'`).join(', ')} match no node (a module type, a module path, an op type or '${DEPTHWISE_CONV}')`);
  }
  return (n) => selectors.some((s) => matches(s, n));
}
