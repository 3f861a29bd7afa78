/** The graph IR: ONNX-shaped nodes over named values, with shapes known at build time. */
import type { DType, Tensor } from '../tensor.js';

/** A dimension: a number, or a symbol such as 'N' for a batch size fixed only at run time. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[];
}

/** Attributes carry their ONNX kind explicitly: 1 and 1.0 are different attributes to ONNX. */
export type Attr =
  | { i: number }
  | { f: number }
  | { ints: number[] }
  | { floats: number[] }
  | { s: string }
  | { t: Tensor };

export type Attrs = Record<string, Attr>;

export interface Node {
  name: string;
  /** An ONNX op type; ops of another domain carry its prefix from DOMAINS, e.g. 'nchwc.Conv'. */
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attrs;
  /** Module path that emitted the node (for per-layer reports and profiles). */
  scope: string;
}

/** Operator domains besides ONNX's own, by the prefix their ops carry in the IR. */
export const DOMAINS: Record<string, string> = { nchwc: 'com.microsoft.nchwc' };

/** An IR op name split into its ONNX domain ('' for the default) and op type. */
export function opDomain(op: string): { domain: string; opType: string } {
  const dot = op.indexOf('.');
  if (dot < 0) return { domain: '', opType: op };
  const domain = DOMAINS[op.slice(0, dot)];
  if (!domain) throw new Error(`graph: op '${op}' has an unknown domain prefix`);
  return { domain, opType: op.slice(dot + 1) };
}

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly initializers = new Map<string, Tensor>();
  readonly values = new Map<string, ValueInfo>();

  constructor(readonly name = 'mobilezoo') {}

  info(name: string): ValueInfo {
    const v = this.values.get(name);
    if (!v) throw new Error(`graph: unknown value '${name}'`);
    return v;
  }

  /** Nodes producing each value. */
  producers(): Map<string, Node> {
    const m = new Map<string, Node>();
    for (const n of this.nodes) for (const o of n.outputs) m.set(o, n);
    return m;
  }

  /** Nodes reading each value, in graph order. */
  consumers(): Map<string, Node[]> {
    const m = new Map<string, Node[]>();
    for (const n of this.nodes) {
      for (const i of new Set(n.inputs)) if (i) m.set(i, [...(m.get(i) ?? []), n]);
    }
    return m;
  }
}

export const attr = {
  i: (v: number): Attr => ({ i: v }),
  f: (v: number): Attr => ({ f: v }),
  ints: (v: number[]): Attr => ({ ints: v }),
  floats: (v: number[]): Attr => ({ floats: v }),
  s: (v: string): Attr => ({ s: v }),
};

export function intAttr(attrs: Attrs, key: string, fallback?: number): number {
  const a = attrs[key];
  if (a && 'i' in a) return a.i;
  if (fallback === undefined) throw new Error(`attribute '${key}' missing`);
  return fallback;
}

export function floatAttr(attrs: Attrs, key: string, fallback: number): number {
  const a = attrs[key];
  return a && 'f' in a ? a.f : fallback;
}

export function intsAttr(attrs: Attrs, key: string, fallback?: number[]): number[] {
  const a = attrs[key];
  if (a && 'ints' in a) return a.ints;
  if (fallback === undefined) throw new Error(`attribute '${key}' missing`);
  return fallback;
}
