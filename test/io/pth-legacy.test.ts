import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '../../src/models/registry.js';
import { Tensor, type DType } from '../../src/tensor.js';
import { loadCheckpoint, loadStateDictFile, readCheckpointObject, readPth } from '../../src/io/index.js';
import { tensorBytes } from '../../src/io/dtypes.js';
import { PickleWriter, f32Bytes, i64Bytes, legacyTorchSave, pickleOf, tensorRef, type PyLike } from './pickle-writer.js';
import { tempDirs } from './temp-dirs.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/pth/', import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));

/** What dev/legacy-pth-fixtures.py recorded from PyTorch's own torch.load of each fixture. */
interface Recorded {
  file: string;
  note: string;
  model: string | null;
  options: Record<string, unknown> | null;
  state_dict: Record<string, { dtype: string; shape: number[]; sum: number; first: number[]; sha: string }>;
}
const recorded = (name: string): Recorded => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8'));
const loadable = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && f !== 'tar-format.pth.json').map((f) => f.slice(0, -5));

/** PyTorch dtype -> the host dtype mobilezoo decodes it to. */
const HOST: Record<string, DType> = { float16: 'float32', float32: 'float32', float64: 'float64', int64: 'int64' };

const tmp = tempDirs('mobilezoo-legacy-');

function assertMatchesPyTorch(sd: Map<string, Tensor>, rec: Recorded): void {
  assert.deepEqual([...sd.keys()], Object.keys(rec.state_dict), `${rec.file}: keys and their order`);
  for (const [k, want] of Object.entries(rec.state_dict)) {
    const t = sd.get(k)!;
    assert.equal(t.dtype, HOST[want.dtype], `${rec.file} ${k} dtype`);
    assert.deepEqual(t.shape, want.shape, `${rec.file} ${k} shape`);
    const sha = createHash('sha256').update(tensorBytes(t)).digest('hex').slice(0, 16);
    assert.equal(sha, want.sha, `${rec.file} ${k}: bytes differ from PyTorch's`);
    const values = Array.from(t.data as ArrayLike<number | bigint>, Number);
    assert.deepEqual(values.slice(0, want.first.length), want.first, `${rec.file} ${k} first values`);
    const sum = values.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(sum - want.sum) <= 1e-9 * (Math.abs(want.sum) + values.length), `${rec.file} ${k} sum ${sum} vs ${want.sum}`);
  }
}

test('fixtures: every family and every special file is present', () => {
  const models = loadable.map((f) => recorded(f).model).filter((m) => m !== null);
  assert.deepEqual(models.sort(), ['mobilenet_v1', 'mobilenet_v2', 'mobilenet_v3_small', 'shufflenet_v1', 'shufflenet_v2_x0_5']);
  for (const f of ['views.legacy.pth', 'views.zip.pth', 'pre-1.0-views.pth', 'tar-format.pth', 'hostile.pth']) {
    assert.ok(existsSync(join(FIXTURES, f)), f);
  }
});

for (const name of loadable) {
  test(`${name}: tensors equal PyTorch's reading of the file`, async () => {
    const rec = recorded(name);
    const sd = await loadStateDictFile(join(FIXTURES, name));
    assertMatchesPyTorch(sd, rec);
    if (rec.model) {
      const model = createModel(rec.model, rec.options!);
      model.loadStateDict(sd, { source: name }); // strict: every key and shape
      const [k, t] = [...sd].find(([, t]) => t.dtype === 'float32' && t.size > 1)!;
      assert.deepEqual(tensorBytes(model.stateDict().get(k)!), tensorBytes(t), `${k} after loadStateDict`);
    }
  });
}

test('megvii .pth.tar: the state dict is found beside epoch, arch and an optimizer state, module. stripped', () => {
  const bytes = fixture('shufflenet_v1_g3_0.25x.pth.tar');
  const obj = readCheckpointObject(bytes, 'megvii.pth.tar');
  assert.ok(obj instanceof Map);
  assert.equal(obj.get('epoch'), 240);
  assert.equal(obj.get('arch'), 'shufflenet_v1');
  // Tensors outside the state dict are materialized too: the optimizer's momentum buffer.
  const state = (obj.get('optimizer') as Map<string, unknown>).get('state') as Map<number, Map<string, unknown>>;
  const buffers = [...state.values()].map((s) => s.get('momentum_buffer'));
  assert.equal(buffers.length, 1);
  assert.ok(buffers[0] instanceof Tensor);
  assert.deepEqual(buffers[0].shape, [10, 240]);
  assert.ok([...readPth(bytes, 'megvii.pth.tar').keys()].every((k) => k.startsWith('module.')));
  const sd = loadCheckpoint(bytes, 'megvii.pth.tar');
  assert.ok([...sd.keys()].every((k) => !k.startsWith('module.')));
  createModel('shufflenet_v1', { groups: 3, size: '0.25x', numClasses: 10 }).loadStateDict(sd);
});

