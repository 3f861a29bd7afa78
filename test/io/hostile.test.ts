/**
 * Issue 20's hostile checkpoint files (findings 1-3): each is refused at once, before it can take the
 * memory or the time it asks for. The small ones are fixtures made by dev/hostile-inputs.py (PyTorch's
 * own torch.save); zip bombs are built here, a few megabytes that declare gigabytes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Deflate } from 'fflate';
import { ReadBudget, loadStateDictFile, openCheckpoint, readPth, readSafetensors, withInputFile, writeSafetensors } from '../../src/io/index.js';
import { createModel } from '../../src/models/registry.js';
import { StateDictError } from '../../src/nn/module.js';
import { Tensor } from '../../src/tensor.js';
import { f32Bytes, pickleOf, tensorRef } from './pickle-writer.js';
import { tempDirs } from './temp-dirs.js';

const HOSTILE = fileURLToPath(new URL('../fixtures/hostile/', import.meta.url));
const hostile = (name: string) => new Uint8Array(readFileSync(join(HOSTILE, name)));
const tmp = tempDirs('mobilezoo-hostile-');

/** Runs `f` and checks that it allocated less than `mb` megabytes of array buffers (what it refused to take). */
function smallAllocation<T>(mb: number, f: () => T): T {
  const before = process.memoryUsage().arrayBuffers;
  try {
    return f();
  } finally {
    assert.ok(process.memoryUsage().arrayBuffers - before < mb * 1024 ** 2, `allocated more than ${mb} MB`);
  }
}

test('finding 2: a dict that contains itself under state_dict is refused at once', async () => {
  const bytes = hostile('cycle.pth');
  assert.equal(bytes.length, 154);
  assert.throws(() => readPth(bytes, 'cycle.pth'), /^Error: cycle\.pth: the dict under 'state_dict' contains itself; not a state dict$/);
  await assert.rejects(loadStateDictFile(join(HOSTILE, 'cycle.pth')), /cycle\.pth: the dict under 'state_dict' contains itself/);
});

test('finding 3: a stride-0 view of 10^9 elements is refused before anything is expanded', () => {
  for (const name of ['stride0-f16.pth', 'stride0-f32.pth', 'stride0-f16-legacy.pth']) {
    const bytes = hostile(name);
    // No model to check against: the global budget counts what decoding would allocate (6 bytes per
    // float16 element: the gathered copy and the widened float32), not the 4 bytes of the storage.
    smallAllocation(16, () => assert.throws(() => readPth(bytes, name), new RegExp(`^Error: ${name}: tensor \\[1000000000\\] stride \\[0\\] of storage .* needs ${name.includes('f16') ? '600000000\\d' : '4000000000'} bytes, more than the 2147483648 left`)));
    // With the model it is for: its name is MobileNetV2's classifier weight, its shape is not, and the
    // state dict is refused before any tensor is read.
    const model = createModel('mobilenet_v2');
    smallAllocation(16, () =>
      assert.throws(
        () => model.loadStateDict(openCheckpoint(bytes, name, ReadBudget.forShapes(model.stateDict().values())), { source: name }),
        (e: unknown) => e instanceof StateDictError && /shape mismatch for classifier\.1\.weight: model has \[1000, 1280\], checkpoint has \[1000000000\]/.test(e.message),
      ),
    );
  }
});

