"""Dev script (not used by the product or tests at run time): PyTorch 1.13 optimizer trajectories for
test/fixtures/optimizers.json. Run with Debian's python3-torch: /usr/bin/python3 dev/optimizer-reference.py"""
import json, torch

torch.manual_seed(0)
p0 = torch.randn(6, dtype=torch.float64)
grads = [torch.randn(6, dtype=torch.float64) for _ in range(4)]
configs = [
    ('sgd', dict(lr=0.1)),
    ('sgd', dict(lr=0.1, momentum=0.9, weight_decay=5e-4)),
    ('sgd', dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)),
    ('adam', dict(lr=1e-2, weight_decay=1e-2)),
    ('adamw', dict(lr=1e-2, weight_decay=1e-2)),
    ('rmsprop', dict(lr=1e-2, alpha=0.9, eps=1e-3)),
    ('rmsprop', dict(lr=1e-2, alpha=0.9, eps=1e-3, momentum=0.9, weight_decay=1e-4)),
]
cls = {'sgd': torch.optim.SGD, 'adam': torch.optim.Adam, 'adamw': torch.optim.AdamW, 'rmsprop': torch.optim.RMSprop}
out = []
for name, kw in configs:
    p = torch.nn.Parameter(p0.clone())
    opt = cls[name]([p], **kw)
    traj = []
    for g in grads:
        p.grad = g.clone()
        opt.step()
        traj.append(p.detach().tolist())
    out.append({'optimizer': name, 'options': kw, 'trajectory': traj})
json.dump({'source': f'torch {torch.__version__}, float64', 'p0': p0.tolist(), 'grads': [g.tolist() for g in grads], 'cases': out},
          open('test/fixtures/optimizers.json', 'w'), indent=1)
print('wrote test/fixtures/optimizers.json')
