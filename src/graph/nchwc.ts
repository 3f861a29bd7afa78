/**
 * Depthwise convolutions on ORT's NCHWc kernels (ops 'nchwc.*'). A blocked tensor keeps its logical
 * NCHW shape, channels padded to the block B, while its memory is [N, C/B, H, W, B]; a depthwise
 * filter [C, 1, kh, kw] is stored as [C/B, kh, kw, B]. The train step uses them because they are
 * about twice as fast as ORT's NCHW depthwise kernels, and because a batch of blocked activations is
 * itself a blocked depthwise filter bank, which makes the weight gradient one depthwise conv (see the
 * 'nchwc.Conv' rule in src/autodiff/rules.ts). Inference needs none of this: ORT blocks constant
 * weights itself.
 */
import type { GraphBuilder } from './builder.js';
import { type Attrs, attr } from './ir.js';
import { Tensor } from '../tensor.js';

function block(g: GraphBuilder): number {
  if (!g.nchwcBlock) throw new Error('nchwc: the graph has no NCHWc block size');
  return g.nchwcBlock;
}

/** w [C, 1, kh, kw] → [Cp, 1, kh, kw] in filter memory order, padded with zero channels to Cp. */
export function blockDepthwiseWeight(g: GraphBuilder, w: string, padded: number): string {
  const b = block(g);
  const [c, , kh, kw] = g.dims(w) as [number, number, number, number];
  let full = w;
  if (padded > c) {
    const zeros = g.constant(Tensor.float32([padded - c, 1, kh, kw], new Float32Array((padded - c) * kh * kw)), 'pad_channels');
    full = g.concat([w, zeros], 0);
  }
  const blocked = g.transpose(g.reshape(full, [padded / b, b, kh * kw]), [0, 2, 1]);
  return g.reshape(blocked, [padded, 1, kh, kw]);
}

/** The inverse of blockDepthwiseWeight without its padding: [Cp, 1, kh, kw] in plain order. */
export function unblockDepthwiseWeight(g: GraphBuilder, wb: string): string {
  const b = block(g);
  const [cp, , kh, kw] = g.dims(wb) as [number, number, number, number];
  return g.reshape(g.transpose(g.reshape(wb, [cp / b, kh * kw, b]), [0, 2, 1]), [cp, 1, kh, kw]);
}

/** A blocked filter bank flipped in both spatial dims (for the input gradient). */
export function flipBlockedWeight(g: GraphBuilder, wb: string): string {
  const b = block(g);
  const [cp, , kh, kw] = g.dims(wb) as [number, number, number, number];
  return g.reshape(g.flip(g.reshape(wb, [cp / b, kh, kw, b]), [1, 2]), [cp, 1, kh, kw]);
}

/**
 * x [N, C, H, W] reordered to NCHWc. ReorderInput takes channel counts divisible by 4 (and pads
 * those to the block itself); others first get zero channels up to a multiple of 4.
 */
export function toBlocked(g: GraphBuilder, x: string): string {
  const c = g.shape(x)[1] as number;
  const x4 = c % 4 === 0 ? x : g.op1('Pad', [x, g.ints([0, 0, 0, 0, 0, 4 - (c % 4), 0, 0], 'pads')]);
  return g.op1('nchwc.ReorderInput', [x4]);
}

/**
 * A depthwise convolution (no bias) of a batch of known size through NCHWc (any channel count:
 * ShuffleNetV2 1.0x has 58, see toBlocked). A symbolic batch falls back to a plain Conv (the weight
 * gradient folds the batch into the channels).
 */
export function depthwiseConvNchwc(g: GraphBuilder, x: string, w: string, attrs: Attrs): string {
  const [n, c] = g.shape(x) as [number | string, number];
  if (typeof n !== 'number') return g.op1('Conv', [x, w], attrs);
  const xc = toBlocked(g, x);
  const padded = g.shape(xc)[1] as number;
  const yc = g.op1('nchwc.Conv', [xc, blockDepthwiseWeight(g, w, padded)], { ...attrs, group: attr.i(padded) });
  return g.op1('nchwc.ReorderOutput', [yc], { channels: attr.i(c) });
}
