"""The PyTorch half of the export --pytorch exactness check (the mobilezoo half, which writes OUT:
dev/pytorch-export-check.ts). Everything PyTorch computes here goes through the exported train.py's own
functions (build_model, param_groups, make_optimizer, restore_optimizer, rebuild_optimizer,
learning_rate, train_step, Ema), in float32 as train.py runs and in float64 as the closest thing to the
exact answer.

Per case (family x optimizer, and two recipe cases):
  - first step, fresh: the --checkpoint export (its weights, zero optimizer state) one step on a batch;
  - first step, resumed: the --resume export (weights + optimizer.pth at step 20) one step on batch 21;
    each against ours: loss relative error and global relative L2 error of the weight update
    (after - before, all trained parameters), ours and PyTorch float32 each against PyTorch float64;
  - the cases in LONG (epochs of 20 steps): 20 steps in mobilezoo + export + 20 in train.py ("hybrid")
    against 40 in mobilezoo, beside PyTorch float32 against float64 over the same last 20 steps (from the
    exported state) and over all 40 (from the initial weights); distances are ||a - b|| / ||ours40 - w0||
    over all parameters (how far apart, relative to how far the 40 steps moved the weights).

  /usr/bin/python3 dev/pytorch-export-check.py OUT [--json test/fixtures/pytorch-export/exactness.json] [case prefix ...]
"""
import importlib.util
import json
import math
import os
import sys

import torch


