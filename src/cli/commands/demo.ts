/** `mobilezoo demo`. */
import type { Command } from 'commander';
import { type TrainSettings } from '../../workflow/config.js';
import { readCheckpointRecord } from '../../workflow/checkpoints.js';
import { demoConfig, demoSettings } from '../../workflow/index.js';
import { evalText } from '../format.js';
import { positiveInt, threadCount, threadsCap, workerCount, workersCap } from '../parse.js';
import { type CommandEnv, runTraining, defaultRunFolder, EXIT } from '../context.js';

export function addDemoCommand(program: Command, { ctx, io, out }: CommandEnv): void {
  program
    .command('demo')
    .description('short train + test + report: MobileNetV2 0.5x (CIFAR stem) on 5000/1000 Fashion-MNIST images, 2 epochs')
    .option('--data <dir>', 'directory searched first for Fashion-MNIST')
    .option('--download', 'download Fashion-MNIST if it is not found (never done otherwise)')
    .option('--out <dir>', 'output folder (default runs/demo-<timestamp>)')
    .option('--epochs <n>', 'epochs (default 2)', positiveInt('--epochs'))
    .option('--limit <n>', 'training images (default 5000; test: ceil(N/5))', positiveInt('--limit'))
    .option('--threads <n>', `ONNX Runtime threads (${threadsCap()})`, threadCount('--threads'))
    .option('--workers <n>', `data-loading worker threads (default 1) (${workersCap()})`, workerCount('--workers'))
    .action(async (o: Record<string, unknown>) => {
      const overrides: TrainSettings = {};
      if (o.epochs !== undefined) overrides.epochs = o.epochs as number;
      if (o.limit !== undefined) Object.assign(overrides, { limit: o.limit as number, testLimit: Math.max(1, Math.ceil((o.limit as number) / 5)) });
      const demo = { dataDir: o.data as string | undefined, download: o.download as boolean | undefined, overrides };
      const { settings, fallback } = demoSettings(demo);
      const { config } = demoConfig(demo);
      if (fallback) io.stderr.write(`${fallback}\n\n`);
      const outDir = (o.out as string | undefined) ?? defaultRunFolder('demo');
      io.stderr.write(`demo: ${config.model} ${JSON.stringify(config.modelOptions)} on ${config.dataset}, ${config.epochs} epochs, batch ${config.batchSize}\n`);
      const r = await runTraining(ctx, { ...settings, outDir, saveEvery: Number.MAX_SAFE_INTEGER, threads: o.threads as number | undefined, workers: o.workers as number | undefined });
      ctx.code = r.code;
      const ev = r.result?.evaluation;
      if (r.code === EXIT.ok && ev && r.result) {
        const { record } = await readCheckpointRecord(r.result.checkpoint!);
        out(`\ntest split (${ev.count} images):\n${evalText(ev, record.dataset.classNames)}`);
        out(`\nreport: ${r.result.reportPath}`);
      }
    });
}
