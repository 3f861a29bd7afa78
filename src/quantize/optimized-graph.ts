/**
 * What ORT makes of a model: its session option optimizedModelFilePath writes the graph after the
 * graph transformers, which shows whether the QDQ groups became integer kernels.
 *
 * Level 'extended' is the one to count at. The QDQ fusions (QLinearConv, QGemm, QLinearAdd, ...) are
 * level-2 transformers, and the Relu/Clip removal before a Q is level 1, so at 'extended' the optimized
 * graph shows each fused kernel under its own name. Level 'all' adds the layout transformers: float
 * convs move to NCHWc ('com.microsoft.nchwc' Conv, ReorderInput/ReorderOutput) and the NHWC transformer
 * rewrites QLinearConv into com.microsoft's channels-last QLinearConv with Transposes around the chain,
 * so counts there mix the fusion with the layout change. Only at 'all' may
 * ORT also fold a weight DequantizeLinear that no kernel took into a float initializer.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { decodeModel } from '../onnx/serialize.js';
import { type SessionOptions, ort, ortSessionOptions } from '../runtime/session.js';

/** The graph ORT runs for `model` after its optimizations at `o.optimization` (default 'extended'). */
export async function optimizedModel(model: Uint8Array, o: SessionOptions = {}): Promise<onnxProto.onnx.ModelProto> {
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
export function opCounts(model: onnxProto.onnx.IModelProto): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of model.graph?.node ?? []) counts[n.opType!] = (counts[n.opType!] ?? 0) + 1;
  return counts;
}

/** Node counts by op type of the graph ORT runs for `model` (see optimizedModel). */
export async function optimizedOpCounts(model: Uint8Array, o: SessionOptions = {}): Promise<Record<string, number>> {
  return opCounts(await optimizedModel(model, o));
}