test('float16 storages widen to float32 exactly', () => {
  const sd = readPth(fixture('mobilenet_v2_w0.1_fp16.pth'), 'fp16.pth');
  const rec = recorded('mobilenet_v2_w0.1_fp16.pth');
  assert.equal(rec.state_dict['features.0.0.weight']!.dtype, 'float16');
  assert.equal(sd.get('features.0.0.weight')!.dtype, 'float32');
  assert.equal(rec.state_dict['features.0.1.num_batches_tracked']!.dtype, 'int64');
});

test('views of one storage: the legacy and zip files read the same, tied entries share a storage', () => {
  const legacy = readPth(fixture('views.legacy.pth'), 'views.legacy.pth');
  const zip = readPth(fixture('views.zip.pth'), 'views.zip.pth');
  for (const [k, t] of legacy) assert.deepEqual(tensorBytes(zip.get(k)!), tensorBytes(t), k);
  assert.deepEqual([...legacy.get('column')!.data], [-0.75, 0, 0.75, 1.5]);
  assert.equal(legacy.get('scalar')!.dtype, 'float64');
  // Each view owns its data once read.
  (legacy.get('rows')!.data as Float32Array)[0] = 99;
  assert.equal(legacy.get('whole')!.data[6], -0.25);
});

test('a hostile legacy pickle is refused and its command never runs', async () => {
  const dir = tmp();
  const cwd = process.cwd();
  process.chdir(dir); // the payload is `touch mobilezoo-hostile-marker`, relative to the working directory
  try {
    assert.throws(
      () => readPth(fixture('hostile.pth'), 'hostile.pth'),
      /^Error: hostile\.pth: refusing to load global 'posix\.system' \(only state_dict globals are allowed; nothing was executed\)$/,
    );
    await assert.rejects(loadStateDictFile(join(FIXTURES, 'hostile.pth')), /refusing to load global 'posix\.system'/);
    assert.equal(existsSync(join(dir, 'mobilezoo-hostile-marker')), false);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    process.chdir(cwd);
  }
});

test('globals are refused in the header pickles and the storage key list too', () => {
  const evil = new PickleWriter().proto(2).global('posix', 'system').mark().str('true').tuple().reduce().stop().bytes();
  const valid = legacyTorchSave(pickleOf(new Map()));
  const header = valid.subarray(0, valid.indexOf(0x2e) + 1); // the magic-number pickle
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([...evil, ...valid]), /^Error: x\.pth: magic number: refusing to load global 'posix\.system'/],
    [new Uint8Array([...header, ...evil]), /^Error: x\.pth: protocol version: refusing to load global 'posix\.system'/],
    [new Uint8Array([...valid.subarray(0, valid.length - pickleOf([]).length), ...evil]), /^Error: x\.pth: storage key list: refusing to load global/],
  ];
  for (const [bytes, expected] of cases) assert.throws(() => readPth(bytes, 'x.pth'), expected);
});

test('a truncated legacy file names the file and where it was cut', () => {
  const full = fixture('mobilenet_v1_w0.1.pth');
  const rec = recorded('mobilenet_v1_w0.1.pth');
  // One storage per tensor here: the data section is each storage's 8-byte count and its bytes.
  const size: Record<string, number> = { float32: 4, int64: 8 };
  const dataStart = full.length - Object.values(rec.state_dict).reduce((s, t) => s + 8 + t.shape.reduce((a, b) => a * b, 1) * size[t.dtype]!, 0);
  const cuts: [number, RegExp][] = [
    [0, /^Error: cut\.pth: not a torch\.save checkpoint/],
    [1, /^Error: cut\.pth: not a torch\.save checkpoint/],
    [5, /^Error: cut\.pth: magic number: pickle: truncated/],
    [18, /^Error: cut\.pth: protocol version: pickle: truncated/],
    [40, /^Error: cut\.pth: sys_info: pickle: truncated/],
    [1000, /^Error: cut\.pth: pickle: truncated/],
    [dataStart - 2, /^Error: cut\.pth: storage key list: pickle: truncated/],
    [dataStart, /^Error: cut\.pth: truncated: storage '\d+' \(1 of 164 in the key list\) needs 8 bytes for its element count/],
    [dataStart + 11, /^Error: cut\.pth: truncated: storage '\d+' \(1 of 164 in the key list\) needs \d+ bytes \(\d+ F32 elements\)/],
    [full.length - 1, /^Error: cut\.pth: truncated: storage '\d+' \(164 of 164 in the key list\) needs/],
  ];
  for (const [n, expected] of cuts) assert.throws(() => readPth(full.subarray(0, n), 'cut.pth'), expected, `cut at ${n}`);
  assert.equal(readPth(full, 'whole.pth').size, 164);
});

