/**
 * How a service thread (the file worker, the store) sends its answers: each one an IO_REPLY
 * envelope from the service's pid to the requester, on the thread's AsyncEndpoint. Runs on that
 * thread's event loop only, so its counters need no synchronisation.
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
import type { AsyncEndpoint } from './async-endpoint.js';
import { participantOf } from './participants.js';

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
