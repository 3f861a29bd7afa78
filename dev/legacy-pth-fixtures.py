"""Checkpoint fixtures made by PyTorch for test/io/pth-legacy.test.ts, and the check that torch.load
reads what our .pth writer writes.

  /usr/bin/python3 dev/legacy-pth-fixtures.py write            # (re)writes test/fixtures/pth/
  node --import tsx dev/write-pth-sample.ts /tmp/pth-sample     # our writer's files + safetensors twins
  /usr/bin/python3 dev/legacy-pth-fixtures.py verify /tmp/pth-sample

Needs Debian's python3-torch and python3-torchvision (PyTorch 1.13), not a pyenv python.

`write` saves small random-weight state dicts of every family in the legacy format
(torch.save(..., _use_new_zipfile_serialization=False)) and a few special files, then reads every
file back with torch.load and writes `<file>.json`: per tensor dtype, shape, float64 sum, first
values and the sha256 of its contiguous bytes in the form mobilezoo holds it (float16 widened to
float32), so the tests compare against PyTorch's own reading. For a wrapped checkpoint the JSON
describes the state dict under 'state_dict' with the 'module.' prefix removed. Legacy storage keys
are memory addresses, so rerunning changes the bytes but not the tensors.

`verify DIR` torch.load(weights_only=True)s every DIR/*.pth, compares each tensor bit for bit with
DIR/<same name>.safetensors, checks the zip layout torch itself writes (entries stored, data
64-byte aligned) and, where DIR/manifest.json names the model, loads the state dict strictly into
the reference implementation. It prints one line per file and a verdict.
"""
import collections, hashlib, io, json, os, pickle, struct, sys, tarfile, zipfile
import torch, torchvision
from torch import nn
from torchvision.models._utils import _make_divisible

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'pth')
MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001
SYS_INFO = dict(protocol_version=PROTOCOL_VERSION, little_endian=True, type_sizes=dict(short=2, int=4, long=8))


# --- the two families torchvision does not have, with the key names the references use ---

def conv_bn_act(inp, oup, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(inp, oup, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(oup), nn.ReLU6())


class MobileNetV1(nn.Module):
    """torchvision-style MobileNetV1 (test/fixtures README of ../shared): features.0 stem, features.1-13 Sequential(dw, pw)."""
    SETTING = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]

    def __init__(self, width_mult, num_classes):
        super().__init__()
        c = _make_divisible(32 * width_mult, 8)
        layers = [conv_bn_act(3, c, 3, 2)]
        for out, s in self.SETTING:
            out = _make_divisible(out * width_mult, 8)
            layers.append(nn.Sequential(conv_bn_act(c, c, 3, s, groups=c), conv_bn_act(c, out, 1, 1)))
            c = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(c, num_classes))


class ShuffleV1Block(nn.Module):
    """megvii ShuffleNet-Series ShuffleNetV1/blocks.py (the parameters; forward is not needed here)."""

    def __init__(self, inp, oup, group, first_group, mid_channels, stride):
        super().__init__()
        outputs = oup - inp if stride == 2 else oup
        self.branch_main_1 = nn.Sequential(
            nn.Conv2d(inp, mid_channels, 1, 1, 0, groups=1 if first_group else group, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, mid_channels, 3, stride, 1, groups=mid_channels, bias=False),
            nn.BatchNorm2d(mid_channels))
        self.branch_main_2 = nn.Sequential(nn.Conv2d(mid_channels, outputs, 1, 1, 0, groups=group, bias=False), nn.BatchNorm2d(outputs))
        if stride == 2:
            self.branch_proj = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)


