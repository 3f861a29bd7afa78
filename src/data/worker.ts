/** DataLoader worker thread: receives shared images once, then index lists; replies with float batches. */

import { parentPort, workerData } from 'node:worker_threads';
import { Assembler, type AssemblerInit, type BatchJob } from './assemble.js';

if (!parentPort) throw new Error('mobilezoo data worker must run in a worker thread');
const port = parentPort;
const assembler = Assembler.fromBuffer(workerData as AssemblerInit);

port.on('message', (job: BatchJob) => {
  try {
    const images = assembler.assemble(job);
    port.postMessage({ id: job.id, images }, [images.buffer as ArrayBuffer]);
  } catch (e) {
    const err = e as Error;
    port.postMessage({ id: job.id, error: err?.message ?? String(e), stack: err?.stack });
  }
});