test('finding 3: a model-sized budget refuses a matching name over an oversized view', () => {
  // The shape matches (features.0.0.weight is [32, 3, 3, 3]), but a stride of 10^8 makes the view read
  // up to element 3.1e9 of its storage (a deflated entry declaring 12.8 GB, zip64): more than the model's
  // own size can justify, refused before inflating.
  const w = tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 3.2e9, size: [32, 3, 3, 3], stride: [1e8, 1, 1, 1] });
  const zip = storedZipWithHugeStorage(pickleOf(new Map([['features.0.0.weight', w]])), 12.8e9);
  const model = createModel('mobilenet_v2');
  const budget = ReadBudget.forShapes(model.stateDict().values());
  const sd = openCheckpoint(zip, 'strided.pth', budget);
  smallAllocation(16, () => assert.throws(() => model.loadStateDict(sd, { strict: false }), /strided\.pth: zip entry 'archive\/data\/0' needs \d+ bytes, more than the \d+ left of the \d+-byte budget \(16 bytes per element of the model's \d+\)/));
});

/** A deflate stream of `mib` MiB of zeros, about 1 KB per MiB: one sync-flushed chunk, repeated. */
function zeroBomb(mib: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  const d = new Deflate({ level: 9 }, (c) => chunks.push(c));
  d.push(new Uint8Array(1024 * 1024));
  d.flush(true);
  const one = concat(chunks);
  return concat([...Array<Uint8Array>(mib).fill(one), Uint8Array.of(0x03, 0x00)]); // an empty final block ends it
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

interface RawEntry {
  name: string;
  data: Uint8Array;
  method: 0 | 8;
  /** The uncompressed size the zip declares (may lie). */
  size: number;
}

/** A zip of raw entries (sizes as given, CRCs left 0), with zip64 fields when a size needs them. */
function rawZip(entries: RawEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = new TextEncoder().encode(e.name);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(8, e.method, true);
    local.setUint16(26, name.length, true);
    parts.push(new Uint8Array(local.buffer), name, e.data);
    const zip64 = e.size >= 0xffffffff;
    const c = new DataView(new ArrayBuffer(46 + (zip64 ? 12 : 0)));
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(10, e.method, true);
    c.setUint32(20, e.data.length, true);
    c.setUint32(24, zip64 ? 0xffffffff : e.size, true);
    c.setUint16(28, name.length, true);
    c.setUint16(30, zip64 ? 12 : 0, true);
    c.setUint32(42, offset, true);
    const bytes = new Uint8Array(c.buffer);
    if (zip64) {
      c.setUint16(46, 0x0001, true);
      c.setUint16(48, 8, true);
      c.setBigUint64(50, BigInt(e.size), true);
    }
    central.push(bytes.subarray(0, 46), name, bytes.subarray(46));
    offset += 30 + name.length + e.data.length;
  }
  const dir = concat(central);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, dir.length, true);
  end.setUint32(16, offset, true);
  return concat([...parts, dir, new Uint8Array(end.buffer)]);
}

/** data.pkl stored, data/0 a deflated zero bomb declaring `declared` bytes. */
function storedZipWithHugeStorage(pkl: Uint8Array, declared: number, mib = 4): Uint8Array {
  return rawZip([
    { name: 'archive/data.pkl', data: pkl, method: 0, size: pkl.length },
    { name: 'archive/data/0', data: zeroBomb(mib), method: 8, size: declared },
  ]);
}

test('finding 3: a zip storage that inflates to gigabytes is inflated only as far as a tensor needs', () => {
  // 3.9 GB declared (and inflatable: 3,900 MiB of zeros in 4 MB), a 4-element tensor over it.
  const pkl = pickleOf(new Map([['w', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 975e6, size: [4], stride: [1] })]]));
  const zip = rawZip([
    { name: 'archive/data.pkl', data: pkl, method: 0, size: pkl.length },
    { name: 'archive/data/0', data: zeroBomb(3900), method: 8, size: 3.9e9 },
  ]);
  assert.ok(zip.length < 5e6);
  const sd = smallAllocation(64, () => readPth(zip, 'bomb.pth'));
  assert.deepEqual([...sd.get('w')!.data], [0, 0, 0, 0]);

  // The whole storage as one tensor: refused before inflating (the budget counts the inflated entry).
  const all = pickleOf(new Map([['w', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 975e6, size: [975e6], stride: [1] })]]));
  const whole = rawZip([
    { name: 'archive/data.pkl', data: all, method: 0, size: all.length },
    { name: 'archive/data/0', data: zeroBomb(3900), method: 8, size: 3.9e9 },
  ]);
  smallAllocation(16, () => assert.throws(() => readPth(whole, 'bomb.pth'), /^Error: bomb\.pth: zip entry 'archive\/data\/0' needs 3900000000 bytes, more than the 2147483648 left/));
});

test('finding 3: a zip entry that inflates past its declared size is stopped as it inflates', () => {
  // Declares 1 MiB, holds 4 GiB of zeros (zip64 not needed: the lie is in the 32-bit size).
  const pkl = pickleOf(new Map([['w', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 262144, size: [262144], stride: [1] })]]));
  const zip = rawZip([
    { name: 'archive/data.pkl', data: pkl, method: 0, size: pkl.length },
    { name: 'archive/data/0', data: zeroBomb(4096), method: 8, size: 1024 * 1024 },
  ]);
  smallAllocation(64, () => assert.throws(() => readPth(zip, 'liar.pth'), /^Error: liar\.pth: zip entry 'archive\/data\/0' inflates to more than the 1048576 bytes it declares; refusing$/));
  // The pickle itself deflated and lying: stopped the same way.
  const liar = rawZip([{ name: 'archive/data.pkl', data: zeroBomb(64), method: 8, size: 100 }]);
  assert.throws(() => readPth(liar, 'liar.pth'), /^Error: liar\.pth: zip entry 'archive\/data\.pkl' inflates to more than the 100 bytes it declares; refusing$/);
  // Stored entries must declare the size they hold.
  const stored = rawZip([{ name: 'archive/data.pkl', data: pkl, method: 0, size: pkl.length + 1 }]);
  assert.throws(() => readPth(stored, 'x.pth'), /^Error: x\.pth: zip entry 'archive\/data\.pkl' is stored with \d+ bytes but declares \d+$/);
});

