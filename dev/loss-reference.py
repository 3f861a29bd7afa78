"""Dev script: PyTorch 1.13 cross-entropy (mean, with and without label smoothing) and its gradient on
fixed logits, for test/fixtures/cross-entropy.json. Run with /usr/bin/python3 dev/loss-reference.py"""
import json, torch

torch.manual_seed(1)
logits = torch.randn(5, 7, dtype=torch.float64) * 3
labels = torch.tensor([0, 6, 3, 3, 1])
cases = []
for eps in (0.0, 0.1):
    x = logits.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(x, labels, label_smoothing=eps)
    loss.backward()
    cases.append({'label_smoothing': eps, 'loss': loss.item(), 'grad': x.grad.tolist()})
json.dump({'source': f'torch {torch.__version__}, float64', 'logits': logits.tolist(), 'labels': labels.tolist(), 'cases': cases},
          open('test/fixtures/cross-entropy.json', 'w'), indent=1)
print('wrote test/fixtures/cross-entropy.json')
