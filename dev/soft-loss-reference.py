"""Dev script: PyTorch 1.13's cross-entropy against target distributions (class probabilities, as mixup
and cutmix make them), mean over the batch, with and without label smoothing, and its gradient, on fixed
logits: test/fixtures/soft-cross-entropy.json. Run with /usr/bin/python3 dev/soft-loss-reference.py"""
import json, torch

torch.manual_seed(3)
n, k = 6, 5
logits = torch.randn(n, k, dtype=torch.float64) * 3
labels = torch.tensor([0, 4, 2, 2, 1, 3])
onehot = torch.nn.functional.one_hot(labels, k).to(torch.float64)
lam = 0.37
targets = {
    # mixup's pairing with the batch reversed (timm's flip)
    'mixup': lam * onehot + (1 - lam) * onehot.flip(0),
    'dirichlet': torch.distributions.Dirichlet(torch.ones(k, dtype=torch.float64)).sample((n,)),
    # rows that do not sum to 1: the gradient is softmax * sum(target) - target
    'unnormalized': torch.rand(n, k, dtype=torch.float64),
}
cases = []
for name, t in targets.items():
    for eps in (0.0, 0.1):
        x = logits.clone().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(x, t, label_smoothing=eps)
        loss.backward()
        cases.append({'targets': name, 'label_smoothing': eps, 'loss': loss.item(), 'grad': x.grad.tolist()})
json.dump({'source': f'torch {torch.__version__}, float64', 'logits': logits.tolist(),
           'targets': {name: t.tolist() for name, t in targets.items()}, 'cases': cases},
          open('test/fixtures/soft-cross-entropy.json', 'w'), indent=1)
print('wrote test/fixtures/soft-cross-entropy.json')
