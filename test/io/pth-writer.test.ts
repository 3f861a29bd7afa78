import { test } from 'node:test';
import { NO_FIXTURES, REFERENCE } from '../reference-fixtures.js';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '../../src/models/registry.js';
import type { StateDict } from '../../src/tensor.js';
import { loadStateDictFile, readPth, savePthFile, unpickle, writePth } from '../../src/io/index.js';
import { tensorBytes } from '../../src/io/dtypes.js';
import { PickleWriter } from '../../src/io/pickle-writer.js';
import { alignedStoredZip } from '../../src/io/zip-writer.js';
import { FAMILY_SAMPLES, edgeCaseStateDict, randomStateDict } from './sample-state-dicts.js';
import { tempDirs } from './temp-dirs.js';

const tmp = tempDirs('mobilezoo-pth-writer-');

function assertBitEqual(got: StateDict, want: StateDict, what: string): void {
  assert.deepEqual([...got.keys()], [...want.keys()], `${what}: keys and their order`);
  for (const [k, t] of want) {
    const g = got.get(k)!;
    assert.equal(g.dtype, t.dtype, `${what} ${k}`);
    assert.deepEqual(g.shape, t.shape, `${what} ${k}`);
    assert.deepEqual(tensorBytes(g), tensorBytes(t), `${what} ${k}`);
  }
}

interface LocalEntry {
  name: string;
  method: number;
  extra: Uint8Array;
  dataStart: number;
  data: Uint8Array;
}

/** Walks the local file headers from the start of the archive. */
function localEntries(zip: Uint8Array): LocalEntry[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const out: LocalEntry[] = [];
  for (let at = 0; view.getUint32(at, true) === 0x04034b50; ) {
    const method = view.getUint16(at + 8, true);
    const size = view.getUint32(at + 18, true);
    const nameLength = view.getUint16(at + 26, true);
    const extraLength = view.getUint16(at + 28, true);
    const name = new TextDecoder().decode(zip.subarray(at + 30, at + 30 + nameLength));
    const extra = zip.subarray(at + 30 + nameLength, at + 30 + nameLength + extraLength);
    const dataStart = at + 30 + nameLength + extraLength;
    out.push({ name, method, extra, dataStart, data: zip.subarray(dataStart, dataStart + size) });
    at = dataStart + size;
  }
  return out;
}

for (const [i, { model, options }] of FAMILY_SAMPLES.entries()) {
  test(`writePth round-trips ${model} bit-exactly (float32 and int64) and loads strictly`, () => {
    const sd = randomStateDict(model, options, i);
    const back = readPth(writePth(sd), `${model}.pth`);
    assertBitEqual(back, sd, model);
    assert.ok([...back.values()].some((t) => t.dtype === 'int64' && (t.data[0] as bigint) > 2n ** 32n));
    createModel(model, options).loadStateDict(back, { source: `${model}.pth` });
  });
}

test('writePth round-trips every dtype, special values, odd shapes and non-ASCII keys', () => {
  const sd = edgeCaseStateDict();
  const back = readPth(writePth(sd), 'edge.pth');
  assertBitEqual(back, sd, 'edge');
  assert.ok(Number.isNaN(back.get('f32.special')!.data[0]));
  assert.ok(Object.is(back.get('f64')!.data[1], -0));
});

test('a reference checkpoint read and written again reads back bit-exactly', { skip: NO_FIXTURES }, () => {
  const sd = readPth(new Uint8Array(readFileSync(join(REFERENCE, 'mobilenet_v2_0.5_cifar', 'weights.pth'))), 'weights.pth');
  assertBitEqual(readPth(writePth(sd), 'again.pth'), sd, 'mobilenet_v2_0.5_cifar');
});

test("the zip has torch's layout: stored entries, data 64-byte aligned by an 'FB' padding field, torch's records", () => {
  const sd = edgeCaseStateDict();
  const zip = writePth(sd);
  const entries = localEntries(zip);
  const storageCount = new Set(sd.values()).size; // the tied pair shares one storage
  assert.deepEqual(entries.map((e) => e.name), [
    'archive/data.pkl',
    'archive/byteorder',
    ...Array.from({ length: storageCount }, (_, i) => `archive/data/${i}`),
    'archive/version',
  ]);
  for (const e of entries) {
    assert.equal(e.method, 0, `${e.name} stored`);
    assert.equal(e.dataStart % 64, 0, `${e.name} data at ${e.dataStart}`);
    assert.equal(String.fromCharCode(e.extra[0]!, e.extra[1]!), 'FB', e.name);
    assert.equal(e.extra.length - 4, e.extra[2]! | (e.extra[3]! << 8), `${e.name} padding length`);
    assert.ok(e.extra.subarray(4).every((b) => b === 0x5a), `${e.name} pads with 'Z'`);
  }
  const text = (name: string) => new TextDecoder().decode(entries.find((e) => e.name === name)!.data);
  assert.equal(text('archive/version'), '3\n');
  assert.equal(text('archive/byteorder'), 'little');
  assert.deepEqual(writePth(sd), zip, 'the same state dict gives the same bytes');
});

test('alignment holds whatever order fflate puts the names in', () => {
  const zip = alignedStoredZip(new Map([['b/x', new Uint8Array(3)], ['7', new Uint8Array(5)], ['a', new Uint8Array(1)]]));
  const entries = localEntries(zip);
  assert.deepEqual(entries.map((e) => e.name).sort(), ['7', 'a', 'b/x']);
  for (const e of entries) assert.equal(e.dataStart % 64, 0, e.name);
});

test('PickleWriter.int picks the encoding Python does and every value reads back', () => {
  const read = (v: number | bigint) => unpickle(new PickleWriter().proto(2).int(v).stop().bytes(), { fileName: 'int', globals: new Map() });
  const opcode = (v: number | bigint) => new PickleWriter().int(v).bytes()[0];
  const values: (number | bigint)[] = [0, 255, 256, 65535, 65536, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, 2n ** 63n - 1n, -(2n ** 63n)];
  for (const v of values) assert.equal(BigInt(read(v) as number | bigint), BigInt(v), String(v));
  assert.deepEqual([0, 256, -1, 2 ** 31].map(opcode), [0x4b, 0x4d, 0x4a, 0x8a]); // BININT1, BININT2, BININT, LONG1
  // LONG1 is two's complement in the fewest bytes: 2^31 needs a fifth, zero byte to stay positive.
  assert.deepEqual([...new PickleWriter().int(2 ** 31).bytes()], [0x8a, 5, 0, 0, 0, 0x80, 0]);
  assert.deepEqual([...new PickleWriter().int(-(2 ** 31) - 1).bytes()], [0x8a, 5, 0xff, 0xff, 0xff, 0x7f, 0xff]);
});

test('savePthFile writes atomically and loadStateDictFile reads it back', async () => {
  const dir = tmp();
  const sd = randomStateDict('mobilenet_v1', { widthMult: 0.1, numClasses: 10 }, 7);
  await savePthFile(join(dir, 'mobilenet_v1.pth'), sd);
  assert.deepEqual(readdirSync(dir), ['mobilenet_v1.pth']);
  assertBitEqual(await loadStateDictFile(join(dir, 'mobilenet_v1.pth')), sd, 'saved');
});
