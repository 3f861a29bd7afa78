/** README.md of an `export --pytorch` folder: the commands, the recipe carried over, what is exact. */
import type { CheckpointRecord } from './checkpoints.js';
import { describeOptimization } from './config.js';
import type { Recipe } from './export-pytorch-recipe.js';

const FILES: Record<string, string> = {
  'model.py': "the network as a torch.nn.Module with mobilezoo's (torchvision's / megvii's) state_dict names: `from model import build_model`",
  'train.py': 'the recorded recipe in plain PyTorch (its settings, optimizer and transforms at the top, generated from the record)',
  'weights.pth': "the weights: `model.load_state_dict(torch.load('weights.pth'))`",
  'optimizer.pth': "PyTorch's optimizer state dict of the run (momentum buffers / Adam moments, step counts); each of its `param_groups` lists its parameters by name in `param_names`, in the order train.py's `param_groups(model, frozen)` builds them (PyTorch 1.13's `torch.load(..., weights_only=True)` reads no floats: load it with `weights_only=False` there)",
  'ema.pth': 'the EMA weights the run kept (with their BatchNorm statistics)',
  'run.json': "the run's mobilezoo record (model, dataset, preprocessing, progress, history); train.py starts from it and writes it into its checkpoints",
  'data/split.json': "the folder dataset's split as mobilezoo made it (files relative to the image root, with labels)",
  'data/validation.json': "the indices of the training images the run held out for validation (its seeded, class-stratified split), which train.py holds out too",
  'data/synthetic.safetensors': "the synthetic dataset's images and labels, as mobilezoo generated them",
  'README.md': 'this file',
};

