/**
 * Writes state dicts with writePth for dev/legacy-pth-fixtures.py's `verify` mode (torch.load(weights_only=True)
 * and bit equality): DIR/<name>.pth, the same tensors as DIR/<name>.safetensors, DIR/manifest.json.
 *
 *   node --import tsx dev/write-pth-sample.ts /tmp/pth-sample && /usr/bin/python3 dev/legacy-pth-fixtures.py verify /tmp/pth-sample
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePth, writeSafetensors } from '../src/io/index.js';
import type { StateDict } from '../src/tensor.js';
import { FAMILY_SAMPLES, edgeCaseStateDict, randomStateDict } from '../test/io/sample-state-dicts.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node --import tsx dev/write-pth-sample.ts DIR');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const manifest: Record<string, unknown> = {};
const save = (name: string, sd: StateDict, entry: Record<string, unknown>) => {
  writeFileSync(join(dir, `${name}.pth`), writePth(sd));
  writeFileSync(join(dir, `${name}.safetensors`), writeSafetensors(sd));
  manifest[`${name}.pth`] = entry;
};
FAMILY_SAMPLES.forEach(({ model, options }, i) => save(model, randomStateDict(model, options, i), { model, options }));
save('edge-cases', edgeCaseStateDict(), { tied: ['tied.a', 'tied.b'] });
writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
console.log(`wrote ${Object.keys(manifest).length} .pth files and their .safetensors twins to ${dir}`);
