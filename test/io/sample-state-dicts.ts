/** State dicts for writer round trips (test/io/pth-writer.test.ts, dev/write-pth-sample.ts): every value random or extreme. */

import { createModel } from '../../src/models/registry.js';
import { Rng } from '../../src/nn/init.js';
import { Tensor, type StateDict } from '../../src/tensor.js';

/** The smallest configuration of each family, as createModel options. */
export const FAMILY_SAMPLES: { model: string; options: Record<string, unknown> }[] = [
  { model: 'mobilenet_v1', options: { widthMult: 0.1, numClasses: 10 } },
  { model: 'mobilenet_v2', options: { widthMult: 0.1, numClasses: 10 } },
  { model: 'mobilenet_v3_small', options: { widthMult: 0.1, numClasses: 10 } },
  { model: 'mobilenet_v3_large', options: { widthMult: 0.1, numClasses: 10, reducedTail: true } },
  { model: 'shufflenet_v1', options: { groups: 3, size: '0.25x', numClasses: 10 } },
  { model: 'shufflenet_v2_x0_5', options: { numClasses: 10 } },
];

/** The model's state dict with every float random (BatchNorm statistics too) and num_batches_tracked beyond 32 bits. */
export function randomStateDict(model: string, options: Record<string, unknown>, seed: number): StateDict {
  const rng = new Rng(seed);
  const sd: StateDict = new Map();
  for (const [k, t] of createModel(model, options).stateDict()) {
    sd.set(
      k,
      t.dtype === 'int64'
        ? Tensor.int64(t.shape, [2 ** 40 + Math.floor(rng.uniform() * 2 ** 20)])
        : Tensor.float32(t.shape, Float32Array.from({ length: t.size }, () => rng.normal())),
    );
  }
  return sd;
}

/** Every dtype a state dict can hold, with extreme and special values, odd shapes, a tied entry and a non-ASCII key. */
export function edgeCaseStateDict(): StateDict {
  const tied = Tensor.float32([2, 2], [1, -2, 3.5, -4.25]);
  const bits = new Float32Array(new Uint32Array([0x7fc00001, 0xff800000, 0x00000001, 0x80000000]).buffer); // NaN payload, -inf, min subnormal, -0
  return new Map<string, Tensor>([
    ['f32.special', Tensor.float32([7], [NaN, -0, Infinity, -Infinity, 1e-40, 3.4028234663852886e38, -1.5])],
    ['f32.bits', Tensor.float32([4], bits)],
    ['f64', new Tensor('float64', [4], Float64Array.from([Math.PI, -0, Number.MIN_VALUE, -Number.MAX_VALUE]))],
    ['i64', Tensor.int64([4], BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]))],
    ['i32', new Tensor('int32', [2], Int32Array.from([-(2 ** 31), 2 ** 31 - 1]))],
    ['u8', new Tensor('uint8', [3], Uint8Array.from([0, 128, 255]))],
    ['bool', new Tensor('bool', [3], Uint8Array.from([1, 0, 1]))],
    ['scalar', Tensor.float32([], [2.5])],
    ['empty', Tensor.float32([0, 3], [])],
    ['long.vector', Tensor.float32([70000], Float32Array.from({ length: 70000 }, (_, i) => i / 7))],
    ['tied.a', tied],
    ['tied.b', tied],
    ['ünïcödé.weight', Tensor.float32([1, 1, 1, 1], [0.125])],
  ]);
}
