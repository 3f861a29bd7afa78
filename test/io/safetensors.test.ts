import { test } from 'node:test';
import { NO_FIXTURES, REFERENCE } from '../reference-fixtures.js';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Tensor, type StateDict } from '../../src/tensor.js';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../../src/io/index.js';


const bytesOf = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** A safetensors file from a raw header object and data bytes. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('write → read round trip is bitwise for every dtype, in order, with metadata', () => {
  const sd: StateDict = new Map([
    ['conv.weight', Tensor.float32([2, 1, 3], [1.5, -2, 3e-38, NaN, Infinity, -0])],
    ['bn.num_batches_tracked', Tensor.int64([], [123456789012])],
    ['f64', new Tensor('float64', [2], Float64Array.from([Math.PI, -1e300]))],
    ['i32', new Tensor('int32', [3], Int32Array.from([-1, 0, 2 ** 31 - 1]))],
    ['u8', new Tensor('uint8', [3], Uint8Array.from([0, 7, 255]))],
    ['mask', new Tensor('bool', [2, 2], Uint8Array.from([1, 0, 0, 1]))],
    ['empty', Tensor.float32([0, 5])],
    ['__proto__', Tensor.float32([1], [42])],
  ]);
  const bytes = writeSafetensors(sd, { format: 'pt', note: 'ünïcode' });
  assert.equal((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8, 0, 'data 8-byte aligned');
  const back = readSafetensors(bytes, 'rt.safetensors');
  assert.deepEqual([...back.keys()], [...sd.keys()]);
  for (const [k, t] of sd) {
    const b = back.get(k)!;
    assert.equal(b.dtype, t.dtype, k);
    assert.deepEqual(b.shape, t.shape, k);
    assert.deepEqual(bytesOf(b), bytesOf(t), k);
  }
  assert.deepEqual(readSafetensorsMetadata(bytes, 'rt.safetensors'), { format: 'pt', note: 'ünïcode' });
  assert.deepEqual(readSafetensorsMetadata(writeSafetensors(new Map()), 'e.safetensors'), {});
  assert.equal(readSafetensors(writeSafetensors(new Map()), 'e.safetensors').size, 0);
});

test('reads the reference safetensors files', { skip: NO_FIXTURES }, () => {
  const sd = readSafetensors(
    new Uint8Array(readFileSync(`${REFERENCE}/mobilenet_v2_0.5_cifar/weights.safetensors`)),
    'weights.safetensors',
  );
  assert.deepEqual(sd.get('features.0.0.weight')?.shape, [16, 3, 3, 3]);
  assert.equal(sd.get('features.0.1.num_batches_tracked')?.dtype, 'int64');
  const c = readSafetensors(new Uint8Array(readFileSync(`${REFERENCE}/mobilenet_v2_0.5_cifar/case.safetensors`)), 'case.safetensors');
  assert.deepEqual(c.get('input')?.shape, [4, 3, 32, 32]);
  assert.equal(c.get('labels')?.dtype, 'int64');
});

test('F16 and BF16 widen to float32', () => {
  const data = new Uint8Array(new Uint16Array([0x3c00, 0xbc00, 0x3f80, 0x4040]).buffer);
  const sd = readSafetensors(
    build({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] }, b: { dtype: 'BF16', shape: [2], data_offsets: [4, 8] } }, data),
    'half.safetensors',
  );
  assert.deepEqual([...sd.get('h')!.data], [1, -1]);
  assert.deepEqual([...sd.get('b')!.data], [1, 3]);
  assert.equal(sd.get('b')!.dtype, 'float32');
});

test('invalid headers give errors naming the file and the tensor', () => {
  const d = new Uint8Array(16);
  const cases: [unknown, Uint8Array, RegExp][] = [
    [{ w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, d, /bad\.safetensors: safetensors: tensor 'w': F32 \[2, 2\] needs 16 bytes but data_offsets span 12/],
    [{ w: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, d, /bad\.safetensors: .*tensor 'w': data_offsets \[0, 32\] outside the 16 data bytes/],
    [{ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, d, /tensor 'w': data_offsets \[8, 4\]/],
    [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, d, /bad\.safetensors: .*tensors 'a' and 'b' overlap/],
    [{ w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, d, /tensor 'w': unsupported dtype "C64"/],
    [{ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, d, /tensor 'w': shape must be/],
    [{ w: { dtype: 'F32', shape: [1] } }, d, /tensor 'w': data_offsets must be/],
    [{ __metadata__: { n: 1 } }, d, /__metadata__ must be an object of strings/],
    [[1, 2], d, /header is not a JSON object/],
  ];
  for (const [header, data, re] of cases) assert.throws(() => readSafetensors(build(header, data), 'bad.safetensors'), re);

  const notJson = build({});
  notJson[8] = 0x7b + 1;
  assert.throws(() => readSafetensors(notJson, 'bad.safetensors'), /bad\.safetensors: safetensors: header is not valid JSON/);
});

test('truncated files give errors naming the file', () => {
  const good = writeSafetensors(new Map([['w', Tensor.float32([4], [1, 2, 3, 4])]]));
  assert.throws(() => readSafetensors(good.subarray(0, 5), 'cut.safetensors'), /^Error: cut\.safetensors: safetensors: file is truncated/);
  assert.throws(() => readSafetensors(good.subarray(0, 20), 'cut.safetensors'), /^Error: cut\.safetensors: safetensors: file is truncated: header declares/);
  assert.throws(
    () => readSafetensors(good.subarray(0, good.length - 1), 'cut.safetensors'),
    /^Error: cut\.safetensors: safetensors: tensor 'w': data_offsets \[0, 16\] outside the 15 data bytes \(file truncated\?\)/,
  );
});

test('misaligned data is read correctly', () => {
  // A 5-byte U8 tensor first leaves the F32 data at an odd offset.
  const sd: StateDict = new Map([
    ['u', new Tensor('uint8', [5], Uint8Array.from([1, 2, 3, 4, 5]))],
    ['f', Tensor.float32([2], [0.25, -8])],
  ]);
  const bytes = writeSafetensors(sd);
  const shifted = new Uint8Array(bytes.length + 1).subarray(1);
  shifted.set(bytes);
  assert.deepEqual([...readSafetensors(shifted, 'x.safetensors').get('f')!.data], [0.25, -8]);
});