test('finding 3: zip entries pointing outside the file or named twice are refused', () => {
  const pkl = pickleOf(new Map());
  const zip = rawZip([{ name: 'archive/data.pkl', data: pkl, method: 0, size: pkl.length }]);
  const dir = zip.length - 22 - 46 - 'archive/data.pkl'.length;
  const moved = zip.slice();
  new DataView(moved.buffer).setUint32(dir + 42, 1e9, true); // local header offset
  assert.throws(() => readPth(moved, 'x.pth'), /^Error: x\.pth: not a readable zip archive \(truncated or corrupt\?\): zip entry 'archive\/data\.pkl''s local header at byte 1000000000 lies outside the \d+-byte file$/);
  const twice = rawZip([
    { name: 'archive/data.pkl', data: pkl, method: 0, size: pkl.length },
    { name: 'archive/data.pkl', data: pkl, method: 0, size: pkl.length },
  ]);
  assert.throws(() => readPth(twice, 'x.pth'), /^Error: x\.pth: duplicate zip entry 'archive\/data\.pkl'$/);
});

test('finding 1: safetensors data is checked against the file size from the header, before the data is read', async () => {
  const dir = tmp();
  const good = writeSafetensors(new Map([['w', Tensor.float32([4], [1, 2, 3, 4])]]));
  // Longer than the header says: trailing bytes no tensor owns (the reference implementation refuses them too).
  writeFileSync(join(dir, 'long.safetensors'), concat([good, new Uint8Array(100)]));
  await assert.rejects(loadStateDictFile(join(dir, 'long.safetensors')), /long\.safetensors: safetensors: the tensors cover 16 data bytes but the file has 116 after the header/);
  // A hole between tensors.
  const json = new TextEncoder().encode(JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }));
  const holed = new Uint8Array(8 + json.length + 12);
  new DataView(holed.buffer).setBigUint64(0, BigInt(json.length), true);
  holed.set(json, 8);
  assert.throws(() => readSafetensors(holed, 'holed.safetensors'), /holed\.safetensors: safetensors: data bytes \[4, 8\) before tensor 'b' belong to no tensor/);
  // Shorter: refused from the header, naming the file.
  writeFileSync(join(dir, 'short.safetensors'), good.subarray(0, good.length - 4));
  await assert.rejects(loadStateDictFile(join(dir, 'short.safetensors')), /short\.safetensors: safetensors: tensor 'w': data_offsets \[0, 16\] outside the 12 data bytes/);
});

test('finding 1: folders, devices and FIFOs are refused without reading (or waiting)', async () => {
  const dir = tmp();
  mkdirSync(join(dir, 'folder.pth'));
  await assert.rejects(loadStateDictFile(join(dir, 'folder.pth')), /folder\.pth: a folder, not a regular file/);
  await assert.rejects(loadStateDictFile('/dev/zero'), /^Error: \/dev\/zero: a device, not a regular file$/);
  execFileSync('mkfifo', [join(dir, 'fifo.pth')]);
  await assert.rejects(loadStateDictFile(join(dir, 'fifo.pth')), /fifo\.pth: a FIFO \(named pipe\), not a regular file/);
  // A name read from a file: a symlink in its folder that leads out of it is refused.
  symlinkSync('/etc/hostname', join(dir, 'out.safetensors'));
  await assert.rejects(withInputFile({ path: join(dir, 'out.safetensors'), folder: dir }, async () => {}), /out\.safetensors: links to \/etc\/hostname, outside the folder/);
  symlinkSync('/dev/zero', join(dir, 'zero.safetensors'));
  await assert.rejects(withInputFile({ path: join(dir, 'zero.safetensors'), folder: dir }, async () => {}), /zero\.safetensors: links to \/dev\/zero, outside the folder/);
});

test('a legitimate checkpoint loads within the budget of its model', () => {
  const model = createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 10 });
  const bytes = writeSafetensors(model.stateDict());
  const other = createModel('mobilenet_v2', { widthMult: 0.25, numClasses: 10, seed: 1 });
  other.loadStateDict(openCheckpoint(bytes, 'w.safetensors', ReadBudget.forShapes(other.stateDict().values())));
  assert.deepEqual([...other.stateDict().get('classifier.1.weight')!.data], [...model.stateDict().get('classifier.1.weight')!.data]);
});
