/** Modules: a tree of named parameters, buffers and children whose paths are PyTorch's state_dict keys. */
import type { GraphBuilder } from '../graph/builder.js';
import { type LazyStateDict, type StateDict, Tensor, sameShape, shapeString } from '../tensor.js';

export interface LoadReport {
  missing: string[];
  unexpected: string[];
  mismatched: { key: string; expected: number[]; got: number[] }[];
}

export class StateDictError extends Error {
  constructor(message: string, readonly report: LoadReport) {
    super(message);
  }
}

export abstract class Module {
  training = true;
  /** Name within the parent ('' for a root). */
  name = '';
  readonly parameters = new Map<string, Tensor>();
  readonly buffers = new Map<string, Tensor>();
  readonly children = new Map<string, Module>();

  /** The module's class name, as PyTorch prints it. */
  get typeName(): string {
    return this.constructor.name;
  }

  protected abstract forward(g: GraphBuilder, x: string): string;

  /** Trace this module's forward pass into g. */
  call(g: GraphBuilder, x: string): string {
    const own = [...this.parameters.values()].reduce((n, t) => n + t.size, 0);
    return g.call(this.name, this.typeName, this.children.size === 0, own, x, () => this.forward(g, x));
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    m.name = name;
    this.children.set(name, m);
    return m;
  }

  protected addParameter(name: string, t: Tensor): void {
    this.parameters.set(name, t);
  }

  protected addBuffer(name: string, t: Tensor): void {
    this.buffers.set(name, t);
  }

  /** A parameter or buffer of this module as a graph value named by its full state_dict key. */
  protected tensor(g: GraphBuilder, name: string): string {
    const t = this.parameters.get(name) ?? this.buffers.get(name);
    if (!t) throw new Error(`${this.typeName} '${g.scope}' has no tensor '${name}'`);
    const key = g.scope ? `${g.scope}.${name}` : name;
    return g.param(key, t, this.parameters.has(name) ? g.paramMode : g.bufferMode);
  }

  *modules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, c] of this.children) yield* c.modules(prefix ? `${prefix}.${n}` : n);
  }

  namedParameters(): [string, Tensor][] {
    return this.collect((m) => m.parameters);
  }

  namedBuffers(): [string, Tensor][] {
    return this.collect((m) => m.buffers);
  }

  private collect(pick: (m: Module) => Map<string, Tensor>): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [path, m] of this.modules()) {
      for (const [n, t] of pick(m)) out.push([path ? `${path}.${n}` : n, t]);
    }
    return out;
  }

  parameterCount(): number {
    return this.namedParameters().reduce((n, [, t]) => n + t.size, 0);
  }

  /** PyTorch order: each module's parameters, then its buffers, then its children. */
  stateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const [path, m] of this.modules()) {
      const key = (n: string) => (path ? `${path}.${n}` : n);
      for (const [n, t] of m.parameters) sd.set(key(n), t);
      for (const [n, t] of m.buffers) sd.set(key(n), t);
    }
    return sd;
  }

  /**
   * Copy tensors in by key. With strict (the default) any missing or unexpected key or shape mismatch
   * throws, naming them; otherwise matching tensors load and the report says what did not. Names and
   * shapes are checked before any tensor is read, and only the tensors that load are read, so a lazy
   * state dict (a checkpoint file) never expands a tensor this module cannot use.
   */
  loadStateDict(sd: LazyStateDict, options: { strict?: boolean; source?: string } = {}): LoadReport {
    const strict = options.strict ?? true;
    const slots = new Map<string, { m: Module; n: string; buffer: boolean }>();
    for (const [path, m] of this.modules()) {
      const key = (n: string) => (path ? `${path}.${n}` : n);
      for (const n of m.parameters.keys()) slots.set(key(n), { m, n, buffer: false });
      for (const n of m.buffers.keys()) slots.set(key(n), { m, n, buffer: true });
    }
    const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
    for (const key of slots.keys()) if (!sd.has(key)) report.missing.push(key);
    for (const [key, t] of sd) {
      const slot = slots.get(key);
      if (!slot) {
        report.unexpected.push(key);
        continue;
      }
      const current = (slot.buffer ? slot.m.buffers : slot.m.parameters).get(slot.n)!;
      if (!sameShape(current.shape, t.shape)) {
        report.mismatched.push({ key, expected: [...current.shape], got: [...t.shape] });
      }
    }
    const ok = report.missing.length + report.unexpected.length + report.mismatched.length === 0;
    if (strict && !ok) {
      throw new StateDictError(describeLoadReport(report, options.source ?? 'state dict', this.typeName), report);
    }
    const bad = new Set(report.mismatched.map((m) => m.key));
    for (const [key, t] of sd) {
      const slot = slots.get(key);
      if (!slot || bad.has(key)) continue;
      const current = (slot.buffer ? slot.m.buffers : slot.m.parameters).get(slot.n)!;
      (slot.buffer ? slot.m.buffers : slot.m.parameters).set(slot.n, convertLike(t.read(), current));
    }
    return report;
  }

  train(mode = true): this {
    for (const [, m] of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }
}

function convertLike(t: Tensor, like: Tensor): Tensor {
  if (t.dtype === like.dtype) return t.clone();
  if (like.dtype === 'float32') return Tensor.float32(like.shape, t.toFloat32());
  if (like.dtype === 'int64') return Tensor.int64(like.shape, Array.from(t.toFloat32(), Math.round));
  throw new Error(`cannot convert ${t.dtype} to ${like.dtype}`);
}

export function describeLoadReport(r: LoadReport, source: string, model: string): string {
  const lines = [`${source} does not match ${model}:`];
  const list = (keys: string[]) => keys.slice(0, 10).join(', ') + (keys.length > 10 ? `, ... (${keys.length} in all)` : '');
  if (r.missing.length) lines.push(`  missing keys: ${list(r.missing)}`);
  if (r.unexpected.length) lines.push(`  unexpected keys: ${list(r.unexpected)}`);
  for (const m of r.mismatched.slice(0, 10)) {
    lines.push(`  shape mismatch for ${m.key}: model has ${shapeString(m.expected)}, checkpoint has ${shapeString(m.got)}`);
  }
  if (r.mismatched.length > 10) lines.push(`  ... ${r.mismatched.length} shape mismatches in all`);
  lines.push('  (is this a checkpoint of a different model or options?)');
  return lines.join('\n');
}

/**
 * The classifier of a network: its last top-level module with parameters (`classifier` in the
 * MobileNets and ShuffleNetV1, `fc` in ShuffleNetV2). What it takes is the network's embedding; what
 * comes before it is the backbone.
 */
export function classifierName(model: Module): string {
  const withParams = [...model.children].filter(([, m]) => [...m.modules()].some(([, d]) => d.parameters.size > 0));
  const last = withParams[withParams.length - 1];
  if (!last) throw new Error(`${model.typeName} has no module with parameters`);
  return last[0];
}
