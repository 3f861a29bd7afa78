"""Hostile checkpoint files of issue 20's audit, small enough to commit, for test/io/hostile.test.ts and
test/workflow/hostile-inputs.test.ts. Made by PyTorch 1.13 (Debian's python3-torch): torch.save writes
them exactly as a user's (or an attacker's) PyTorch would. Bigger or system-dependent hostile inputs (zip
bombs, FIFOs, symlinks to devices, checkpoint records) are made by the tests in temporary folders.

  /usr/bin/python3 dev/hostile-inputs.py

Writes test/fixtures/hostile/:
- cycle.pth: the audit's 154-byte zip whose pickled dict holds itself under 'state_dict' (the state-dict
  unwrapping followed it forever).
- stride0-f16.pth, stride0-f32.pth: one tensor of 10^9 elements with stride 0 over a 2-element storage,
  named like MobileNetV2's classifier weight (the f16 one killed Node: heap out of memory).
- stride0-f16-legacy.pth: the same in the legacy (non-zip) format.
- width100.safetensors: one tiny tensor and a mobilezoo checkpoint record in its metadata that asks for
  MobileNetV2 with widthMult 100 (some 21 billion parameters).
"""
import json
import os
import struct
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'hostile')
os.makedirs(OUT, exist_ok=True)
path = lambda name: os.path.join(OUT, name)

# The audit's reproduction, byte for byte: PROTO 2, EMPTY_DICT, BINPUT 0, 'state_dict', BINGET 0, SETITEM, STOP.
with zipfile.ZipFile(path('cycle.pth'), 'w') as z:
    z.writestr('archive/data.pkl', b'\x80\x02}q\x00X\n\x00\x00\x00state_dicth\x00s.')

N = 10 ** 9
for dtype, name in [(torch.float16, 'stride0-f16.pth'), (torch.float32, 'stride0-f32.pth')]:
    view = torch.zeros(2, dtype=dtype).as_strided((N,), (0,))
    torch.save({'classifier.1.weight': view}, path(name))
torch.save({'classifier.1.weight': torch.zeros(2, dtype=torch.float16).as_strided((N,), (0,))},
           path('stride0-f16-legacy.pth'), _use_new_zipfile_serialization=False)

record = {
    'format': 'mobilezoo-checkpoint', 'version': 2, 'tag': 'last', 'createdAt': '2024-01-01T00:00:00.000Z',
    'model': {'name': 'mobilenet_v2', 'options': {'widthMult': 100, 'numClasses': 10, 'stem': 'cifar', 'seed': 0},
              'numClasses': 10, 'inputSize': [3, 32, 32], 'params': 0, 'macs': 0},
    'dataset': {'name': 'synthetic', 'title': 'synthetic', 'classNames': [f'class{i}' for i in range(10)],
                'trainSize': 1, 'testSize': 1, 'options': {}},
    'preprocessing': {'source': {'channels': 3, 'height': 32, 'width': 32},
                      'transform': [{'op': 'normalize', 'mean': [0.5, 0.5, 0.5], 'std': [0.25, 0.25, 0.25]}]},
    'epoch': 1, 'epochs': 1, 'progress': {'step': 1, 'stepInEpoch': 0, 'stepsPerEpoch': 1}, 'history': [],
    'optimizer': {}, 'config': {}, 'files': {'weights': 'width100.safetensors', 'optimizer': 'none'},
    'commands': [], 'seconds': 0,
}
header = {'__metadata__': {'format': 'pt', 'mobilezoo': json.dumps(record)},
          'features.0.0.weight': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}
blob = json.dumps(header).encode()
blob += b' ' * (-len(blob) % 8)
with open(path('width100.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(blob)) + blob + struct.pack('<f', 0.0))

for name in sorted(os.listdir(OUT)):
    print(f'{name}: {os.path.getsize(path(name))} bytes')
