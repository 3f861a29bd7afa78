import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../../src/tensor.js';
import { hubHashPrefix, loadStateDictFile, writePth } from '../../src/io/index.js';
import { tempDirs } from './temp-dirs.js';

const dir = tempDirs('mobilezoo-hub-hash-')();

const bytes = writePth(new Map([['w', Tensor.float32([2], [1, 2])]]));
const digest = createHash('sha256').update(bytes).digest('hex');
const save = (name: string) => {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
};
/** A prefix of 10 hex digits with a letter that the digest does not start with. */
const wrong = digest.startsWith('abcdef0123') ? 'fedcba9876' : 'abcdef0123';

test("hubHashPrefix reads torchvision's names as torch.hub's HASH_REGEX does", () => {
  const names: [string, string | undefined][] = [
    ['mobilenet_v3_large-8738ca79.pth', '8738ca79'],
    ['mobilenet_v3_small-047dcff4.pth', '047dcff4'],
    ['mobilenet_v2-b0353104.pth', 'b0353104'],
    ['shufflenetv2_x1-5666bf0f80.pth', '5666bf0f80'],
    ['shufflenetv2_x0.5-f707e7126e.pth', 'f707e7126e'],
    ['/home/u/.cache/torch/hub/checkpoints/alexnet-owt-7be5be79.pth', '7be5be79'],
    ['snet-v1-3c479a10.pth.tar', '3c479a10'],
  ];
  for (const [name, prefix] of names) assert.equal(hubHashPrefix(name), prefix, name);
});

test('names that only look like they carry a hash are not checked', () => {
  for (const name of [
    'run-20240101.pth', // a date: decimal digits only
    'checkpoint-00150000.pth.tar', // a step counter
    'model-abc123.pth', // shorter than 8
    'model-8738CA79.pth', // torch.hub's regex is lowercase
    'model_8738ca79.pth', // no '-'
    'model-8738ca79', // no extension
    'model-8738ca79.tmp-2.pth', // not after the last '-'
    'weights.pth',
  ]) {
    assert.equal(hubHashPrefix(name), undefined, name);
  }
});

test('a file whose name carries its own sha256 prefix loads', async () => {
  for (const length of [8, 10, 64]) {
    const sd = await loadStateDictFile(save(`tiny-${digest.slice(0, length)}.pth`));
    assert.deepEqual([...sd.get('w')!.data], [1, 2]);
  }
});

test('a wrong prefix fails, naming the file, the prefix and the digest; checkHash: false skips the check', async () => {
  const path = save(`mobilenet_v2-${wrong}.pth`);
  await assert.rejects(
    loadStateDictFile(path),
    (e: Error) => {
      assert.equal(
        e.message,
        `${path}: the name says its sha256 starts with ${wrong}, but it is ${digest}: the download is corrupt ` +
          'or the file was renamed (`checkHash: false` skips this check)',
      );
      return true;
    },
  );
  assert.equal((await loadStateDictFile(path, { checkHash: false })).size, 1);
});

test('names that do not match the pattern load without a check', async () => {
  const source = save('source.pth');
  for (const name of [`run-20240101.pth`, `model-${wrong.toUpperCase()}.pth`, `model_${wrong}.pth`]) {
    copyFileSync(source, join(dir, name));
    assert.equal((await loadStateDictFile(join(dir, name))).size, 1, name);
  }
});
