/**
 * Reverse-mode differentiation over the graph IR: walks the nodes that lie between the parameters and
 * the loss in reverse order and asks each op's rule for its input gradients, written as graph ops.
 * Composite ops (train-mode BatchNorm, the loss) register their own gradient for their output, so
 * their internal nodes are never differentiated one by one.
 */
import type { GraphBuilder } from '../graph/builder.js';
import type { Node } from '../graph/ir.js';
import { Tensor, numel } from '../tensor.js';
import { nchwcGradRules } from './nchwc.js';
import { gradRules } from './rules.js';

/** A gradient computed for an output directly from its inputs, bypassing the nodes that produced it. */
export interface CustomGrad {
  inputs: string[];
  grad(g: GraphBuilder, dy: string): (string | undefined)[];
}

/** Registered on a builder by composite ops, keyed by the composite's output value. */
const customGrads = new WeakMap<GraphBuilder, Map<string, CustomGrad>>();

export function defineGradient(g: GraphBuilder, output: string, c: CustomGrad): void {
  let m = customGrads.get(g);
  if (!m) customGrads.set(g, (m = new Map()));
  m.set(output, c);
}

interface Step {
  inputs: string[];
  outputs: string[];
  run(dys: (string | undefined)[]): (string | undefined)[];
}

/** d loss / d each of `wrt`, as graph values appended to g (undefined where the loss does not depend on it). */
export function backward(g: GraphBuilder, loss: string, wrt: string[], seed?: string): Map<string, string | undefined> {
  const custom = customGrads.get(g) ?? new Map<string, CustomGrad>();
  const producer = new Map<string, Step>();
  for (const n of g.graph.nodes) {
    const step = nodeStep(g, n);
    for (const o of n.outputs) producer.set(o, step);
  }
  for (const [out, c] of custom) {
    const scope = g.graph.nodes.find((n) => n.outputs.includes(out))?.scope ?? '';
    producer.set(out, { inputs: c.inputs, outputs: [out], run: (dys) => g.inScope(`grad:${scope}`, () => c.grad(g, dys[0]!)) });
  }

  // Steps on a path to the loss, in reverse topological order (depth-first from the loss).
  const order: Step[] = [];
  const seen = new Set<Step>();
  const visit = (v: string) => {
    const s = producer.get(v);
    if (!s || seen.has(s)) return;
    seen.add(s);
    for (const i of s.inputs) if (i) visit(i);
    order.push(s);
  };
  visit(loss);

  const needed = dependsOn(order, new Set(wrt));
  // d loss / d loss: ones, or a given seed (a vector-Jacobian product for non-scalar outputs).
  const ones = () => g.constant(Tensor.float32(g.dims(loss), new Float32Array(numel(g.dims(loss))).fill(1)), 'dloss');
  const grads = new Map<string, string[]>([[loss, [seed ?? ones()]]]);
  const total = (v: string): string | undefined => {
    const parts = grads.get(v);
    if (!parts || parts.length === 0) return undefined;
    if (parts.length > 1) grads.set(v, [parts.length === 2 ? g.add(parts[0]!, parts[1]!) : g.op1('Sum', parts)]);
    return grads.get(v)![0];
  };

  for (let k = order.length - 1; k >= 0; k--) {
    const s = order[k]!;
    if (!s.inputs.some((i) => needed.has(i))) continue;
    const dys = s.outputs.map(total);
    if (dys.every((d) => d === undefined)) continue;
    const dxs = s.run(dys);
    s.inputs.forEach((input, i) => {
      const dx = dxs[i];
      if (!dx || !needed.has(input)) return;
      const list = grads.get(input) ?? [];
      list.push(dx);
      grads.set(input, list);
    });
  }
  return new Map(wrt.map((w) => [w, total(w)]));
}

/** Values from which some target is reachable through the steps (so their gradients matter). */
function dependsOn(order: Step[], targets: Set<string>): Set<string> {
  const needed = new Set(targets);
  for (const s of order) {
    if (s.inputs.some((i) => needed.has(i))) for (const o of s.outputs) needed.add(o);
  }
  return needed;
}

function nodeStep(g: GraphBuilder, n: Node): Step {
  return {
    inputs: n.inputs,
    outputs: n.outputs,
    run: (dys) => {
      const rule = gradRules.get(n.op) ?? (g.nchwcBlock ? nchwcGradRules.get(n.op) : undefined);
      if (!rule) throw new Error(`autodiff: no gradient rule for op '${n.op}' (node ${n.name} in ${n.scope || 'the model'})`);
      return g.inScope(`grad:${n.scope}`, () => rule(g, n, dys));
    },
  };
}
