/** The configurations the inference benchmarks time: every family at 224, and the CIFAR MobileNetV2 at 32. */

export interface Family {
  label: string;
  name: string;
  options: Record<string, unknown>;
  size: number;
}

export const FAMILIES: Family[] = [
  { label: 'mobilenet_v1', name: 'mobilenet_v1', options: {}, size: 224 },
  { label: 'mobilenet_v2', name: 'mobilenet_v2', options: {}, size: 224 },
  { label: 'mobilenet_v3_large', name: 'mobilenet_v3_large', options: {}, size: 224 },
  { label: 'mobilenet_v3_small', name: 'mobilenet_v3_small', options: {}, size: 224 },
  { label: 'shufflenet_v1 (g3 1.0x)', name: 'shufflenet_v1', options: {}, size: 224 },
  { label: 'shufflenet_v2_x1_0', name: 'shufflenet_v2_x1_0', options: {}, size: 224 },
  { label: 'mobilenet_v2 CIFAR stem, 10 classes', name: 'mobilenet_v2', options: { stem: 'cifar', numClasses: 10 }, size: 32 },
];
