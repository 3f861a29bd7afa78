/**
 * Train-mode forward, loss, every stored gradient and the BatchNorm buffers after one step, against the
 * PyTorch fixtures, with the tolerances of ../shared/fixtures/README.md, on onnxruntime-node.
 */
import { test } from 'node:test';
import { nodeBackend } from '../../src/runtime/node-backend.js';
import { NO_FIXTURES, caseIds } from '../models/fixtures.js';
import { checkTrainMode } from './fixture-checks.js';

if (NO_FIXTURES) test('train steps against PyTorch', { skip: NO_FIXTURES }, () => {});

for (const id of caseIds()) {
  test(`train-mode outputs, gradients and running statistics match PyTorch: ${id}`, async () => {
    await checkTrainMode(id, nodeBackend({ threads: 2 }));
  });
}
