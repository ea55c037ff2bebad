/**
 * Entry of the file I/O worker thread. It lives on its event loop (its work is asynchronous file
 * system calls and the piscina pool): an AsyncEndpoint reads requests from every participant's
 * ring and writes each answer back to the requester's participant; comlink on the control port
 * (whose listener also keeps the thread alive) answers status, replaceRings and stop.
 */
import { expose } from 'comlink';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { Signal, type Envelope } from '../codec/envelope.js';
import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import type { IoReply } from '../process/io.js';
import { FILEIO_SHARD, pid as makePid, type Pid } from '../process/pid.js';
import { Doorbell } from '../ring/doorbell.js';
import { AsyncEndpoint } from '../participant/async-endpoint.js';
import { portEndpoint } from '../internal/control-endpoint.js';
import { participantOf } from '../participant/participants.js';
import { FileService } from './service.js';
import type { FileWorkerApi, FileWorkerData } from './protocol.js';

const data = workerData as FileWorkerData & { controlPort: MessagePort };
const port = parentPort!;
const self = makePid(data.node, FILEIO_SHARD, 0);
const service = new FileService({
  dataDir: data.dataDir,
  computeModules: data.computeModules,
  preload: data.preload,
  computeThreads: data.computeThreads,
});
let undeliverable = 0;

const endpoint = new AsyncEndpoint(new Doorbell(data.bell), data.inbound, data.outbound, data, {
  envelope: (envelope) => serve(envelope),
  malformed: (error) => port.postMessage({ type: 'malformed', error: errorToWire(error) }),
  dropped: (count) => {
    undeliverable += count;
  },
});

function serve(envelope: Envelope): void {
  const { signal, from, ref, payload } = envelope;
  if (signal !== Signal.IO || from === undefined) {
    undeliverable++;
    return;
  }
  void service.handle(payload).then((reply) => {
    const index = participantOf(from, data.node, data.shards);
    if (index === undefined || !answer(index, from, ref, reply)) undeliverable++;
  });
}

/** Sends an answer; one that cannot travel (over maxMessageBytes, or unencodable) is answered with that error instead. */
function answer(index: number, to: Pid, ref: number, reply: IoReply): boolean {
  try {
    return endpoint.send(index, { signal: Signal.IO_REPLY, to, from: self, ref, payload: reply });
  } catch (error) {
    if (!(error instanceof HordeError) || (error.code !== ErrorCode.MESSAGE_TOO_LARGE && error.code !== ErrorCode.UNENCODABLE_MESSAGE)) throw error;
    return endpoint.send(index, { signal: Signal.IO_REPLY, to, from: self, ref, payload: { ok: false, error: errorToWire(error) } });
  }
}

const api: FileWorkerApi = {
  status: () => ({ ...service.status(), undeliverable }),
  replaceRings: (index, inbound, outbound) => endpoint.replace(index, inbound, outbound),
  stop: async () => {
    await service.close();
    await endpoint.close();
    setImmediate(() => data.controlPort.close());
  },
};
expose(api, portEndpoint(data.controlPort));
endpoint.start();
port.postMessage({ type: 'ready' });
