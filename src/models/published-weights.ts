/**
 * Weights published for the reference implementations, as data: where they are, which model they
 * fit and the evaluation preprocessing they were measured with (torchvision 0.14's weight metadata:
 * the `-V2` recipes resize to 232 before the 224 crop, the others to 256). A file with one of these names
 * gets that model and preprocessing by default.
 */
export interface PublishedWeights {
  /** The file name as published (torchvision's names end in a prefix of the file's sha256). */
  file: string;
  url: string;
  model: string;
  /** ImageNet-1k top-1 as published. */
  top1: number;
  /** Shorter side before the center crop. */
  resize: number;
  crop: number;
}

const TV = 'https://download.pytorch.org/models/';

export const PUBLISHED_WEIGHTS: readonly PublishedWeights[] = [
  { file: 'mobilenet_v2-b0353104.pth', url: `${TV}mobilenet_v2-b0353104.pth`, model: 'mobilenet_v2', top1: 71.878, resize: 256, crop: 224 },
  { file: 'mobilenet_v2-7ebf99e0.pth', url: `${TV}mobilenet_v2-7ebf99e0.pth`, model: 'mobilenet_v2', top1: 72.154, resize: 232, crop: 224 },
  { file: 'mobilenet_v3_large-8738ca79.pth', url: `${TV}mobilenet_v3_large-8738ca79.pth`, model: 'mobilenet_v3_large', top1: 74.042, resize: 256, crop: 224 },
  { file: 'mobilenet_v3_large-5c1a4163.pth', url: `${TV}mobilenet_v3_large-5c1a4163.pth`, model: 'mobilenet_v3_large', top1: 75.274, resize: 232, crop: 224 },
  { file: 'mobilenet_v3_small-047dcff4.pth', url: `${TV}mobilenet_v3_small-047dcff4.pth`, model: 'mobilenet_v3_small', top1: 67.668, resize: 256, crop: 224 },
  { file: 'shufflenetv2_x0.5-f707e7126e.pth', url: `${TV}shufflenetv2_x0.5-f707e7126e.pth`, model: 'shufflenet_v2_x0_5', top1: 60.552, resize: 256, crop: 224 },
  { file: 'shufflenetv2_x1-5666bf0f80.pth', url: `${TV}shufflenetv2_x1-5666bf0f80.pth`, model: 'shufflenet_v2_x1_0', top1: 69.362, resize: 256, crop: 224 },
  { file: 'shufflenetv2_x1_5-3c479a10.pth', url: `${TV}shufflenetv2_x1_5-3c479a10.pth`, model: 'shufflenet_v2_x1_5', top1: 72.996, resize: 232, crop: 224 },
  { file: 'shufflenetv2_x2_0-8be3c8ee.pth', url: `${TV}shufflenetv2_x2_0-8be3c8ee.pth`, model: 'shufflenet_v2_x2_0', top1: 76.23, resize: 232, crop: 224 },
];

/** The published weights a file is, by its name (any folder). */
export function publishedWeightsOf(path: string): PublishedWeights | undefined {
  const name = path.split(/[\\/]/).pop();
  return PUBLISHED_WEIGHTS.find((w) => w.file === name);
}
