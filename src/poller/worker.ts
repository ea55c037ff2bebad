// Entry of the poller worker thread: build the Poller, say ready, run its loop.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Poller, type PollerWorkerData } from './poller.js';

const data = workerData as PollerWorkerData & { controlPort: MessagePort };
const poller = new Poller(data, data.controlPort);
parentPort!.postMessage({ type: 'ready' });
poller.run();
