/**
 * Training progress on the terminal: a cli-progress bar per epoch on stderr (loss, accuracy, images/s,
 * ETA) when stderr is a TTY, plain progress lines (every tenth of an epoch) otherwise; one summary line
 * per epoch on stdout.
 */
import cliProgress from 'cli-progress';
import type { EpochEvent, TrainEvents } from '../workflow/index.js';

type Stream = NodeJS.WritableStream & { isTTY?: boolean };

export interface Streams {
  /** Text written here has its control characters escaped (escapingStream); `raw` is the terminal itself. */
  stdout: Stream & { raw?: Stream };
  stderr: Stream & { raw?: Stream };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '-');

/** One line per epoch: train, validation and (when evaluated) test loss and accuracy; ★ marks a new best. */
export function epochLine(e: EpochEvent): string {
  const row = e.metrics;
  const w = String(e.epochs).length;
  const split = (name: string, ev: { loss: number; top1: number; top5: number }) =>
    `${name} loss ${ev.loss.toFixed(4)} acc ${pct(ev.top1)}${Number.isFinite(ev.top5) ? ` top-5 ${pct(ev.top5)}` : ''}  `;
  return (
    `epoch ${String(row.epoch).padStart(w)}/${e.epochs}  lr ${row.lr.toPrecision(3)}  ` +
    `train loss ${row.trainLoss.toFixed(4)} acc ${pct(row.trainAcc)}  ` +
    (e.validation ? split('val', e.validation) : '') +
    (e.test ? split('test', e.test) : '') +
    `${row.imagesPerSec.toFixed(0)} img/s  ${row.seconds.toFixed(1)}s${e.best ? '  ★ best' : ''}`
  );
}

export interface TrainProgress {
  events: TrainEvents;
  /** Stops a running bar (before printing something else, e.g. on Ctrl-C). */
  stop(): void;
}

export function trainProgress(io: Streams): TrainProgress {
  const tty = Boolean(io.stderr.isTTY);
  let bar: cliProgress.SingleBar | undefined;
  let lastLine = -1;
  const stop = () => {
    if (bar) {
      bar.stop();
      bar = undefined;
    }
  };
  const err = (s: string) => io.stderr.write(s + '\n');
  const events: TrainEvents = {
    log: (m) => {
      stop();
      err(m);
    },
    epochStart: ({ epoch, epochs, steps, startStep }) => {
      if (tty) {
        bar = new cliProgress.SingleBar(
          {
            stream: io.stderr.raw ?? io.stderr,
            format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}`,
            barsize: 24,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 20,
            fps: 5,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(steps, startStep, { loss: '-', acc: '-', ips: '-' });
      } else {
        lastLine = -1;
        err(`epoch ${epoch}/${epochs}: ${steps} steps${startStep ? ` (resuming at step ${startStep})` : ''}`);
      }
    },
    step: (s) => {
      if (bar) {
        bar.update(s.step, { loss: s.loss.toFixed(4), acc: pct(s.acc), ips: s.imagesPerSec.toFixed(0) });
        return;
      }
      const tenth = Math.floor((s.step * 10) / s.steps);
      if (tenth !== lastLine) {
        lastLine = tenth;
        err(`  step ${s.step}/${s.steps}  loss ${s.loss.toFixed(4)}  acc ${pct(s.acc)}  ${s.imagesPerSec.toFixed(0)} img/s  lr ${s.lr.toPrecision(3)}`);
      }
    },
    evalStart: ({ epoch, batches, split, final }) => {
      stop();
      const what = final ? `final test (epoch ${epoch} weights)` : `epoch ${epoch} ${split}`;
      if (!tty) return err(`  ${final ? what : `evaluating ${split}`} (${batches} batches)`);
      bar = new cliProgress.SingleBar(
        { stream: io.stderr.raw ?? io.stderr, format: `${what} [{bar}] {value}/{total} batches | ETA {eta_formatted}`, barsize: 24, hideCursor: true, clearOnComplete: true, fps: 5 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, 0);
    },
    evalProgress: (done) => bar?.update(done),
    epochEnd: (e) => {
      stop();
      io.stdout.write(epochLine(e) + '\n');
    },
    checkpoint: (path, tag) => {
      if (tag === 'best') return; // the epoch line marks it
      stop();
      err(`saved ${tag} checkpoint: ${path}`);
    },
  };
  return { events, stop };
}
