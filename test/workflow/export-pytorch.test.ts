/**
 * export --pytorch: the folder for every family (the .pth round-trips through our reader, names and
 * tensors equal the model's; optimizer.pth is PyTorch's optimizer state dict of our state), the recipe
 * as train.py states it, settings refused by name. With Python: model.py and train.py parse; with
 * python3-torch: the exported network computes our logits, and a run goes Node → PyTorch → Node (train.py
 * continues the run; mobilezoo resumes, tests and exports its checkpoint). The exactness of PyTorch's steps
 * against ours is dev/pytorch-export-check.{ts,py}'s (test/fixtures/pytorch-export/exactness.json).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadStateDictFile } from '../../src/io/index.js';
import { readCheckpointObject } from '../../src/io/pth.js';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors.js';
import { createModel } from '../../src/models/registry.js';
import { DataLoader } from '../../src/data/index.js';
import { InferenceSession } from '../../src/runtime/inference.js';
import { nodeBackend } from '../../src/runtime/node-backend.js';
import { Tensor } from '../../src/tensor.js';
import {
  type CheckpointRecord,
  ExportPytorchError,
  exportPytorch,
  inspectPretrained,
  loadModel,
  openTrainingData,
  readCheckpointRecord,
  resolveTrainConfig,
  sourcePreprocessing,
  train,
  trainFromConfig,
  trainTransforms,
  writeCheckpoint,
} from '../../src/workflow/index.js';
import { type MonitorSettings, ValidationMonitor } from '../../src/workflow/training/monitor.js';
import { runCliInMemory } from '../cli/helpers.js';
import { writeCifar10Folder } from '../data/helpers.js';
import { tempDirs } from '../io/temp-dirs.js';

const tmp = tempDirs('mobilezoo-export-pytorch-');

/** A Python that runs (MOBILEZOO_PYTHON, Debian's /usr/bin/python3, python3 on the PATH), and one with torch + torchvision. */
function findPython(probe: string): string | undefined {
  for (const p of [process.env.MOBILEZOO_PYTHON, '/usr/bin/python3', 'python3']) {
    if (p && spawnSync(p, ['-c', probe], { stdio: 'ignore' }).status === 0) return p;
  }
  return undefined;
}
const PYTHON = findPython('import ast');
const TORCH = findPython('import torch, torchvision, numpy, PIL');
const noPython = PYTHON ? false : 'no python3: the Python files are not parsed';
const noTorch = TORCH ? false : 'python3-torch (with torchvision, numpy, Pillow) is not installed: the PyTorch side is not run (apt-get install python3-torch python3-torchvision)';

const FAMILIES: [string, Record<string, unknown>][] = [
  ['mobilenet_v1', { widthMult: 0.25, stem: 'cifar' }],
  ['mobilenet_v2', { widthMult: 0.25, stem: 'cifar' }],
  ['mobilenet_v3_large', { widthMult: 0.25, stem: 'cifar' }],
  ['mobilenet_v3_small', { widthMult: 0.5, stem: 'cifar' }],
  ['shufflenet_v1', { groups: 3, size: '0.5x', stem: 'cifar' }],
  ['shufflenet_v2_x0_5', { stem: 'imagenet' }],
];

/** A short synthetic run with a recipe that exercises the optimizer state (SGD momentum, EMA). */
let run: { dir: string; epoch1: string; record: CheckpointRecord };

before(async () => {
  const dir = tmp();
  const config = resolveTrainConfig({
    model: 'mobilenet_v2', modelOptions: { widthMult: 0.25, dropout: 0 }, dataset: 'synthetic', limit: 24, batchSize: 8, epochs: 2,
    optimizer: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4, noDecayBnBias: true, schedule: 'cosine',
    warmup: 0.5, labelSmoothing: 0.1, ema: 0.9, augment: false,
  });
  await trainFromConfig(config, { outDir: join(dir, 'run'), saveEvery: 1, threads: 2, workers: 0 });
  const epoch1 = join(dir, 'run', 'checkpoint-epoch-1.json');
  run = { dir, epoch1, record: (await readCheckpointRecord(epoch1)).record };
});

