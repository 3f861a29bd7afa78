/**
 * What each family keeps in float by default (selectors as keepFloat takes them), with the
 * measurements behind each choice. Figures from `bench/int8-keep-float.ts` (2026-12-02, on a 2-core
 * AMD EPYC shared with other jobs): accuracy of the family's small CIFAR-stem network trained briefly on
 * Fashion-MNIST (2,000 test images; the drop has ±0.3 points of noise), CPU-time speed-up of int8 over
 * fp32 at 224x224 (batch 8, one thread; ±10% from run to run). Keeping a conv in float inside an int8
 * region costs a per-channel DequantizeLinear before it and a QuantizeLinear after it, and moves it off
 * ORT's NHWC int8 layout, which is why most candidates were slower than all-int8.
 */
export interface KeepFloatDefault {
  keepFloat: string[];
  why: string;
}

const STEM_FLOAT_V3 = 'The stem conv (3 input channels, 224 → 112) with its hardswish in float, the rest int8 with every other ' +
  'hardswish and hardsigmoid decomposed (decompose.ts): as QLinearConv the stem\'s im2col has only 27 values per output, and its ' +
  'hardswish would be three int8 passes over the largest activation, while ORT\'s fp32 NCHWc kernel runs conv and hardswish as one. ' +
  'Measured (V3-Small trained 150 steps; 224 speed-up of Small / Large): all int8: 0.15 points, 98.70% top-1 agreement, logits ' +
  'error 4.1%, 1.20x / 1.30x; stem float: -0.05 points, 98.55%, 3.0%, 1.34x / 1.81x; hardswish and hardsigmoid whole (float ' +
  'between a DQ and a Q, as ORT has no integer kernel for them): -0.05 points, 98.70%, 3.9%, 0.78x / 1.34x, and with the stem ' +
  'float 0.20 points, 98.80%, 2.8%, 1.31x / 1.58x; SqueezeExcitation float: -0.05 points, 98.75%, 4.3%, 0.98x / 1.41x; ' +
  'DepthwiseConv float: 0.20 points, 98.80%, 4.4%, 0.76x / 1.05x.';

export const KEEP_FLOAT_DEFAULTS: Record<string, KeepFloatDefault> = {
  mobilenet_v1: {
    keepFloat: [],
    why: 'All int8: 0.55 points, 99.05% agreement, 2.56x (3.10x in another run); DepthwiseConv float: 0.40 points, 99.15%, 1.28x; ' +
      'stem (features.0) float: 0.80 points, 98.60%, 2.85x (2.73x in the other run).',
  },
  mobilenet_v2: {
    keepFloat: [],
    why: 'All int8: -0.25 points, 98.85% agreement, 2.55x; DepthwiseConv float: 0.05 points, 99.25%, 0.92x; stem float: 0.15 points, ' +
      '98.85%, 2.61x. The 2-epoch MobileNetV2 0.5x Fashion-MNIST checkpoint of bench/int8-accuracy.ts: 78.16% fp32, 78.13% int8 ' +
      '(10,000 test images).',
  },
  mobilenet_v3_large: { keepFloat: ['features.0'], why: STEM_FLOAT_V3 },
  mobilenet_v3_small: { keepFloat: ['features.0'], why: STEM_FLOAT_V3 },
  shufflenet_v1: {
    keepFloat: [],
    why: 'All int8 (trained 300 steps): 0.40 points, 96.40% agreement, 1.46x; stem (first_conv) float: 0.40 points, 95.90%, 0.87x ' +
      '(its max-pool then runs on NCHW uint8); DepthwiseConv float: 0.45 points, 96.45%, 1.18x. The average-pool shortcut cannot be ' +
      'kept in float: it lies between int8 values, where ORT fuses it whatever the graph says.',
  },
  shufflenet_v2: {
    keepFloat: [],
    why: 'All int8 (trained 300 steps): -0.05 points, 99.25% agreement, 1.62x; DepthwiseConv float: 0.05 points, 99.50%, 1.56x; ' +
      'stem (conv1) float: 0.00 points, 99.25%, 0.92x.',
  },
};

/** The keep-float selectors for a model by its registry name ('shufflenet_v2_x1_0', ...). */
export function defaultKeepFloat(modelName: string): string[] {
  const family = modelName.startsWith('shufflenet_v2') ? 'shufflenet_v2' : modelName;
  return [...(KEEP_FLOAT_DEFAULTS[family]?.keepFloat ?? [])];
}
