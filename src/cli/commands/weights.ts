/** `mobilezoo weights`. */
import type { Command } from 'commander';
import { formatTable } from '../../report/index.js';
import { listWeights, resolveWeightsFile, weightsDirs } from '../../workflow/index.js';
import { type CommandEnv } from '../context.js';

export function addWeightsCommand(program: Command, { io, out }: CommandEnv): void {
  program
    .command('weights')
    .description('list the published weights that --pretrained and --weights take by name (model, ImageNet top-1, size, cached or not); with names, download them into the cache')
    .argument('[names...]', 'weights to download now (e.g. mobilenet_v3_large or mobilenet_v2.IMAGENET1K_V1)')
    .option('--json', 'print JSON')
    .action(async (names: string[], o: { json?: boolean }) => {
      for (const name of names) out(await resolveWeightsFile(name, 'mobilezoo weights', { log: (m) => io.stderr.write(`${m}\n`) }));
      if (names.length) return;
      const rows = listWeights();
      if (o.json) return out(JSON.stringify(rows, null, 2));
      const dirs = weightsDirs();
      out(formatTable(
        rows.map((w) => [w.isDefault ? `${w.name} (default)` : w.name, w.model, w.top1.toFixed(3), `${w.fileSizeMb.toFixed(1)} MB`, w.cached ?? 'no']),
        ['name', 'model', 'top-1', 'size', 'cached'],
      ));
      out(`\n--pretrained / --weights take a name (the model alone means its default). Files are cached in ${dirs.cache}; torch.hub's ${dirs.torchHub} is used too.`);
    });
}
