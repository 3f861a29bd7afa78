// examples/train.ts: what `mobilezoo train` does, as a function: the same settings (defaults and the
// recipe merged in), progress callbacks, Ctrl-C through an AbortSignal.
// node --import tsx examples/train.ts [dataset] [training images]
import { train } from 'mobilezoo';

const [dataset = 'fashion-mnist', limit = '5000'] = process.argv.slice(2);
const stop = new AbortController();
process.once('SIGINT', () => stop.abort()); // finishes the step, saves checkpoint-interrupted

const result = await train({
  recipe: 'fashion-mnist', // SGD + warmup + cosine, label smoothing; explicit settings override it
  model: 'mobilenet_v2',
  modelOptions: { widthMult: 0.5 },
  dataset,
  limit: Number(limit),
  epochs: 3,
  batchSize: 64,
  valSplit: 0.1, // the default: a seeded, class-stratified tenth of the training images
  earlyStopping: 2, // stop when val_loss has not improved for 2 epochs
  threads: 2,
  signal: stop.signal,
  onEpoch: (e) => console.log(`epoch ${e.epoch}/${e.epochs}: train loss ${e.metrics.trainLoss.toFixed(3)}, val acc ${(e.metrics.valAcc! * 100).toFixed(1)}%${e.best ? ' (best)' : ''}`),
});

if (result.interrupted) console.log(`interrupted; resume with train({ resume: '${result.checkpoint}' })`);
else console.log(`test accuracy of checkpoint-best (epoch ${result.tested!.epoch}): ${(result.evaluation!.top1 * 100).toFixed(2)}%; report: ${result.reportPath}`);
