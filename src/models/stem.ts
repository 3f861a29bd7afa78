/**
 * The CIFAR stem: for 32x32 inputs a network keeps an overall stride of 8 instead of 32, so its last
 * feature map is 4x4. In the MobileNets the stem convolution's stride 2 becomes 1, and so does the
 * first stage whose stride is 2. (The ShuffleNets drop their stem's max-pool instead; see their files.)
 */
import type { Stem } from './network.js';

export function applyCifarStem(stem: Stem, stemStride: number, stageStrides: number[]): { stem: number; stages: number[] } {
  if (stem !== 'cifar') return { stem: stemStride, stages: stageStrides };
  const first = stageStrides.findIndex((s) => s > 1);
  return { stem: 1, stages: stageStrides.map((s, i) => (i === first ? 1 : s)) };
}
