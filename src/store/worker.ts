/**
 * Entry of the store thread. It lives on its event loop: an AsyncEndpoint reads requests from
 * every participant's ring and writes each answer back to the requester's participant; comlink on
 * the control port (whose listener also keeps the thread alive) answers the service API (status,
 * replaceRings, stop, and the `fail` test hook).
 *
 * Batching: requests are queued as the endpoint reads them and carried out together once its read
 * pass ends (a microtask), by StoreService.handleBatch, one batch at a time; their answers are
 * sent in one synchronous stretch, so the endpoint publishes them together. Requests that arrive
 * while a batch waits for a database to open form the next batch. The queue is bounded
 * (MAX_QUEUED): past it a request is answered HORDE_OVERLOADED at once.
 *
 * Every request gets one answer. An answer the way back cannot carry (larger than the node's
 * `maxMessageBytes`) is replaced by an error answer with that error's code (counted in
 * `refusedAnswers`), never thrown into the event loop, which would end the thread.
 */
import { expose } from 'comlink';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import type { IoReply } from '../process/io.js';
import type { Pid } from '../process/pid.js';
import { portEndpoint } from '../internal/control-endpoint.js';
import { serviceEndpoint } from '../participant/service-answers.js';
import { stallThread, type ServiceWorkerData } from '../participant/service-protocol.js';
import { StoreService } from './service.js';
import type { StoreWorkerApi } from './protocol.js';

/** Requests waiting for the batch being carried out; more are refused with HORDE_OVERLOADED. */
export const MAX_QUEUED = 65_536;
/** How often idle cursors are looked for when no request comes (ms). */
const EXPIRY_SWEEP_MS = 1000;

interface Queued {
  from: Pid;
  ref: number;
  request: unknown;
}

const data = workerData as ServiceWorkerData & { controlPort: MessagePort };
const port = parentPort!;
const service = new StoreService({ dataDir: data.settings.dataDir, store: data.settings.store });
let queue: Queued[] = [];
let scheduled = false;
let working: Promise<void> | undefined;
let refused = 0;
const { endpoint, answers } = serviceEndpoint(data, (error) => port.postMessage({ type: 'malformed', error: errorToWire(error) }), serve);

function serve(from: Pid, ref: number, payload: unknown): void {
  if (queue.length >= MAX_QUEUED) {
    refused++;
    answers.send(from, ref, { ok: false, error: errorToWire(new HordeError(ErrorCode.OVERLOADED, `the store thread has ${MAX_QUEUED} requests waiting already`)) });
    return;
  }
  queue.push({ from, ref, request: payload });
  if (!scheduled && working === undefined) {
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      working = work().finally(() => {
        working = undefined;
      });
    });
  }
}

/** Carries out what is queued, batch after batch, until nothing waits. */
async function work(): Promise<void> {
  while (queue.length > 0) {
    const batch = queue;
    queue = [];
    let replies: IoReply[];
    try {
      replies = await service.handleBatch(batch.map((queued) => queued.request));
    } catch (error) {
      // handleBatch answers every request itself; this is a bug, answered and reported.
      port.postMessage({ type: 'malformed', error: errorToWire(error) });
      replies = batch.map(() => ({ ok: false, error: errorToWire(error) }));
    }
    batch.forEach(({ from, ref }, i) => answers.send(from, ref, replies[i]!));
  }
}

const sweep = setInterval(() => service.expireCursors(), EXPIRY_SWEEP_MS);
sweep.unref();

const api: StoreWorkerApi = {
  status: () => ({ ...service.status(), queued: queue.length, refused, undeliverable: answers.undeliverable, refusedAnswers: answers.refusedAnswers }),
  replaceRings: (index, inbound, outbound) => endpoint.replace(index, inbound, outbound),
  stop: async () => {
    clearInterval(sweep);
    await working;
    service.close();
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
