/** `mobilezoo list`. */
import type { Command } from 'commander';
import { listModels } from '../../models/registry.js';
import { formatTable } from '../../report/index.js';
import { modelFlagsOf } from '../parse.js';
import { type CommandEnv } from '../context.js';

export function addListCommand(program: Command, { out }: CommandEnv): void {
  program
    .command('list')
    .description('list the models and their option flags')
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => {
      const models = listModels().map((m) => ({ ...m, flags: modelFlagsOf(m.name) }));
      if (o.json) return out(JSON.stringify(models, null, 2));
      out(formatTable(models.map((m) => [m.name, m.description, m.flags.join(' ')]), ['model', 'description', 'flags']));
    });
}
