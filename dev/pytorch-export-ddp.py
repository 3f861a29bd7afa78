"""torchrun --nproc_per_node 2 against one process, for the train.py that export --pytorch writes.

A mobilezoo run (MobileNetV2 0.25x, no dropout, Fashion-MNIST's first 512 images, batch 64, no
augmentation, SGD Nesterov, cosine, label smoothing) is exported after its first epoch with --resume;
train.py then trains the second epoch three ways on this machine's CPUs (an epoch of 8 steps, and one of a
single step with the first 64 images):
  single   python train.py (one process, the global batch of 32)
  ddp      torchrun --nproc_per_node 2 train.py --sync-bn (gloo, 16 images per process)
  ddp-bn   the same without --sync-bn (plain DDP: BatchNorm over each process's 16 images)
and the final weights, BatchNorm statistics, losses and test metrics are compared. Without augmentation
and dropout nothing random differs between the runs: DistributedSampler gives the two processes the two
halves of each of one process's batches. What float rounding alone does over those 8 steps is measured
with train.py's own functions: the single process's epoch replayed in float32 (which must give its
checkpoint) and in float64, on the batches its sampler drew.

  /usr/bin/python3 dev/pytorch-export-ddp.py /tmp/pytorch-export-ddp [--json test/fixtures/pytorch-export/ddp.json]
"""
import json
import os
import shutil
import subprocess
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def sh(cmd, cwd=ROOT, env=None):
    print('$', ' '.join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True, env=dict(os.environ, **(env or {})))


