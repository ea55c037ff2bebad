// Entry of the poller worker thread: build the Poller, say ready, run its loop.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ServiceWorkerData } from '../participant/service-protocol.js';
import { Poller } from './poller.js';

const data = workerData as ServiceWorkerData & { controlPort: MessagePort };
const poller = new Poller(data, data.controlPort);
parentPort!.postMessage({ type: 'ready' });
poller.run();
