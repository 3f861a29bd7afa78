/**
 * The train steps of one epoch: batches in the order of (seed, epoch) from where a resumed run stopped,
 * the running sums of the epoch, progress events, and the two ways an epoch ends early (an abort signal,
 * checked before every step, and the minutes budget).
 */
import { type Batch, Rng, mixBatch, mixes } from '../../data/index.js';
import { type StepPoint, topK } from '../../report/index.js';
import { learningRate } from '../../train/schedules.js';
import type { Trainer } from '../../train/trainer.js';
import type { EpochAccumulator } from '../checkpoints.js';
import type { TrainConfig } from '../config.js';
import type { RunClock } from './clock.js';
import type { TrainEvents } from './events.js';

export interface EpochOutcome {
  /** Steps of the epoch done (including those done before a resume). */
  steps: number;
  sums: EpochAccumulator;
  /** The learning rate of the epoch's last step (per-step schedules change it within the epoch). */
  lastLr: number;
  aborted: boolean;
  /** The minutes budget ran out before this epoch's first step. */
  outOfTime: boolean;
  /** Seconds the epoch took. */
  seconds: number;
  /** The loss and learning rate of each step taken now. */
  points: StepPoint[];
}

export interface EpochLoopOptions {
  config: Pick<TrainConfig, 'schedule' | 'lr' | 'epochs' | 'warmupEpochs' | 'mix' | 'seed'>;
  numClasses: number;
  clock: RunClock;
  signal?: AbortSignal;
  events?: TrainEvents;
}

/** The batches an epoch loop takes: a DataLoader's, or cached embeddings' (src/train/feature-cache.ts). */
export interface EpochBatches {
  readonly length: number;
  setEpoch(epoch: number): void;
  iterate(epoch: number): AsyncIterable<Batch>;
}

export class EpochLoop {
  constructor(private readonly trainer: Trainer, private readonly loader: EpochBatches, private readonly o: EpochLoopOptions) {}

  get steps(): number {
    return this.loader.length;
  }

  /**
   * Runs epoch e (0-based) from step `skip` on, adding to `sums` (the partial sums of a resumed epoch, or
   * zeros); `shownEpochs` is the epoch count the events show.
   */
  async run(e: number, skip: number, sums: EpochAccumulator, shownEpochs: number): Promise<EpochOutcome> {
    const { trainer, loader, o } = this;
    const { config, clock, signal } = o;
    const events = o.events ?? {};
    const steps = this.steps;
    let lastLr = learningRate(config.schedule, { baseLr: config.lr, epochs: config.epochs, warmupEpochs: config.warmupEpochs }, e + (steps - 1) / steps);
    events.epochStart?.({ epoch: e + 1, epochs: shownEpochs, steps, startStep: skip });
    loader.setEpoch(e);
    let done = skip;
    const t0 = performance.now();
    let aborted = signal?.aborted ?? false;
    const points: StepPoint[] = [];
    if (skip < steps && !aborted) {
      let index = 0;
      for await (const batch of loader.iterate(e)) {
        if (index++ < skip) continue;
        if (signal?.aborted) {
          aborted = true;
          break;
        }
        if (trainer.step > 0 && clock.timeUp()) break;
        const ts = performance.now();
        const lr = trainer.currentLr();
        lastLr = lr;
        // Mixed per batch from (seed, epoch, batch), so a resumed run mixes the same way; accuracy counts each image's own label.
        const mixed = mixes(config.mix) ? mixBatch(batch.images, batch.shape, batch.labels, o.numClasses, config.mix, Rng.from(config.seed, 'mix', e, batch.index)) : undefined;
        const r = await trainer.trainStep(mixed?.images ?? batch.images, batch.labels, { logits: true, targets: mixed?.targets });
        sums.stepSeconds += (performance.now() - ts) / 1000;
        sums.lossSum += r.loss * batch.n;
        sums.correct += topK(r.logits!, o.numClasses, batch.labels, 1);
        sums.seen += batch.n;
        points.push({ step: trainer.step, epoch: e + 1, loss: r.loss, lr });
        done++;
        events.step?.({ epoch: e + 1, epochs: shownEpochs, step: done, steps, loss: sums.lossSum / sums.seen, acc: sums.correct / sums.seen, imagesPerSec: sums.seen / sums.stepSeconds, lr });
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    return { steps: done, sums, lastLr, aborted, outOfTime: clock.limited && done === skip && !aborted, seconds, points };
  }
}
