/**
 * Which nodes run in int8 and which values travel quantized, from the op rules: every activation input
 * of an int8 compute node is quantized, and so is its output (after the Relu/Clip it absorbs); data
 * movement on a quantized value stays quantized with the same parameters. A value's parameters come
 * from the calibrated range of its root: itself, or the input of the data-movement chain it comes from.
 */
import type { Graph, Node } from '../graph/ir.js';
import { OP_RULES, type OpRule, activationInputs } from './op-rules.js';

export interface QuantPlan {
  /** Compute nodes whose Q/DQ ORT fuses into an integer kernel. */
  compute: Set<Node>;
  /** Data-movement nodes that run on quantized values. */
  movement: Set<Node>;
  /** Relu/Clip nodes the output quantization of the compute node before them makes redundant. */
  absorbed: Set<Node>;
  /** Nodes that have an int8 rule but are kept in float. */
  keptFloat: Set<Node>;
  /** Quantized value → the value whose range gives its scale and zero point. */
  quantized: Map<string, string>;
}

type ComputeRule = OpRule & { kind: 'compute' };

export function computeRule(node: Node): ComputeRule | undefined {
  const rule = OP_RULES[node.op];
  return rule?.kind === 'compute' ? rule : undefined;
}

/** `keepFloat(node)`: nodes to leave in float whatever their rule. */
export function planQuantization(graph: Graph, keepFloat: (node: Node) => boolean): QuantPlan {
  const consumers = graph.consumers();
  const graphOutputs = new Set(graph.outputs.map((v) => v.name));
  const plan: QuantPlan = { compute: new Set(), movement: new Set(), absorbed: new Set(), keptFloat: new Set(), quantized: new Map() };
  const own = (v: string) => plan.quantized.set(v, v);

  for (const n of graph.nodes) if (OP_RULES[n.op] && keepFloat(n)) plan.keptFloat.add(n);
  for (const n of graph.nodes) {
    const rule = computeRule(n);
    if (!rule || plan.keptFloat.has(n)) continue;
    const acts = activationInputs(rule, n.inputs).map((i) => n.inputs[i]!);
    if (acts.some((v) => graph.initializers.has(v))) continue;
    if (rule.weight && !graph.initializers.has(n.inputs[rule.weight.input]!)) continue;
    if (rule.bias !== undefined && n.inputs[rule.bias] && !graph.initializers.has(n.inputs[rule.bias]!)) continue;
    plan.compute.add(n);
    acts.forEach(own);
  }
  const readsQuantized = (v: string) =>
    (consumers.get(v) ?? []).some((c) => plan.compute.has(c) && activationInputs(computeRule(c)!, c.inputs).some((i) => c.inputs[i] === v));

  for (const n of plan.compute) {
    for (const v of n.outputs) {
      const [next, ...others] = consumers.get(v) ?? [];
      const absorbs = next && others.length === 0 && OP_RULES[next.op]?.kind === 'activation' && !plan.keptFloat.has(next) && !graphOutputs.has(v);
      const out = absorbs ? next.outputs[0]! : v;
      if (computeRule(n)!.output === 'either' && !readsQuantized(out)) continue;
      if (absorbs) plan.absorbed.add(next);
      own(out);
    }
  }

  for (const n of graph.nodes) {
    const root = plan.quantized.get(n.inputs[0] ?? '');
    if (OP_RULES[n.op]?.kind !== 'movement' || plan.keptFloat.has(n) || root === undefined) continue;
    plan.movement.add(n);
    for (const o of n.outputs) plan.quantized.set(o, root);
  }
  for (const n of plan.keptFloat) {
    const rule = computeRule(n);
    if (!rule || rule.weight) continue;
    const acts = activationInputs(rule, n.inputs).map((i) => n.inputs[i]!);
    if (acts.every((v) => plan.quantized.has(v)) && n.outputs.every((v) => plan.quantized.has(v))) {
      throw new Error(`keepFloat: ${n.op} '${n.name}' (${n.scope}) lies between int8 values, where ORT fuses any DequantizeLinear → ${n.op} → QuantizeLinear ` +
        'into its integer kernel; keep what it reads or what reads it in float too');
    }
  }
  return plan;
}
