/**
 * Gradient rules of ORT's NCHWc ops (src/graph/nchwc.ts), which the train step emits for depthwise
 * convolutions where the backend has those kernels (BackendCapabilities.nchwcBlock: ORT's CPU
 * execution provider, not wasm). The math is that of the Conv rule in rules.ts, lowered onto the same
 * blocked kernels; backward.ts consults these only for graphs built with an NCHWc block.
 */
import type { GraphBuilder } from '../graph/builder.js';
import { attr } from '../graph/ir.js';
import { flipBlockedWeight, toBlocked, unblockDepthwiseWeight } from '../graph/nchwc.js';
import { type ConvParams, type GradRule, convInputGrad, convParams } from './rules.js';

export const nchwcGradRules = new Map<string, GradRule>();

// The two reorders are each other's adjoints (padding channels come back as zeros and are dropped again).
nchwcGradRules.set('nchwc.ReorderInput', (g, n, [dy]) => [
  g.op1('nchwc.ReorderOutput', [dy!], { channels: attr.i(g.shape(n.inputs[0]!)[1] as number) }),
]);
nchwcGradRules.set('nchwc.ReorderOutput', (g, _n, [dy]) => [toBlocked(g, dy!)]);

nchwcGradRules.set('nchwc.Conv', (g, n, [dy]) => {
  const [x, w, b] = n.inputs as [string, string, string | undefined];
  const p = convParams(g, n);
  const [cp, ci] = p.wShape;
  if (ci !== 1 || p.groups !== cp || b) throw new Error(`autodiff: the nchwc.Conv rule covers depthwise convs without bias (node ${n.name})`);
  return [nchwcDepthwiseInputGrad(g, dy!, w, p), nchwcDepthwiseWeightGrad(g, dy!, x, p)];
});

/**
 * A blocked depthwise conv with the flipped filters over dy; for stride s, over dy with s-1 zeros
 * inserted after every row and column (a Pad of the blocked memory viewed as [N, C/B, Ho, 1, Wo, 1, B]):
 * ORT's ConvTranspose runs on one thread and has no NCHWc kernel.
 */
function nchwcDepthwiseInputGrad(g: GraphBuilder, dy: string, wb: string, c: ConvParams): string {
  const block = g.nchwcBlock!;
  const [cp] = c.wShape;
  const [, , h, w] = c.inShape;
  const [, , oh, ow] = c.outShape;
  const [sh, sw] = c.s as [number, number];
  const [zh, zw] = [oh * sh, ow * sw];
  const begin = [0, 1].map((i) => c.d[i]! * (c.k[i]! - 1) - c.p[i]!);
  const end = [0, 1].map((i) => [h, w][i]! - [zh, zw][i]! - begin[i]! + c.d[i]! * (c.k[i]! - 1));
  if ([...begin, ...end].some((v) => v < 0)) {
    const plain = g.op1('nchwc.ReorderOutput', [dy], { channels: attr.i(cp) });
    return toBlocked(g, convInputGrad(g, plain, unblockDepthwiseWeight(g, wb), c));
  }
  let spread = dy;
  if (sh > 1 || sw > 1) {
    const view = g.reshape(dy, [0, cp / block, oh, 1, ow, 1, block]);
    const padded = g.op1('Pad', [view, g.ints([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1, 0])]);
    spread = g.reshape(padded, [0, cp, zh, zw]);
  }
  return g.op1('nchwc.Conv', [spread, flipBlockedWeight(g, wb)], {
    group: attr.i(cp), kernel_shape: attr.ints(c.k), pads: attr.ints([begin[0]!, begin[1]!, end[0]!, end[1]!]),
    dilations: attr.ints(c.d), strides: attr.ints([1, 1]),
  });
}

/**
 * Blocked x [N, Cp, H, W] is, in memory, x' [1, N·Cp, H, W] blocked, and blocked dy is, in memory,
 * the depthwise filter bank [N·Cp, 1, Ho, Wo]: one depthwise conv of x' with dy as the filters
 * (stride = forward dilation, dilation = forward stride) gives every image's and channel's kh×kw
 * gradient, blocked as [N, Cp/B, kh, kw, B]; their sum over the batch is the blocked filter gradient.
 */
function nchwcDepthwiseWeightGrad(g: GraphBuilder, dy: string, x: string, c: ConvParams): string {
  const block = g.nchwcBlock!;
  const [cp, , kh, kw] = c.wShape;
  const [n, , h, w] = c.inShape;
  const [, , oh, ow] = c.outShape;
  if (typeof n !== 'number') throw new Error('autodiff: the nchwc.Conv weight gradient needs a known batch size');
  const per = g.op1('nchwc.Conv', [g.reshape(x, [1, n * cp, h, w]), g.reshape(dy, [n * cp, 1, oh, ow])], {
    group: attr.i(n * cp), kernel_shape: attr.ints([oh, ow]), strides: attr.ints(c.d), dilations: attr.ints(c.s), pads: attr.ints(c.p),
  });
  const [, , rh, rw] = g.dims(per);
  let mem = g.reshape(per, [n, cp / block, rh!, rw!, block]);
  if (rh !== kh || rw !== kw) mem = g.op1('Slice', [mem, g.ints([0, 0]), g.ints([kh, kw]), g.ints([2, 3])]);
  return g.reshape(g.op1('ReduceSum', [mem, g.ints([0], 'axes')], { keepdims: attr.i(0) }), [cp, 1, kh, kw]);
}
