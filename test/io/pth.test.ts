import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, numel } from '../../src/tensor.js';
import { loadCheckpoint, readCheckpointObject, readPth, readSafetensors } from '../../src/io/index.js';
import { NO_FIXTURES, REFERENCE } from '../reference-fixtures.js';
import { PickleWriter, f32Bytes, i64Bytes, pickleOf, tensorRef, torchZip, type PyLike } from './pickle-writer.js';

const cases = NO_FIXTURES ? [] : readdirSync(REFERENCE).filter((d) => existsSync(join(REFERENCE, d, 'weights.pth')));
const fixture = (c: string, f: string) => new Uint8Array(readFileSync(join(REFERENCE, c, f)));

test('fixtures: all seven networks are present', { skip: NO_FIXTURES }, () => {
  assert.equal(cases.length, 7);
});

for (const c of cases) {
  test(`weights.pth loads: ${c}`, () => {
    const sd = readPth(fixture(c, 'weights.pth'), `${c}/weights.pth`);
    assert.ok(sd.size > 50, `${sd.size} tensors`);
    for (const [k, t] of sd) {
      assert.equal(t.data.length, numel(t.shape), k);
      if (k.endsWith('num_batches_tracked')) {
        assert.equal(t.dtype, 'int64', k);
        assert.deepEqual(t.shape, [], k);
      } else {
        assert.equal(t.dtype, 'float32', k);
        assert.ok(t.shape.length >= 1 && t.shape.every((d) => d > 0), `${k} [${t.shape}]`);
        assert.ok((t.data as Float32Array).every(Number.isFinite), `${k} has non-finite values`);
      }
    }
  });
}

test('mobilenet_v2_1.0_224: known keys and shapes', { skip: NO_FIXTURES }, () => {
  const sd = readPth(fixture('mobilenet_v2_1.0_224', 'weights.pth'), 'weights.pth');
  assert.deepEqual(sd.get('features.0.0.weight')?.shape, [32, 3, 3, 3]);
  assert.deepEqual(sd.get('classifier.1.weight')?.shape, [1000, 1280]);
  assert.deepEqual(sd.get('classifier.1.bias')?.shape, [1000]);
  assert.deepEqual(sd.get('features.0.1.num_batches_tracked')?.shape, []);
  assert.equal([...sd.keys()][0], 'features.0.0.weight');
});

test('mobilenet_v2_0.5_cifar: weights.pth and weights.safetensors are bitwise identical', { skip: NO_FIXTURES }, () => {
  const pth = readPth(fixture('mobilenet_v2_0.5_cifar', 'weights.pth'), 'weights.pth');
  const st = readSafetensors(fixture('mobilenet_v2_0.5_cifar', 'weights.safetensors'), 'weights.safetensors');
  assert.deepEqual([...pth.keys()], [...st.keys()]);
  for (const [k, a] of pth) {
    const b = st.get(k)!;
    assert.equal(a.dtype, b.dtype, k);
    assert.deepEqual(a.shape, b.shape, k);
    assert.deepEqual(bytesOf(a), bytesOf(b), k);
  }
});

const bytesOf = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

test('non-contiguous views are materialized contiguously', () => {
  const storage = f32Bytes([0, 1, 2, 3, 4, 5]);
  const sd = readPth(
    torchZip(
      pickleOf(
        new Map<string, PyLike>([
          // x.t() for x = arange(6).view(2, 3)
          ['transposed', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 6, size: [3, 2], stride: [1, 3] })],
          ['offset_strided', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 6, offset: 1, size: [2], stride: [2] })],
          ['broadcast', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 6, offset: 5, size: [2, 2], stride: [0, 0] })],
          ['contiguous_slice', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 6, offset: 3, size: [1, 3], stride: [3, 1] })],
          ['empty', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 6, size: [0, 4], stride: [4, 1] })],
        ]),
      ),
      { '0': storage },
    ),
    'views.pth',
  );
  assert.deepEqual([...sd.get('transposed')!.data], [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(sd.get('transposed')!.shape, [3, 2]);
  assert.deepEqual([...sd.get('offset_strided')!.data], [1, 3]);
  assert.deepEqual([...sd.get('broadcast')!.data], [5, 5, 5, 5]);
  assert.deepEqual([...sd.get('contiguous_slice')!.data], [3, 4, 5]);
  assert.deepEqual(sd.get('empty')!.shape, [0, 4]);
  // Tensors own their data: editing one must not change another view of the same storage.
  (sd.get('transposed')!.data as Float32Array)[2] = 99;
  assert.equal(sd.get('offset_strided')!.data[0], 1);
});