test('a wrong magic number, protocol version, sys_info or byte order is refused, naming the file', () => {
  const obj = pickleOf(new Map());
  assert.throws(
    () => readPth(legacyTorchSave(obj, [], { magic: 12345n }), 'm.pth'),
    /^Error: m\.pth: not a torch\.save file: its first pickle holds number 12345, not torch's magic number 0x1950a86a20f9469cfc6c/,
  );
  assert.throws(() => readPth(legacyTorchSave(obj, [], { protocol: 1000 }), 'p.pth'), /^Error: p\.pth: legacy torch\.save protocol version number 1000 is not supported \(expected 1001\)/);
  assert.throws(() => readPth(legacyTorchSave(obj, [], { littleEndian: false }), 'be.pth'), /^Error: be\.pth: written on a big-endian machine/);
  const noDict = new Uint8Array([...legacyTorchSave(obj).subarray(0, 21), ...pickleOf(3), ...obj, ...pickleOf([])]);
  assert.throws(() => readPth(noDict, 's.pth'), /^Error: s\.pth: sys_info is number 3, not a dict/);
  assert.deepEqual([...readPth(legacyTorchSave(obj), 'ok.pth').keys()], []);
});

const legacyRef = (key: string, n: number, extra: Partial<Parameters<typeof tensorRef>[0]> = {}) =>
  tensorRef({ storageType: 'FloatStorage', key, storageNumel: n, size: [n], stride: [1], viewMetadata: null, ...extra });

test('storage counts are checked against the pickle and the file size before anything is taken', () => {
  const obj = pickleOf(new Map([['w', legacyRef('k', 2)]]));
  assert.deepEqual([...readPth(legacyTorchSave(obj, [['k', 2, f32Bytes([1, 2])]]), 'ok.pth').get('w')!.data], [1, 2]);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(
    () => readPth(legacyTorchSave(obj, [['k', 2n ** 62n, f32Bytes([1, 2])]]), 'bomb.pth'),
    /^Error: bomb\.pth: storage 'k' \(1 of 1 in the key list\) declares 4611686018427387904 F32 elements, more than the 2147483648-byte limit; refusing$/,
  );
  assert.throws(
    () => readPth(legacyTorchSave(obj, [['k', 2 ** 28, f32Bytes([1, 2])]]), 'short.pth'),
    /^Error: short\.pth: storage 'k' \(1 of 1 in the key list\) holds 268435456 elements, but the pickle declared 2$/,
  );
  const claimsMore = pickleOf(new Map([['w', legacyRef('k', 2 ** 28)]]));
  assert.throws(
    () => readPth(legacyTorchSave(claimsMore, [['k', 2 ** 28, f32Bytes([1, 2])]]), 'short.pth'),
    /^Error: short\.pth: truncated: storage 'k' \(1 of 1 in the key list\) needs 1073741824 bytes \(268435456 F32 elements\) from byte \d+, but the file ends at \d+$/,
  );
  const huge = pickleOf(new Map([['w', legacyRef('k', 1, { size: [1 << 20, 1 << 20], stride: [0, 0] })]]));
  assert.throws(() => readPth(legacyTorchSave(huge, [['k', 1, f32Bytes([1])]]), 'bomb.pth'), /^Error: bomb\.pth: tensor \[1048576, 1048576\] stride \[0, 0\] of storage 'k' needs \d+ bytes, more than the 2147483648 left of the 2147483648-byte budget/);
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 ** 2, 'nothing large was allocated');
});

