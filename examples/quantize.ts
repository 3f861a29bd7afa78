// examples/quantize.ts: post-training static int8 quantization to ONNX (QDQ form), calibrated on batches
// of preprocessed images, run by ONNX Runtime's int8 kernels.
// node --import tsx examples/quantize.ts
import { createModel, createSession, optimizedOpCounts, quantizeModel } from 'mobilezoo';

const model = createModel('mobilenet_v2', { widthMult: 0.5, numClasses: 10, stem: 'cifar' });
// Calibration images: here random, in practice a few hundred preprocessed training images.
const batches = Array.from({ length: 4 }, () => Float32Array.from({ length: 8 * 3 * 32 * 32 }, () => Math.random() * 2 - 1));

const { bytes, report } = await quantizeModel(model, {
  inputSize: [3, 32, 32],
  calibration: batches, // (async) iterable of NCHW Float32Array batches
  method: 'minmax', // or 'percentile' (histogram, `percentile: 99.99`)
  metadata: [{ key: 'mobilezoo.model', value: 'mobilenet_v2' }], // ONNX metadata_props
});
const int8 = Object.values(report.int8Nodes).reduce((a, b) => a + b, 0);
console.log(`int8 model: ${(bytes.length / 1e6).toFixed(2)} MB, ${report.foldedBatchNorms} BatchNorms folded, ${int8} nodes in int8`);

const session = await createSession(bytes, { threads: 2 }); // input 'input' -> output 'logits'
const counts = await optimizedOpCounts(bytes); // what ORT fused: { QLinearConv: 52, QLinearAdd: 10, ... }
console.log(`inputs ${session.inputNames.join(', ')} -> outputs ${session.outputNames.join(', ')}; QLinearConv: ${counts.QLinearConv ?? 0}`);
await session.release();