test('half, bfloat16, int64, bool and byte storages', () => {
  const half = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800, 0x0001, 0x7c00]).buffer);
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc040]).buffer);
  const ref = (storageType: string, key: string, n: number) =>
    tensorRef({ storageType, key, storageNumel: n, size: [n], stride: [1] });
  const sd = readPth(
    torchZip(
      pickleOf(
        new Map<string, PyLike>([
          ['h', ref('HalfStorage', 'h', 5)],
          ['bf', ref('BFloat16Storage', 'bf', 2)],
          ['n', tensorRef({ storageType: 'LongStorage', key: 'n', storageNumel: 1, size: [], stride: [] })],
          ['mask', ref('BoolStorage', 'mask', 3)],
          ['u8', ref('ByteStorage', 'u8', 3)],
        ]),
      ),
      { h: half, bf: bf16, n: i64Bytes([-7]), mask: Uint8Array.from([1, 0, 1]), u8: Uint8Array.from([0, 128, 255]) },
    ),
    'dtypes.pth',
  );
  assert.equal(sd.get('h')!.dtype, 'float32');
  assert.deepEqual([...sd.get('h')!.data], [1, -2, 0.5, 2 ** -24, Infinity]);
  assert.deepEqual([...sd.get('bf')!.data], [1, -3]);
  assert.equal(sd.get('n')!.dtype, 'int64');
  assert.deepEqual(sd.get('n')!.shape, []);
  assert.deepEqual([...sd.get('n')!.data], [-7n]);
  assert.equal(sd.get('mask')!.dtype, 'bool');
  assert.deepEqual([...sd.get('mask')!.data], [1, 0, 1]);
  assert.equal(sd.get('u8')!.dtype, 'uint8');
});

test('a storage smaller than the view needs is refused, naming the file', () => {
  const bytes = torchZip(
    pickleOf(new Map([['w', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 4, size: [2, 3], stride: [3, 1] })]])),
    { '0': f32Bytes([1, 2, 3, 4]) },
  );
  assert.throws(() => readPth(bytes, 'small.pth'), /^Error: small\.pth: .*storage data\/0 holds 4 elements.*size \[2, 3\]/);
  const declaredTooBig = torchZip(
    pickleOf(new Map([['w', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 100, size: [2], stride: [1] })]])),
    { '0': f32Bytes([1, 2]) },
  );
  assert.throws(() => readPth(declaredTooBig, 'small.pth'), /small\.pth: .*has 8 bytes but 100 F32 elements/);
});

test('a hostile pickle is refused before anything runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mobilezoo-io-'));
  const marker = join(dir, 'pwned');
  const payloads = [
    new PickleWriter().proto(2).global('posix', 'system').mark().str(`touch ${marker}`).tuple().reduce().stop(),
    new PickleWriter().proto(4).stackGlobal('os', 'system').mark().str(`touch ${marker}`).tuple().reduce().stop(),
    new PickleWriter().proto(2).global('builtins', 'eval').mark().str(`open('${marker}', 'w')`).tuple().reduce().stop(),
    new PickleWriter().proto(2).global('subprocess', 'Popen').mark().str('true').tuple().reduce().stop(),
    // Prototype keys must not resolve either.
    new PickleWriter().proto(2).global('collections', '__proto__').stop(),
    new PickleWriter().proto(2).global('torch', 'constructor').stop(),
  ];
  const names = ['posix.system', 'os.system', 'builtins.eval', 'subprocess.Popen', 'collections.__proto__', 'torch.constructor'];
  payloads.forEach((p, i) => {
    const expected = new RegExp(
      `^Error: weights\\.pth: refusing to load global '${names[i]!.replace('.', '\\.')}' \\(only state_dict globals are allowed; nothing was executed\\)$`,
    );
    assert.throws(() => readPth(torchZip(p.bytes()), 'weights.pth'), expected);
  });
  assert.equal(existsSync(marker), false);
  rmSync(dir, { recursive: true, force: true });
});

test('a hostile global nested inside an otherwise valid state dict is refused', () => {
  const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  w.str('evil').global('posix', 'system').mark().str('true').tuple().reduce();
  w.setitems().stop();
  assert.throws(() => readPth(torchZip(w.bytes()), 'nested.pth'), /nested\.pth: refusing to load global 'posix\.system'/);
});

test('wrapper dicts are unwrapped and a module. prefix is stripped', () => {
  const t = (key: string) => tensorRef({ storageType: 'FloatStorage', key, storageNumel: 2, size: [2], stride: [1] });
  const inner = new Map<string, PyLike>([['module.conv.weight', t('0')], ['module.fc.bias', t('1')]]);
  for (const wrapperKey of ['state_dict', 'model', 'model_state_dict']) {
    const bytes = torchZip(
      pickleOf(new Map<string, PyLike>([['epoch', 3], [wrapperKey, inner], ['arch', 'shufflenet']])),
      { '0': f32Bytes([1, 2]), '1': f32Bytes([3, 4]) },
    );
    const obj = readCheckpointObject(bytes, 'megvii.pth.tar');
    assert.ok(obj instanceof Map);
    assert.equal(obj.get('epoch'), 3);
    assert.deepEqual([...readPth(bytes, 'megvii.pth.tar').keys()], ['module.conv.weight', 'module.fc.bias']);
    const sd = loadCheckpoint(bytes, 'megvii.pth.tar');
    assert.deepEqual([...sd.keys()], ['conv.weight', 'fc.bias']);
    assert.deepEqual([...sd.get('fc.bias')!.data], [3, 4]);
  }
});

