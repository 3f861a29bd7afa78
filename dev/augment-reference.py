"""Reference outputs of torchvision 0.14's augmentations on PIL images (Debian's python3-torchvision,
Pillow), for test/data/augment.test.ts: every op of AutoAugment / RandAugment / TrivialAugmentWide at
chosen magnitudes (torchvision's `_apply_op`), ColorJitter with given factors and order, the crop and
resize of RandomResizedCrop for given boxes, RandomResizedCrop's fallback box, the magnitude tables
(`_augmentation_space`) and AutoAugment's policies. Writes test/fixtures/augment.json.

  /usr/bin/python3 dev/augment-reference.py
"""
import base64
import json
import os

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F
from torchvision.transforms import autoaugment as AA

rng = np.random.default_rng(17)
H, W = 12, 16


def make_rgb():
    # A gradient with noise in a narrowed range, so autocontrast and equalize have work to do.
    yy, xx = np.mgrid[0:H, 0:W]
    base = np.stack([40 + xx * 150 / (W - 1), 30 + yy * 170 / (H - 1), 60 + (xx + yy) * 100 / (H + W - 2)], axis=-1)
    return np.clip(base + rng.normal(0, 25, size=base.shape), 0, 255).astype(np.uint8)


rgb = make_rgb()
gray = np.asarray(Image.fromarray(make_rgb(), 'RGB').convert('L'))
images = {'rgb': Image.fromarray(rgb, 'RGB'), 'gray': Image.fromarray(gray, 'L')}


def b64(img):
    return base64.b64encode(np.asarray(img, dtype=np.uint8).tobytes()).decode()


def space(table):
    return {k: {'magnitudes': [float(v) for v in m.reshape(-1).tolist()], 'signed': s} for k, (m, s) in table.items()}


spaces = {
    'autoAugment': space(AA.AutoAugment()._augmentation_space(10, (H, W))),
    'randAugment': space(AA.RandAugment()._augmentation_space(31, (H, W))),
    'trivialAugmentWide': space(AA.TrivialAugmentWide()._augmentation_space(31)),
}
policies = {p.value: [[list(op) for op in pair] for pair in AA.AutoAugment(p).policies] for p in AA.AutoAugmentPolicy}

ops = []
picks = {'autoAugment': [2, 9], 'randAugment': [9], 'trivialAugmentWide': [5, 19, 20, 25]}
seen = set()
for name, table in spaces.items():
    for op, entry in table.items():
        mags = entry['magnitudes']
        bins = picks[name] if len(mags) > 1 else [0]
        for b in bins:
            for sign in ([1.0, -1.0] if entry['signed'] else [1.0]):
                magnitude = mags[b] * sign
                for key, img in images.items():
                    # The 1-channel image at the first magnitude of each table only (the fixture stays small).
                    if (op, magnitude, key) in seen or (key == 'gray' and b != bins[0]):
                        continue
                    seen.add((op, magnitude, key))
                    out = AA._apply_op(img, op, magnitude, interpolation=InterpolationMode.NEAREST, fill=None)
                    ops.append({'image': key, 'op': op, 'magnitude': magnitude, 'out': b64(out)})

jitter = []
for key, img in images.items():
    for order, b, c, s, h in [
        ([0, 1, 2, 3], 1.3, 0.7, 1.4, 0.1),
        ([3, 2, 1, 0], 0.6, 1.5, 0.5, -0.2),
        ([2, 0, 3, 1], 1.0, 1.0, 0.0, 0.45),
        ([1, 3, 0, 2], 1.9, 0.2, 1.9, -0.5),
    ]:
        out = img
        for fn in order:
            out = [lambda x: F.adjust_brightness(x, b), lambda x: F.adjust_contrast(x, c),
                   lambda x: F.adjust_saturation(x, s), lambda x: F.adjust_hue(x, h)][fn](out)
        jitter.append({'image': key, 'order': order, 'brightness': b, 'contrast': c, 'saturation': s, 'hue': h, 'out': b64(out)})

crops = []
for key, img in images.items():
    for (top, left, h, w, size) in [(0, 0, H, W, (8, 8)), (2, 3, 7, 9, (10, 14)), (5, 1, 6, 12, (24, 20)), (1, 2, 11, 13, (12, 16))]:
        out = F.resized_crop(img, top, left, h, w, list(size), InterpolationMode.BILINEAR)
        crops.append({'image': key, 'top': top, 'left': left, 'height': h, 'width': w, 'size': list(size), 'out': b64(out)})

fallback = []
for (h, w) in [(20, 30), (30, 20), (50, 10), (10, 50), (24, 24)]:
    for ratio in [(3 / 4, 4 / 3), (0.5, 2.0)]:
        box = torchvision.transforms.RandomResizedCrop.get_params(torch.zeros(1, h, w), [2.0, 3.0], list(ratio))
        fallback.append({'height': h, 'width': w, 'ratio': list(ratio), 'box': [int(v) for v in box]})

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'augment.json')
with open(out, 'w') as f:
    json.dump({
        'source': f'torchvision {torchvision.__version__}, PIL {Image.__version__}, torch {torch.__version__}',
        'height': H, 'width': W,
        'images': {k: b64(v) for k, v in images.items()},
        'spaces': spaces, 'policies': policies,
        'ops': ops, 'colorJitter': jitter, 'resizedCrop': crops, 'fallback': fallback,
    }, f)
print('wrote', out, len(ops), 'op cases', os.path.getsize(out), 'bytes')
