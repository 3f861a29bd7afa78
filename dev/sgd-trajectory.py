"""Dev script (not used by the product or tests at run time): how far PyTorch 1.13's own float32 SGD run
stays from the float64 one over 50 steps, for test/fixtures/sgd-trajectory.json (the bound of the node vs
web run in test/web/engine.test.ts). The network is the mobilenet_v2_0.5_cifar reference fixture (its
weights.pth); the batches (a learnable task) come from a 32-bit LCG that test/web/engine.test.ts reproduces exactly.
Run with Debian's python3-torch: /usr/bin/python3 dev/sgd-trajectory.py"""
import copy, json, math, torch, torchvision

STEPS, BATCH, LR, MOMENTUM, SEED = 50, 16, 0.005, 0.9, 12345
case = '../shared/fixtures/reference/mobilenet_v2_0.5_cifar'


def lcg(s):
    return (1664525 * s + 1013904223) % 2**32


def batches():
    """A learnable task: class c's images are a fixed pattern P_c plus half-scale noise, P and the noise
    on a 2^-15 grid in [-1, 1) (so every input is exact in float32), labels 0..9; all from one 32-bit
    LCG, state = 1664525 state + 1013904223 mod 2^32, value = (state >> 16) / 2^15 - 1."""
    s = SEED
    size = 3 * 32 * 32
    patterns = []
    for _ in range(10):
        p = []
        for _ in range(size):
            s = lcg(s)
            p.append((s >> 16) / 2**15 - 1)
        patterns.append(torch.tensor(p, dtype=torch.float64))
    for _ in range(STEPS):
        xs, ys = [], []
        for _ in range(BATCH):
            s = lcg(s)
            y = (s >> 16) % 10
            noise = []
            for _ in range(size):
                s = lcg(s)
                noise.append((s >> 16) / 2**15 - 1)
            xs.append(patterns[y] + 0.5 * torch.tensor(noise, dtype=torch.float64))
            ys.append(y)
        yield torch.stack(xs).reshape(BATCH, 3, 32, 32), torch.tensor(ys)


def model(dtype):
    m = torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10, dropout=0.0)
    m.load_state_dict(torch.load(f'{case}/weights.pth'))
    return m.to(dtype).train()


def update_distance(m32, m64, start):
    """Global relative L2 of the float32 run's weight update against the float64 run's."""
    num = den = 0.0
    for (k, a), (_, b) in zip(m32.named_parameters(), m64.named_parameters()):
        d64 = b.detach() - start[k]
        num += ((a.detach().double() - start[k]) - d64).pow(2).sum().item()
        den += d64.pow(2).sum().item()
    return math.sqrt(num / den)


# The float32 and float64 runs in lockstep, their distance after every step.
torch.set_num_threads(2)
m32, m64 = model(torch.float32), model(torch.float64)
start = {k: v.detach().clone().double() for k, v in m64.named_parameters()}
opts = [torch.optim.SGD(m.parameters(), lr=LR, momentum=MOMENTUM) for m in (m32, m64)]
losses32, losses64, distances = [], [], []
for x, y in batches():
    for m, opt, losses, dtype in ((m32, opts[0], losses32, torch.float32), (m64, opts[1], losses64, torch.float64)):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x.to(dtype)), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    distances.append(update_distance(m32, m64, start))

out = {
    'source': f'torch {torch.__version__}, torchvision {torchvision.__version__}; dev/sgd-trajectory.py',
    'case': 'mobilenet_v2_0.5_cifar', 'steps': STEPS, 'batch': BATCH, 'lr': LR, 'momentum': MOMENTUM, 'seed': SEED,
    'fp32_vs_fp64': {'update_global_rel_l2': distances[-1], 'update_global_rel_l2_by_step': distances},
    'losses_fp64': losses64,
    'losses_fp32': losses32,
}
json.dump(out, open('test/fixtures/sgd-trajectory.json', 'w'), indent=1)
print(json.dumps(out['fp32_vs_fp64']))
