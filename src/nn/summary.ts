/** Per-layer parameter and multiply-accumulate counts, read off the traced graph. */
import { GraphBuilder, type ModuleCall } from '../graph/builder.js';
import type { Dim, Graph, Node } from '../graph/ir.js';
import type { Module } from './module.js';

export interface LayerRow {
  name: string;
  type: string;
  outputShape: Dim[];
  params: number;
  macs: number;
}

export interface Summary {
  rows: LayerRow[];
  totalParams: number;
  trainableParams: number;
  totalMacs: number;
  inputShape: number[];
  outputShape: Dim[];
}

/**
 * Multiply-accumulates of one node for one image: convolutions and fully connected layers only,
 * the convention of the papers and of torchvision's tables.
 */
export function nodeMacs(g: Graph, n: Node): number {
  const shape = (v: string) => g.info(v).shape.map(Number);
  if (n.op === 'Conv') {
    const [, cin, kh, kw] = shape(n.inputs[1]!) as [number, number, number, number];
    const out = shape(n.outputs[0]!).slice(1).reduce((a, b) => a * b, 1);
    return out * cin * kh * kw;
  }
  if (n.op === 'Gemm' || n.op === 'MatMul') {
    const w = shape(n.inputs[1]!);
    return w[0]! * w[1]!;
  }
  return 0;
}

/** Trace `model` in eval mode on one image of `inputShape` ([C, H, W]) and count per leaf layer. */
export function summary(model: Module, inputShape: [number, number, number]): Summary {
  const calls: ModuleCall[] = [];
  const wasTraining = [...model.modules()].map(([, m]) => m.training);
  model.eval();
  const g = new GraphBuilder({ paramMode: 'constant', onModuleCall: (c) => calls.push(c) });
  let out: string;
  try {
    out = model.call(g, g.input('input', 'float32', [1, ...inputShape]));
  } finally {
    [...model.modules()].forEach(([, m], i) => (m.training = wasTraining[i]!));
  }
  const rows: LayerRow[] = calls
    .filter((c) => c.leaf)
    .map((c) => ({
      name: c.path,
      type: c.type,
      outputShape: c.output.shape,
      params: c.params,
      macs: c.nodes.reduce((s, n) => s + nodeMacs(g.graph, n), 0),
    }));
  const totalParams = model.parameterCount();
  return {
    rows,
    totalParams,
    trainableParams: totalParams,
    totalMacs: g.graph.nodes.reduce((s, n) => s + nodeMacs(g.graph, n), 0),
    inputShape,
    outputShape: g.info(out).shape,
  };
}
