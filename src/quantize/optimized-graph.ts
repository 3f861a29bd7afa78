/**
 * What ORT makes of a model: its session option optimizedModelFilePath writes the graph after the
 * graph transformers, which shows whether the QDQ groups became integer kernels.
 *
 * Count at level 'extended' (the default here). At 'basic' no QDQ transformer has run yet: every Q,
 * DQ, Relu and Clip is still there. At 'extended' the Relu/Clip before a Q are gone and each fused
 * group is one kernel under its own name (QLinearConv, QGemm, QLinearAdd, ... with only the input's
 * QuantizeLinear left in an all-int8 network). Level 'all', which sessions run, adds the layout
 * transformers: ORT's NHWC transformer turns QLinearConv into com.microsoft's channels-last
 * QLinearConv with Transposes wherever the data leaves that layout (two in a MobileNet; a ShuffleNet's
 * 16 channel-shuffle Transposes become 50), and float convs go to NCHWc; the kernel counts are the same
 * there but the graph mixes fusion with layout (and ORT warns that such a file is machine-specific).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Decoded, type ModelProto, decodeModel } from '../onnx/serialize.js';
import { type SessionOptions, ort, ortSessionOptions } from '../runtime/session.js';

/** The graph ORT runs for `model` after its optimizations at `o.optimization` (default 'extended'). */
export async function optimizedModel(model: Uint8Array, o: SessionOptions = {}): Promise<Decoded<ModelProto>> {
  const dir = await mkdtemp(join(tmpdir(), 'mobilezoo-optimized-'));
  try {
    const path = join(dir, 'optimized.onnx');
    const options = { ...ortSessionOptions({ optimization: 'extended', ...o }), optimizedModelFilePath: path };
    const session = await ort.InferenceSession.create(model, options);
    await session.release();
    return decodeModel(new Uint8Array(await readFile(path)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Node counts by op type ('QLinearConv', 'QGemm', 'DequantizeLinear', ...) of a decoded model. */
export function opCounts(model: Decoded<ModelProto>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph?.node ?? []) counts[n.opType ?? ''] = (counts[n.opType ?? ''] ?? 0) + 1;
  return counts;
}

/** Node counts by op type of the graph ORT runs for `model` (see optimizedModel). */
export async function optimizedOpCounts(model: Uint8Array, o: SessionOptions = {}): Promise<Record<string, number>> {
  return opCounts(await optimizedModel(model, o));
}
