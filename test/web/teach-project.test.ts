/**
 * The teach page's project logic under Node: the held-out split is `train --data`'s folder split, the
 * messages for what keeps a project from training, the project file round trip, and the starting weights
 * (our checkpoint, a torchvision-named .pth, megvii's .pth.tar, and the refusals).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { indexFolder } from '../../src/data/folder.js';
import { writePth } from '../../src/io/pth-writer.js';
import { createModel } from '../../src/models/registry.js';
import { type Project, type ProjectClass, heldOutSplit, newId, newProject, problems } from '../../src/web/teach/project.js';
import { readProjectFile, writeProjectFile } from '../../src/web/teach/project-file.js';
import { startFromFiles } from '../../src/web/teach/start.js';
import { rmrf, tempDir } from '../cli/helpers.js';

const image = (name: string, bytes = new Uint8Array([1, 2, 3])) => ({ id: newId(), name, blob: new Blob([bytes], { type: 'image/png' }), width: 8, height: 8 });
const klass = (name: string, n: number): ProjectClass => ({ id: newId(), name, images: Array.from({ length: n }, (_, i) => image(`${String(i).padStart(3, '0')}.png`)) });

describe('teach projects', () => {
  const dir = tempDir('mobilezoo-teach-project-');
  after(() => rmrf(dir));

  test('the held-out split is the folder split of train --data (per class, seeded by the class name)', async () => {
    const classes = [klass('ant', 23), klass('bee', 7), klass('cat', 40)];
    for (const c of classes) {
      await mkdir(join(dir, 'data', c.name), { recursive: true });
      for (const im of c.images) await writeFile(join(dir, 'data', c.name, im.name), '');
    }
    for (const [fraction, seed] of [[0.2, 0], [0.3, 5]] as const) {
      const split = heldOutSplit(classes, fraction, seed);
      const folder = indexFolder({ root: join(dir, 'data'), testFraction: fraction, seed });
      const names = (files: string[]) => files.map((f) => f.split('/').slice(-2).join('/')).sort();
      assert.deepEqual(split.test.map((t) => `${classes[t.label]!.name}/${t.image.name}`).sort(), names(folder.test.files));
      assert.deepEqual(split.train.map((t) => `${classes[t.label]!.name}/${t.image.name}`).sort(), names(folder.train.files));
    }
  });

  test('what keeps a project from training, in words', () => {
    const p: Project = { ...newProject(), classes: [klass('a', 0), klass('a', 1), klass('b', 10)] };
    assert.deepEqual(problems(p), [
      'Class "a" has no images.',
      'Two classes are named "a": give each class its own name.',
      'Class "a" has 1 image: too few to hold 20% out for evaluation and train on the rest (add images, or change the held-out share).',
    ]);
    assert.deepEqual(problems({ ...p, classes: [klass('x', 5)] }), ['Add at least two classes: a classifier chooses between classes.']);
    assert.deepEqual(problems({ ...p, classes: [klass('x', 5), klass('y', 5)], settings: { ...p.settings, epochs: 0, lr: -1, batchSize: 1 } }), [
      'Epochs must be a whole number from 1 to 1000.', 'The learning rate must be a number above 0 (for example 0.001).', 'The batch size must be a whole number from 2 to 256.',
    ]);
    assert.deepEqual(problems({ ...p, classes: [klass('x', 5), klass('y', 5)] }), []);
  });

  test('a project file holds everything and is read back; a file that is not one is refused by name', async () => {
    const p: Project = { ...newProject(), name: 'pets', classes: [klass('cat', 2), klass('dog', 3)], start: { kind: 'file', label: 'w.safetensors', weights: new Uint8Array([9, 8, 7]) } };
    p.result = { classNames: ['cat', 'dog'], modelOptions: { numClasses: 2 }, preprocessing: undefined as never, history: [], evaluation: { accuracy: 0.5, top5: 1, loss: 1, confusion: [[1, 0], [1, 0]], predictions: [] }, files: [{ name: 'checkpoint-last.json', bytes: new Uint8Array([1]) }], cached: true, seconds: 1, createdAt: 'now' };
    const back = await readProjectFile(await writeProjectFile(p), 'pets.zip');
    assert.deepEqual(back.classes.map((c) => [c.name, c.images.map((i) => [i.id, i.name, i.blob.type, i.blob.size])]), p.classes.map((c) => [c.name, c.images.map((i) => [i.id, i.name, 'image/png', 3])]));
    assert.deepEqual([...back.start.weights!], [9, 8, 7]);
    assert.deepEqual(back.result!.files.map((f) => [f.name, [...f.bytes]]), [['checkpoint-last.json', [1]]]);
    assert.equal(back.result!.evaluation.accuracy, 0.5);
    await assert.rejects(readProjectFile(new TextEncoder().encode('hello'), 'notes.txt'), /notes\.txt: not a project file/);
  });

  test('starting weights: a torchvision-named .pth sets the model and ImageNet preprocessing; megvii .pth.tar loads; refusals name the file', async () => {
    const v3 = createModel('mobilenet_v3_small', { numClasses: 1000, widthMult: 1 }).stateDict();
    const tv = await startFromFiles([{ name: 'mobilenet_v3_small-047dcff4.pth', bytes: writePth(v3) }], { name: 'mobilenet_v2', options: {} });
    assert.deepEqual(tv.model, { name: 'mobilenet_v3_small', options: {} });
    assert.equal(tv.start.preprocessing!.inputSize[1], 224);
    assert.match(JSON.stringify(tv.start.preprocessing!.transform), /"fit","size":\[256,256\]/);
    const megvii = new Uint8Array(readFileSync(new URL('../fixtures/pth/shufflenet_v1_g3_0.25x.pth.tar', import.meta.url)));
    const mv = await startFromFiles([{ name: 'snet.pth.tar', bytes: megvii }], { name: 'shufflenet_v1', options: { groups: 3, size: '0.25x' } });
    assert.equal(mv.start.sourceKind, 'state dict');
    await assert.rejects(startFromFiles([{ name: 'snet.pth.tar', bytes: megvii }], { name: 'mobilenet_v2', options: {} }), /snet\.pth\.tar: these weights are not for mobilenet_v2/);
    await assert.rejects(startFromFiles([{ name: 'cat.png', bytes: new Uint8Array(100) }], { name: 'mobilenet_v2', options: {} }), /cat\.png: not weights this page reads/);
    await assert.rejects(startFromFiles([{ name: 'checkpoint-last.json', bytes: new TextEncoder().encode('{"format":"x"}') }], { name: 'mobilenet_v2', options: {} }), /checkpoint-last\.json: not a mobilezoo checkpoint record/);
  });
});
