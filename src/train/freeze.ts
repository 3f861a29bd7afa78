/**
 * Frozen layers, with Keras' `trainable = False` semantics: a frozen module runs in inference mode
 * (BatchNorm normalizes with its running statistics and leaves them unchanged, dropout is off), its
 * parameters and buffers are constants of the step graph (no gradient is computed for them at all, ORT
 * folds them like an inference graph), and it has no optimizer state and no weight decay.
 */
import { ConfigError } from '../config-error.js';
import { type Module, classifierName } from '../nn/module.js';

export { classifierName };

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}.`);

/** Parameter names outside the classifier: the pretrained part of a fine-tuned network. */
export function backboneParameters(model: Module): Set<string> {
  const head = classifierName(model);
  return new Set(model.namedParameters().map(([n]) => n).filter((n) => !under(n, head)));
}

export const FREEZE_CHOICES = ['none', 'backbone'] as const;

/**
 * The module paths a freeze setting freezes: `none`; `backbone`, every module but the classifier; or a
 * module path such as `features.12`, which freezes every module up to and including it in the network's
 * order (its ancestors, which hold no tensors of their own in these networks, stay trainable containers).
 */
export function resolveFreeze(model: Module, spec: string): Set<string> {
  const modules = [...model.modules()].filter(([path]) => path !== '');
  if (spec === 'none') return new Set();
  if (spec === 'backbone') {
    const head = classifierName(model);
    return new Set(modules.map(([p]) => p).filter((p) => !under(p, head)));
  }
  const index = modules.findIndex(([p]) => p === spec);
  if (index < 0) {
    const top = [...model.children.keys()].join(', ');
    throw new ConfigError('freeze', `${model.typeName} has no module '${spec}' (use none, backbone or a module path such as ${top.split(', ')[0]}.3; top-level modules: ${top})`);
  }
  let end = index;
  while (end + 1 < modules.length && under(modules[end + 1]![0], spec)) end++;
  const frozen = new Set(modules.slice(0, end + 1).map(([p]) => p).filter((p) => !under(spec, p) || p === spec));
  const trainable = model.namedParameters().filter(([n]) => !isFrozenTensor(n, frozen));
  if (trainable.length === 0) throw new ConfigError('freeze', `${spec} freezes every parameter of ${model.typeName}; nothing would train`);
  return frozen;
}

/** Whether a parameter or buffer (by state_dict key) belongs to a frozen module. */
export function isFrozenTensor(name: string, frozen: ReadonlySet<string>): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && frozen.has(name.slice(0, dot));
}

/** Parameter and buffer names of the frozen modules. */
export function frozenTensors(model: Module, frozen: ReadonlySet<string>): Set<string> {
  return new Set([...model.stateDict().keys()].filter((n) => isFrozenTensor(n, frozen)));
}

/** Runs fn with the model in training mode except the frozen modules, then restores every mode. */
export function inTrainingMode<T>(model: Module, frozen: ReadonlySet<string>, fn: () => T): T {
  const all = [...model.modules()];
  const was = all.map(([, m]) => m.training);
  for (const [path, m] of all) m.training = !frozen.has(path);
  try {
    return fn();
  } finally {
    all.forEach(([, m], i) => (m.training = was[i]!));
  }
}
