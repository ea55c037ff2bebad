/**
 * Entry of the file I/O worker thread. It lives on its event loop (its work is asynchronous file
 * system calls and the piscina pool): an AsyncEndpoint reads requests from every participant's
 * ring and writes each answer back to the requester's participant; comlink on the control port
 * (whose listener also keeps the thread alive) answers the service API (status, replaceRings,
 * stop, and the `fail` test hook).
 *
 * Every request gets one answer. An answer the way back cannot carry (larger than a ring record,
 * or a compute result no codec can encode) is replaced by an error answer with that error's code
 * (counted in `refusedAnswers`), never thrown into the event loop, which would end the thread.
 */
import { expose } from 'comlink';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { errorToWire } from '../errors.js';
import { maxPayloadFor } from '../ring/ring.js';
import { portEndpoint } from '../internal/control-endpoint.js';
import { serviceEndpoint } from '../participant/service-answers.js';
import { stallThread, type ServiceWorkerData } from '../participant/service-protocol.js';
import { FileService } from './service.js';
import type { FileWorkerApi } from './protocol.js';

const data = workerData as ServiceWorkerData & { controlPort: MessagePort };
const port = parentPort!;
const { settings } = data;
const service = new FileService({
  dataDir: settings.dataDir,
  computeModules: settings.computeModules,
  preload: settings.preload,
  computeThreads: settings.computeThreads,
  // A quarter of what one ring record carries: a default read's answer fits with room to spare.
  readBytes: Math.floor(maxPayloadFor(settings.ringCapacity) / 4),
});
const { endpoint, answers } = serviceEndpoint(
  data,
  (error) => port.postMessage({ type: 'malformed', error: errorToWire(error) }),
  (from, ref, payload) =>
    void service.handle(payload).then(
      (reply) => answers.send(from, ref, reply),
      (error: unknown) => answers.send(from, ref, { ok: false, error: errorToWire(error) }),
    ),
);

const api: FileWorkerApi = {
  status: () => ({ ...service.status(), undeliverable: answers.undeliverable, refusedAnswers: answers.refusedAnswers }),
  replaceRings: (index, inbound, outbound) => endpoint.replace(index, inbound, outbound),
  stop: async () => {
    await service.close();
    await endpoint.close();
    setImmediate(() => data.controlPort.close());
  },
  fail: (stallMs, code) => {
    stallThread(stallMs);
    process.exit(code);
  },
};
expose(api, portEndpoint(data.controlPort));
endpoint.start();
port.postMessage({ type: 'ready' });
