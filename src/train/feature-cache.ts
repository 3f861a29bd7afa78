/**
 * The frozen-backbone cache: with every module but the classifier frozen and no augmentation, the
 * backbone maps each image to the same embedding at every epoch (frozen modules run in inference mode),
 * so the embeddings are computed once and the classifier alone is trained on them, on the engine's own
 * Trainer and step graph. What Teachable Machine does, with the same result as training the whole
 * network with the backbone frozen: the head's step graph is the full step graph's classifier part, its
 * dropout masks are drawn in the same order from the same seed, its parameters and optimizer state have
 * the same names, and they are the model's own tensors (the head shares the classifier module).
 */
import { type Batch, BatchLoader } from '../data/batch-loader.js';
import type { Dataset } from '../data/dataset.js';
import type { TransformSpec } from '../data/transforms.js';
import type { GraphBuilder } from '../graph/builder.js';
import { Network } from '../models/network.js';
import { classifierName } from '../nn/module.js';
import type { Module } from '../nn/module.js';
import { InferenceSession } from '../runtime/inference.js';
import type { Backend } from '../runtime/backend.js';
import type { StateDict } from '../tensor.js';
import { resolveFreeze } from './freeze.js';
import type { Trainer } from './trainer.js';

/** The classifier of a network as a network of its own: input [N, D, 1, 1] (an embedding), output the logits. */
export class ClassifierHead extends Network {
  readonly modelName: string;
  readonly options: object;
  private readonly head: Module;

  constructor(readonly network: Network, readonly dim: number) {
    super({ numClasses: network.numClasses });
    const name = classifierName(network);
    this.head = this.addModule(name, network.children.get(name)!);
    this.modelName = `${network.modelName} classifier`;
    this.options = network.options;
    (this as { inputSize: [number, number, number] }).inputSize = [dim, 1, 1];
  }

  protected forward(g: GraphBuilder, x: string): string {
    return this.head.call(g, g.flatten(x, 1));
  }
}

/** Whether the frozen modules are exactly the backbone (every module but the classifier). */
export function freezesBackbone(model: Module, frozen: ReadonlySet<string>): boolean {
  const backbone = resolveFreeze(model, 'backbone');
  return backbone.size === frozen.size && [...backbone].every((m) => frozen.has(m));
}

/**
 * Whether a run can train on cached embeddings: the backbone frozen for the whole run, the same
 * (un-augmented, unmixed) images at every epoch, and no EMA (whose average and BatchNorm statistics are
 * the full network's).
 */
export function featureCacheApplies(o: { model: Module; frozen: ReadonlySet<string>; augment: boolean; mix: boolean; ema: boolean; unfreezeLater?: boolean }): { applies: boolean; why: string } {
  if (!freezesBackbone(o.model, o.frozen)) return { applies: false, why: 'layers of the backbone train' };
  if (o.unfreezeLater) return { applies: false, why: 'the backbone is unfrozen later in the run' };
  if (o.augment) return { applies: false, why: 'augmentation changes the images at every epoch' };
  if (o.mix) return { applies: false, why: 'mixup/cutmix changes the images at every step' };
  if (o.ema) return { applies: false, why: 'EMA averages the whole network' };
  return { applies: true, why: '' };
}

/** The embeddings of images under a network's current (frozen) backbone, one eval-mode session. */
export class EmbeddingCache {
  private constructor(private readonly session: InferenceSession, readonly inputSize: [number, number, number]) {}

  static async create(network: Network, o: { backend: Backend; inputSize: [number, number, number] }): Promise<EmbeddingCache> {
    return new EmbeddingCache(await InferenceSession.create(network, { inputSize: o.inputSize, backend: o.backend }), o.inputSize);
  }

  /** [n, D] row-major embeddings of n NCHW images, and D. */
  async embed(images: Float32Array): Promise<{ dim: number; data: Float32Array }> {
    return this.session.embed(images);
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

/** What a checkpoint takes of a trainer (trainingCheckpointFiles): the head trainer's state on the full network. */
export function onNetwork(trainer: Trainer, network: Network): { model: Network; step: number; optimizerStateDict(): StateDict; emaStateDict(): StateDict | undefined } {
  return { model: network, step: trainer.step, optimizerStateDict: () => trainer.optimizerStateDict(), emaStateDict: () => trainer.emaStateDict() };
}

/**
 * The batches of an epoch on cached embeddings: a loader's sample order (BatchLoader.order, so the
 * same images in the same batches as the uncached run), cut in `count` batches of `batchSize`.
 */
export function* cachedBatches(embeddings: Float32Array, dim: number, labels: Int32Array, order: Int32Array, batchSize: number, count: number): Generator<{ features: Float32Array; labels: Int32Array; indices: Int32Array }> {
  for (let b = 0; b < count; b++) {
    const indices = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, order.length));
    const features = new Float32Array(indices.length * dim);
    const batchLabels = new Int32Array(indices.length);
    indices.forEach((i, j) => {
      features.set(embeddings.subarray(i * dim, (i + 1) * dim), j * dim);
      batchLabels[j] = labels[i]!;
    });
    yield { features, labels: batchLabels, indices };
  }
}

/** What a FeatureLoader takes of an image loader: its sample order per epoch and its batching. */
export interface BatchOrder {
  readonly length: number;
  readonly batchSize: number;
  order(epoch: number): Int32Array;
}

/**
 * A loader of cached embeddings: the batches of an image loader (same order, same cuts, same batch and
 * epoch numbers) with each image's embedding in place of its pixels ([n, D, 1, 1]), for the head trainer.
 */
export class FeatureLoader {
  constructor(private readonly source: BatchOrder, readonly embeddings: Float32Array, readonly dim: number, readonly labels: Int32Array) {}

  get length(): number {
    return this.source.length;
  }

  setEpoch(_epoch: number): void {}

  async *iterate(epoch = 0): AsyncGenerator<Batch, void, undefined> {
    let index = 0;
    for (const b of cachedBatches(this.embeddings, this.dim, this.labels, this.source.order(epoch), this.source.batchSize, this.source.length)) {
      const n = b.labels.length;
      yield { images: b.features, labels: b.labels, labels64: BigInt64Array.from(b.labels, (v) => BigInt(v)), n, shape: [n, this.dim, 1, 1], indices: b.indices.slice(), index: index++, epoch };
    }
  }
}

/** The embeddings of a loader's images in dataset order (epoch 0 of an unshuffled copy: no augmentation), and their labels. */
export async function embedLoader(cache: EmbeddingCache, loader: { dataset: Dataset; transform: TransformSpec }, batchSize = 64): Promise<{ embeddings: Float32Array; dim: number; labels: Int32Array }> {
  const chunks: Float32Array[] = [];
  const labels = new Int32Array(loader.dataset.length);
  let dim = 0;
  let at = 0;
  for await (const b of new BatchLoader(loader.dataset, { batchSize, shuffle: false, transform: loader.transform }).iterate(0)) {
    const e = await cache.embed(b.images);
    dim = e.dim;
    chunks.push(e.data.slice());
    labels.set(b.labels, at);
    at += b.n;
  }
  const embeddings = new Float32Array(loader.dataset.length * dim);
  chunks.reduce((o, c) => (embeddings.set(c, o), o + c.length), 0);
  return { embeddings, dim, labels };
}
