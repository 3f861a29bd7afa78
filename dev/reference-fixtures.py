"""The reference fixtures of ../shared/fixtures (see its README), made again for a clone without ../shared.

  /usr/bin/python3 dev/reference-fixtures.py [OUT]        # default OUT: .cache/reference

Needs Debian's python3-torch and python3-torchvision (PyTorch 1.13 / torchvision 0.14). Writes
OUT/fixtures/reference/<case>/{weights.pth, weights.safetensors (models under 1M params),
case.safetensors, case_exact.safetensors, meta.json}, OUT/fixtures/counts.json and
OUT/reference-bench/mobilenet_v2_cifar.onnx, the layout of ../shared, where the tests look next
(test/reference-fixtures.ts). The weights are random as the README describes (a seeded builder's
initialization, BatchNorm affine parameters and running statistics randomized), but not the same
random values as ../shared's: the tests hold them to the README's tolerances, not to stored numbers.
"""
import collections, json, os, struct, sys
import torch, torchvision
from torch import nn
import torch.nn.functional as F
from torchvision.models._utils import _make_divisible

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, '.cache', 'reference'))


# --- the two families torchvision does not have, as the fixtures' README defines them ---

def conv_bn_act(inp, oup, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(inp, oup, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))


class MobileNetV1(nn.Module):
    """features.0 stem Conv-BN-ReLU6; features.1-13 Sequential(dw, pw); global average pool; classifier Sequential(Dropout, Linear)."""
    SETTING = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]

    def __init__(self, width_mult=1.0, num_classes=1000, dropout=0.2):
        super().__init__()
        c = _make_divisible(32 * width_mult, 8)
        layers = [conv_bn_act(3, c, 3, 2)]
        for out, s in self.SETTING:
            out = _make_divisible(out * width_mult, 8)
            layers.append(nn.Sequential(conv_bn_act(c, c, 3, s, groups=c), conv_bn_act(c, out, 1, 1)))
            c = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


