// examples/trainer.ts: the engine under train(): one ONNX graph per step (train-mode forward,
// cross-entropy, backward, optimizer update), fed with your own batches.
// node --import tsx examples/trainer.ts
import { Trainer, createModel, nodeBackend } from 'mobilezoo';

const model = createModel('mobilenet_v2', { widthMult: 0.5, numClasses: 10, stem: 'cifar' });
const trainer = await Trainer.create(model, {
  optimizer: { type: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayBnBias: true },
  lr: 0.1, schedule: { type: 'cosine' }, warmupEpochs: 1, epochs: 30, stepsPerEpoch: 469,
  labelSmoothing: 0.1, seed: 0, backend: nodeBackend({ threads: 2 }), // onnxruntime-node; mobilezoo/web has webBackend(ort)
});

// A batch of 8 random 32x32 RGB images (NCHW float32) and their labels.
const images = Float32Array.from({ length: 8 * 3 * 32 * 32 }, () => Math.random() * 2 - 1);
const labels = Int32Array.from({ length: 8 }, (_, i) => i % 10);

const { loss } = await trainer.trainStep(images, labels); // one optimizer step; loss is the batch's mean cross-entropy
console.log(`step ${trainer.step}: loss ${loss.toFixed(4)}, lr ${trainer.currentLr()}`);

// grads: Map from each parameter's state_dict name to d loss / d parameter, flat, in the parameter's shape.
const { grads } = await trainer.lossAndGradients(images, labels); // nothing is updated
const [name, g] = [...grads][0]!;
console.log(`${grads.size} gradients; ${name}: ${g.length} values, shape ${model.stateDict().get(name)!.shape.join('x')}`);

// Eval mode with the current weights: logits [8 x 10], row-major.
const { logits } = await trainer.evaluate(images, labels);
console.log(`eval logits: ${logits.length / 10} rows of 10`);

// stateDict(): Map<name, Tensor> of weights and buffers (running means, num_batches_tracked), as PyTorch's.
// optimizerStateDict(): Map<name, Tensor> of the optimizer slots ('optimizer.momentum/<param>'), the step
// count and the dropout RNG position: with the weights, everything an exact resume needs.
const weights = model.stateDict();
const optimizer = trainer.optimizerStateDict();
const w = weights.get('features.0.0.weight')!;
console.log(`weights: ${weights.size} tensors (features.0.0.weight ${w.dtype} [${w.shape.join(', ')}]); optimizer state: ${optimizer.size} tensors, step ${optimizer.get('optimizer.step')!.data[0]}`);
await trainer.dispose();
