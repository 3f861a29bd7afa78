/** `mobilezoo export`. */
import type { Command } from 'commander';
import { exportOnnx, exportPth, exportPytorch, exportWeb } from '../../workflow/index.js';
import { exportPthText, exportPytorchText, exportText, exportWebText } from '../format.js';
import { UsageError, addModelFlags, modelName, positiveInt, shellQuote, threadCount, threadsCap } from '../parse.js';
import { type CommandEnv, modelSource } from '../context.js';

export function addExportCommand(program: Command, { ctx, io, out }: CommandEnv): void {
  addModelFlags(
    program
      .command('export')
      .description('write an eval-mode ONNX model (verified in onnxruntime), the state dict as a .pth for PyTorch, or a static web page that classifies images in the browser')
      .option('--onnx <file>', 'output: the .onnx file')
      .option('--pth <file>', 'output: the state dict in torch.save format with torchvision\'s / megvii\'s key names (torch.load(file, weights_only=True) reads it)')
      .option('--pytorch <dir>', 'output: a PyTorch project in a new or empty folder (or a previous export --pytorch): model.py, train.py (the recorded recipe; runs under torchrun), weights.pth, and with --resume optimizer.pth; its checkpoints come back with train --resume')
      .option('--resume <file>', 'with --pytorch: a checkpoint-*.json whose run train.py continues (weights, optimizer state, EMA, progress); --checkpoint starts a new run from its weights')
      .option('--web <dir>', 'output: a static site in a new or empty folder (or a previous export --web, whose files it replaces; files you added are kept, files of it you changed make it refuse): index.html, model.onnx, model.json, onnxruntime-web; serve it with any static server')
      .option('--teach', 'with --web: the teach page (train a classifier in the browser from classes of images, offline); --checkpoint / --weights --model, if given, are bundled as its starting weights')
      .option('--title <text>', 'with --web: the page\'s title (default: the model\'s name)')
      .option('--from-onnx <file>', 'with --web: put this ONNX file (from export or quantize: its metadata gives the preprocessing and class names) on the page instead of exporting --checkpoint / --weights / --model')
      .option('--checkpoint <file>', 'a checkpoint-*.json written by train')
      .option('--weights <file|name>', 'a state dict (.pth / .safetensors), or published weights by name (mobilezoo weights); needs --model unless it is a name')
      .option('--no-check-hash', 'load --weights whose file name\'s sha256 prefix does not match its content (torch.hub\'s check_hash, on by default)')
      .option('--model <name>', 'model (alone: randomly initialized)', modelName('--model')),
    { classes: true },
  )
    .option('--ema-off', 'with a checkpoint trained with --ema: export the raw weights')
    .option('--batch <n>', 'fixed batch size of --onnx (default: symbolic N)', positiveInt('--batch'))
    .option('--input <size>', 'input size (default: the checkpoint\'s or the model\'s)', positiveInt('--input'))
    .option('--threads <n>', `ONNX Runtime threads for the check (${threadsCap()})`, threadCount('--threads'))
    .option('--json', 'print JSON')
    .addHelpText('after', '\n--onnx, --pth, --pytorch and --web are the outputs (one per run). The model comes from --checkpoint, --weights with --model, --model alone (random weights), or, for --web, an ONNX file given with --from-onnx.')
    .action(async (o: Record<string, unknown>) => {
      if ([o.onnx, o.pth, o.pytorch, o.web].filter(Boolean).length !== 1) throw new UsageError('--onnx, --pth, --pytorch or --web: give one output, an .onnx file, a .pth file, a folder for the PyTorch project or a folder for the web page');
      if (o.resume && !o.pytorch) throw new UsageError('--resume: an input of --pytorch (train --resume continues a run in mobilezoo)');
      if (o.pytorch) {
        const stray = (['weights', 'model', 'batch', 'input', 'fromOnnx', 'title'] as const).find((k) => o[k] !== undefined);
        if (stray) throw new UsageError(`--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: not used with --pytorch, which exports a training run: give its --checkpoint or --resume`);
        if (!!o.checkpoint === !!o.resume) throw new UsageError('--pytorch: give --checkpoint (a new run from its weights and recipe) or --resume (continue its run), one of them');
        const r = await exportPytorch({ dir: o.pytorch as string, checkpoint: o.checkpoint as string | undefined, resume: o.resume as string | undefined, ema: o.emaOff ? false : undefined, command: shellQuote(['mobilezoo', ...ctx.argv]) });
        return out(o.json ? JSON.stringify(r, null, 2) : exportPytorchText(r));
      }
      if (o.pth && o.batch) throw new UsageError('--batch: not used with --pth (a state dict has no batch size)');
      if (o.fromOnnx && !o.web) throw new UsageError('--from-onnx: an input of --web (to write an .onnx file, export a checkpoint, weights or model)');
      if (o.title && !o.web) throw new UsageError('--title: the title of the --web page');
      if (o.web && o.batch) throw new UsageError('--batch: not used with --web (the page runs one image at a time)');
      if (o.teach && !o.web) throw new UsageError('--teach: a kind of --web page (give --web DIR)');
      if (o.teach && o.fromOnnx) throw new UsageError('--from-onnx: the teach page trains a network; bundle --checkpoint or --weights with --model instead');
      const src = await modelSource(o, false, io);
      const common = { input: o.input as number | undefined, threads: o.threads as number | undefined, ema: o.emaOff ? false : undefined };
      if (o.web) {
        if (o.fromOnnx && (src.checkpoint || src.weights || src.model)) throw new UsageError('--from-onnx: give it or --checkpoint / --weights / --model, not both');
        const r = await exportWeb({ ...src, onnx: o.fromOnnx as string | undefined, teach: o.teach === true, dir: o.web as string, ...(o.title ? { title: o.title as string } : {}), ...common, command: shellQuote(['mobilezoo', ...ctx.argv]), log: (m) => io.stderr.write(`${m}
`) });
        return out(o.json ? JSON.stringify(r, null, 2) : exportWebText(r));
      }
      if (o.pth) {
        const r = await exportPth({ ...src, out: o.pth as string, ema: common.ema });
        return out(o.json ? JSON.stringify(r, null, 2) : exportPthText(r));
      }
      const r = await exportOnnx({ ...src, out: o.onnx as string, batch: o.batch as number | undefined, ...common });
      out(o.json ? JSON.stringify(r, null, 2) : exportText(r));
    });
}
