// The EMA weights of checkpoints trained with --ema, evaluated on the test split twice: with the running
// BatchNorm statistics of the raw weights (how such checkpoints were evaluated before measureEmaBatchNorm),
// and with statistics measured for the EMA weights (what `mobilezoo train --ema` now does before each evaluation).
//
//   node --import tsx bench/ema-batchnorm.ts runs/RUN/checkpoint-epoch-5.json [more checkpoints...]
import { join } from 'node:path';
import { DataLoader } from '../src/data/index.js';
import { loadStateDictFile } from '../src/io/index.js';
import { createModel } from '../src/models/registry.js';
import { InferenceSession } from '../src/runtime/inference.js';
import { readCheckpointRecord } from '../src/workflow/checkpoints.js';
import { Trainer } from '../src/train/trainer.js';
import { EMA_BATCHNORM_BATCHES, evaluateLoader, openTrainingData, trainTransforms } from '../src/workflow/index.js';
import { nodeBackend } from '../src/runtime/node-backend.js';

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error('usage: node --import tsx bench/ema-batchnorm.ts CHECKPOINT.json [...]');
  process.exit(2);
}
for (const path of paths) {
  const { record, dir } = await readCheckpointRecord(path);
  if (!record.files.ema) throw new Error(`${path}: not trained with --ema (no EMA weights)`);
  const config = record.config;
  const data = await openTrainingData(config);
  const inputSize = record.model.inputSize as [number, number, number];
  const model = createModel(record.model.name, { ...record.model.options });
  model.loadStateDict(await loadStateDictFile(join(dir, record.files.weights)));
  // The optimizer file holds the EMA parameters (ema.*); a trainer with emaDecay takes them from there.
  const trainer = await Trainer.create(model, { optimizer: config.optimizer, lr: config.lr, emaDecay: config.emaDecay ?? 0.999, inputSize, backend: nodeBackend() });
  trainer.loadOptimizerStateDict(await loadStateDictFile(join(dir, record.files.optimizer)));
  const tf = trainTransforms(data.train, inputSize, false);
  const testLoader = new DataLoader(data.test, { batchSize: 250, transform: tf.eval, workers: 1 });
  const evaluate = async (label: string) => {
    const m = createModel(record.model.name, { ...record.model.options });
    m.loadStateDict(trainer.emaStateDict()!);
    const s = await InferenceSession.create(m, { inputSize, backend: nodeBackend() });
    const r = (await evaluateLoader((x) => s.run(x), testLoader, m.numClasses))!;
    console.log(`${path}: EMA weights, ${label}: ${(r.top1 * 100).toFixed(2)}% (loss ${r.loss.toFixed(4)})`);
    await s.dispose();
  };
  await evaluate('BatchNorm statistics of the raw weights');
  // The same batches as the workflow's: un-augmented training images, shuffled with seed + 1.
  const bn = new DataLoader(data.train, { batchSize: config.batchSize, shuffle: true, seed: config.seed + 1, transform: tf.eval, workers: 1 });
  const t0 = performance.now();
  const n = await trainer.measureEmaBatchNorm((async function* () {
    let k = 0;
    for await (const b of bn.iterate(0)) {
      if (k++ === EMA_BATCHNORM_BATCHES) break;
      yield b.images;
    }
  })());
  await evaluate(`BatchNorm statistics measured on ${n} batches (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  await bn.close();
  await testLoader.close();
  await trainer.dispose();
}
