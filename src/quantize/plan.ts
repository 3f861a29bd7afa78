/**
 * Which nodes run in int8 and which values travel quantized, from the op rules: every activation input
 * of an int8 compute node is quantized, and so is its output (after the Relu/Clip it absorbs); data
 * movement on a quantized value stays quantized with the same parameters, a rescale with its scale
 * times the constant. A value's parameters come from the calibrated range of its root: itself, or the
 * value the chain of data movement and rescales starts from.
 */
import type { Graph, Node } from '../graph/ir.js';
import { type OpRule, activationInputs, ruleOf } from './op-rules.js';

/** A quantized value's parameters: its root's, with the scale multiplied by `factor`. */
export interface QuantizedValue {
  root: string;
  factor: number;
}

export interface QuantPlan {
  /** Compute nodes whose Q/DQ ORT fuses into an integer kernel. */
  compute: Set<Node>;
  /** Data-movement nodes that run on quantized values. */
  movement: Set<Node>;
  /** Rescales of quantized values: no node in the QDQ graph, a scale on their readers' DQ. */
  rescaled: Set<Node>;
  /** Relu/Clip nodes the output quantization of the compute node before them makes redundant. */
  absorbed: Set<Node>;
  /** Nodes that have an int8 rule but are kept in float. */
  keptFloat: Set<Node>;
  quantized: Map<string, QuantizedValue>;
}

type ComputeRule = OpRule & { kind: 'compute' };

/** The rule of a node if it is a compute op. */
export function computeRule(graph: Graph, node: Node): ComputeRule | undefined {
  const rule = ruleOf(graph, node);
  return rule?.kind === 'compute' ? rule : undefined;
}

/** `keepFloat(node)`: nodes to leave in float whatever their rule. */
export function planQuantization(graph: Graph, keepFloat: (node: Node) => boolean): QuantPlan {
  const consumers = graph.consumers();
  const graphOutputs = new Set(graph.outputs.map((v) => v.name));
  const plan: QuantPlan = { compute: new Set(), movement: new Set(), rescaled: new Set(), absorbed: new Set(), keptFloat: new Set(), quantized: new Map() };
  const own = (v: string) => plan.quantized.set(v, { root: v, factor: 1 });
  const constant = (v: string) => graph.initializers.has(v);

  for (const n of graph.nodes) if (ruleOf(graph, n) && keepFloat(n)) plan.keptFloat.add(n);
  for (const n of graph.nodes) {
    const rule = computeRule(graph, n);
    if (!rule || plan.keptFloat.has(n)) continue;
    const acts = activationInputs(rule, n.inputs).map((i) => n.inputs[i]!);
    if (acts.every(constant)) continue;
    if (rule.weight && !constant(n.inputs[rule.weight.input]!)) continue;
    if (rule.bias !== undefined && n.inputs[rule.bias] && !constant(n.inputs[rule.bias]!)) continue;
    plan.compute.add(n);
    acts.forEach(own);
  }
  const readsQuantized = (v: string) =>
    (consumers.get(v) ?? []).some((c) => plan.compute.has(c) && activationInputs(computeRule(graph, c)!, c.inputs).some((i) => c.inputs[i] === v));

  for (const n of plan.compute) {
    for (const v of n.outputs) {
      const [next, ...others] = consumers.get(v) ?? [];
      const absorbs = next && others.length === 0 && ruleOf(graph, next)?.kind === 'activation' && !plan.keptFloat.has(next) && !graphOutputs.has(v);
      const out = absorbs ? next.outputs[0]! : v;
      if (computeRule(graph, n)!.output === 'either' && !readsQuantized(out)) continue;
      if (absorbs) plan.absorbed.add(next);
      own(out);
    }
  }

  for (const n of graph.nodes) {
    const rule = ruleOf(graph, n);
    if (plan.keptFloat.has(n) || (rule?.kind !== 'movement' && rule?.kind !== 'rescale')) continue;
    const from = plan.quantized.get(n.inputs[rule.kind === 'rescale' ? rule.input : 0]!);
    if (!from) continue;
    (rule.kind === 'rescale' ? plan.rescaled : plan.movement).add(n);
    const factor = rule.kind === 'rescale' ? from.factor * rule.factor : from.factor;
    for (const o of n.outputs) plan.quantized.set(o, { root: from.root, factor });
  }

  for (const n of plan.keptFloat) {
    const rule = computeRule(graph, n);
    if (!rule || rule.weight) continue;
    const acts = activationInputs(rule, n.inputs).map((i) => n.inputs[i]!);
    if (acts.every((v) => plan.quantized.has(v)) && n.outputs.every((v) => plan.quantized.has(v))) {
      throw new Error(`keepFloat: ${n.op} '${n.name}' (${n.scope}) lies between int8 values, where ORT fuses any DequantizeLinear → ${n.op} → QuantizeLinear ` +
        'into its integer kernel; keep what it reads or what reads it in float too');
    }
  }
  return plan;
}
