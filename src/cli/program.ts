/**
 * The `mobilezoo` command line (commander): parses flags, calls the library, prints. Exit codes: 0 ok,
 * 1 runtime error, 2 bad usage (unknown flag, bad value: the message names the flag), 130 interrupted.
 */
import { readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { DATASET_NAMES } from '../data/index.js';
import { createModel, listModels } from '../models/registry.js';
import { summary } from '../nn/summary.js';
import { confusionMatrixSvg, formatTable, writeChart } from '../report/index.js';
import { ConfigError, OPTIMIZER_TYPES, RECIPES, type TrainConfig, type TrainSettings, resolveTrainConfig } from '../workflow/config.js';
import { readCheckpointRecord } from '../workflow/checkpoints.js';
import { SCHEDULE_TYPES } from '../train/schedules.js';
import { exportOnnx, exportPth, exportWeb, predictImages, testModel } from '../workflow/index.js';
import { TTA_MODES, type TtaMode } from '../workflow/tta.js';
import { type ClassifierSource, EMBEDDING_FORMATS, type TrainResult, demoConfig, embedImages, embeddingsJson, inspectPretrained, resumeConfig, train, writeEmbeddings } from '../workflow/index.js';
import { embedText, evalText, exportPthText, exportText, exportWebText, predictText, summaryText, testJson, testText } from './format.js';
import {
  MODEL_FLAGS,
  UsageError,
  addModelFlags,
  explicit,
  integer,
  modelFlagsOf,
  modelName,
  modelOptionsFrom,
  nonNegativeInt,
  nonNegativeNumber,
  numberIn,
  oneOf,
  positiveInt,
  positiveNumber,
  shellQuote,
} from './parse.js';
import { type Streams, trainProgress } from './progress.js';

export const EXIT = { ok: 0, error: 1, usage: 2, interrupted: 130 } as const;

function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      /* try the next */
    }
  }
  return '0.0.0';
}

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

interface Context {
  io: Streams;
  argv: string[];
  code: number;
}

