/**
 * AsyncEndpoint: the rings of a thread that lives on its event loop and must never block: the main
 * thread, and the file I/O worker (whose work is asynchronous file system calls).
 *
 * Writing: `send` encodes into the ring to the target participant; records are published once per
 * microtask checkpoint (many sends from one synchronous stretch of user code share one publish).
 * A full ring sends the envelope to the bounded overflow (Outbound); past its limit `send` refuses
 * and the caller answers OVERLOADED.
 *
 * Reading: an async pump polls the inbound rings fairly and hands each decoded envelope to
 * `onEnvelope`; when all are empty it parks with Atomics.waitAsync (no spin: the event loop has
 * other work), also waking when an overflowing ring frees space. Between busy passes it yields to
 * the event loop (setImmediate) so timers, sockets and file callbacks keep running under a flood.
 * The pump itself does not keep its thread alive (Node 20's waitAsync does not): on the main thread
 * the executor workers do, for as long as the node runs; the file worker holds a ref'd handle.
 */

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { decodeEnvelope, type Envelope } from '../codec/envelope.js';
import type { Doorbell } from '../ring/doorbell.js';
import { InboundRings } from '../ring/inbound.js';
import type { RingHandle } from '../ring/ring.js';
import { Outbound, SendResult } from '../executor/outbound.js';

const POLL_BUDGET = 256;

export interface AsyncEndpointEvents {
  envelope(envelope: Envelope): void;
  malformed(error: unknown): void;
  /** Envelopes lost because their ring was replaced (its consumer crashed). */
  dropped(count: number): void;
}

export class AsyncEndpoint {
  private readonly inbound: InboundRings;
  private readonly outbound: Outbound;
  /** Reader index in `inbound` of each participant's ring. */
  private readonly positions: number[] = [];
  private publishScheduled = false;
  private closed = false;
  private pumping: Promise<void> | undefined;

  constructor(
    bell: Doorbell,
    inbound: readonly (RingHandle | undefined)[],
    outbound: readonly (RingHandle | undefined)[],
    overflowLimit: number,
    private readonly events: AsyncEndpointEvents,
  ) {
    this.inbound = new InboundRings(bell, (_ring, _kind, bytes, offset, length) => this.onRecord(bytes, offset, length));
    inbound.forEach((handle, participant) => {
      if (handle !== undefined) this.positions[participant] = this.inbound.add(handle);
    });
    this.outbound = new Outbound(outbound, overflowLimit);
  }

  start(): void {
    this.pumping ??= this.pump();
  }

  /** Queues an envelope for participant `index`. Returns false when it had to be refused. */
  send(index: number, envelope: Envelope): boolean {
    const result = this.outbound.send(index, envelope);
    if (!this.publishScheduled) {
      this.publishScheduled = true;
      queueMicrotask(() => {
        this.publishScheduled = false;
        this.outbound.publish();
      });
    }
    if (result === SendResult.QUEUED) this.inbound.bell.ring();
    return result !== SendResult.REFUSED;
  }

  /** Participant `index` was replaced: read from and write to its new rings. */
  replace(index: number, inbound: RingHandle, outbound: RingHandle): void {
    this.inbound.replace(this.positions[index]!, inbound);
    const dropped = this.outbound.replace(index, outbound);
    if (dropped > 0) this.events.dropped(dropped);
  }

  overflowSizes(): number[] {
    return this.outbound.overflowSizes();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.outbound.publish();
    this.inbound.bell.ring();
    await this.pumping;
  }

  private async pump(): Promise<void> {
    const ready = (): boolean => this.closed || this.outbound.canFlush();
    while (!this.closed) {
      const polled = this.inbound.poll(POLL_BUDGET);
      if (this.outbound.congested) this.outbound.flushOverflow(() => undefined);
      this.outbound.publish();
      if (polled > 0) await yieldToEventLoop();
      else await this.inbound.waitForWorkAsync({ ready });
    }
  }

  private onRecord(bytes: Uint8Array, offset: number, length: number): void {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(bytes, offset, length);
    } catch (error) {
      this.events.malformed(error);
      return;
    }
    this.events.envelope(envelope);
  }
}
