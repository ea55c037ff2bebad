// Bootstrap for test-only worker fixtures written in TypeScript: Node 20 cannot load a .ts worker
// entry even with `--import tsx`, so this JS entry registers tsx's loader in the worker and then
// imports the fixture named in workerData.entry (a file URL).
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