def load_train_py(folder):
    """The exported train.py of 'folder' as a module (its model.py beside it)."""
    sys.modules.pop('model', None)
    spec = importlib.util.spec_from_file_location(f'train_{abs(hash(folder))}', os.path.join(folder, 'train.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def params_of(model):
    return {n: p.detach().double().clone() for n, p in model.named_parameters()}


def flat(d, names):
    return torch.cat([d[n].reshape(-1).double() for n in names]) if names else torch.zeros(0, dtype=torch.float64)


def rel(a, b, scale):
    return float((a - b).norm() / scale.norm()) if scale.norm() > 0 else float((a - b).norm())


class Run:
    """A model and optimizer of train.py in a dtype, stepping through batches as train.py's main loop does."""

    def __init__(self, tr, dtype, weights, slots, step, epoch, ema=None):
        self.tr, self.dtype = tr, dtype
        self.model = tr.build_model()
        self.model.load_state_dict(weights)
        self.model.to(dtype)
        self.frozen = tr.frozen_at(epoch)
        tr.set_modes(self.model, self.frozen)
        self.optimizer = tr.make_optimizer(tr.param_groups(self.model, self.frozen))
        tr.restore_optimizer(self.optimizer, slots, step)
        self.step = step
        self.ema = tr.Ema(self.model, ema) if tr.SETTINGS['ema_decay'] else None
        self.losses = []
        # Batch b = step + batch_shift (a fresh run's first step takes a batch from the middle).
        self.batch_shift = 0

    def run(self, images, labels, steps_per_epoch, count):
        tr = self.tr
        epochs = tr.SETTINGS['epochs']
        for _ in range(count):
            epoch = self.step // steps_per_epoch
            frozen = tr.frozen_at(epoch)
            if frozen != self.frozen:
                self.frozen = frozen
                tr.set_modes(self.model, frozen)
                self.optimizer = tr.rebuild_optimizer(self.optimizer, self.model, frozen, self.step)
            tr.set_modes(self.model, self.frozen)
            lr = tr.learning_rate(self.step / steps_per_epoch, epochs)
            b = self.step + self.batch_shift
            loss, _ = tr.train_step(self.model, self.optimizer, images[b].to(self.dtype), labels[b], lr)
            self.step += 1
            if self.ema:
                self.ema.update(self.model, self.step - 1)
            self.losses.append(float(loss))
        return self


def trained(run):
    return [n for g in run.optimizer.param_groups for n in g['param_names']]


def first_step(tr, start, batch_index, images, labels, steps_per_epoch, ours_params, ours_loss, epoch):
    """One step from 'start' in float32 and float64 against ours: loss and update errors."""
    weights, slots, step = start
    r32 = Run(tr, torch.float32, weights, slots, step, epoch)
    r64 = Run(tr, torch.float64, weights, slots, step, epoch)
    names = trained(r32)
    before = flat({n: weights[n] for n in names}, names)
    for r in (r32, r64):
        r.batch_shift = batch_index - step
        r.run(images, labels, steps_per_epoch, 1)
    exact = flat(params_of(r64.model), names) - before
    ref_loss = r64.losses[0]

    def min_cosine(params):
        # The smallest per-tensor cosine between an update and the exact one, over tensors whose exact update is not negligible.
        e64, top = params_of(r64.model), max(float((params_of(r64.model)[n] - weights[n].double()).norm()) for n in names)
        cos = [float(torch.nn.functional.cosine_similarity((params[n] - weights[n].double()).flatten(), (e64[n] - weights[n].double()).flatten(), 0))
               for n in names if float((e64[n] - weights[n].double()).norm()) > 1e-4 * top]
        return min(cos) if cos else None  # None: no update (a warmup's first step has learning rate 0)
    return {
        'update_min_cosine_ours': min_cosine(ours_params),
        'update_min_cosine_torch32': min_cosine(params_of(r32.model)),
        'loss_ours_vs_fp64': abs(ours_loss - ref_loss) / abs(ref_loss),
        'loss_torch32_vs_fp64': abs(r32.losses[0] - ref_loss) / abs(ref_loss),
        'update_ours_vs_fp64': rel(flat(ours_params, names) - before, exact, exact),
        'update_torch32_vs_fp64': rel(flat(params_of(r32.model), names) - before, exact, exact),
        'update_ours_vs_torch32': rel(flat(ours_params, names), flat(params_of(r32.model), names), flat(params_of(r32.model), names) - before),
    }


# The resumed runs checked (each also replays 40 steps from the initial weights in float32 and float64,
# which takes minutes on a CPU: PyTorch's float64 convolutions have no fast kernels).
LONG = ('mobilenet_v2.sgd-nesterov', 'shufflenet_v2.sgd-nesterov', 'warmup-ema', 'freeze-unfreeze')


def check_case(case_dir):
    resume = load_train_py(os.path.join(case_dir, 'resume'))
    b = resume.read_safetensors(os.path.join(case_dir, 'batches.safetensors'))
    images, labels = b['images'], b['labels']
    steps = images.shape[0] // 2
    ours = resume.read_safetensors(os.path.join(case_dir, 'ours.safetensors'))
    init = resume.read_safetensors(os.path.join(case_dir, 'init.safetensors'))
    ours40 = resume.read_safetensors(os.path.join(case_dir, 'run', 'checkpoint-last.safetensors'))
    ours40_optim = resume.read_safetensors(os.path.join(case_dir, 'run', 'checkpoint-last.optim.safetensors'))
    out = {}

    # First step after the resume: the export's weights, optimizer.pth and step, batch 21.
    record, weights, slots, ema = resume.load_start(None)
    step = record['progress']['step']
    pick = lambda prefix: {k[len(prefix):]: v for k, v in ours.items() if k.startswith(prefix)}  # noqa: E731
    out['first_step_resumed'] = first_step(resume, (weights, slots, step), step, images, labels, steps,
                                           {k: v.double() for k, v in pick('resume_step/').items()}, float(ours['losses'][step]), record['epoch'])

    # First step of the fresh export: its weights, no optimizer state, position 0, batch 21.
    fresh = load_train_py(os.path.join(case_dir, 'fresh'))
    frecord, fweights, fslots, _ = fresh.load_start(None)
    assert not fslots and frecord['progress']['step'] == 0
    r = first_step(fresh, (fweights, {}, 0), steps, images, labels, steps, {k: v.double() for k, v in pick('fresh_step/').items()},
                   float(ours['fresh_loss'][0]), 0)
    out['first_step_fresh'] = r

    if steps < 20 or os.path.basename(case_dir) not in LONG:
        return out
    # The resumed run: 20 steps in mobilezoo, the export, 20 in train.py ("hybrid", PyTorch float32
    # continuing from the step-20 state) against 40 in mobilezoo; PyTorch float64 from the same state over
    # the same 20 steps, and PyTorch float32 against float64 over all 40 from the initial weights.
    hybrid = Run(resume, torch.float32, weights, slots, step, record['epoch'], ema).run(images, labels, steps, steps)
    cont64 = Run(resume, torch.float64, weights, slots, step, record['epoch'], ema).run(images, labels, steps, steps)
    full = {name: Run(resume, dtype, init, {}, 0, 0).run(images, labels, steps, 2 * steps) for name, dtype in (('torch32', torch.float32), ('torch64', torch.float64))}
    names = [n for n, _ in cont64.model.named_parameters()]
    w0 = flat(init, names)
    p = {k: flat(params_of(r.model), names) for k, r in full.items()}
    p.update(hybrid=flat(params_of(hybrid.model), names), cont64=flat(params_of(cont64.model), names), ours40=flat(ours40, names))
    moved = (p['ours40'] - w0).norm()
    d = lambda a, b_: float((p[a] - p[b_]).norm() / moved)  # noqa: E731
    out['resumed_run'] = {
        'hybrid_vs_ours40': d('hybrid', 'ours40'),
        'torch32_vs_torch64_last20': d('hybrid', 'cont64'),
        'torch32_vs_torch64_40': d('torch32', 'torch64'),
        'ours40_vs_torch64_40': d('ours40', 'torch64'),
        'last_loss': {'ours': float(ours['losses'][-1]), 'hybrid': hybrid.losses[-1], 'torch64_last20': cont64.losses[-1],
                      'torch32_40': full['torch32'].losses[-1], 'torch64_40': full['torch64'].losses[-1]},
    }
    if hybrid.ema:
        e_o = flat({n: ours40_optim[f'ema.{n}'] for n in names}, names)
        out['resumed_run']['ema_hybrid_vs_ours40'] = float((flat(hybrid.ema.params, names) - e_o).norm() / (e_o - w0).norm())
        out['resumed_run']['ema_torch32_vs_torch64_last20'] = float((flat(hybrid.ema.params, names) - flat(cont64.ema.params, names)).norm() / (e_o - w0).norm())
    return out


def main():
    root = sys.argv[1]
    json_out = sys.argv[sys.argv.index('--json') + 1] if '--json' in sys.argv else None
    only = [a for a in sys.argv[2:] if not a.startswith('--') and a != json_out]
    torch.set_num_threads(2)
    # Cases given by name are added to the results already in the JSON file.
    results = json.load(open(json_out))['cases'] if json_out and only and os.path.isfile(json_out) else {}
    cases = sorted(os.listdir(root), key=lambda c: (c in LONG, c))
    for case in cases:
        if not os.path.isfile(os.path.join(root, case, 'ours.safetensors')) or (only and not any(case.startswith(o) for o in only)):
            continue
        r = check_case(os.path.join(root, case))
        results[case] = r
        f, s = r['first_step_fresh'], r['first_step_resumed']
        line = (f"{case:34s} fresh: loss {f['loss_ours_vs_fp64']:.1e} ({f['loss_torch32_vs_fp64']:.1e}) update {f['update_ours_vs_fp64']:.1e} ({f['update_torch32_vs_fp64']:.1e})"
                f" | resumed: loss {s['loss_ours_vs_fp64']:.1e} ({s['loss_torch32_vs_fp64']:.1e}) update {s['update_ours_vs_fp64']:.1e} ({s['update_torch32_vs_fp64']:.1e})")
        if 'resumed_run' in r:
            t = r['resumed_run']
            line += (f" | 20+20: hybrid-ours {t['hybrid_vs_ours40']:.1e}, torch32-64 last 20 {t['torch32_vs_torch64_last20']:.1e},"
                     f" all 40 {t['torch32_vs_torch64_40']:.1e}")
        print(line, flush=True)
        if json_out:
            os.makedirs(os.path.dirname(os.path.abspath(json_out)), exist_ok=True)
            with open(json_out, 'w') as fh:
                json.dump({'source': f'dev/pytorch-export-check.py, torch {torch.__version__}', 'cases': results}, fh, indent=1)
                fh.write('\n')


if __name__ == '__main__':
    main()
