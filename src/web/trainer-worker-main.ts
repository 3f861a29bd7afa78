/**
 * The entry of the trainer's Web Worker (a module worker), dist/web/trainer-worker-main.js where the page
 * serves it: new Worker('lib/web/trainer-worker-main.js', { type: 'module' }), then
 * RemoteTrainer.start(worker, { ortUrl }) from the page (trainer-client.ts).
 */
import type { OrtWebModule } from '../runtime/web-backend.js';
import { type PortLike, serveTrainer } from './trainer-worker.js';

serveTrainer(globalThis as unknown as PortLike, (url) => import(url) as Promise<OrtWebModule>);