class ShuffleV1Block(nn.Module):
    """megvii ShuffleNet-Series ShuffleNetV1/blocks.py."""

    def __init__(self, inp, oup, group, first_group, mid_channels, stride):
        super().__init__()
        self.stride, self.group = stride, group
        outputs = oup - inp if stride == 2 else oup
        self.branch_main_1 = nn.Sequential(
            nn.Conv2d(inp, mid_channels, 1, 1, 0, groups=1 if first_group else group, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, stride, 1, groups=mid_channels, bias=False),
            nn.BatchNorm2d(mid_channels))
        self.branch_main_2 = nn.Sequential(nn.Conv2d(mid_channels, outputs, 1, 1, 0, groups=group, bias=False), nn.BatchNorm2d(outputs))
        if stride == 2:
            self.branch_proj = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, old_x):
        x = self.branch_main_1(old_x)
        if self.group > 1:
            b, c, h, w = x.shape
            x = x.reshape(b, c // self.group, self.group, h, w).permute(0, 2, 1, 3, 4).reshape(b, c, h, w)
        x = self.branch_main_2(x)
        return F.relu(x + old_x) if self.stride == 1 else torch.cat((self.branch_proj(old_x), F.relu(x)), 1)


class ShuffleNetV1(nn.Module):
    """megvii ShuffleNet-Series ShuffleNetV1/network.py (their channel tables for groups 3 and 8)."""
    CHANNELS = {
        3: {'0.5x': [12, 120, 240, 480], '1.0x': [24, 240, 480, 960], '1.5x': [24, 360, 720, 1440], '2.0x': [48, 480, 960, 1920]},
        8: {'0.5x': [16, 192, 384, 768], '1.0x': [24, 384, 768, 1536], '1.5x': [24, 576, 1152, 2304], '2.0x': [48, 768, 1536, 3072]},
    }

    def __init__(self, n_class=1000, model_size='2.0x', group=3):
        super().__init__()
        self.stage_out_channels = [-1] + self.CHANNELS[group][model_size]
        input_channel = self.stage_out_channels[1]
        self.first_conv = nn.Sequential(nn.Conv2d(3, input_channel, 3, 2, 1, bias=False), nn.BatchNorm2d(input_channel), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        features = []
        for stage, repeats in enumerate([4, 8, 4]):
            output_channel = self.stage_out_channels[stage + 2]
            for i in range(repeats):
                features.append(ShuffleV1Block(input_channel, output_channel, group, stage == 0 and i == 0, output_channel // 4, 2 if i == 0 else 1))
                input_channel = output_channel
        self.features = nn.Sequential(*features)
        self.globalpool = nn.AvgPool2d(7)
        self.classifier = nn.Sequential(nn.Linear(self.stage_out_channels[-1], n_class, bias=False))

    def forward(self, x):
        x = self.globalpool(self.features(self.maxpool(self.first_conv(x))))
        return self.classifier(x.contiguous().view(-1, self.stage_out_channels[-1]))


def build(builder, args):
    if builder == 'mobilenet_v1':
        return MobileNetV1(**args)
    if builder == 'shufflenet_v1':
        return ShuffleNetV1(n_class=args.get('num_classes', 1000), model_size=args['model_size'], group=args['group'])
    return getattr(torchvision.models, builder)(**args)


# --- counts ---

def count(model, input_shape):
    """Parameters, and multiply-accumulates of convolutions and fully connected layers for one image."""
    macs = 0

    def hook(m, inp, out):
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            macs += out[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    for h in handles:
        h.remove()
    return sum(p.numel() for p in model.parameters()), macs


COUNTS = [('mobilenet_v1', {'width_mult': w}, [3, 224, 224]) for w in (0.25, 0.5, 0.75, 1.0)] + \
    [('mobilenet_v2', {'width_mult': w}, [3, 224, 224]) for w in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)] + \
    [(n, a, [3, 224, 224]) for n in ('mobilenet_v3_large', 'mobilenet_v3_small') for a in ({'width_mult': 0.75}, {'width_mult': 1.0}, {'reduced_tail': True})] + \
    [('shufflenet_v1', {'group': g, 'model_size': s}, [3, 224, 224]) for g in (3, 8) for s in ('0.5x', '1.0x', '1.5x', '2.0x')] + \
    [(f'shufflenet_v2_{s}', {}, [3, 224, 224]) for s in ('x0_5', 'x1_0', 'x1_5', 'x2_0')] + \
    [('mobilenet_v2', {'width_mult': 1.0, 'num_classes': 10}, [3, 32, 32]), ('mobilenet_v1', {'width_mult': 1.0, 'num_classes': 10}, [3, 160, 160])]


# --- reference cases ---

CASES = [
    ('mobilenet_v1_0.5_224', 'mobilenet_v1', {'dropout': 0.0, 'width_mult': 0.5}, [2, 3, 224, 224], 1),
    ('mobilenet_v2_0.5_cifar', 'mobilenet_v2', {'dropout': 0.0, 'width_mult': 0.5, 'num_classes': 10}, [4, 3, 32, 32], 3),
    ('mobilenet_v2_1.0_224', 'mobilenet_v2', {'dropout': 0.0}, [2, 3, 224, 224], 2),
    ('mobilenet_v3_large_1.0_224', 'mobilenet_v3_large', {'dropout': 0.0}, [2, 3, 224, 224], 4),
    ('mobilenet_v3_small_1.0_224', 'mobilenet_v3_small', {'dropout': 0.0}, [2, 3, 224, 224], 5),
    ('shufflenet_v1_g3_1.0x_224', 'shufflenet_v1', {'group': 3, 'model_size': '1.0x'}, [2, 3, 224, 224], 6),
    ('shufflenet_v2_x1_0_224', 'shufflenet_v2_x1_0', {}, [2, 3, 224, 224], 7),
]


def randomize_batchnorm(model):
    """BatchNorm affine parameters and running statistics random, so eval-mode BatchNorm is not an identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.25)
                m.bias.normal_(0, 0.08)
                m.running_mean.normal_(0, 0.12)
                m.running_var.uniform_(0.5, 1.5)


def save_safetensors(path, tensors):
    """The safetensors format: an 8-byte little-endian header length, the JSON header, the raw data."""
    dtypes = {torch.float32: 'F32', torch.int64: 'I64', torch.float64: 'F64'}
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {'dtype': dtypes[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def outputs(model, x, labels, keep_grad):
    """Eval logits, train-mode logits and loss, the gradients and the BatchNorm buffers after that forward."""
    model.eval()
    with torch.no_grad():
        logits_eval = model(x)
    model.train()
    model.zero_grad()
    logits_train = model(x)
    loss = F.cross_entropy(logits_train, labels)
    loss.backward()
    out = collections.OrderedDict(logits_eval=logits_eval, logits_train=logits_train.detach(), loss=loss.detach().reshape(1))
    for n, p in model.named_parameters():
        if keep_grad(p):
            out[f'grad/{n}'] = p.grad.detach().clone()
    for n, b in model.named_buffers():
        out[f'running_after/{n}'] = b.detach().clone()
    return out


def rel_max(a, b):
    return float((a.double() - b).abs().max() / b.abs().max())


def make_case(case_id, builder, args, input_shape, seed):
    d = os.path.join(OUT, 'fixtures', 'reference', case_id)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(seed)
    model = build(builder, args)
    randomize_batchnorm(model)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    params, macs = count(model, input_shape[1:])
    model.load_state_dict(state)
    torch.save(state, os.path.join(d, 'weights.pth'))
    if params < 1_000_000:
        save_safetensors(os.path.join(d, 'weights.safetensors'), state)
    x = torch.randn(*input_shape)
    labels = torch.randint(0, args.get('num_classes', 1000), (input_shape[0],))
    keep = (lambda p: True) if params < 1_000_000 else (lambda p: p.numel() <= 65536)
    f32 = outputs(model, x, labels, keep)
    model64 = build(builder, args).double()
    model64.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in state.items()})
    f64 = outputs(model64, x.double(), labels, keep)
    save_safetensors(os.path.join(d, 'case.safetensors'), collections.OrderedDict(input=x, labels=labels, **f32))
    save_safetensors(os.path.join(d, 'case_exact.safetensors'), collections.OrderedDict((k, v.float() if v.is_floating_point() else v) for k, v in f64.items()))
    grads = [k for k in f32 if k.startswith('grad/')]
    num = sum(float(((f32[k].double() - f64[k]) ** 2).sum()) for k in grads)
    den = sum(float((f64[k] ** 2).sum()) for k in grads)
    largest = max(float(f64[k].norm()) for k in grads)
    cosines = [float(F.cosine_similarity(f32[k].double().flatten(), f64[k].flatten(), dim=0)) for k in grads if float(f64[k].norm()) > 1e-4 * largest]
    meta = {
        'id': case_id, 'builder': builder, 'args': args, 'input_shape': input_shape, 'num_classes': args.get('num_classes', 1000),
        'params': params, 'macs': macs, 'seed': seed,
        'torch': torch.__version__, 'torchvision': torchvision.__version__,
        'fp32_vs_fp64': {
            'logits_eval': rel_max(f32['logits_eval'], f64['logits_eval']),
            'logits_train': rel_max(f32['logits_train'], f64['logits_train']),
            'loss': float(abs(f32['loss'].double() - f64['loss']) / abs(f64['loss'])),
            'grads_global_rel_l2': (num / den) ** 0.5,
            'grads_min_cosine': min(cosines),
        },
    }
    with open(os.path.join(d, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    print(f'{case_id}: {params:,} params, fp32 vs fp64 gradients {meta["fp32_vs_fp64"]["grads_global_rel_l2"]:.2e}', flush=True)


def mobilenet_v2_cifar(num_classes=10):
    """../shared/reference-bench's network: torchvision's MobileNetV2 structure with a CIFAR stem (stride-1 stem, first stride-2 stage at stride 1)."""
    def cbr(i, o, k=3, s=1, g=1):
        return nn.Sequential(nn.Conv2d(i, o, k, s, (k - 1) // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU6(inplace=True))

    class Block(nn.Module):
        def __init__(self, inp, oup, stride, t):
            super().__init__()
            h = inp * t
            self.conv = nn.Sequential(*(([cbr(inp, h, 1)] if t != 1 else []) + [cbr(h, h, 3, stride, h), nn.Conv2d(h, oup, 1, bias=False), nn.BatchNorm2d(oup)]))
            self.res = stride == 1 and inp == oup

        def forward(self, x):
            return x + self.conv(x) if self.res else self.conv(x)

    cfg = [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
    layers, c = [cbr(3, 32, 3, 1)], 32
    for t, ch, n, s in cfg:
        for i in range(n):
            layers.append(Block(c, ch, s if i == 0 else 1, t))
            c = ch
    layers.append(cbr(c, 1280, 1))
    return nn.Sequential(nn.Sequential(*layers), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(1280, num_classes))


if __name__ == '__main__':
    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    for case in CASES:
        make_case(*case)
    rows = []
    for builder, args, shape in COUNTS:
        params, macs = count(build(builder, args), shape)
        rows.append({'builder': builder, 'args': args, 'input': shape, 'params': params, 'macs': macs})
    with open(os.path.join(OUT, 'fixtures', 'counts.json'), 'w') as f:
        json.dump({'source': 'dev/reference-fixtures.py: torchvision 0.14 builders; MobileNetV1 and ShuffleNetV1 as the fixtures README defines them; MACs = conv + linear multiply-accumulates', 'rows': rows}, f, indent=1)
    print(f'counts.json: {len(rows)} configurations', flush=True)
    bench = os.path.join(OUT, 'reference-bench')
    os.makedirs(bench, exist_ok=True)
    torch.manual_seed(0)
    m = mobilenet_v2_cifar().eval()
    torch.onnx.export(m, torch.randn(2, 3, 32, 32), os.path.join(bench, 'mobilenet_v2_cifar.onnx'), input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
    print(f'fixtures written to {OUT}')
