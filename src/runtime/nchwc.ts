/**
 * ORT's NCHWc kernels (domain com.microsoft.nchwc): convolutions on channel-blocked tensors, about twice
 * as fast as its NCHW kernels for depthwise convolutions. Whether they exist and their block size
 * (8 with AVX2, 16 with AVX-512) depend on the CPU, so they are asked of ORT once.
 */
import { GraphBuilder } from '../graph/builder.js';
import { createSession, ort } from './session.js';

let cached: Promise<number | undefined> | undefined;

/**
 * The channel block of ORT's NCHWc kernels on this machine, or undefined where there are none or
 * MOBILEZOO_NCHWC=0 turns them off.
 */
export function nchwcBlockSize(): Promise<number | undefined> {
  if (process.env.MOBILEZOO_NCHWC === '0') return Promise.resolve(undefined);
  cached ??= probe();
  return cached;
}

/** ReorderInput pads the channels (a multiple of 4) to a whole block: 4 channels in, one block out. */
async function probe(): Promise<number | undefined> {
  try {
    const g = new GraphBuilder({ nchwcBlock: 4 });
    const x = g.input('x', 'float32', [1, 4, 1, 1]);
    const y = g.op1('nchwc.ReorderInput', [x]);
    // The block is what we are asking, so the output's channel count is left open.
    g.info(y).shape[1] = 'block';
    g.output(y, 'y');
    const session = await createSession(g.graph, { threads: 1, optimization: 'disabled' });
    try {
      const { y } = await session.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
      const block = y!.dims[1]!;
      return block > 4 ? block : undefined;
    } finally {
      await session.release();
    }
  } catch {
    return undefined;
  }
}
