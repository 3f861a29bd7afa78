/**
 * Training progress on the terminal: a cli-progress bar per epoch on stderr (loss, accuracy, images/s,
 * ETA) when stderr is a TTY, plain progress lines (every tenth of an epoch) otherwise; one summary line
 * per epoch on stdout.
 */
import cliProgress from 'cli-progress';
import type { EpochMetrics } from '../report/csv.js';
import type { EvalResult, TrainEvents } from '../workflow/index.js';

type Stream = NodeJS.WritableStream & { isTTY?: boolean };

export interface Streams {
  /** Text written here has its control characters escaped (escapingStream); `raw` is the terminal itself. */
  stdout: Stream & { raw?: Stream };
  stderr: Stream & { raw?: Stream };
}

const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : '-');

export function epochLine(row: EpochMetrics, ev: EvalResult, epochs: number): string {
  const w = String(epochs).length;
  const top5 = Number.isFinite(ev.top5) ? ` top-5 ${pct(ev.top5)}` : '';
  return (
    `epoch ${String(row.epoch).padStart(w)}/${epochs}  lr ${row.lr.toPrecision(3)}  ` +
    `train loss ${row.trainLoss.toFixed(4)} acc ${pct(row.trainAcc)}  ` +
    `test loss ${row.testLoss.toFixed(4)} acc ${pct(row.testAcc)}${top5}  ` +
    `${row.imagesPerSec.toFixed(0)} img/s  ${row.seconds.toFixed(1)}s`
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
    evalStart: ({ epoch, batches }) => {
      stop();
      if (!tty) return err(`  evaluating (${batches} batches)`);
      bar = new cliProgress.SingleBar(
        { stream: io.stderr.raw ?? io.stderr, format: `epoch ${epoch} test [{bar}] {value}/{total} batches | ETA {eta_formatted}`, barsize: 24, hideCursor: true, clearOnComplete: true, fps: 5 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, 0);
    },
    evalProgress: (done) => bar?.update(done),
    epochEnd: (row, ev, epochs) => {
      stop();
      io.stdout.write(epochLine(row, ev, epochs) + '\n');
    },
    checkpoint: (path, tag) => {
      stop();
      err(`saved ${tag} checkpoint: ${path}`);
    },
  };
  return { events, stop };
}
