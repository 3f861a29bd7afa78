/**
 * Models against the machine's memory: a model is sized from a shape-only build (its parameter count and
 * its layers' output sizes, nothing allocated) and refused, with the estimate and the machine's memory in
 * the message, before it is built or run when it would need more memory than the machine has.
 */
import { createModel, createModelShapes } from '../models/registry.js';
import type { Network } from '../models/network.js';
import { summary } from '../nn/summary.js';
import { ResourceLimitError, machineMemory } from './resources.js';

export interface RunShape {
  /** [C, H, W] of one input. */
  inputSize: [number, number, number];
  batch: number;
  /** Training keeps every layer's activations and gradients, and optimizer slots; inference does not. */
  training: boolean;
}

/** Node, ONNX Runtime and the compiled graphs before any tensor (about 190 MB measured for a MobileNetV2 step). */
const BASE_BYTES = 256 * 1024 ** 2;
/**
 * Activation memory of a training step per element of the layers' outputs: 1.3 measured (MobileNetV2,
 * CIFAR stem, 64x64, batch 8 and 32: 96 MB more peak RSS per image, for 19M output elements), rounded up.
 */
const TRAINING_ACTIVATION_COPIES = 1.5;

/**
 * Bytes a run needs, estimated (float32 throughout):
 * - weights: the host copy and ONNX Runtime's (2 copies), plus the gradient and two optimizer slots when
 *   training (5);
 * - activations: when training, the sum of every layer's output per image, times
 *   TRAINING_ACTIVATION_COPIES; in inference the input and the two largest layer outputs (ONNX Runtime
 *   reuses buffers);
 * - BASE_BYTES.
 */
export function estimateRunBytes(model: Network, run: RunShape): { bytes: number; params: number } {
  const s = summary(model, run.inputSize);
  const params = model.parameterCount();
  // summary traces one image: each output shape is [1, ...].
  const outputs = s.rows.map((r) => r.outputShape.reduce<number>((a, d) => a * Number(d), 1));
  const input = run.inputSize.reduce((a, b) => a * b, 1);
  const [first = 0, second = 0] = [...outputs].sort((a, b) => b - a);
  const perImage = run.training ? input + TRAINING_ACTIVATION_COPIES * outputs.reduce((a, b) => a + b, 0) : input + first + second;
  return { bytes: BASE_BYTES + 4 * (params * (run.training ? 5 : 2) + run.batch * perImage), params };
}

const gb = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(bytes < 10 * 1024 ** 3 ? 2 : 0)} GB`;

function refuseOver(model: Network, run: RunShape, what: string): void {
  const { bytes, params } = estimateRunBytes(model, run);
  const machine = machineMemory();
  if (bytes > machine) {
    const [c, h, w] = run.inputSize;
    throw new ResourceLimitError(
      `${what}: ${model.modelName} ${JSON.stringify(model.options)} (${params.toLocaleString('en-US')} parameters) at input ${c}x${h}x${w}, ` +
        `batch ${run.batch}${run.training ? ', training' : ''} needs about ${gb(bytes)}, more than this machine's ${gb(machine)} of memory; refusing`,
    );
  }
}

/**
 * createModel(name, options), refused before anything is allocated when the model (at `run`, default its
 * own input size, batch 1, inference) would not fit in memory. `what` says where the options came from
 * (a flag, a checkpoint's field) for the message.
 */
export function buildModel(name: string, options: Record<string, unknown>, what?: string, run?: Partial<RunShape>): Network {
  checkModelFits(name, options, what, run);
  return createModel(name, options);
}

/** What buildModel checks, without building: refuses when createModel(name, options) at `run` would not fit. */
export function checkModelFits(name: string, options: Record<string, unknown>, what?: string, run?: Partial<RunShape>): void {
  let shapes: Network;
  try {
    shapes = createModelShapes(name, options);
  } catch (e) {
    throw what ? new Error(`${what}: ${(e as Error).message}`) : e;
  }
  refuseOver(shapes, { inputSize: run?.inputSize ?? shapes.inputSize, batch: run?.batch ?? 1, training: run?.training ?? false }, what ?? `model ${name}`);
}

/** Refuses a run of a built model that would not fit in memory (an input size or batch too large). */
export function checkRunMemory(model: Network, run: RunShape, what: string): void {
  refuseOver(model, run, what);
}
