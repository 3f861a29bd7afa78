import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runCli } from '../../src/cli/program.js';
import { memoryStreams, runCliProcess } from './helpers.js';

describe('mobilezoo summary / list', () => {
  test('--json totals of MobileNetV2 match torchvision (3,504,872 params, 300,774,272 MACs)', async () => {
    const r = await runCliProcess(['summary', 'mobilenet_v2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.totalParams, 3_504_872);
    assert.equal(j.totalMacs, 300_774_272);
    assert.deepEqual(j.input, [1, 3, 224, 224]);
    assert.deepEqual(j.outputShape, [1, 1000]);
    assert.equal(j.rows.reduce((s: number, r: { params: number }) => s + r.params, 0), 3_504_872);
    assert.equal(j.rows.reduce((s: number, r: { macs: number }) => s + r.macs, 0), 300_774_272);
  });

  test('readable table with totals; ShuffleNetV1 --groups/--size; --stem cifar input defaults to 32', async () => {
    const m = memoryStreams();
    assert.equal(await runCli(['summary', 'shufflenet_v1', '--groups', '8', '--size', '0.5', '--classes', '10', '--stem', 'cifar'], m.io), 0, m.err());
    const text = m.out();
    assert.match(text, /^shufflenet_v1 \(groups=8 size="0\.5x" numClasses=10 stem="cifar"\), input \[1, 3, 32, 32\]/);
    assert.match(text, /name\s+type\s+output shape\s+params\s+MACs/);
    assert.match(text, /first_conv\.0\s+Conv2d\s+\[1, 16, 32, 32\]/);
    assert.match(text, /total params:\s+[\d,]+/);
    assert.match(text, /total MACs:\s+[\d,]+/);
    assert.match(text, /output:\s+\[1, 10\]/);

    const j = memoryStreams();
    assert.equal(await runCli(['summary', 'shufflenet_v2_x0_5', '--input', '64', '--json'], j.io), 0, j.err());
    const s = JSON.parse(j.out());
    assert.deepEqual(s.input, [1, 3, 64, 64]);
    assert.equal(s.totalParams, 1_366_792); // torchvision shufflenet_v2_x0_5
  });

  test('MobileNetV3 flags and list', async () => {
    const m = memoryStreams();
    assert.equal(await runCli(['summary', 'mobilenet_v3_small', '--reduced-tail', '--dilated', '--width', '0.75', '--json'], m.io), 0, m.err());
    assert.equal(JSON.parse(m.out()).options.reducedTail, true);
    const l = memoryStreams();
    assert.equal(await runCli(['list'], l.io), 0);
    for (const name of ['mobilenet_v1', 'mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small', 'shufflenet_v1', 'shufflenet_v2_x2_0']) {
      assert.match(l.out(), new RegExp(`^${name}\\s`, 'm'));
    }
  });
});

describe('bad flags exit with code 2 and name the flag', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--lr', 'abc'], /--lr: expected a positive number, got 'abc'/],
    [['train', '--epochs', '0'], /--epochs: expected a positive integer, got '0'/],
    [['train', '--batch-size', '12.5'], /--batch-size: expected a positive integer, got '12.5'/],
    [['train', '--optimizer', 'lion'], /--optimizer: expected one of adam, adamw, sgd, rmsprop, got 'lion'/],
    [['train', '--schedule', 'poly'], /--schedule: expected one of/],
    [['train', '--dataset', 'imagenet'], /--dataset: expected one of cifar10, cifar100, fashion-mnist, mnist, synthetic, folder, got 'imagenet'/],
    [['train', '--recipe', 'fast'], /--recipe: expected one of cifar, fashion-mnist, mobilenet-v2-paper/],
    [['train', '--momentum', '1.5'], /--momentum: expected a number in \[0, 1\)/],
    [['train', '--nesterov'], /--nesterov: only applies to --optimizer sgd/],
    [['train', '--label-smoothing', '-0.1'], /--label-smoothing: expected a number in \[0, 1\)/],
    [['train', '--random-erasing', '2'], /--random-erasing: expected a number in \[0, 1\)/],
    [['train', '--ema', '1'], /--ema: expected a number in \(0, 1\)/],
    [['train', '--minutes', '0'], /--minutes: expected a positive number, got '0'/],
    [['train', '--model', 'resnet50'], /--model: unknown model 'resnet50'/],
    [['train', '--model', 'shufflenet_v2_x0_5', '--width', '0.5'], /--width: not an option of shufflenet_v2_x0_5/],
    [['train', '--dataset', 'folder'], /--data: the folder dataset needs an image folder/],
    [['train', '--schedule', 'cosine', '--gamma', '0.5'], /--gamma: only applies to --schedule step or exponential, not cosine/],
    [['train', '--epochs', '3', '--warmup', '3'], /--warmup: 3 epochs of warmup leave nothing/],
    [['train', '--resume', 'x.json', '--lr', '0.1'], /--lr: cannot be changed when resuming/],
    [['train', '--frobnicate'], /unknown option '--frobnicate'/],
    [['summary', 'mobilenet_v2', '--groups', '3'], /--groups: not an option of mobilenet_v2/],
    [['summary', 'shufflenet_v1', '--groups', '5'], /--groups: expected one of 1, 2, 3, 4, 8, got '5'/],
    [['summary', 'shufflenet_v1', '--size', '3x'], /--size: expected one of 0\.25x, 0\.5x, 1\.0x, 1\.5x, 2\.0x/],
    [['summary', 'mobilenet_v2', '--width', '-1'], /--width: expected a positive number, got '-1'/],
    [['summary'], /missing required argument 'model'/],
    [["test", "--dataset", "synthetic"], /--checkpoint, --weights or --onnx/],
    [['test', '--checkpoint', 'c.json', '--tta', 'rotate'], /--tta: expected one of none, flip, flip-shift, got 'rotate'/],
    [["predict", "a.png"], /--checkpoint, --weights or --onnx/],
    [['predict', 'a.png', '--weights', 'w.pth', '--width', '0.5'], /--width: model options need --model/],
    [['export', '--model', 'mobilenet_v2'], /--onnx, --pth, --pytorch or --web: give one output/],
    [['export', '--web', 'site', '--model', 'mobilenet_v2', '--batch', '2'], /--batch: not used with --web/],
    [['export', '--onnx', 'x.onnx', '--model', 'mobilenet_v2', '--batch', '0'], /--batch: expected a positive integer, got '0'/],
  ];
  for (const [args, re] of cases) {
    test(args.join(' '), async () => {
      const m = memoryStreams();
      assert.equal(await runCli(args, m.io), 2, `stdout: ${m.out()}\nstderr: ${m.err()}`);
      assert.match(m.err(), re);
    });
  }

  test('as a process: exit status 2 and the message on stderr', async () => {
    const r = await runCliProcess(['train', '--lr', 'abc']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^mobilezoo train: --lr: expected a positive number, got 'abc'$/m);
    assert.equal(r.stdout, '');
  });
});
