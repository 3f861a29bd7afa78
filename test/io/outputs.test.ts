/**
 * How outputs are written (issue 20, findings 5-7 and 12): atomic writes whose errors name the file,
 * the temporary files of dead writers removed, one writer per folder (a stale lock taken over), the
 * manifest that keeps users' files, and the rule that an output never replaces an input.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { WriteError, removeDeadTemps, saveFileAtomic, tempPathFor } from '../../src/io/atomic.js';
import { LOCK_FILE, lockFolder } from '../../src/io/folder-lock.js';
import { MANIFEST_FILE, OutputFolder } from '../../src/io/output-folder.js';
import { refuseOutputsOverInputs } from '../../src/io/output-guard.js';
import { RefusedError } from '../../src/io/refused.js';
import { tempDirs } from './temp-dirs.js';

const tmp = tempDirs('mobilezoo-outputs-');

/** The pid of a process that has ended. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('saveFileAtomic', () => {
  test('writes through a temporary sibling, and a failed write names the file and leaves nothing behind', async () => {
    const dir = tmp();
    const path = join(dir, 'sub', 'a.json');
    await saveFileAtomic(path, '{"a":1}\n');
    assert.equal(readFileSync(path, 'utf8'), '{"a":1}\n');
    await saveFileAtomic(path, new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['a.json']);

    // A file where a folder should be: the error names the path the caller asked for.
    writeFileSync(join(dir, 'file'), 'x');
    const target = join(dir, 'file', 'chart.png');
    await assert.rejects(saveFileAtomic(target, 'x'), (e: Error) => e instanceof WriteError && e.message.startsWith(`cannot write ${target}: `) && /ENOTDIR|EEXIST/.test(e.message));
    // The rename fails (a folder holds the final name): the temporary file is removed, the folder kept.
    mkdirSync(join(dir, 'loss.png'));
    await assert.rejects(saveFileAtomic(join(dir, 'loss.png'), 'png'), (e: Error) => e instanceof WriteError && e.message.includes(join(dir, 'loss.png')));
    assert.deepEqual(readdirSync(dir).sort(), ['file', 'loss.png', 'sub']);
  });

  test("a write removes the temporary siblings a killed writer of the same file left, not other files' or live writers'", async () => {
    const dir = tmp();
    const dead = deadPid();
    const path = join(dir, 'model.onnx');
    const left = `model.onnx.tmp-${dead}-0123456789ab`;
    const others = [`other.onnx.tmp-${dead}-0123456789ab`, 'model.onnx.tmp-notes'];
    for (const f of [left, ...others]) writeFileSync(join(dir, f), 'half');
    const live = tempPathFor(path);
    writeFileSync(live, 'being written');
    await saveFileAtomic(path, 'model');
    assert.deepEqual(readdirSync(dir).sort(), ['model.onnx', ...others, live.slice(dir.length + 1)].sort());
  });

  test('removeDeadTemps removes what dead writers left, not what live ones are writing', async () => {
    const dir = tmp();
    const dead = deadPid();
    const stale = [`metrics.csv.tmp-${dead}-0123456789ab`, `lib/x.js.tmp-${dead}-0123456789ab`];
    mkdirSync(join(dir, 'lib'));
    for (const f of stale) writeFileSync(join(dir, f), 'half');
    const live = tempPathFor(join(dir, 'report.html'));
    writeFileSync(live, 'being written');
    writeFileSync(join(dir, 'notes.tmp-1-2'), 'the user\'s');
    assert.deepEqual([...(await removeDeadTemps(dir)), ...(await removeDeadTemps(join(dir, 'lib'))).map((f) => `lib/${f}`)].sort(), stale.sort());
    assert.ok(existsSync(live));
    assert.ok(existsSync(join(dir, 'notes.tmp-1-2')));
  });
});

describe('lockFolder', () => {
  test('a second writer is refused naming the holder; a released lock can be taken again', async () => {
    const dir = join(tmp(), 'run');
    const lock = await lockFolder(dir, 'mobilezoo train --out run');
    assert.ok(existsSync(join(dir, LOCK_FILE)));
    await assert.rejects(lockFolder(dir, 'second'), (e: Error) => e instanceof RefusedError && e.message.includes(`pid ${process.pid}`) && e.message.includes('mobilezoo train --out run'));
    await lock.release();
    assert.ok(!existsSync(join(dir, LOCK_FILE)));
    const again = await lockFolder(dir, 'third');
    assert.equal(again.tookOver, undefined);
    await again.release();
  });

  test('the lock of a dead process is taken over and reported', async () => {
    const dir = tmp();
    const pid = deadPid();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: (await import('node:os')).hostname(), started: '2020-01-01T00:00:00.000Z', command: 'killed run' }));
    const lock = await lockFolder(dir, 'next');
    assert.equal(lock.tookOver?.pid, pid);
    assert.match(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).command, /^next$/);
    await lock.release();
  });
});

describe('OutputFolder', () => {
  const writes = ['report.html', 'loss.png', 'lib/page.js'];

  test('replaces only its own unchanged files; users\' files and edits make it refuse, naming them', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'report.html'), 'my own report');
    writeFileSync(join(dir, 'notes.txt'), 'mine, never touched');
    await assert.rejects(OutputFolder.open(dir, { command: 'c', writes }), (e: Error) => e instanceof RefusedError && /report\.html was not written by mobilezoo/.test(e.message));
    assert.ok(!existsSync(join(dir, LOCK_FILE)), 'the refused command released the lock');

    const mine = join(tmp(), 'out');
    let f = await OutputFolder.open(mine, { command: 'c', writes });
    await f.track(['report.html', 'lib/page.js'], async () => {
      await saveFileAtomic(join(mine, 'report.html'), 'ours');
      await saveFileAtomic(join(mine, 'lib/page.js'), 'ours');
    });
    await f.close();
    writeFileSync(join(mine, 'lib', 'analytics.js'), 'added by the user');
    // Unchanged files of ours are replaced without a word; a file the user added is not looked at.
    f = await OutputFolder.open(mine, { command: 'c', writes });
    assert.deepEqual(f.files, ['lib/page.js', 'report.html']);
    await f.close();
    writeFileSync(join(mine, 'report.html'), 'edited by the user');
    await assert.rejects(OutputFolder.open(mine, { command: 'c', writes }), /report\.html was changed since mobilezoo wrote it/);
    // removeOwn keeps an edited file.
    writeFileSync(join(mine, 'report.html'), 'ours');
    f = await OutputFolder.open(mine, { command: 'c', writes });
    writeFileSync(join(mine, 'lib', 'page.js'), 'edited');
    assert.equal(await f.removeOwn('lib/page.js'), false);
    assert.equal(await f.removeOwn('report.html'), true);
    assert.equal(await f.removeOwn('lib/analytics.js'), false);
    await f.close();
    assert.deepEqual(readdirSync(join(mine, 'lib')).sort(), ['analytics.js', 'page.js']);
    assert.ok(!existsSync(join(mine, 'report.html')));
  });

  test('a file being written when its writer was killed still counts as ours; a folder it created and left empty is removed', async () => {
    const dir = join(tmp(), 'new');
    const f = await OutputFolder.open(dir, { command: 'c', writes });
    await assert.rejects(f.track(['loss.png'], async () => {
      writeFileSync(join(dir, 'loss.png'), 'half');
      throw new Error('killed');
    }));
    await f.close();
    assert.equal(JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')).files['loss.png'].sha256, null);
    const again = await OutputFolder.open(dir, { command: 'c', writes });
    await again.close();

    const empty = join(tmp(), 'refused-later');
    await (await OutputFolder.open(empty, { command: 'c', writes })).close();
    assert.ok(!existsSync(empty));
  });
});

describe('refuseOutputsOverInputs', () => {
  test('the same file by path, symbolic link or hard link; a folder holding an input; an output inside an input folder', () => {
    const dir = tmp();
    const ck = join(dir, 'checkpoint-last.safetensors');
    writeFileSync(ck, 'weights');
    symlinkSync(ck, join(dir, 'link.onnx'));
    linkSync(ck, join(dir, 'hard.onnx'));
    const input = [{ path: ck, what: 'the weights' }];
    const refused = (path: string, extra: Partial<{ folder: boolean; writes: (f: string) => boolean }> = {}) => {
      try {
        refuseOutputsOverInputs([{ path, what: 'the output', ...extra }], input);
        return undefined;
      } catch (e) {
        assert.ok(e instanceof RefusedError);
        return (e as Error).message;
      }
    };
    assert.match(refused(ck)!, new RegExp(`the output ${ck} is the same file as the weights ${ck}`));
    assert.match(refused(join(dir, '.', 'link.onnx'))!, /is the same file as the weights/);
    assert.match(refused(join(dir, 'hard.onnx'))!, /is the same file as the weights/);
    assert.match(refused(dir, { folder: true })!, /is a folder that holds the weights/);
    assert.equal(refused(dir, { folder: true, writes: (f) => f === 'report.html' }), undefined);
    assert.equal(refused(join(dir, 'model.onnx')), undefined);
    assert.equal(refused(join(dir, 'new', 'deeper', 'model.onnx')), undefined);
    assert.throws(() => refuseOutputsOverInputs([{ path: join(dir, 'cat', 'loss.png'), what: 'a chart' }], [{ path: dir, what: 'the image folder', folder: true }]), /lies inside the image folder/);
  });
});
