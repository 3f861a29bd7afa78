/**
 * The cost of the augmentation steps on one thread: images per CPU-second of each training transform on
 * random images at 32x32 (the small datasets) and 224x224 (fine-tuning), and of each AutoAugment op at
 * 224. CPU time (process.cpuUsage), not wall time, so that other processes on the machine disturb it less.
 * A script, not a test.
 *
 *   node --import tsx bench/augment.ts [--ms 1500]
 */
import { Rng } from '../src/data/random.js';
import { type AugmentOp, AUGMENT_OPS, applyAugmentOp, augmentationSpace } from '../src/data/transforms-augment.js';
import { type TransformSpec, type TransformStep, compileTransform } from '../src/data/transforms.js';

const at = process.argv.indexOf('--ms');
const ms = at >= 0 ? Number(process.argv[at + 1]) : 1500;
if (!(ms > 0)) throw new Error('--ms: expected a positive number of milliseconds');

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function rate(run: () => void): number {
  for (let i = 0; i < 3; i++) run();
  let n = 0;
  const t0 = cpuMs();
  while (cpuMs() - t0 < ms) {
    run();
    n++;
  }
  return (n * 1000) / (cpuMs() - t0);
}

const norm: TransformStep = { op: 'normalize', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
for (const size of [32, 224]) {
  const input = { channels: 3, height: size, width: size };
  const rng = new Rng(1);
  const img = Uint8Array.from({ length: size * size * 3 }, () => rng.int(256));
  const specs: [string, TransformSpec][] = [
    ['crop + flip (baseline)', [{ op: 'randomCrop', size, padding: size / 8 }, { op: 'hflip' }, norm]],
    ['randomResizedCrop + flip', [{ op: 'randomResizedCrop', size }, { op: 'hflip' }, norm]],
    ['+ colorJitter 0.4', [{ op: 'randomResizedCrop', size }, { op: 'hflip' }, { op: 'colorJitter', brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 }, norm]],
    ['+ autoAugment imagenet', [{ op: 'randomResizedCrop', size }, { op: 'hflip' }, { op: 'autoAugment' }, norm]],
    ['+ randAugment 2,9', [{ op: 'randomResizedCrop', size }, { op: 'hflip' }, { op: 'randAugment' }, norm]],
    ['+ trivialAugmentWide', [{ op: 'randomResizedCrop', size }, { op: 'hflip' }, { op: 'trivialAugmentWide' }, norm]],
  ];
  console.log(`\n${size}x${size} RGB, one thread: images per CPU-second`);
  for (const [name, spec] of specs) {
    const t = compileTransform(spec, input);
    let i = 0;
    console.log(`  ${name.padEnd(28)} ${rate(() => t.apply(img, Rng.from(7, i++))).toFixed(0).padStart(8)}`);
  }
}

const size = 224;
const rng = new Rng(2);
const image = { data: Uint8Array.from({ length: size * size * 3 }, () => rng.int(256)), height: size, width: size, channels: 3 };
const space = augmentationSpace('autoAugment', 10, image);
console.log('\n224x224 RGB, one op at bin 5 (of 10): images per CPU-second');
for (const op of AUGMENT_OPS.filter((o): o is AugmentOp => o !== 'Identity')) {
  const m = space.get(op)!;
  const magnitude = m.magnitudes.length > 1 ? m.magnitudes[5]! : 0;
  console.log(`  ${op.padEnd(14)} ${rate(() => applyAugmentOp(image, op, magnitude)).toFixed(0).padStart(8)}`);
}