class ShuffleNetV1(nn.Module):
    """megvii ShuffleNetV1/network.py with stage_out_channels given (megvii's tables, or the paper's x size)."""

    def __init__(self, stage_out_channels, group, n_class):
        super().__init__()
        input_channel = stage_out_channels[0]
        self.first_conv = nn.Sequential(nn.Conv2d(3, input_channel, 3, 2, 1, bias=False), nn.BatchNorm2d(input_channel), nn.ReLU(inplace=True))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        features = []
        for stage, repeats in enumerate([4, 8, 4]):
            output_channel = stage_out_channels[stage + 1]
            for i in range(repeats):
                features.append(ShuffleV1Block(input_channel, output_channel, group, stage == 0 and i == 0, output_channel // 4, 2 if i == 0 else 1))
                input_channel = output_channel
        self.features = nn.Sequential(*features)
        self.globalpool = nn.AvgPool2d(7)
        self.classifier = nn.Sequential(nn.Linear(stage_out_channels[-1], n_class, bias=False))


# The smallest configurations of each family (mobilezoo createModel options -> reference module).
def reference_model(name, options):
    w, k = options.get('widthMult', 1.0), options.get('numClasses', 1000)
    if name == 'mobilenet_v1':
        return MobileNetV1(w, k)
    if name == 'mobilenet_v2':
        return torchvision.models.mobilenet_v2(width_mult=w, num_classes=k)
    if name in ('mobilenet_v3_small', 'mobilenet_v3_large'):
        return getattr(torchvision.models, name)(width_mult=w, num_classes=k, reduced_tail=options.get('reducedTail', False))
    if name == 'shufflenet_v1':
        # mobilezoo's shuffleNetV1Channels(3, '0.25x'): the paper's Table 1 channels x 0.25, multiples of 12, 24-channel stem.
        channels = {(3, '0.25x'): [24, 60, 120, 240], (3, '0.5x'): [12, 120, 240, 480], (8, '0.5x'): [16, 192, 384, 768]}
        return ShuffleNetV1(channels[(options['groups'], options['size'])], options['groups'], k)
    if name.startswith('shufflenet_v2_'):
        return getattr(torchvision.models, name)(num_classes=k)
    raise KeyError(name)


def random_state_dict(name, options, seed):
    """The module's state dict with every value random: BatchNorm statistics and counters included."""
    torch.manual_seed(seed)
    sd = reference_model(name, options).state_dict()
    for k, v in sd.items():
        if v.is_floating_point():
            v.copy_(torch.rand_like(v) + 0.5 if k.endswith('running_var') else torch.randn_like(v))
        else:
            v.fill_(int(torch.randint(1, 2 ** 40, ())))  # num_batches_tracked: beyond 32 bits
    return sd


# The smallest ShuffleNets still hold 68k (V1 0.25x, 10 classes) and 352k (V2 x0.5) parameters, so
# their fixtures keep every float tensor as a window of one shared storage of POOL random values,
# with rows overlapping where a tensor is larger (dim-0 stride below the row size).
POOL = 8192
WINDOWS_NOTE = f'float tensors are windows of one shared {POOL}-element storage, rows overlapping in the larger ones'


def windows_of_one_storage(sd, seed):
    torch.manual_seed(seed)
    pool = torch.randn(POOL)
    out = collections.OrderedDict()
    for i, (k, v) in enumerate(sd.items()):
        if not v.is_floating_point():
            out[k] = v
            continue
        n, stride = v.numel(), list(torch.empty(v.shape).stride())
        if n > POOL:
            stride[0] = (POOL - n // v.shape[0]) // (v.shape[0] - 1)
            offset = 0
        else:
            offset = (i * 977) % (POOL - n + 1)
        out[k] = pool.as_strided(v.shape, stride, offset)
    return out


# --- fixture files ---

def save_legacy(obj, name):
    torch.save(obj, os.path.join(OUT, name), _use_new_zipfile_serialization=False)


def storage_record(t):
    """A storage as Storage._write_file(f, ..., save_size=True, element_size) writes it: numel (int64 LE), then the bytes."""
    return struct.pack('<q', t.numel()) + t.contiguous().numpy().tobytes()


def storage_class(t):
    return {torch.float32: torch.FloatStorage, torch.int64: torch.LongStorage}[t.dtype]


def legacy_bytes(obj_pickle, storages):
    """A legacy file assembled by hand (for what torch 1.13 no longer writes): the header pickles,
    the object pickle, the key list, then each storage (given as a 1-D tensor) in key order."""
    f = io.BytesIO()
    for header in (MAGIC_NUMBER, PROTOCOL_VERSION, SYS_INFO):
        pickle.dump(header, f, protocol=2)
    f.write(obj_pickle)
    pickle.dump(list(storages), f, protocol=2)
    for t in storages.values():
        f.write(storage_record(t))
    return f.getvalue()


def pre_1_0_file():
    """What PyTorch < 0.4 pickled (torch._utils._rebuild_tensor, no requires_grad/hooks) with the
    pre-1.0 storage view_metadata (view_key, offset, view_size) and a CUDA location: each tensor
    refers to a view of one root storage."""
    root = torch.arange(20, dtype=torch.float32) * 0.25 - 1
    counts = torch.tensor([7, -3, 2 ** 40], dtype=torch.int64)
    entries = [  # name, root storage, (view offset, view size), tensor offset in the view, size, stride
        ('whole', 'r0', root, None, 0, (4, 5), (5, 1)),
        ('view_a', 'r0', root, ('v1', 4, 8), 2, (2, 3), (3, 1)),
        ('view_b_t', 'r0', root, ('v2', 10, 10), 1, (3, 2), (1, 4)),
        ('counts', 'r1', counts, None, 0, (3,), (1,)),
    ]

    class Rebuild:
        def __init__(self, e):
            self.e = e

        def __reduce__(self):
            _, key, data, view, offset, size, stride = self.e
            return (torch._utils._rebuild_tensor, (StorageId(key, data, view), offset, size, stride))

    class StorageId:
        def __init__(self, key, data, view):
            self.pid = ('storage', storage_class(data), key, 'cuda:0', data.numel(), view)

    f = io.BytesIO()
    p = pickle.Pickler(f, protocol=2)
    p.persistent_id = lambda obj: obj.pid if isinstance(obj, StorageId) else None
    p.dump(collections.OrderedDict((e[0], Rebuild(e)) for e in entries))
    return legacy_bytes(f.getvalue(), {'r0': root, 'r1': counts})


def tar_file(sd):
    """The tar-archive torch.save of the earliest releases, built as torch.serialization's
    legacy_load reads it (members sys_info, pickle, tensors, storages)."""
    members = {'sys_info': pickle.dumps(SYS_INFO, protocol=2)}
    s = io.BytesIO()
    pickle.dump(len(sd), s, protocol=2)
    for key, v in enumerate(sd.values()):
        pickle.dump((key, 'cpu', storage_class(v)), s, protocol=2)
        s.write(storage_record(v))
    pickle.dump([], s, protocol=2)  # storage views
    members['storages'] = s.getvalue()
    t = io.BytesIO()
    pickle.dump(len(sd), t, protocol=2)
    for key, v in enumerate(sd.values()):
        pickle.dump((100 + key, key, type(v)), t, protocol=2)
        t.write(struct.pack('<ii', v.dim(), 0) + struct.pack(f'<{v.dim()}q', *v.shape) + struct.pack(f'<{v.dim()}q', *v.stride())
                + struct.pack('<q', v.storage_offset()))
    members['tensors'] = t.getvalue()

    class TensorId:
        def __init__(self, key):
            self.key = key

    o = io.BytesIO()
    p = pickle.Pickler(o, protocol=2)
    p.persistent_id = lambda obj: str(obj.key) if isinstance(obj, TensorId) else None
    p.dump(collections.OrderedDict((k, TensorId(100 + i)) for i, k in enumerate(sd)))
    members['pickle'] = o.getvalue()
    f = io.BytesIO()
    with tarfile.open(fileobj=f, mode='w:', format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return f.getvalue()


class Hostile:
    """Pickles as a call of os.system; pickling it runs nothing, torch.load(weights_only=False) would run it."""

    def __reduce__(self):
        return (os.system, ('touch mobilezoo-hostile-marker',))


def host_bytes(t):
    """The tensor's contiguous bytes as mobilezoo holds it: half types widened to float32."""
    t = t.detach().cpu().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return t.numpy().tobytes()


def describe_tensor(t):
    """dtype and shape as PyTorch has them; float64 sum (12 digits) and first values; sha256 (first 16 hex digits) of host_bytes."""
    flat = t.detach().flatten()
    return dict(dtype=str(t.dtype).replace('torch.', ''), shape=list(t.shape), sum=float(f'{flat.double().sum().item():.12g}'),
                first=flat[:2].double().tolist(), sha=hashlib.sha256(host_bytes(t)).hexdigest()[:16])


def record(name, loaded, model=None, options=None, note=''):
    """`<name>.json`: what torch.load read from `<name>` (after unwrapping {'state_dict': {'module.' + k}})."""
    sd = loaded
    if 'state_dict' in sd:
        sd = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in sd['state_dict'].items()}
    meta = dict(file=name, bytes=os.path.getsize(os.path.join(OUT, name)), torch=torch.__version__, note=note,
                model=model, options=options, state_dict={k: describe_tensor(v) for k, v in sd.items()})
    with open(os.path.join(OUT, name + '.json'), 'w') as f:
        json.dump(meta, f, separators=(',', ':'))
        f.write('\n')


def write():
    os.makedirs(OUT, exist_ok=True)
    families = [
        ('mobilenet_v1', dict(widthMult=0.1, numClasses=10), 'mobilenet_v1_w0.1.pth', ''),
        ('mobilenet_v2', dict(widthMult=0.1, numClasses=10), 'mobilenet_v2_w0.1_fp16.pth', 'float tensors saved as float16 ({k: v.half()})'),
        ('mobilenet_v3_small', dict(widthMult=0.1, numClasses=10), 'mobilenet_v3_small_w0.1.pth', ''),
    ]
    for seed, (model, options, name, note) in enumerate(families):
        sd = random_state_dict(model, options, seed)
        if 'fp16' in name:
            sd = collections.OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items())
        save_legacy(sd, name)
        record(name, torch.load(os.path.join(OUT, name)), model, options, note)

    # megvii ShuffleNet-Series: torch.save({'state_dict': DataParallel(model).state_dict()}, '...pth.tar'), here with
    # the extra entries other training scripts add (epoch, arch, an optimizer state with a momentum buffer).
    options = dict(groups=3, size='0.25x', numClasses=10)
    net = reference_model('shufflenet_v1', options)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    net.classifier[0].weight.grad = torch.randn_like(net.classifier[0].weight)
    optimizer.step()
    state_dict = windows_of_one_storage(random_state_dict('shufflenet_v1', options, 10), 10)
    net.load_state_dict(state_dict)
    wrapped = dict(epoch=240, arch='shufflenet_v1', state_dict=collections.OrderedDict(('module.' + k, v) for k, v in state_dict.items()),
                   optimizer=optimizer.state_dict())
    name = 'shufflenet_v1_g3_0.25x.pth.tar'
    save_legacy(wrapped, name)
    record(name, torch.load(os.path.join(OUT, name)), 'shufflenet_v1', options,
           "{'state_dict': {'module.' + k: v}, 'epoch', 'arch', 'optimizer'}; " + WINDOWS_NOTE)

    options = dict(numClasses=10)
    views = windows_of_one_storage(random_state_dict('shufflenet_v2_x0_5', options, 11), 11)
    reference_model('shufflenet_v2_x0_5', options).load_state_dict(views)
    name = 'shufflenet_v2_x0_5_windows.pth'
    save_legacy(views, name)
    record(name, torch.load(os.path.join(OUT, name)), 'shufflenet_v2_x0_5', options, WINDOWS_NOTE)

    # Views of one storage: slices with offsets, a transpose, a tied entry; legacy and zip.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    views = collections.OrderedDict(whole=base, rows=base[1:3], column=base[:, 2], transposed=base.t(), tied=base,
                                    counts=torch.tensor([3, 2 ** 33], dtype=torch.int64), scalar=torch.tensor(2.5, dtype=torch.float64))
    for name, zip_format in (('views.legacy.pth', False), ('views.zip.pth', True)):
        torch.save(views, os.path.join(OUT, name), _use_new_zipfile_serialization=zip_format)
        record(name, torch.load(os.path.join(OUT, name)), note='views of one storage: offsets, strides, a tied entry')

    name = 'pre-1.0-views.pth'
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(pre_1_0_file())
    record(name, torch.load(os.path.join(OUT, name), map_location='cpu'),
           note='torch._utils._rebuild_tensor, storage view_metadata, location cuda:0 (assembled by hand, read by torch.load)')

    name = 'tar-format.pth'
    small = collections.OrderedDict(w=torch.arange(6, dtype=torch.float32).reshape(2, 3), n=torch.tensor(5))
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(tar_file(small))
    record(name, torch.load(os.path.join(OUT, name)), note='the tar-archive format, read by torch.load; mobilezoo refuses it')

    name = 'hostile.pth'
    hostile = collections.OrderedDict(weight=Hostile())
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(legacy_bytes(pickle.dumps(hostile, protocol=2), {}))
    print('wrote (never loaded)', name)

    for f in sorted(os.listdir(OUT)):
        print(f'{os.path.getsize(os.path.join(OUT, f)):>9,}  {f}')


# --- verifying our writer ---

def read_safetensors(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    header = json.loads(b[8:8 + n])
    dtypes = {'F64': torch.float64, 'F32': torch.float32, 'I64': torch.int64, 'I32': torch.int32, 'U8': torch.uint8, 'BOOL': torch.bool}
    out = collections.OrderedDict()
    for k, v in sorted(((k, v) for k, v in header.items() if k != '__metadata__'), key=lambda kv: kv[1]['data_offsets']):
        s, e = v['data_offsets']
        out[k] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=dtypes[v['dtype']]).reshape(v['shape']) if e > s \
            else torch.empty(v['shape'], dtype=dtypes[v['dtype']])
    return out


def check_zip_layout(path):
    problems = []
    with zipfile.ZipFile(path) as z, open(path, 'rb') as f:
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                problems.append(f'{info.filename} is compressed')
            f.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack('<HH', f.read(4))
            start = info.header_offset + 30 + name_len + extra_len
            if start % 64:
                problems.append(f'{info.filename} data at {start}, not 64-aligned')
        names = z.namelist()
    for needed in ('archive/data.pkl', 'archive/version', 'archive/byteorder'):
        if needed not in names:
            problems.append(f'no {needed}')
    return problems


def verify(sample_dir):
    manifest = json.load(open(os.path.join(sample_dir, 'manifest.json')))
    files = sorted(f for f in os.listdir(sample_dir) if f.endswith('.pth'))
    failures = 0
    for f in files:
        path = os.path.join(sample_dir, f)
        problems = check_zip_layout(path)
        ours = torch.load(path, weights_only=True)
        source = read_safetensors(os.path.join(sample_dir, f[:-len('.pth')] + '.safetensors'))
        # read_safetensors lists tensors in data order, which is state-dict order for our writer.
        if list(ours) != list(source):
            problems.append(f'keys or their order differ: {sorted(set(ours) ^ set(source))}')
        for k in source:
            a, b = ours.get(k), source[k]
            if a is None:
                continue
            if a.dtype != b.dtype or list(a.shape) != list(b.shape):
                problems.append(f'{k}: {a.dtype} {list(a.shape)} vs {b.dtype} {list(b.shape)}')
            elif a.contiguous().numpy().tobytes() != b.contiguous().numpy().tobytes():
                problems.append(f'{k}: bytes differ')
        entry = manifest.get(f, {})
        if entry.get('model'):
            try:
                reference_model(entry['model'], entry['options']).load_state_dict(ours, strict=True)
                loaded = f', load_state_dict(strict=True) into the reference {entry["model"]}'
            except Exception as e:  # noqa: BLE001 - reported as a failure
                problems.append(f'load_state_dict: {e}')
        else:
            loaded = ''
        if entry.get('tied'):
            a, b = entry['tied']
            if ours[a].data_ptr() != ours[b].data_ptr():
                problems.append(f'{a} and {b} do not share a storage')
        dtypes = sorted({str(t.dtype).replace('torch.', '') for t in ours.values()})
        if problems:
            failures += 1
            print(f'FAIL {f}: ' + '; '.join(problems[:5]))
        else:
            print(f'ok   {f}: {len(ours)} tensors bit-equal ({", ".join(dtypes)}), stored, 64-byte aligned{loaded}')
    verdict = 'PASS' if failures == 0 and files else 'FAIL'
    print(f'VERDICT: {verdict}: torch {torch.__version__} torch.load(weights_only=True) read {len(files) - failures} of {len(files)} '
          'files written by mobilezoo writePth bit-exactly')
    return failures == 0 and bool(files)


if __name__ == '__main__':
    mode = sys.argv[1] if len(sys.argv) > 1 else 'write'
    if mode == 'write':
        write()
    elif mode == 'verify' and len(sys.argv) == 3:
        sys.exit(0 if verify(sys.argv[2]) else 1)
    else:
        sys.exit(__doc__)
