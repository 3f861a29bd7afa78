"""Reference for training with frozen layers (Keras' trainable = False, which `mobilezoo train --freeze`
follows): frozen modules in eval mode (BatchNorm on running statistics, unchanged), no gradient for
their parameters; the rest in train mode. Computed by PyTorch 1.13 (Debian's python3-torch) in float64
and float32 on the shared mobilenet_v2_0.5_cifar fixture (its weights and input), for two settings:
  - backbone: everything but `classifier` frozen
  - features.17: features.0 .. features.17 frozen (features.18, a Conv-BN-ReLU6, and the classifier train)
Writes test/fixtures/freeze-reference.safetensors: per setting the float64 loss, logits, gradients of
the trainable parameters and BatchNorm buffers after the forward; metadata holds PyTorch's own float32
errors against float64 (what the test's tolerance is derived from).

  /usr/bin/python3 dev/freeze-reference.py
"""
import json
import os
import struct

import numpy as np
import torch
import torchvision

ROOT = os.path.join(os.path.dirname(__file__), '..')
CASE = os.path.join(ROOT, '..', 'shared', 'fixtures', 'reference', 'mobilenet_v2_0.5_cifar')


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        dt = {'F32': np.float32, 'I64': np.int64}[v['dtype']]
        a, b = v['data_offsets']
        out[k] = np.frombuffer(data[a:b], dtype=dt).reshape(v['shape'])
    return out


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    blobs = []
    offset = 0
    for k, a in tensors.items():
        b = np.ascontiguousarray(a).tobytes()
        header[k] = {'dtype': {np.dtype('float32'): 'F32', np.dtype('int64'): 'I64'}[a.dtype], 'shape': list(a.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


case = read_safetensors(os.path.join(CASE, 'case.safetensors'))
state = torch.load(os.path.join(CASE, 'weights.pth'))
x = torch.from_numpy(case['input'].copy())
labels = torch.from_numpy(case['labels'].copy())


def run(frozen_prefixes, dtype):
    m = torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10, dropout=0.0)
    m.load_state_dict(state)
    m = m.to(dtype)
    m.train()
    frozen = [(n, mod) for n, mod in m.named_modules() if n and any(n == p or n.startswith(p + '.') for p in frozen_prefixes)]
    for _, mod in frozen:
        mod.eval()
        for p in mod.parameters(recurse=False):
            p.requires_grad_(False)
    logits = m(x.to(dtype))
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in m.named_parameters() if p.requires_grad}
    frozen_names = {n for n, _ in frozen}
    # Buffers of trainable modules only: a frozen module's are unchanged by definition (the test checks that itself).
    buffers = {n: b.detach().clone() for n, b in m.named_buffers() if n.rsplit('.', 1)[0] not in frozen_names}
    return loss.detach(), logits.detach(), grads, buffers


settings = {'backbone': ['features'], 'features.17': [f'features.{i}' for i in range(18)]}
tensors = {}
meta = {'source': 'dev/freeze-reference.py, PyTorch ' + torch.__version__ + ', fixture mobilenet_v2_0.5_cifar'}
for name, prefixes in settings.items():
    l64, z64, g64, b64 = run(prefixes, torch.float64)
    l32, z32, g32, b32 = run(prefixes, torch.float32)
    tensors[f'{name}/loss'] = l64.reshape(1).float().numpy()
    tensors[f'{name}/logits'] = z64.float().numpy()
    for n, g in g64.items():
        tensors[f'{name}/grad/{n}'] = g.float().numpy()
    for n, b in b64.items():
        tensors[f'{name}/buffer/{n}'] = b.float().numpy() if b.dtype.is_floating_point else b.numpy()
    num = sum(float(((g32[n].double() - g64[n]) ** 2).sum()) for n in g64)
    den = sum(float((g64[n] ** 2).sum()) for n in g64)
    meta[f'{name}/fp32_grads_rel_l2'] = repr((num / den) ** 0.5)
    meta[f'{name}/fp32_loss_rel'] = repr(abs(float(l32) - float(l64)) / abs(float(l64)))
    meta[f'{name}/trainable'] = json.dumps(sorted(g64))
write_safetensors(os.path.join(ROOT, 'test', 'fixtures', 'freeze-reference.safetensors'), tensors, meta)
print(json.dumps(meta, indent=1)[:2000])
