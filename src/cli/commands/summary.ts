/** `mobilezoo summary`. */
import type { Command } from 'commander';
import { createModelShapes } from '../../models/registry.js';
import { summary } from '../../nn/summary.js';
import { summaryText } from '../format.js';
import { addModelFlags, modelName, modelOptionsFrom, positiveInt } from '../parse.js';
import { type CommandEnv } from '../context.js';

export function addSummaryCommand(program: Command, { out }: CommandEnv): void {
  addModelFlags(
    program
      .command('summary')
      .description('per-layer table: output shape, parameters, multiply-accumulates')
      .argument('<model>', 'model name (see mobilezoo list)', modelName('<model>')),
    { classes: true },
  )
    .option('--input <size>', 'input height = width (default: the model\'s, 224 or 32 with --stem cifar)', positiveInt('--input'))
    .option('--json', 'print JSON')
    .action((name: string, o: Record<string, unknown>) => {
      const options = modelOptionsFrom(name, o);
      // Shapes only: a summary allocates no weights, so any width can be summarized.
      const model = createModelShapes(name, options);
      const size = (o.input as number | undefined) ?? model.inputSize[1];
      const s = summary(model, [model.inputSize[0], size, size]);
      if (o.json) {
        return out(JSON.stringify({ model: name, options, input: [1, ...s.inputShape], rows: s.rows, totalParams: s.totalParams, trainableParams: s.trainableParams, totalMacs: s.totalMacs, outputShape: s.outputShape }, null, 2));
      }
      out(summaryText(name, options, s));
    });
}
