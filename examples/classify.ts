// examples/classify.ts: a torchvision checkpoint, loaded by name, classifies an image on ONNX Runtime.
// node --import tsx examples/classify.ts mobilenet_v2-b0353104.pth cat.jpg
import { IMAGENET_CLASSES, InferenceSession, createModel, loadStateDictFile, nodeBackend, preprocessImagenet, summary } from 'mobilezoo';

const [weights = 'mobilenet_v2-b0353104.pth', image = 'cat.jpg'] = process.argv.slice(2);

// Missing, unexpected or mismatched keys are reported by name.
const model = createModel('mobilenet_v2');
model.loadStateDict(await loadStateDictFile(weights!));

// Eval-mode graph, BatchNorm folded by ORT, any batch size, on a runtime backend: onnxruntime-node, 2 threads.
const session = await InferenceSession.create(model, { inputSize: [3, 224, 224], backend: nodeBackend({ threads: 2 }) });
const x = await preprocessImagenet(image!); // Float32Array [1, 3, 224, 224]: resize 256, crop 224, ImageNet mean/std
const logits = await session.run(x); // Float32Array [1 x 1000]
const best = logits.indexOf(Math.max(...logits));
console.log(`${IMAGENET_CLASSES[best]} (class ${best})`);

// The pooled features the classifier takes: { dim: 1280, data: Float32Array [batch x dim] }.
const { dim, data } = await session.embed(x);
console.log(`embedding: ${dim} values per image, the first ${data[0]!.toPrecision(3)}`);

// Parameters and multiply-adds, in total and per layer.
const s = summary(model, [3, 224, 224]);
console.log(`${s.totalParams.toLocaleString('en-US')} parameters, ${(s.totalMacs / 1e6).toFixed(1)} MMACs; first layer: ${s.rows[0]!.name}`);
await session.dispose();
