// Entry of an executor worker thread: load modules, build the Executor, run its loop.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { errorToWire } from '../errors.js';
import { loadBehaviours } from './behaviours.js';
import { Executor } from './executor.js';
import type { ExecutorWorkerData } from './protocol.js';

const data = workerData as ExecutorWorkerData & { controlPort: MessagePort };
const port = parentPort!;

for (const specifier of data.preloadModules) await import(specifier);
const behaviours = await loadBehaviours(data.behaviourModules);
const executor = new Executor(data, behaviours, data.controlPort, {
  crashed: (pid, kind, reason) => port.postMessage({ type: 'crashed', pid, kind, reason }),
  malformed: (error) => port.postMessage({ type: 'malformed', error: errorToWire(error) }),
  refused: (from, to, error) => port.postMessage({ type: 'refused', from, to, error: errorToWire(error) }),
});
port.postMessage({ type: 'ready', kinds: Object.keys(behaviours).sort() });
executor.run();