test('the storage key list must match the storages the pickle uses', () => {
  const obj = pickleOf(new Map([['w', legacyRef('k', 1)]]));
  const one = f32Bytes([1]);
  assert.throws(() => readPth(legacyTorchSave(obj, []), 'x.pth'), /^Error: x\.pth: storage 'k' is used by a tensor but the file holds no data for it$/);
  assert.throws(() => readPth(legacyTorchSave(obj, [['k', 1, one], ['j', 1, one]]), 'x.pth'), /^Error: x\.pth: the storage key list names 'j', which no tensor uses$/);
  assert.throws(() => readPth(legacyTorchSave(obj, [['k', 1, one], ['k', 1, one]]), 'x.pth'), /^Error: x\.pth: the storage key list names 'k' twice$/);
  const twoTypes = pickleOf(new Map<string, PyLike>([['a', legacyRef('k', 1)], ['b', legacyRef('k', 1, { storageType: 'LongStorage' })]]));
  assert.throws(() => readPth(legacyTorchSave(twoTypes, [['k', 1, one]]), 'x.pth'), /x\.pth: .*storage 'k' is named as 1 F32 elements and as 1 I64 elements/);
  const zipStyle = pickleOf(new Map([['w', tensorRef({ storageType: 'FloatStorage', key: 'k', storageNumel: 1, size: [1], stride: [1] })]]));
  assert.throws(() => readPth(legacyTorchSave(zipStyle, [['k', 1, one]]), 'x.pth'), /x\.pth: .*expected \('storage', type, key, location, numel, view_metadata\)/);
});

test('pre-1.0 storage views are read within their window, and refused outside it', () => {
  const root = f32Bytes([0, 1, 2, 3, 4, 5]);
  const view = (offset: number, size: number, extra = {}) =>
    legacyRef('r', 6, { viewMetadata: ['v', offset, size], size: [2], stride: [1], ...extra });
  const ok = pickleOf(new Map([['w', view(3, 3, { offset: 1 })]]));
  assert.deepEqual([...readPth(legacyTorchSave(ok, [['r', 6, root]]), 'v.pth').get('w')!.data], [4, 5]);
  const outside = pickleOf(new Map([['w', view(3, 4)]]));
  assert.throws(() => readPth(legacyTorchSave(outside, [['r', 6, root]]), 'v.pth'), /v\.pth: .*a view \[3, 7\) of storage 'r' lies outside its 6 elements/);
  const readsPast = pickleOf(new Map([['w', view(3, 2, { offset: 1 })]]));
  assert.throws(() => readPth(legacyTorchSave(readsPast, [['r', 6, root]]), 'v.pth'), /v\.pth: .*storage 'r' view \[3, 5\) holds 2 elements, but a tensor of size \[2\] stride \[1\] offset 1 reads element 2/);
});

/** A ustar header block for one member, then its data padded to 512 bytes, then the end marker. */
function tarOf(name: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(512 + Math.ceil(data.length / 512) * 512 + 1024);
  const put = (at: number, s: string) => out.set(new TextEncoder().encode(s), at);
  put(0, name);
  put(124, data.length.toString(8).padStart(11, '0'));
  put(156, '0');
  put(257, 'ustar\u000000');
  out.set(data, 512);
  return out;
}

test('the tar-archive torch.save format is detected and refused with advice; other tars are named as such', async () => {
  const expected =
    /^Error: .*tar-format\.pth: this is the tar-archive torch\.save format of the earliest PyTorch releases \(members "sys_info", "storages", "tensors", "pickle"\), which is not supported; load it with PyTorch and save it again: torch\.save\(torch\.load\(old\), new\)$/;
  await assert.rejects(loadStateDictFile(join(FIXTURES, 'tar-format.pth')), expected);
  // PyTorch itself read it (the fixture script recorded what torch.load returned).
  assert.deepEqual(Object.keys(recorded('tar-format.pth').state_dict), ['w', 'n']);
  assert.throws(() => loadCheckpoint(tarOf('hello.txt', f32Bytes([1])), 'x.tar'), /^Error: x\.tar: a tar archive \(members "hello\.txt"\), not a torch\.save checkpoint$/);
});

test('a plain pickle whose value is not a state dict container is refused', () => {
  assert.throws(() => readPth(legacyTorchSave(pickleOf(3)), 'n.pth'), /^Error: n\.pth: expected a dict of tensors, got number 3$/);
  const i64 = pickleOf(new Map([['n', legacyRef('k', 1, { storageType: 'LongStorage', size: [], stride: [] })]]));
  assert.deepEqual([...readPth(legacyTorchSave(i64, [['k', 1, i64Bytes([-5])]]), 'i.pth').get('n')!.data], [-5n]);
});
