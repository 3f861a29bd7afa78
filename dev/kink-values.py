"""Pre-activations closest to an activation kink (default 0 and 6: ReLU6; -3,3 for hardswish) in one
module's train-mode output, in float64 and in PyTorch float32, for a reference fixture (what
test/train/reference.test.ts cites).

  /usr/bin/python3 dev/kink-values.py mobilenet_v2_1.0_224 features.17.conv.1.1 [count] [kinks]
  /usr/bin/python3 dev/kink-values.py mobilenet_v3_small_1.0_224 features.12.1 5 -3,3

Needs Debian's python3-torch and python3-torchvision; reads ../shared/fixtures/reference/<case>.
Prints flat element indices; dev/kink-values.ts prints ours for the same indices.
"""
import json, os, struct, sys
import torch, torchvision

def read_safetensors(path):
    b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; header = json.loads(b[8:8 + n]); out = {}
    dtypes = {'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64}
    for k, v in header.items():
        if k == '__metadata__': continue
        s, e = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=dtypes[v['dtype']]).reshape(v['shape'])
    return out

case, module = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 5
kinks = [float(k) for k in (sys.argv[4] if len(sys.argv) > 4 else '0,6').split(',')]
root = os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'fixtures', 'reference', case)
meta = json.load(open(os.path.join(root, 'meta.json')))
model = getattr(torchvision.models, meta['builder'])(**meta['args'])
model.load_state_dict(torch.load(os.path.join(root, 'weights.pth')))
model.train()
seen = {}
dict(model.named_modules())[module].register_forward_hook(lambda m, i, o: seen.__setitem__('out', o.detach().clone()))
inp = read_safetensors(os.path.join(root, 'case.safetensors'))['input']
outs = {}
for dtype in (torch.float64, torch.float32):
    model.to(dtype)(inp.to(dtype))
    outs[dtype] = seen['out'].flatten()
exact = outs[torch.float64]
distance = torch.stack([(exact - k).abs() for k in kinks]).min(dim=0).values
for i in torch.argsort(distance)[:count].tolist():
    print(f'{i}\tfloat64 {exact[i].item():.9g}\tPyTorch float32 {outs[torch.float32][i].item():.9g}')