/** Runs training with the progress UI and Ctrl-C handling; returns the exit code. */
async function runTraining(ctx: Context, config: TrainConfig, run: { outDir: string; saveEvery?: number; threads?: number; workers?: number; resume?: string }): Promise<{ code: number; result?: TrainResult }> {
  const { io } = ctx;
  const progress = trainProgress(io);
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    progress.stop();
    if (signals === 1) {
      io.stderr.write(`\n${sig}: finishing the current step and saving a resumable checkpoint (press Ctrl-C again to quit without saving)\n`);
      ac.abort();
    } else {
      io.stderr.write(`${sig} again: quitting without saving\n`);
      process.exit(sig === 'SIGINT' ? EXIT.interrupted : 143);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await train(config, { ...run, command: shellQuote(['mobilezoo', ...ctx.argv]), signal: ac.signal, events: progress.events });
    progress.stop();
    if (result.interrupted) {
      io.stderr.write(`interrupted: saved ${result.checkpoint}\ncontinue with: mobilezoo train --resume ${shellQuote([result.checkpoint!])}\n`);
      if (result.reportPath) io.stderr.write(`report so far: ${result.reportPath}\n`);
      return { code: EXIT.interrupted, result };
    }
    if (result.nothingToDo) return { code: EXIT.ok, result };
    const ev = result.evaluation;
    if (ev) io.stdout.write(`final test accuracy ${(ev.top1 * 100).toFixed(2)}%${Number.isFinite(ev.top5) ? ` (top-5 ${(ev.top5 * 100).toFixed(2)}%)` : ''}, loss ${ev.loss.toFixed(4)}\n`);
    io.stdout.write(`checkpoint: ${result.checkpoint}\n`);
    if (result.reportPath) io.stdout.write(`report: ${result.reportPath}\n`);
    return { code: EXIT.ok, result };
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Settings `mobilezoo train` may change when resuming. */
const RESUMABLE = new Set(['resume', 'epochs', 'out', 'threads', 'workers', 'saveEvery', 'data', 'download']);

const FLAG_OF: Record<string, string> = {
  batchSize: '--batch-size', weightDecay: '--weight-decay', labelSmoothing: '--label-smoothing', saveEvery: '--save-every',
  testLimit: '--test-limit', stepSize: '--step-size', reducedTail: '--reduced-tail', augment: '--no-augment',
};
const flagOf = (attr: string) => FLAG_OF[attr] ?? `--${attr}`;

export function buildProgram(ctx: Context): Command {
  const { io } = ctx;
  const out = (s: string): void => {
    io.stdout.write(s.endsWith('\n') ? s : s + '\n');
  };
  const program = new Command('mobilezoo');
  program
    .description('MobileNetV1/V2/V3 and ShuffleNetV1/V2 on ONNX Runtime: summaries, training and fine-tuning, evaluation, prediction, embeddings, ONNX export')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  // list ------------------------------------------------------------------------------------
  program
    .command('list')
    .description('list the models and their option flags')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const models = listModels().map((m) => ({ ...m, flags: modelFlagsOf(m.name) }));
      if (o.json) return out(JSON.stringify(models, null, 2));
      out(formatTable(models.map((m) => [m.name, m.description, m.flags.join(' ')]), ['model', 'description', 'flags']));
    });

  // summary ---------------------------------------------------------------------------------
  addModelFlags(
    program
      .command('summary')
      .description('per-layer table: output shape, parameters, multiply-accumulates')
      .argument('<model>', 'model name (see mobilezoo list)', modelName('<model>')),
    { classes: true },
  )
    .option('--input <size>', 'input height = width (default: the model\'s, 224 or 32 with --stem cifar)', positiveInt('--input'))
    .option('--json', 'print JSON')
    .action((name: string, o: Record<string, unknown>) => {
      const options = modelOptionsFrom(name, o);
      const model = createModel(name, options);
      const size = (o.input as number | undefined) ?? model.inputSize[1];
      const s = summary(model, [model.inputSize[0], size, size]);
      if (o.json) {
        return out(JSON.stringify({ model: name, options, input: [1, ...s.inputShape], rows: s.rows, totalParams: s.totalParams, trainableParams: s.trainableParams, totalMacs: s.totalMacs, outputShape: s.outputShape }, null, 2));
      }
      out(summaryText(name, options, s));
    });

  // train -----------------------------------------------------------------------------------
  const trainCmd = addModelFlags(
    program
      .command('train')
      .description('train a model; writes checkpoints, metrics.csv, charts and report.html into --out')
      .option('--model <name>', 'model (default mobilenet_v2)', modelName('--model')),
  )
    .option('--input <size>', 'training resolution (default 32 with the CIFAR stem, else the model\'s 224)', positiveInt('--input'))
    .option('--dataset <name>', `${DATASET_NAMES.join(' | ')} (default cifar10)`, oneOf('--dataset', DATASET_NAMES))
    .option('--data <dir>', 'directory searched first for the dataset (the image root for folder)')
    .option('--download', 'download the dataset if it is not found (never done otherwise)')
    .option('--epochs <n>', 'epochs (default 15; recipes set their own)', positiveInt('--epochs'))
    .option('--batch-size <n>', 'batch size (default 128)', positiveInt('--batch-size'))
    .option('--optimizer <name>', `${OPTIMIZER_TYPES.join(' | ')} (default adam)`, oneOf('--optimizer', OPTIMIZER_TYPES))
    .option('--lr <x>', 'learning rate (default 1e-3)', positiveNumber('--lr'))
    .option('--momentum <x>', 'momentum of sgd / rmsprop (default 0.9)', numberIn('--momentum', 0, 1))
    .option('--weight-decay <x>', 'weight decay (default 0; L2 for adam, decoupled for adamw)', nonNegativeNumber('--weight-decay'))
    .option('--nesterov', 'Nesterov momentum (sgd)')
    .option('--schedule <name>', `${SCHEDULE_TYPES.join(' | ')} (default constant)`, oneOf('--schedule', SCHEDULE_TYPES))
    .option('--gamma <x>', 'decay factor of the step (0.1) / exponential (0.98) schedules', numberIn('--gamma', 0, 1.000001, true))
    .option('--step-size <epochs>', 'epochs between step-schedule decays (default epochs/3)', positiveNumber('--step-size'))
    .option('--warmup <epochs>', 'linear learning-rate warmup, in epochs (default 0)', nonNegativeNumber('--warmup'))
    .option('--label-smoothing <x>', 'label smoothing (default 0)', numberIn('--label-smoothing', 0, 1))
    .option('--no-augment', 'no training augmentation (random crop / flip)')
    .option('--random-erasing <p>', "torchvision's RandomErasing on training images with probability p (default 0)", numberIn('--random-erasing', 0, 1))
    .option('--seed <n>', 'seed of the initialization, data order, augmentation and dropout (default 0)', integer('--seed'))
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)', positiveInt('--threads'))
    .option('--workers <n>', 'data-loading worker threads (default 1; 0 = main thread)', nonNegativeInt('--workers'))
    .option('--out <dir>', 'output folder (default runs/<model>-<dataset>-<timestamp>)')
    .option('--save-every <n>', 'checkpoint every N epochs (default 5; a "last" one is always written)', positiveInt('--save-every'))
    .option('--resume <checkpoint>', 'continue a run from its checkpoint-*.json (same settings; --epochs may extend it)')
    .option('--limit <n>', 'use only the first N training and first ceil(N/5) test images', positiveInt('--limit'))
    .option('--test-limit <n>', 'use only the first N test images', positiveInt('--test-limit'))
    .option('--minutes <m>', 'wall-clock budget: the schedule follows the clock (its --epochs shape, decay ending when time is up) and training stops there', positiveNumber('--minutes'))
    .option('--ema <decay>', 'evaluate and save an exponential moving average of the weights, e.g. 0.999 (warmed up: min(decay, (1+k)/(10+k)) after k steps)', numberIn('--ema', 0, 1, true))
    .option('--pretrained <file>', 'fine-tune from these weights: a checkpoint-*.json, or a state dict (.pth, .pth.tar, .safetensors) for --model; tensors that match by name and shape load, the rest (a new classifier) is initialized; input size and normalization default to the source\'s')
    .option('--freeze <what>', 'none | backbone (everything but the classifier) | a module path such as features.12 (it and everything before it): frozen layers run in inference mode, BatchNorm statistics kept, and get no gradient (default none)')
    .option('--unfreeze-at <epoch>', 'from this epoch (1-based) on, nothing is frozen', positiveInt('--unfreeze-at'))
    .option('--backbone-lr-mult <m>', 'learning-rate factor for everything but the classifier (default 1)', positiveNumber('--backbone-lr-mult'))
    .addOption(new Option('--recipe <name>', `preset: ${Object.entries(RECIPES).map(([k, r]) => `${k} (${r.description})`).join('; ')}`).argParser(oneOf('--recipe', Object.keys(RECIPES))))
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const given = explicit(cmd);
      if (given.resume) {
        const bad = Object.keys(given).filter((k) => !RESUMABLE.has(k));
        if (bad.length) throw new UsageError(`${flagOf(bad[0]!)}: cannot be changed when resuming (a resumed run keeps its checkpoint's settings; only --epochs, --out, --threads, --workers, --save-every, --data, --download may be given)`);
        const { record, dir } = await readCheckpointRecord(given.resume as string);
        const config = resumeConfig(record, { epochs: given.epochs as number | undefined });
        if (given.data) config.dataDir = given.data as string;
        if (given.download) config.download = true;
        const threads = (o.threads as number | undefined) ?? record.threads;
        const r = await runTraining(ctx, config, { outDir: (given.out as string | undefined) ?? dir, saveEvery: (o.saveEvery as number | undefined) ?? record.saveEvery, threads, workers: o.workers as number | undefined, resume: given.resume as string });
        ctx.code = r.code;
        return;
      }
      const pretrained = o.pretrained ? await inspectPretrained(o.pretrained as string) : undefined;
      if (pretrained && !o.model && !pretrained.model) throw new UsageError(`--model: needed with --pretrained ${o.pretrained as string} (a state dict does not say which model it is for)`);
      const model = (o.model as string | undefined) ?? pretrained?.model ?? 'mobilenet_v2';
      // A checkpoint's model options are the defaults of its fine-tuning run; flags override them.
      const inherited = pretrained?.model === model ? pretrained.modelOptions ?? {} : {};
      const settings: TrainSettings = {
        model,
        modelOptions: { ...inherited, ...modelOptionsFrom(model, o) },
        pretrained,
        freeze: o.freeze as string | undefined,
        unfreezeAt: o.unfreezeAt as number | undefined,
        backboneLrMult: o.backboneLrMult as number | undefined,
        dataset: o.dataset as string | undefined,
        dataDir: o.data as string | undefined,
        download: o.download as boolean | undefined,
        input: o.input as number | undefined,
        epochs: o.epochs as number | undefined,
        batchSize: o.batchSize as number | undefined,
        optimizer: o.optimizer as string | undefined,
        lr: o.lr as number | undefined,
        momentum: o.momentum as number | undefined,
        weightDecay: o.weightDecay as number | undefined,
        nesterov: o.nesterov as boolean | undefined,
        schedule: o.schedule as string | undefined,
        gamma: o.gamma as number | undefined,
        stepSize: o.stepSize as number | undefined,
        warmup: o.warmup as number | undefined,
        labelSmoothing: o.labelSmoothing as number | undefined,
        augment: given.augment === false ? false : undefined,
        randomErasing: o.randomErasing as number | undefined,
        seed: o.seed as number | undefined,
        limit: o.limit as number | undefined,
        testLimit: o.testLimit as number | undefined,
        ema: o.ema as number | undefined,
        minutes: o.minutes as number | undefined,
        recipe: o.recipe as string | undefined,
      };
      if (settings.modelOptions!.numClasses !== undefined) throw new UsageError('--classes: not used by train (the dataset sets the classes)');
      const config = resolveTrainConfig(settings);
      const outDir = (o.out as string | undefined) ?? join('runs', `${model}-${config.dataset}-${timestamp()}`);
      const r = await runTraining(ctx, config, { outDir, saveEvery: o.saveEvery as number | undefined, threads: o.threads as number | undefined, workers: o.workers as number | undefined });
      ctx.code = r.code;
    });
  trainCmd.addHelpText('after', '\nRecipes set defaults that explicit flags override (cifar and fashion-mnist also default --dataset to cifar10 / fashion-mnist). Grayscale datasets are replicated to 3 channels and padded to 32x32; small datasets use --stem cifar unless another stem is given (then images are resized to --input, default 224).');

  // test ------------------------------------------------------------------------------------
  addModelFlags(
    program
      .command('test')
      .description('evaluate a checkpoint (or weights) on a test split: loss, top-1/5, per-class accuracy, confusion matrix')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train')
      .option('--weights <file>', 'a state dict (.pth / .safetensors); needs --model')
      .option('--onnx <file>', 'an ONNX model written by export or quantize (its metadata gives preprocessing and class names); needs --dataset')
      .option('--model <name>', 'model for --weights (or to override the checkpoint\'s)', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: use the raw weights, not the EMA ones')
    .option('--by-index', 'map the dataset\'s classes to the model\'s by position, not by name')
    .option('--dataset <name>', `${DATASET_NAMES.join(' | ')} (default: the checkpoint's)`, oneOf('--dataset', DATASET_NAMES))
    .option('--data <dir>', 'directory searched first for the dataset')
    .option('--download', 'download the dataset if it is not found')
    .option('--input <size>', 'input size (default: the checkpoint\'s or the model\'s)', positiveInt('--input'))
    .option('--limit <n>', 'evaluate only the first N test images', positiveInt('--limit'))
    .option('--tta <mode>', `test-time augmentation: ${TTA_MODES.join(' | ')} (default none; flip averages the softmax of each image and its mirror image, flip-shift also of both shifted by one pixel in 4 directions: 10 views)`, oneOf('--tta', TTA_MODES))
    .option('--batch-size <n>', 'batch size (default 100)', positiveInt('--batch-size'))
    .option('--threads <n>', 'ONNX Runtime threads', positiveInt('--threads'))
    .option('--workers <n>', 'data-loading worker threads (default 1)', nonNegativeInt('--workers'))
    .option('--out <dir>', 'also write confusion.png / confusion.svg / test.json there')
    .option('--json', 'print JSON')
    .action(async (o: Record<string, unknown>) => {
      const src = modelSource(o);
      if (!src.checkpoint && !src.weights && !src.onnx) throw new UsageError('--checkpoint, --weights or --onnx: test needs trained weights');
      const r = await testModel({
        ...src,
        dataset: o.dataset as string | undefined,
        dataDir: o.data as string | undefined,
        download: o.download as boolean | undefined,
        input: o.input as number | undefined,
        limit: o.limit as number | undefined,
        batchSize: o.batchSize as number | undefined,
        threads: o.threads as number | undefined,
        workers: o.workers as number | undefined,
        ema: o.emaOff ? false : undefined,
        tta: o.tta as TtaMode | undefined,
        byIndex: o.byIndex as boolean | undefined,
      });
      if (o.out) {
        const dir = resolve(o.out as string);
        const svg = await confusionMatrixSvg({ classNames: r.classNames, matrix: r.confusion, title: `Confusion matrix: ${r.model} on ${r.dataset} (test)` });
        const { pngPath } = await writeChart(join(dir, 'confusion'), svg);
        const { writeFile } = await import('node:fs/promises');
        await writeFile(join(dir, 'test.json'), JSON.stringify(testJson(r), null, 2) + '\n');
        if (!o.json) io.stderr.write(`wrote ${pngPath} and ${join(dir, 'test.json')}\n`);
      }
      out(o.json ? JSON.stringify(testJson(r), null, 2) : testText(r));
    });

  // predict ---------------------------------------------------------------------------------
  addModelFlags(
    program
      .command('predict')
      .description('classify image files: top-k labels with probabilities')
      .argument('<images...>', 'image files (png, jpeg, webp, ...)')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train (its preprocessing and class names are used)')
      .option('--weights <file>', 'a state dict (.pth / .safetensors); needs --model (1000 classes: ImageNet preprocessing and names)')
      .option('--onnx <file>', 'an ONNX model written by export or quantize (its metadata gives preprocessing and class names)')
      .option('--model <name>', 'model for --weights', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: use the raw weights')
    .option('--top <k>', 'labels per image (default 5)', positiveInt('--top'))
    .option('--input <size>', 'input size (default: the checkpoint\'s; 224 for ImageNet models)', positiveInt('--input'))
    .option('--threads <n>', 'ONNX Runtime threads', positiveInt('--threads'))
    .option('--json', 'print JSON')
    .action(async (images: string[], o: Record<string, unknown>) => {
      const src = modelSource(o);
      if (!src.checkpoint && !src.weights && !src.onnx) throw new UsageError('--checkpoint, --weights or --onnx: predict needs trained weights');
      const r = await predictImages(images, { ...src, top: o.top as number | undefined, input: o.input as number | undefined, threads: o.threads as number | undefined, ema: o.emaOff ? false : undefined });
      out(o.json ? JSON.stringify(r, null, 2) : predictText(r));
    });

  // embed -----------------------------------------------------------------------------------
  addModelFlags(
    program
      .command('embed')
      .description('the embedding of each image (the pooled features before the classifier), with the model\'s preprocessing')
      .argument('<images...>', 'image files (png, jpeg, webp, ...)')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train')
      .option('--weights <file>', 'a state dict (.pth / .safetensors); needs --model')
      .option('--model <name>', 'model for --weights', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: use the raw weights')
    .option('--out <file>', `write the embeddings: ${EMBEDDING_FORMATS.join(', ')} (by extension)`)
    .option('--input <size>', 'input size (default: the checkpoint\'s; 224 for ImageNet models)', positiveInt('--input'))
    .option('--threads <n>', 'ONNX Runtime threads', positiveInt('--threads'))
    .option('--json', 'print the embeddings as JSON')
    .action(async (images: string[], o: Record<string, unknown>) => {
      const src = modelSource(o, false);
      if (!src.checkpoint && !src.weights) throw new UsageError('--checkpoint or --weights: embed needs trained weights');
      const file = o.out as string | undefined;
      if (file && !(EMBEDDING_FORMATS as readonly string[]).includes(extname(file).toLowerCase())) {
        throw new UsageError(`--out: ${file}: use a ${EMBEDDING_FORMATS.join(', ')} file`);
      }
      const r = await embedImages(images, { ...src, input: o.input as number | undefined, threads: o.threads as number | undefined, ema: o.emaOff ? false : undefined });
      if (file) {
        const path = await writeEmbeddings(file, r);
        if (!o.json) out(`wrote ${path}: ${r.files.length} embeddings of ${r.dim} values (${r.model}, weights ${r.weights})`);
      }
      if (o.json) out(JSON.stringify(embeddingsJson(r), null, 2));
      else if (!file) out(embedText(r));
    });

  // export ----------------------------------------------------------------------------------
  addModelFlags(
    program
      .command('export')
      .description('write an eval-mode ONNX model (verified in onnxruntime), the state dict as a .pth for PyTorch, or a static web page that classifies images in the browser')
      .option('--onnx <file>', 'output: the .onnx file')
      .option('--pth <file>', 'output: the state dict in torch.save format with torchvision\'s / megvii\'s key names (torch.load(file, weights_only=True) reads it)')
      .option('--web <dir>', 'output: a static site in a new or empty folder (or a previous export --web): index.html, model.onnx, model.json, onnxruntime-web; serve it with any static server')
      .option('--from-onnx <file>', 'with --web: put this ONNX file (from export or quantize: its metadata gives the preprocessing and class names) on the page instead of exporting --checkpoint / --weights / --model')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train')
      .option('--weights <file>', 'a state dict (.pth / .safetensors); needs --model')
      .option('--model <name>', 'model (alone: randomly initialized)', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: export the raw weights')
    .option('--batch <n>', 'fixed batch size of --onnx (default: symbolic N)', positiveInt('--batch'))
    .option('--input <size>', 'input size (default: the checkpoint\'s or the model\'s)', positiveInt('--input'))
    .option('--threads <n>', 'ONNX Runtime threads for the check', positiveInt('--threads'))
    .option('--json', 'print JSON')
    .addHelpText('after', '\n--onnx, --pth and --web are the outputs (one per run). The model comes from --checkpoint, --weights with --model, --model alone (random weights), or, for --web, an ONNX file given with --from-onnx.')
    .action(async (o: Record<string, unknown>) => {
      if ([o.onnx, o.pth, o.web].filter(Boolean).length !== 1) throw new UsageError('--onnx, --pth or --web: give one output, an .onnx file, a .pth file or a folder for the web page');
      if (o.pth && o.batch) throw new UsageError('--batch: not used with --pth (a state dict has no batch size)');
      if (o.fromOnnx && !o.web) throw new UsageError('--from-onnx: an input of --web (to write an .onnx file, export a checkpoint, weights or model)');
      if (o.web && o.batch) throw new UsageError('--batch: not used with --web (the page runs one image at a time)');
      const src = modelSource(o, false);
      const common = { input: o.input as number | undefined, threads: o.threads as number | undefined, ema: o.emaOff ? false : undefined };
      if (o.web) {
        if (o.fromOnnx && (src.checkpoint || src.weights || src.model)) throw new UsageError('--from-onnx: give it or --checkpoint / --weights / --model, not both');
        const r = await exportWeb({ ...src, onnx: o.fromOnnx as string | undefined, dir: o.web as string, ...common });
        return out(o.json ? JSON.stringify(r, null, 2) : exportWebText(r));
      }
      if (o.pth) {
        const r = await exportPth({ ...src, out: o.pth as string, ema: common.ema });
        return out(o.json ? JSON.stringify(r, null, 2) : exportPthText(r));
      }
      const r = await exportOnnx({ ...src, out: o.onnx as string, batch: o.batch as number | undefined, ...common });
      out(o.json ? JSON.stringify(r, null, 2) : exportText(r));
    });

  // demo ------------------------------------------------------------------------------------
  program
    .command('demo')
    .description('short train + test + report: MobileNetV2 0.5x (CIFAR stem) on 5000/1000 Fashion-MNIST images, 2 epochs')
    .option('--data <dir>', 'directory searched first for Fashion-MNIST')
    .option('--download', 'download Fashion-MNIST if it is not found (never done otherwise)')
    .option('--out <dir>', 'output folder (default runs/demo-<timestamp>)')
    .option('--epochs <n>', 'epochs (default 2)', positiveInt('--epochs'))
    .option('--limit <n>', 'training images (default 5000; test: ceil(N/5))', positiveInt('--limit'))
    .option('--threads <n>', 'ONNX Runtime threads', positiveInt('--threads'))
    .option('--workers <n>', 'data-loading worker threads (default 1)', nonNegativeInt('--workers'))
    .action(async (o: Record<string, unknown>) => {
      const overrides: TrainSettings = {};
      if (o.epochs !== undefined) overrides.epochs = o.epochs as number;
      if (o.limit !== undefined) Object.assign(overrides, { limit: o.limit as number, testLimit: Math.max(1, Math.ceil((o.limit as number) / 5)) });
      const { config, fallback } = demoConfig({ dataDir: o.data as string | undefined, download: o.download as boolean | undefined, overrides });
      if (fallback) io.stderr.write(`${fallback}\n\n`);
      const outDir = (o.out as string | undefined) ?? join('runs', `demo-${timestamp()}`);
      io.stderr.write(`demo: ${config.model} ${JSON.stringify(config.modelOptions)} on ${config.dataset}, ${config.epochs} epochs, batch ${config.batchSize}\n`);
      const r = await runTraining(ctx, config, { outDir, saveEvery: Number.MAX_SAFE_INTEGER, threads: o.threads as number | undefined, workers: o.workers as number | undefined });
      ctx.code = r.code;
      const ev = r.result?.evaluation;
      if (r.code === EXIT.ok && ev && r.result) {
        const { record } = await readCheckpointRecord(r.result.checkpoint!);
        out(`\ntest split (${ev.count} images):\n${evalText(ev, record.dataset.classNames)}`);
        out(`\nreport: ${r.result.reportPath}`);
      }
    });

  return program;
}

function modelSource(o: Record<string, unknown>, onnxFlag = true): ClassifierSource {
  const checkpoint = o.checkpoint as string | undefined;
  const weights = o.weights as string | undefined;
  const onnx = onnxFlag ? (o.onnx as string | undefined) : undefined;
  const model = o.model as string | undefined;
  if ([checkpoint, weights, onnx].filter(Boolean).length > 1) throw new UsageError(`${weights ? '--weights' : '--onnx'}: give one of --checkpoint, --weights${onnxFlag ? ', --onnx' : ''}`);
  if (onnx && model) throw new UsageError('--model: an ONNX file records its own model');
  if (!model) {
    const stray = MODEL_FLAGS.find((f) => o[f.attr] !== undefined);
    if (stray) throw new UsageError(`${stray.flag}: model options need --model${checkpoint ? ' (a checkpoint records its own)' : ''}`);
  }
  const modelOptions = model ? modelOptionsFrom(model, o) : {};
  return { checkpoint, weights, onnx, model, modelOptions };
}

/** Runs the CLI on `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], io: Streams = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const ctx: Context = { io, argv, code: EXIT.ok };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
      return EXIT.usage; // commander has printed the message (it names the flag)
    }
    const cmd = argv.find((a) => !a.startsWith('-')) ?? '';
    const prefix = `mobilezoo${cmd ? ` ${cmd}` : ''}: `;
    if (e instanceof UsageError || e instanceof ConfigError) {
      io.stderr.write(`${prefix}${(e as Error).message}\n(add --help for usage)\n`);
      return EXIT.usage;
    }
    const err = e as Error;
    io.stderr.write(`${prefix}error: ${err?.message ?? String(e)}\n`);
    if (process.env.MOBILEZOO_DEBUG) io.stderr.write(`${err?.stack ?? ''}\n`);
    return EXIT.error;
  }
}