def check(out, limit, batch):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    mz = ['node', os.path.join(ROOT, 'bin', 'mobilezoo.js')]
    env = {'MOBILEZOO_FROM_SRC': '1'}
    sh(mz + ['train', '--model', 'mobilenet_v2', '--width', '0.25', '--dropout', '0', '--dataset', 'fashion-mnist', '--limit', str(limit),
             '--test-limit', '128', '--batch-size', str(batch), '--epochs', '2', '--no-augment', '--optimizer', 'sgd', '--lr', '0.01',
             '--momentum', '0.9', '--nesterov', '--weight-decay', '5e-4', '--schedule', 'cosine', '--label-smoothing', '0.1',
             '--save-every', '1', '--val-split', '0', '--threads', '2', '--out', os.path.join(out, 'run')], env=env)
    export = os.path.join(out, 'export')
    sh(mz + ['export', '--pytorch', export, '--resume', os.path.join(out, 'run', 'checkpoint-epoch-1.json')], env=env)
    common = ['train.py', '--device', 'cpu', '--workers', '0', '--threads', '1']
    sh([sys.executable] + common + ['--out', os.path.join(out, 'single')], cwd=export)
    # --redirects 1 --tee 1: Debian's torchrun 1.13 on Python 3.11 fails without them (its Std.from_str('0') is
    # None there: Python 3.11 no longer iterates an IntFlag's zero member), and prints each rank's output with them.
    torchrun = ['torchrun', '--standalone', '--nnodes', '1', '--nproc_per_node', '2', '--redirects', '1', '--tee', '1']
    sh(torchrun + common + ['--sync-bn', '--out', os.path.join(out, 'ddp')], cwd=export)
    sh(torchrun + common + ['--out', os.path.join(out, 'ddp-bn')], cwd=export)

    sys.path.insert(0, export)
    sys.modules.pop('train', None)
    sys.modules.pop('model', None)
    import train as tr  # the exported train.py: its functions and safetensors reader
    sys.path.pop(0)
    runs = {}
    for name in ('single', 'ddp', 'ddp-bn'):
        folder = os.path.join(out, name)
        with open(os.path.join(folder, 'checkpoint-last.json')) as f:
            record = json.load(f)
        runs[name] = (record, tr.read_safetensors(os.path.join(folder, record['files']['weights'])))
    start = tr.read_safetensors(os.path.join(out, 'run', 'checkpoint-epoch-1.safetensors'))
    single_record, single = runs['single']
    params = [k for k in single if not (k.endswith('running_mean') or k.endswith('running_var') or k.endswith('num_batches_tracked'))]
    stats = [k for k in single if k.endswith('running_mean') or k.endswith('running_var')]
    flat = lambda sd, keys: torch.cat([sd[k].double().reshape(-1) for k in keys])  # noqa: E731
    moved = (flat(single, params) - flat(start, params)).norm()
    results = {'steps_in_epoch': single_record['progress']['stepsPerEpoch'], 'single_epoch': single_record['history'][-1], 'runs': {}}

    # Rounding alone: the single process's epoch replayed with train.py's functions in float32 and float64.
    record, weights, slots, _ = tr.load_start(None)
    ds = tr.open_split('train', tr.train_transform(), None)
    steps, epoch, batch = record['progress']['stepsPerEpoch'], record['epoch'], tr.SETTINGS['batch_size']
    sampler = torch.utils.data.distributed.DistributedSampler(ds, num_replicas=1, rank=0, shuffle=True, seed=tr.SETTINGS['seed'])
    sampler.set_epoch(epoch)
    order = list(sampler)
    replay = {}
    for dtype in (torch.float32, torch.float64):
        torch.set_num_threads(1)
        model = tr.build_model()
        model.load_state_dict(weights)
        model.to(dtype)
        tr.set_modes(model, [])
        optimizer = tr.make_optimizer(tr.param_groups(model, []))
        tr.restore_optimizer(optimizer, slots, record['progress']['step'])
        step = record['progress']['step']
        for k in range(steps):
            idx = order[k * batch:(k + 1) * batch]
            x = torch.stack([ds[i][0] for i in idx]).to(dtype)
            y = torch.tensor([ds[i][1] for i in idx])
            tr.train_step(model, optimizer, x, y, tr.learning_rate(step / steps, record['epochs']))
            step += 1
        replay[dtype] = {k: v.detach() for k, v in model.state_dict().items()}
    results['replay_fp32_vs_single'] = float((flat(replay[torch.float32], params) - flat(single, params)).norm() / moved)
    results['fp32_vs_fp64'] = float((flat(replay[torch.float32], params) - flat(replay[torch.float64], params)).norm() / moved)
    results['fp32_vs_fp64_bn_stats'] = float((flat(replay[torch.float32], stats) - flat(replay[torch.float64], stats)).norm() / flat(replay[torch.float64], stats).norm())
    print(f"single process replayed in float32: {results['replay_fp32_vs_single']:.2e} from its checkpoint; float32 vs float64 over the epoch: "
          f"weights {results['fp32_vs_fp64']:.2e}, BatchNorm statistics {results['fp32_vs_fp64_bn_stats']:.2e}")
    for name in ('ddp', 'ddp-bn'):
        record, sd = runs[name]
        row, ref = record['history'][-1], single_record['history'][-1]
        results['runs'][name] = {
            'weights_rel_l2': float((flat(sd, params) - flat(single, params)).norm() / moved),
            'weights_max_abs': float((flat(sd, params) - flat(single, params)).abs().max()),
            'bn_stats_rel_l2': float((flat(sd, stats) - flat(single, stats)).norm() / flat(single, stats).norm()),
            'train_loss': [row['trainLoss'], ref['trainLoss']],
            'test_loss': [row['testLoss'], ref['testLoss']],
            'test_acc': [row['testAcc'], ref['testAcc']],
        }
        r = results['runs'][name]
        print(f"{name}: weights {r['weights_rel_l2']:.2e} of the epoch's displacement (max abs {r['weights_max_abs']:.1e}), BatchNorm statistics {r['bn_stats_rel_l2']:.2e}; "
              f"train loss {r['train_loss'][0]:.6f} vs {r['train_loss'][1]:.6f}, test loss {r['test_loss'][0]:.6f} vs {r['test_loss'][1]:.6f}, "
              f"test acc {r['test_acc'][0]:.4f} vs {r['test_acc'][1]:.4f}")
    return results


def main():
    out = os.path.abspath(sys.argv[1])
    json_out = sys.argv[sys.argv.index('--json') + 1] if '--json' in sys.argv else None
    results = {}
    # An epoch of 8 steps (the one epoch on a small split), and of one step (before rounding compounds).
    for name, limit, batch in (('epoch_of_8_steps', 512, 64), ('epoch_of_1_step', 64, 64)):
        print(f'--- {name}', flush=True)
        results[name] = check(os.path.join(out, name), limit, batch)
    if json_out:
        os.makedirs(os.path.dirname(os.path.abspath(json_out)), exist_ok=True)
        with open(json_out, 'w') as f:
            json.dump({'source': f'dev/pytorch-export-ddp.py, torch {torch.__version__}, gloo, 2 CPU processes', **results}, f, indent=1)
            f.write('\n')

if __name__ == '__main__':
    main()
