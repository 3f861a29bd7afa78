"""Reference values for the preprocessing's fit and toGrayscale steps, computed by PIL and torchvision
(Debian's python3-torchvision 0.14, Pillow): Resize(S) + CenterCrop(S) (bilinear, PIL) and
Image.convert('L') on a few seeded random images of odd sizes. Writes test/fixtures/preprocessing.json,
which test/data/preprocessing.test.ts compares with.

  /usr/bin/python3 dev/preprocessing-reference.py
"""
import json
import os

import numpy as np
from PIL import Image
from torchvision import transforms as T

rng = np.random.default_rng(7)
cases = []
for (h, w, size) in [(23, 37, 16), (48, 64, 28), (30, 20, 32), (16, 16, 16), (9, 40, 12)]:
    # Smooth-ish content (a gradient plus noise), as photos are, so resampling differences would show.
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 / max(w - 1, 1), yy * 255 / max(h - 1, 1), (xx + yy) * 127 / max(h + w - 2, 1)], axis=-1)
    px = np.clip(base + rng.normal(0, 40, size=base.shape), 0, 255).astype(np.uint8)
    img = Image.fromarray(px, 'RGB')
    fitted = T.CenterCrop(size)(T.Resize(size, interpolation=T.InterpolationMode.BILINEAR)(img))
    gray = img.convert('L')
    cases.append({
        'height': h, 'width': w, 'size': size,
        'rgb': px.reshape(-1).tolist(),
        'fit': np.asarray(fitted).reshape(-1).tolist(),
        'gray': np.asarray(gray).reshape(-1).tolist(),
    })
out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'preprocessing.json')
with open(out, 'w') as f:
    json.dump({'source': 'PIL ' + Image.__version__ + ', torchvision Resize + CenterCrop, Image.convert("L")', 'cases': cases}, f)
print('wrote', out, len(cases), 'cases')