describe('export --pytorch', () => {
  test('--resume: weights, optimizer state (PyTorch\'s optimizer state dict of ours), EMA and the run\'s record', async () => {
    const out = join(tmp(), 'resume');
    const r = await exportPytorch({ resume: run.epoch1, dir: out });
    assert.equal(r.mode, 'resume');
    assert.equal(r.epoch, 1);
    assert.equal(r.step, 3);
    for (const f of ['model.py', 'train.py', 'weights.pth', 'optimizer.pth', 'ema.pth', 'run.json', 'README.md', 'data/synthetic.safetensors']) {
      assert.ok(existsSync(join(out, f)), f);
    }
    const ckptDir = join(run.dir, 'run');
    const weights = await loadStateDictFile(join(ckptDir, run.record.files.weights));
    const pth = await loadStateDictFile(join(out, 'weights.pth'));
    assert.deepEqual([...pth.keys()], [...weights.keys()]);
    for (const [k, t] of weights) assert.deepEqual(pth.get(k)!.data, t.data, k);

    const ours = await loadStateDictFile(join(ckptDir, run.record.files.optimizer));
    const torchState = readCheckpointObject(readFileSync(join(out, 'optimizer.pth')), 'optimizer.pth') as Map<string, unknown>;
    const groups = torchState.get('param_groups') as Map<string, unknown>[];
    const state = torchState.get('state') as Map<bigint, Map<string, unknown>>;
    // Two groups: decayed weights, and BatchNorm parameters and biases without decay.
    assert.deepEqual(groups.map((g) => g.get('weight_decay')), [5e-4, 0]);
    const names = groups.flatMap((g) => g.get('param_names') as string[]);
    const model = createModel(run.record.model.name, run.record.model.options);
    assert.deepEqual([...names].sort(), model.namedParameters().map(([n]) => n).sort());
    assert.deepEqual(groups.flatMap((g) => (g.get('params') as bigint[]).map(Number)), names.map((_, i) => i));
    for (const g of groups) {
      assert.equal(g.get('momentum'), 0.9);
      assert.equal(g.get('nesterov'), true);
      (g.get('param_names') as string[]).forEach((name, i) => {
        const buf = state.get((g.get('params') as bigint[])[i]!)!.get('momentum_buffer') as Tensor;
        assert.deepEqual(buf.data, ours.get(`optimizer.momentum_buffer/${name}`)!.data, name);
      });
    }
    const ema = await loadStateDictFile(join(out, 'ema.pth'));
    assert.deepEqual(ema.get('classifier.1.weight')!.data, ours.get('ema.classifier.1.weight')!.data);
    const start = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.equal(start.progress.step, 3);
    assert.equal(start.export.kind, 'resume');
  });

  for (const [name, options] of FAMILIES) {
    test(`--checkpoint of ${name}: weights.pth round-trips through our reader with the model's names; model.py builds it`, async () => {
      const dir = tmp();
      const model = createModel(name, { ...options, numClasses: 10 });
      const config = { ...run.record.config, model: name, modelOptions: options };
      const record = { ...run.record, model: { ...run.record.model, name, options: { ...options, numClasses: 10, seed: 0 } }, config, optimizer: run.record.optimizer };
      const { files: _f, ...rest } = record;
      const ckpt = await writeCheckpoint(dir, { ...rest, tag: 'x' }, { weights: model.stateDict(), optimizer: new Map() });
      const out = join(dir, 'export');
      const r = await exportPytorch({ checkpoint: ckpt, dir: out });
      assert.equal(r.mode, 'new run');
      assert.ok(!existsSync(join(out, 'optimizer.pth')), 'a new run has no optimizer state');
      const start = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
      assert.deepEqual([start.epoch, start.history, start.best, start.validation, start.test], [0, [], undefined, undefined, undefined], 'a new run starts without the source run\'s evaluations');
      assert.deepEqual(start.dataset.validation, run.record.dataset.validation, 'and with its validation split');
      const pth = await loadStateDictFile(join(out, 'weights.pth'));
      const sd = model.stateDict();
      assert.deepEqual([...pth.keys()], [...sd.keys()]);
      for (const [k, t] of sd) {
        assert.deepEqual(pth.get(k)!.shape, t.shape, k);
        assert.deepEqual(pth.get(k)!.data, t.data, k);
      }
      const py = readFileSync(join(out, 'model.py'), 'utf8');
      const builder = name.startsWith('shufflenet_v2') ? name : name.replace(/_(large|small)$/, '_$1');
      assert.match(py, new RegExp(`return ${builder}\\(`));
      if (name === 'shufflenet_v1') assert.match(py, /stage_out_channels=\[12, 120, 240, 480\]/);
    });
  }

  test('train.py states the recipe: settings, optimizer, transforms', async () => {
    const out = join(tmp(), 'resume');
    await exportPytorch({ resume: run.epoch1, dir: out });
    const py = readFileSync(join(out, 'train.py'), 'utf8');
    assert.match(py, /return torch\.optim\.SGD\(groups, lr=SETTINGS\['lr'\], momentum=0\.9, nesterov=True\)/);
    for (const line of ['"optimizer": "sgd"', '"weight_decay": 0.0005', '"no_decay_bn_bias": True', '"label_smoothing": 0.1', '"warmup_epochs": 0.5', '"ema_decay": 0.9', '"type": "cosine"', '"batch_size": 8']) {
      assert.ok(py.includes(line), line);
    }
    const norm = run.record.preprocessing.transform.find((s) => s.op === 'normalize')!;
    assert.ok(norm.op === 'normalize' && py.includes(`T.Normalize(mean=[${norm.mean!.join(', ')}], std=[${norm.std!.join(', ')}])`), 'the recorded normalization');
  });

  test('settings it cannot carry over are refused by name', async () => {
    const dir = tmp();
    const write = async (change: (r: CheckpointRecord) => CheckpointRecord) => {
      const { files: _f, ...rest } = change(structuredClone(run.record));
      const weights = await loadStateDictFile(join(run.dir, 'run', run.record.files.weights));
      const optimizer = await loadStateDictFile(join(run.dir, 'run', run.record.files.optimizer));
      return writeCheckpoint(dir, { ...rest, tag: `t${Math.random().toString(36).slice(2)}` }, { weights, optimizer });
    };
    const minutes = await write((r) => ({ ...r, config: { ...r.config, minutes: 5 } }));
    await assert.rejects(exportPytorch({ resume: minutes, dir: join(dir, 'a') }), (e: Error) => e instanceof ExportPytorchError && /--minutes/.test(e.message));
    const fresh = await exportPytorch({ checkpoint: minutes, dir: join(dir, 'b') });
    assert.match(fresh.notes.join('\n'), /not carried over: --minutes 5/);
    const unknown = await write((r) => ({ ...r, config: { ...r.config, mixup: 0.2 } as CheckpointRecord['config'] }));
    await assert.rejects(exportPytorch({ resume: unknown, dir: join(dir, 'c') }), /export --pytorch: config\.mixup: 0\.2 is a setting export --pytorch does not know/);
    const off = await write((r) => ({ ...r, config: { ...r.config, mixup: 0 } as CheckpointRecord['config'] }));
    await exportPytorch({ resume: off, dir: join(dir, 'd') });
    const option = await write((r) => ({ ...r, optimizer: r.optimizer, config: { ...r.config, optimizer: { ...r.config.optimizer, amsgrad: true } as never } }));
    await assert.rejects(exportPytorch({ resume: option, dir: join(dir, 'e') }), /optimizer\.amsgrad/);
    const step = await write((r) => ({ ...r, preprocessing: { ...r.preprocessing, transform: [{ op: 'posterize', bits: 4 } as never, ...r.preprocessing.transform] } }));
    await assert.rejects(exportPytorch({ resume: step, dir: join(dir, 'f') }), /preprocessing/);
    writeFileSync(join(dir, 'g-file'), 'x');
    await assert.rejects(exportPytorch({ resume: run.epoch1, dir }), /is not empty and holds no previous export --pytorch/);
  });

  test('torchvision\'s augmentations are carried over; batch mixing and a training transform not derived from the settings are refused by name', async () => {
    const dir = tmp();
    const weights = await loadStateDictFile(join(run.dir, 'run', run.record.files.weights));
    const optimizer = await loadStateDictFile(join(run.dir, 'run', run.record.files.optimizer));
    const write = async (change: (r: CheckpointRecord) => CheckpointRecord) => {
      const { files: _f, ...rest } = change(structuredClone(run.record));
      return writeCheckpoint(dir, { ...rest, tag: `t${Math.random().toString(36).slice(2)}` }, { weights, optimizer });
    };
    const augmentation = { randomResizedCrop: { scale: [0.5, 1] as [number, number] }, colorJitter: { brightness: 0.4, hue: [-0.1, 0.1] as [number, number] }, randAugment: { numOps: 2, magnitude: 9 } };
    const augmented = await write((r) => ({ ...r, trainTransform: undefined, config: { ...r.config, augment: true, augmentation } }));
    const out = join(dir, 'aug');
    await exportPytorch({ resume: augmented, dir: out });
    const py = readFileSync(join(out, 'train.py'), 'utf8');
    const train = py.slice(py.indexOf('def train_transform'), py.indexOf('def eval_transform'));
    const lines = train.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('T.') || l.startsWith('Fit'));
    assert.deepEqual(lines, [
      'T.RandomResizedCrop([32, 32], scale=(0.5, 1), ratio=(0.75, 1.3333333333333333), interpolation=T.InterpolationMode.BILINEAR),',
      'T.ColorJitter(brightness=0.4, contrast=0, saturation=0, hue=[-0.1, 0.1]),',
      'T.RandAugment(num_ops=2, magnitude=9, num_magnitude_bins=31, fill=None),',
      'T.ToTensor(),',
      lines[4]!,
    ]);
    assert.match(lines[4]!, /^T\.Normalize\(mean=\[/);
    if (TORCH) {
      const shape = execFileSync(TORCH, ['-c', 'import sys; sys.path.insert(0, sys.argv[1]); import train; from PIL import Image; print(tuple(train.train_transform()(Image.new("RGB", (32, 32), (90, 140, 200))).shape))', out], { encoding: 'utf8' });
      assert.equal(shape.trim(), '(3, 32, 32)');
    }
    const mixed = await write((r) => ({ ...r, config: { ...r.config, mix: { mixupAlpha: 0.2 } } }));
    await assert.rejects(exportPytorch({ resume: mixed, dir: join(dir, 'mix') }), (e: Error) => e instanceof ExportPytorchError && /--mixup \/ --cutmix: batch mixing/.test(e.message));
    const noMix = await write((r) => ({ ...r, config: { ...r.config, mix: { mixupAlpha: 0, cutmixAlpha: 0 } } }));
    await exportPytorch({ resume: noMix, dir: join(dir, 'nomix') });
    const other = await write((r) => ({ ...r, trainTransform: [{ op: 'hflip', p: 0.5 }, ...(r.trainTransform ?? [])] }));
    await assert.rejects(exportPytorch({ resume: other, dir: join(dir, 'other') }), /export --pytorch: trainTransform: the recorded training transform/);
  });

  test('the command: --pytorch DIR with --checkpoint or --resume; other inputs are usage errors', async () => {
    const out = join(tmp(), 'cli');
    const ok = await runCliInMemory(['export', '--pytorch', out, '--resume', run.epoch1]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, new RegExp(`^wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*train\\.py.*\nmobilenet_v2 on synthetic: continues its run at epoch 1 of 2 \\(step 3\\)\nrun it: cd `));
    for (const [args, message] of [
      [['export', '--pytorch', out], /--pytorch: give --checkpoint .* or --resume/],
      [['export', '--onnx', join(out, 'm.onnx'), '--resume', run.epoch1], /--resume: an input of --pytorch/],
      [['export', '--pytorch', out, '--checkpoint', run.epoch1, '--batch', '4'], /--batch: not used with --pytorch/],
      [['export', '--pytorch', out, '--checkpoint', run.epoch1, '--resume', run.epoch1], /one of them/],
    ] as [string[], RegExp][]) {
      const r = await runCliInMemory(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, message);
    }
  });

  test('model.py and train.py parse', { skip: noPython }, async () => {
    const out = join(tmp(), 'resume');
    await exportPytorch({ resume: run.epoch1, dir: out });
    for (const f of ['model.py', 'train.py']) execFileSync(PYTHON!, ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', join(out, f)]);
  });

  test('PyTorch: every family\'s model.py with weights.pth computes our eval-mode logits', { skip: noTorch }, async () => {
    const dir = tmp();
    const cases: { out: string; logits: Float32Array }[] = [];
    const x = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37) * 1.5);
    for (const [name, options] of FAMILIES) {
      const model = createModel(name, { ...options, numClasses: 10, seed: 3 });
      const config = { ...run.record.config, model: name, modelOptions: options };
      const { files: _f, ...rest } = { ...run.record, model: { ...run.record.model, name, options: { ...options, numClasses: 10, seed: 3 } }, config };
      const ckpt = await writeCheckpoint(join(dir, name), { ...rest, tag: 'x' }, { weights: model.stateDict(), optimizer: new Map() });
      const out = join(dir, name, 'export');
      await exportPytorch({ checkpoint: ckpt, dir: out });
      const session = await InferenceSession.create(model, { inputSize: [3, 32, 32], backend: nodeBackend({ threads: 2 }) });
      cases.push({ out, logits: await session.run(x) });
      await session.dispose();
    }
    writeFileSync(join(dir, 'input.safetensors'), writeSafetensors(new Map([['x', Tensor.float32([2, 3, 32, 32], x)]])));
    const script = String.raw`
import importlib, json, sys, torch
x = None
out = {}
for folder in sys.argv[2:]:
    sys.path.insert(0, folder)
    sys.modules.pop('model', None)
    m = importlib.import_module('model').build_model()
    sys.path.pop(0)
    m.load_state_dict(torch.load(folder + '/weights.pth'), strict=True)
    m.eval()
    if x is None:
        import struct
        raw = open(sys.argv[1], 'rb').read(); n = struct.unpack('<Q', raw[:8])[0]
        x = torch.frombuffer(bytearray(raw[8 + n:]), dtype=torch.float32).reshape(2, 3, 32, 32)
    with torch.no_grad():
        out[folder] = m(x).flatten().tolist()
print(json.dumps(out))`;
    const got = JSON.parse(execFileSync(TORCH!, ['-c', script, join(dir, 'input.safetensors'), ...cases.map((c) => c.out)], { encoding: 'utf8' })) as Record<string, number[]>;
    for (const c of cases) {
      const theirs = got[c.out]!;
      const scale = Math.max(...theirs.map(Math.abs));
      const err = Math.max(...theirs.map((v, i) => Math.abs(v - c.logits[i]!))) / scale;
      assert.ok(err <= 1e-4, `${c.out}: eval logits relative error ${err}`);
    }
  });

  test('PyTorch: weights, optimizer state and EMA go Node → PyTorch → Node unchanged (SGD Nesterov with EMA; Adam)', { skip: noTorch }, async () => {
    // A second run with Adam (moments and step counts), the first with SGD momentum and EMA.
    const adamDir = tmp();
    await trainFromConfig(resolveTrainConfig({
      model: 'mobilenet_v2', modelOptions: { widthMult: 0.25, dropout: 0 }, dataset: 'synthetic', limit: 16, batchSize: 8, epochs: 2,
      optimizer: 'adam', lr: 0.01, weightDecay: 1e-4, noDecayBnBias: true, augment: false, valSplit: 0,
    }), { outDir: join(adamDir, 'run'), saveEvery: 1, threads: 2, workers: 0 });
    const script = String.raw`
import os, sys
sys.path.insert(0, sys.argv[1])
import train as tr
record, weights, slots, saved_ema = tr.load_start(None)
model = tr.build_model()
model.load_state_dict(weights)
frozen = tr.frozen_at(record['epoch'])
tr.set_modes(model, frozen)
optimizer = tr.make_optimizer(tr.param_groups(model, frozen))
tr.restore_optimizer(optimizer, slots, record['progress']['step'])
ema = tr.Ema(model, saved_ema) if tr.SETTINGS['ema_decay'] else None
print(tr.save_checkpoint(sys.argv[2], 'roundtrip', record, model, optimizer, ema, {}))`;
    for (const [source, slotNames] of [[run.epoch1, ['momentum_buffer']], [join(adamDir, 'run', 'checkpoint-epoch-1.json'), ['exp_avg', 'exp_avg_sq']]] as const) {
      const out = join(tmp(), 'export');
      await exportPytorch({ resume: source, dir: out });
      const back = join(out, 'back');
      mkdirSync(back);
      const json = execFileSync(TORCH!, ['-c', script, out, back], { encoding: 'utf8' }).trim();
      const { record: theirs } = await readCheckpointRecord(json);
      const { record: ours, dir } = await readCheckpointRecord(source);
      assert.equal(theirs.progress.step, ours.progress.step);
      const same = (a: Map<string, Tensor>, b: Map<string, Tensor>, keys: string[], what: string) => {
        assert.ok(keys.length > 0, what);
        for (const k of keys) {
          assert.deepEqual(a.get(k)?.shape, b.get(k)!.shape, `${what}: ${k}`);
          assert.deepEqual(a.get(k)!.toFloat32(), b.get(k)!.toFloat32(), `${what}: ${k}`);
        }
      };
      const w0 = await loadStateDictFile(join(dir, ours.files.weights));
      const w1 = await loadStateDictFile(join(back, theirs.files.weights));
      assert.deepEqual([...w1.keys()].sort(), [...w0.keys()].sort());
      same(w1, w0, [...w0.keys()], 'weights');
      const o0 = await loadStateDictFile(join(dir, ours.files.optimizer));
      const o1 = await loadStateDictFile(join(back, theirs.files.optimizer));
      const stateKeys = (m: Map<string, Tensor>) => [...m.keys()].filter((k) => /^(optimizer\.[a-z_]+\/|ema\.)/.test(k)).sort();
      assert.deepEqual(stateKeys(o1), stateKeys(o0));
      for (const slot of slotNames) assert.ok(stateKeys(o0).some((k) => k.startsWith(`optimizer.${slot}/`)), slot);
      same(o1, o0, stateKeys(o0), 'optimizer state');
      assert.equal(Number(o1.get('optimizer.step')!.data[0]), Number(o0.get('optimizer.step')!.data[0]));
    }
  });

  test('PyTorch: train.py\'s validation monitor chooses the best epoch and stops where mobilezoo\'s does', { skip: noTorch }, async () => {
    const out = join(tmp(), 'export');
    await exportPytorch({ resume: run.epoch1, dir: out });
    const loss = [2.3, 2.1, 2.095, NaN, 2.2, 2.0, 2.0, 2.05, 2.01, 1.99, 2.3, 2.4];
    const rows = loss.map((v, i) => ({ epoch: i + 1, lr: 0.1, trainLoss: 1, trainAcc: 0.5, valLoss: v, valAcc: Number.isNaN(v) ? NaN : 1 - v / 3, testLoss: NaN, testAcc: NaN, imagesPerSec: 1, seconds: 1 }));
    const cases: MonitorSettings[] = [
      { monitor: 'val_loss', minDelta: 0 },
      { monitor: 'val_loss', earlyStopping: 2, minDelta: 0 },
      { monitor: 'val_loss', earlyStopping: 2, minDelta: 0.01 },
      { monitor: 'val_acc', earlyStopping: 3, minDelta: 0.001 },
      { monitor: 'val_acc', earlyStopping: 1, minDelta: 0 },
    ];
    const script = String.raw`
import json, sys
sys.path.insert(0, sys.argv[1])
import train as tr
rows = json.loads(sys.argv[2])
out = []
for c in json.loads(sys.argv[3]):
    tr.SETTINGS.update(monitor=c['monitor'], early_stopping=c.get('earlyStopping'), min_delta=c['minDelta'])
    m = tr.Monitor([])
    for row in rows:
        m.update(row)
        if m.stopped_at is not None:
            break
    out.append({'best': m.best, 'stopped': m.stopped_at, 'reason': m.reason() if m.stopped_at is not None else None})
print(json.dumps(out))`;
    const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'number' && Number.isNaN(x) ? null : x));
    const got = JSON.parse(execFileSync(TORCH!, ['-c', script, out, json(rows), json(cases)], { encoding: 'utf8' })) as { best: unknown; stopped: number | null; reason: string | null }[];
    cases.forEach((c, k) => {
      const m = new ValidationMonitor(c);
      for (const row of rows) if (m.update(row).stop) break;
      assert.deepEqual(got[k]!.best, m.best ?? null, `${json(c)}: best`);
      assert.equal(got[k]!.stopped, m.stoppedAt ?? null, `${json(c)}: stopped`);
      if (m.stoppedAt !== undefined) assert.equal(got[k]!.reason, m.stopReason(), `${json(c)}: reason`);
    });
    assert.ok(got.some((g) => g.stopped !== null) && got.some((g) => g.stopped === null), 'cases that stop and cases that do not');
  });

  test('PyTorch: train.py continues the run and mobilezoo resumes, tests and exports what it wrote', { skip: noTorch }, async () => {
    const out = join(tmp(), 'resume');
    await exportPytorch({ resume: run.epoch1, dir: out });
    const py = spawnSync(TORCH!, ['train.py', '--workers', '0', '--threads', '2'], { cwd: out, encoding: 'utf8' });
    assert.equal(py.status, 0, `${py.stdout}\n${py.stderr}`);
    const last = join(out, 'run', 'checkpoint-last.json');
    const { record } = await readCheckpointRecord(last);
    assert.equal(record.epoch, 2);
    assert.equal(record.progress.step, 6);
    assert.equal(record.history.length, 2);
    // The run's validation split (2 of its 24 images): validated every epoch, tested at the end on checkpoint-best.
    assert.equal(record.dataset.validation?.size, 2);
    assert.ok(Number.isFinite(record.history[1]!.trainLoss) && Number.isFinite(record.history[1]!.valLoss!));
    assert.ok(record.best && record.test && record.test.epoch === record.best.epoch && Number.isFinite(record.test.loss));
    // The best epoch's weights: train.py's checkpoint-best, or the exported checkpoint when epoch 1 stays the best.
    assert.equal(record.test.checkpoint, record.best.epoch === 2 ? join(out, 'run', 'checkpoint-best.json') : run.epoch1);
    assert.ok(existsSync(record.test.checkpoint));
    assert.match(readFileSync(join(out, 'run', 'metrics.csv'), 'utf8'), /^epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,images_per_sec,seconds\n1,.*\n2,/);
    const optim = readSafetensors(readFileSync(join(out, 'run', record.files.optimizer)), 'optim');
    assert.equal(Number(optim.get('optimizer.step')!.data[0]), 6);
    assert.ok(optim.has('optimizer.momentum_buffer/features.0.0.weight') && optim.has('ema.features.0.0.weight'));
    // Back in mobilezoo: the checkpoint loads (EMA weights), and the run continues with its optimizer state.
    const loaded = await loadModel({ checkpoint: last });
    assert.match(loaded.source, /EMA weights/);
    const byWeights = await loadModel({ weights: join(out, 'run', record.files.weights) });
    assert.equal(byWeights.record?.model.name, 'mobilenet_v2', 'test/predict/export --weights know the model from the safetensors record');
    const pretrained = await inspectPretrained(last);
    assert.equal(pretrained.kind, 'checkpoint');
    assert.deepEqual(pretrained.preprocessing, record.preprocessing);
    const r = await train({ outDir: join(out, 'run'), resume: last, epochs: 3, threads: 2, workers: 0 });
    assert.equal(r.history.length, 3);
    const back = await readCheckpointRecord(join(out, 'run', 'checkpoint-last.json'));
    assert.equal(back.record.progress.step, 9);
  });

  test('PyTorch: train.py reads the images mobilezoo trained on, and its evaluation transform gives our inputs', { skip: noTorch }, async (t) => {
    const root = tmp();
    // A folder of PNGs of other sizes (decoded and fitted to 32x32), tiny CIFAR-10 binary files, Fashion-MNIST's IDX files.
    const folder = join(root, 'shapes');
    for (const [c, k] of [['circle', 0], ['square', 1]] as const) {
      mkdirSync(join(folder, c), { recursive: true });
      for (let i = 0; i < 5; i++) {
        const [w, h] = [[48, 40], [30, 50], [33, 33], [64, 20], [40, 41]][i]!;
        const raw = Buffer.from(Array.from({ length: w * h * 3 }, (_, j) => (j * (7 + i) + k * 91 + (j % 3) * 40) % 256));
        await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(folder, c, `${i}.png`));
      }
    }
    // A folder with train/, val/ and test/: the run validates on val/.
    const splits = join(root, 'splits');
    for (const [split, n] of [['train', 4], ['val', 2], ['test', 2]] as const) {
      for (const [c, k] of [['circle', 0], ['square', 1]] as const) {
        mkdirSync(join(splits, split, c), { recursive: true });
        for (let i = 0; i < n; i++) {
          const raw = Buffer.from(Array.from({ length: 36 * 30 * 3 }, (_, j) => (j * (3 + i) + k * 77 + split.length * 13) % 256));
          await sharp(raw, { raw: { width: 36, height: 30, channels: 3 } }).png().toFile(join(splits, split, c, `${i}.png`));
        }
      }
    }
    writeCifar10Folder(join(root, 'cifar'));
    const datasets: [string, Record<string, unknown>][] = [
      ['folder', { dataDir: folder }],
      ['folder', { dataDir: splits }],
      ['cifar10', { dataDir: join(root, 'cifar') }],
    ];
    if (existsSync('/usr/share/datasets/fashion-mnist')) datasets.push(['fashion-mnist', { limit: 16, testLimit: 8 }]);
    else t.diagnostic('Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): its files are not read');
    for (const [dataset, extra] of datasets) {
      const config = resolveTrainConfig({ model: 'shufflenet_v2_x0_5', dataset, epochs: 1, batchSize: 16, augment: false, ...extra });
      const dir = join(root, `${dataset}-${datasets.findIndex((d) => d[1] === extra)}`);
      await trainFromConfig(config, { outDir: join(dir, 'run'), threads: 2, workers: 0 });
      const out = join(dir, 'export');
      await exportPytorch({ checkpoint: join(dir, 'run', 'checkpoint-last.json'), dir: out });
      const { record } = await readCheckpointRecord(join(dir, 'run', 'checkpoint-last.json'));
      const data = await openTrainingData(config);
      const tf = trainTransforms(data.train, record.model.inputSize, false, 0, sourcePreprocessing(config));
      const inputs = async (ds: typeof data.test) => {
        const loader = new DataLoader(ds, { batchSize: 64, transform: tf.eval, workers: 0 });
        const x: number[] = [];
        const y: number[] = [];
        for await (const b of loader) {
          x.push(...b.images);
          y.push(...b.labels);
        }
        await loader.close();
        return { x, y };
      };
      // The validation split (default 0.1) is held out of the training images as the run held it out.
      assert.ok(data.val && record.dataset.validation, `${dataset}: a validation split`);
      assert.equal(record.dataset.validation.source, extra.dataDir === splits ? 'folder' : 'split');
      const ours = { test: await inputs(data.test), val: await inputs(data.val), train: await inputs(data.train) };
      const script = String.raw`
import json, sys, torch
sys.path.insert(0, sys.argv[1])
import train
tr, va = train.training_parts(train.eval_transform(), train.eval_transform(), None)
te = train.open_split('test', train.eval_transform(), None)
part = lambda ds: {'x': torch.stack([ds[i][0] for i in range(len(ds))]).flatten().tolist(), 'y': [ds[i][1] for i in range(len(ds))]}
print(json.dumps({'test': part(te), 'val': part(va), 'train': part(tr)}))`;
      const got = JSON.parse(execFileSync(TORCH!, ['-c', script, out], { encoding: 'utf8', maxBuffer: 1 << 29 })) as Record<'test' | 'val' | 'train', { x: number[]; y: number[] }>;
      assert.equal(got.train.y.length, record.dataset.trainSize, `${dataset}: training images`);
      assert.equal(got.val.y.length, record.dataset.validation.size, `${dataset}: validation images`);
      for (const split of ['train', 'val', 'test'] as const) {
        assert.deepEqual(got[split].y, ours[split].y, `${dataset}: ${split} labels in order`);
        assert.equal(got[split].x.length, ours[split].x.length, `${dataset}: ${split} inputs`);
        let err = 0;
        got[split].x.forEach((v, i) => (err = Math.max(err, Math.abs(v - ours[split].x[i]!))));
        assert.ok(err <= 1e-5, `${dataset}: train.py's ${split} images through the evaluation transform differ from ours by up to ${err}`);
      }
    }
  });
});