export function pytorchReadme(o: { record: CheckpointRecord; resume: boolean; source: string; recipe: Recipe; files: string[] }): string {
  const { record, recipe } = o;
  const c = record.config;
  const s = recipe.settings;
  const start = o.resume
    ? `continuing its run at epoch ${record.epoch}${record.progress.stepInEpoch ? ` + ${record.progress.stepInEpoch} steps` : ''} of ${record.epochs} (optimizer step ${record.progress.step}), with its optimizer state${record.files.ema ? ' and EMA' : ''}`
    : `a new run of ${record.epochs} epochs from its weights, with its recipe`;
  const transform = (code: string) => code.split('\n').map((l) => `    ${l.trim()}`).join('\n');
  const lines = [
    `# ${record.model.name} on ${record.dataset.title}, in PyTorch`,
    '',
    `Exported by \`mobilezoo export --pytorch\` from \`${o.source}\`: ${start}.`,
    '',
    '## Files',
    '',
    ...o.files.sort().map((f) => `- \`${f}\`: ${FILES[f] ?? ''}`),
    '',
    '## Run',
    '',
    '```sh',
    'pip install torch torchvision numpy pillow        # checked with PyTorch 1.13 / torchvision 0.14',
    'python train.py                                    # one process: the GPU when there is one, else the CPU',
    'torchrun --nproc_per_node 4 train.py --sync-bn     # DistributedDataParallel over 4 GPUs (nccl)',
    'torchrun --nproc_per_node 2 train.py --device cpu  # 2 CPU processes (gloo)',
    'python train.py --resume run/checkpoint-epoch-5.json   # continue a stopped run (Ctrl-C saves run/checkpoint-interrupted)',
    'python train.py --epochs 60                        # a longer schedule (cosine and linear decays stretch to it)',
    '```',
    '',
    `The batch of ${c.batchSize} is the global batch: under torchrun each of N processes takes ${c.batchSize}/N of it`,
    "(DistributedSampler, seeded with the run's seed; one process uses the same sampler, so N processes see the same",
    'batches as one). Without `--sync-bn` each process normalizes BatchNorm over its own share, as plain DDP does;',
    'with it, over the global batch (`nn.SyncBatchNorm` on GPUs, train.py\'s `CpuSyncBatchNorm` on CPU processes).',
    '`--data DIR` says where the dataset is when it is not where mobilezoo found it.',
    '',
    "PyTorch 1.13's torchrun on Python 3.11 (Debian 12's python3-torch) stops before starting the processes with",
    "`AttributeError: 'NoneType' object has no attribute 'get'` (its `--redirects`/`--tee` default no longer parses",
    'under Python 3.11); give it `--redirects 1 --tee 1`.',
    '',
    '## Back to mobilezoo',
    '',
    "train.py writes mobilezoo's run folder (`run/checkpoint-*.json` with `.safetensors` weights, optimizer state and",
    'EMA, `metrics.csv`), so:',
    '',
    '```sh',
    `mobilezoo train --resume run/checkpoint-last.json --epochs ${record.epochs + 10}   # continue in Node, optimizer state included`,
    'mobilezoo test --checkpoint run/checkpoint-last.json',
    'mobilezoo predict image.png --checkpoint run/checkpoint-last.json',
    'mobilezoo export --onnx model.onnx --checkpoint run/checkpoint-last.json',
    'mobilezoo train --pretrained run/checkpoint-last.json --dataset folder --data shop/   # fine-tune',
    '```',
    '',
    '## The recipe carried over',
    '',
    `- model: \`${record.model.name}\` ${JSON.stringify(record.model.options)}, ${record.model.numClasses} classes, input ${record.model.inputSize.join('x')}`,
    `- data: ${record.dataset.title}, ${record.dataset.trainSize} training / ${record.dataset.testSize} test images${c.limit !== undefined ? ` (the first ${c.limit}${c.testLimit !== undefined ? ` and ${c.testLimit}` : ''})` : ''}`,
    ...(record.dataset.validation ? [record.dataset.validation.source === 'folder'
      ? `- validation: the folder's val/ (${record.dataset.validation.size} images, in data/split.json)`
      : `- validation: the ${record.dataset.validation.size} training images the run held out (fraction ${record.dataset.validation.fraction}, seed ${record.dataset.validation.seed}; data/validation.json)`] : []),
    ...(record.dataset.validation ? [`- checkpoint-best by ${s.monitor}${s.early_stopping ? `, early stopping after ${s.early_stopping} epochs without an improvement by more than ${s.min_delta}` : ''}; the test split is evaluated ${s.eval_test_every ? `every ${s.eval_test_every} epochs and ` : ''}at the end, on checkpoint-best`] : []),
    `- training transform:\n${transform(recipe.trainTransform)}`,
    `- evaluation transform (the recorded preprocessing):\n${transform(recipe.evalTransform)}`,
    `- optimization: ${describeOptimization(c)}; ${c.epochs} epochs of batch ${c.batchSize}, seed ${c.seed}`,
    `- parameter groups: weight decay ${s.weight_decay}${s.no_decay_bn_bias ? ', none on BatchNorm parameters and biases' : ''}; learning-rate factor ${s.backbone_lr_mult} outside \`${s.classifier}\``,
    ...(c.emaDecay ? [`- EMA of the weights, decay min(${c.emaDecay}, (1+k)/(10+k)), its BatchNorm statistics measured on ${s.ema_batchnorm_batches} un-augmented training batches before each evaluation`] : []),
    ...(c.freeze && c.freeze !== 'none' ? [`- frozen (inference mode, no gradients): ${(s.frozen as string[]).join(', ')}${c.unfreezeAt ? `, until epoch ${c.unfreezeAt}` : ''}`] : []),
    `- a checkpoint every ${s.save_every} epochs and at the end; metrics.csv with mobilezoo's columns`,
    ...(recipe.notes.length ? ['', '## Not carried over', '', ...recipe.notes.map((n) => `- ${n}`)] : []),
    '',
    '## What is exact',
    '',
    '- The network, weights, optimizer state and learning rate are the same: from the same weights, batch and settings,',
    "  train.py's first step gives mobilezoo's loss and updated weights within float32 rounding (checked for every",
    '  family and optimizer with PyTorch 1.13; mobilezoo\'s dev/pytorch-export-check).',
    '- The data order, the augmentation draws and the dropout masks come from PyTorch\'s random generators, not',
    "  mobilezoo's, so runs agree in distribution, not bit for bit, after the first step. Image decoding is Pillow's",
    "  (mobilezoo's is libvips via sharp): JPEG pixels may differ by a level.",
    '- Under torchrun with `--sync-bn`, N processes compute what one process computes with the same global batch, within',
    '  float32 rounding (without augmentation and dropout, whose draws differ per process).',
    '',
  ];
  return lines.join('\n');
}
