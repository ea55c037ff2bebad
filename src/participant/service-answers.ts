/**
 * A service thread's (the file worker's, the store's) side of the rings: `serviceEndpoint` reads
 * the IO requests every participant sends it and hands each to the service; `ServiceAnswers`
 * sends the answers, each an IO_REPLY envelope from the service's pid to the requester. Runs on
 * that thread's event loop only, so its counters need no synchronisation.
 *
 * Every request gets one answer. An answer the way back cannot carry (larger than a ring record,
 * or a value no codec can encode) is replaced by an error answer with that error's code (counted
 * in `refusedAnswers`), never thrown into the event loop, which would end the thread. An answer
 * for no participant, or one even the error answer cannot reach, counts in `undeliverable` (the
 * second kind is also reported to the node as 'malformed': it is a bug).
 */

import { Signal } from '../codec/envelope.js';
import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import type { IoReply } from '../process/io.js';
import type { Pid } from '../process/pid.js';
import { servicePid } from '../process/services.js';
import { Doorbell } from '../ring/doorbell.js';
import { AsyncEndpoint } from './async-endpoint.js';
import { participantOf } from './participants.js';
import type { ServiceWorkerData } from './service-protocol.js';

/**
 * The service thread's endpoint on the rings `data` names: each IO request read goes to
 * `request`; anything else (and envelopes the endpoint had to drop) counts as undeliverable;
 * `malformed` hears what the endpoint could not read and answers that could not be sent at all.
 */
export function serviceEndpoint(
  data: ServiceWorkerData,
  malformed: (error: unknown) => void,
  request: (from: Pid, ref: number, payload: unknown) => void,
): { endpoint: AsyncEndpoint; answers: ServiceAnswers } {
  const answers = new ServiceAnswers(() => endpoint, servicePid(data.node, data.service), data, malformed);
  const endpoint = new AsyncEndpoint(new Doorbell(data.bell), data.inbound, data.outbound, data, {
    envelope: ({ signal, from, ref, payload }) => {
      if (signal !== Signal.IO || from === undefined) answers.undeliverable++;
      else request(from, ref, payload);
    },
    malformed,
    dropped: (count) => {
      answers.undeliverable += count;
    },
  });
  return { endpoint, answers };
}

export class ServiceAnswers {
  /** Answers (and requests) that reached no one. */
  undeliverable = 0;
  /** Answers replaced by an error answer because they could not be sent. */
  refusedAnswers = 0;

  constructor(
    private readonly endpoint: () => AsyncEndpoint,
    private readonly self: Pid,
    private readonly topology: { node: number; shards: number },
    private readonly malformed: (error: unknown) => void,
  ) {}

  /** Sends `reply` to the requester `to` under `ref`; one that cannot be carried goes as an error answer instead. */
  send(to: Pid, ref: number, reply: IoReply): void {
    const index = participantOf(to, this.topology.node, this.topology.shards);
    if (index === undefined) {
      this.undeliverable++;
      return;
    }
    const endpoint = this.endpoint();
    const envelope = { signal: Signal.IO_REPLY, to, from: this.self, ref, payload: reply };
    try {
      if (!endpoint.send(index, envelope)) this.undeliverable++;
      return;
    } catch (error) {
      this.refusedAnswers++;
      const code = error instanceof HordeError ? error.code : ErrorCode.UNKNOWN;
      const why = error instanceof Error ? error.message : String(error);
      envelope.payload = { ok: false, error: errorToWire(new HordeError(code, `the answer cannot be sent back: ${why}`)) };
    }
    try {
      if (!endpoint.send(index, envelope)) this.undeliverable++;
    } catch (error) {
      // An error answer is small and plain: this is a bug, reported rather than thrown.
      this.undeliverable++;
      this.malformed(error);
    }
  }
}
