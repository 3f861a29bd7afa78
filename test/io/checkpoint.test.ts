import { test } from 'node:test';
import { NO_FIXTURES, REFERENCE } from '../reference-fixtures.js';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, type StateDict } from '../../src/tensor.js';
import {
  loadCheckpoint,
  loadStateDictFile,
  saveFileAtomic,
  saveSafetensorsFile,
  stripPrefix,
  writeSafetensors,
} from '../../src/io/index.js';
import { f32Bytes, pickleOf, tensorRef, torchZip, type PyLike } from './pickle-writer.js';
import { tempDirs } from './temp-dirs.js';

const tmp = tempDirs('mobilezoo-io-');

test('loadStateDictFile picks the format by content, not by extension', async () => {
  const dir = tmp();
  const pth = torchZip(
    pickleOf(new Map<string, PyLike>([['w', tensorRef({ storageType: 'FloatStorage', key: '0', storageNumel: 2, size: [2], stride: [1] })]])),
    { '0': f32Bytes([1, 2]) },
  );
  writeFileSync(join(dir, 'a.safetensors'), pth);
  writeFileSync(join(dir, 'b.pth'), writeSafetensors(new Map([['w', Tensor.float32([2], [1, 2])]])));
  for (const f of ['a.safetensors', 'b.pth']) {
    const sd = await loadStateDictFile(join(dir, f));
    assert.deepEqual([...sd.get('w')!.data], [1, 2], f);
  }
  await assert.rejects(loadStateDictFile(join(dir, 'missing.pth')), /missing\.pth: no such file/);
});

test('loadStateDictFile loads the reference checkpoints', { skip: NO_FIXTURES }, async () => {
  const sd = await loadStateDictFile(join(REFERENCE, 'mobilenet_v3_small_1.0_224', 'weights.pth'));
  assert.ok(sd.size > 100);
  assert.ok([...sd.keys()].every((k) => !k.startsWith('module.')));
});

test('a module. prefix is stripped only when every key has it', async () => {
  const dir = tmp();
  const t = Tensor.float32([1], [1]);
  await saveSafetensorsFile(join(dir, 'dp.safetensors'), new Map([['module.a', t], ['module.b.module.c', t]]));
  assert.deepEqual([...(await loadStateDictFile(join(dir, 'dp.safetensors'))).keys()], ['a', 'b.module.c']);
  await saveSafetensorsFile(join(dir, 'mixed.safetensors'), new Map([['module.a', t], ['b', t]]));
  assert.deepEqual([...(await loadStateDictFile(join(dir, 'mixed.safetensors'))).keys()], ['module.a', 'b']);
});

test('stripPrefix keeps order and refuses collisions', () => {
  const t = Tensor.float32([1], [1]);
  const sd: StateDict = new Map([['module.x', t], ['y', t]]);
  assert.deepEqual([...stripPrefix(sd, 'module.').keys()], ['x', 'y']);
  assert.throws(() => stripPrefix(new Map([['module.y', t], ['y', t]]), 'module.'), /two keys 'y'/);
});

test('saveFileAtomic writes, replaces and leaves no temporary files', async () => {
  const dir = tmp();
  const path = join(dir, 'out.bin');
  await saveFileAtomic(path, Uint8Array.from([1, 2, 3]));
  assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  await saveFileAtomic(path, Uint8Array.from([9]));
  assert.deepEqual([...readFileSync(path)], [9]);
  assert.deepEqual(readdirSync(dir), ['out.bin']);
});

test('saveFileAtomic failing leaves neither a partial file nor a temporary', async () => {
  const dir = tmp();
  // Renaming a file over a directory fails after the temporary was written.
  const target = join(dir, 'taken');
  writeFileSync(join(dir, 'keep'), 'x');
  await import('node:fs/promises').then((fs) => fs.mkdir(join(target, 'child'), { recursive: true }));
  await assert.rejects(saveFileAtomic(target, Uint8Array.from([1])));
  assert.deepEqual(readdirSync(dir).sort(), ['keep', 'taken']);
});

test('saveFileAtomic creates the folders of its path', async () => {
  const dir = tmp();
  await saveFileAtomic(join(dir, 'new', 'folder', 'file.bin'), Uint8Array.from([7]));
  assert.deepEqual(readdirSync(join(dir, 'new', 'folder')), ['file.bin']);
});

test('a safetensors file whose header length starts with byte 0x80 is still read as safetensors', () => {
  // Find a tensor name whose header makes the 8-byte length's low byte 0x80.
  for (let n = 1; n < 300; n++) {
    const bytes = writeSafetensors(new Map([['w'.repeat(n), Tensor.float32([1], [1.5])]]));
    if (bytes[0] !== 0x80) continue;
    const sd = loadCheckpoint(bytes, 'odd.safetensors');
    assert.equal(sd.get('w'.repeat(n))!.toFloat32()[0], 1.5);
    return;
  }
  assert.fail('no name length produced a 0x80 first byte');
});