test('a dict that is not a state dict is refused, naming the entry', () => {
  const bytes = torchZip(pickleOf(new Map<string, PyLike>([['epoch', 3], ['lr', 'high']])));
  assert.throws(() => readPth(bytes, 'opt.pth'), /opt\.pth: state dict entry 'epoch' is number 3, not a tensor/);
});

test('zip entries with path traversal or absolute paths are refused', () => {
  const pkl = pickleOf(new Map());
  for (const name of ['../evil', 'archive/../../evil', '/etc/passwd', 'C:/windows/x', 'archive\\..\\x']) {
    const bytes = torchZip(pkl, {}, { [name]: new Uint8Array(1) });
    assert.throws(() => readPth(bytes, 'trav.pth'), new RegExp(`^Error: trav\\.pth: refusing zip entry with unsafe path`), name);
  }
});

test('truncated or corrupt files give clear errors naming the file', { skip: NO_FIXTURES }, () => {
  const full = fixture('mobilenet_v2_0.5_cifar', 'weights.pth');
  for (const n of [full.length - 10, full.length >> 1, 100, 3]) {
    assert.throws(() => readPth(full.subarray(0, n), 'cut.pth'), /^Error: cut\.pth: /, String(n));
  }
  const pkl = pickleOf(new Map([['a', 1]]));
  assert.throws(
    () => readPth(torchZip(pkl.subarray(0, pkl.length - 3)), 'cut.pth'),
    /^Error: cut\.pth: pickle: truncated/,
  );
  assert.throws(() => readPth(new Uint8Array(0), 'empty.pth'), /^Error: empty\.pth: /);
});

test('unknown opcodes are reported with byte and offset', () => {
  const bytes = torchZip(new PickleWriter().proto(2).op(0x69).stop().bytes()); // INST: protocol 0
  assert.throws(() => readPth(bytes, 'odd.pth'), /odd\.pth: pickle: unsupported opcode 0x69 \('i'\) \(at byte 2\)/);
});

test('memoized storages and tensors are shared, protocol 4 framing is accepted', () => {
  const w = new PickleWriter().proto(4).op(0x95, 0, 0, 0, 0, 0, 0, 0, 0);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  w.str('a');
  const ref = tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 3, size: [3], stride: [1] });
  const tensorBytes = pickleOf(ref).subarray(2, -1);
  w.op(...tensorBytes).op(0x94).str('b').op(0x68, 0).setitems().stop(); // MEMOIZE as 0, BINGET 0
  const sd = readPth(torchZip(w.bytes(), { '0': f32Bytes([1, 2, 3]) }), 'tied.pth');
  assert.deepEqual([...sd.keys()], ['a', 'b']);
  assert.equal(sd.get('a'), sd.get('b'));
});

test('absurd sizes are refused before allocating', () => {
  const huge = torchZip(
    pickleOf(new Map([['w', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 1, size: [1 << 20, 1 << 20], stride: [0, 0] })]])),
    { '0': f32Bytes([1]) },
  );
  assert.throws(() => readPth(huge, 'bomb.pth'), /^Error: bomb\.pth: tensor \[1048576, 1048576\] stride \[0, 0\] of storage data\/0 needs 4398046511104 bytes, more than the 2147483648 left/);

  // Central directory entries claiming ~4 GiB each, for entries stored with a few bytes.
  const zip = torchZip(pickleOf(new Map()), { '0': f32Bytes([1]), '1': f32Bytes([2]) });
  const view = new DataView(zip.buffer);
  for (let i = 0; i + 4 <= zip.length; i++) {
    if (view.getUint32(i, true) === 0x02014b50) view.setUint32(i + 24, 0xfffffff0, true);
  }
  assert.throws(() => readPth(zip, 'bomb.pth'), /^Error: bomb\.pth: zip entry '[^']+' is stored with \d+ bytes but declares 4294967280$/);
});

test('nn.Parameter wrappers load as plain tensors', () => {
  const ref = tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 2, size: [2], stride: [1] });
  const tensor = pickleOf(ref).subarray(2, -1);
  const w = new PickleWriter().proto(2).global('collections', 'OrderedDict').emptyTuple().reduce().mark();
  // torch._utils._rebuild_parameter(tensor, requires_grad, backward_hooks)
  w.str('p').global('torch._utils', '_rebuild_parameter').mark().op(...tensor).bool(true);
  w.global('collections', 'OrderedDict').emptyTuple().reduce().tuple().reduce();
  // torch._tensor._rebuild_from_type_v2(func, type, args, state)
  w.str('q').global('torch._tensor', '_rebuild_from_type_v2').mark();
  w.global('torch._utils', '_rebuild_parameter').global('torch.nn.parameter', 'Parameter');
  w.mark().op(...tensor).bool(true).global('collections', 'OrderedDict').emptyTuple().reduce().tuple();
  w.emptyDict().tuple().reduce();
  w.setitems().stop();
  const sd = readPth(torchZip(w.bytes(), { '0': f32Bytes([5, 6]) }), 'param.pth');
  assert.deepEqual([...sd.get('p')!.data], [5, 6]);
  assert.deepEqual([...sd.get('q')!.data], [5, 6]);
});
