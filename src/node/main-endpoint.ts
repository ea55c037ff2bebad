/**
 * MainEndpoint: the main thread's side of the node's rings. It never blocks.
 *
 * Writing: `send` encodes into the ring to the target executor; records are published once per
 * microtask checkpoint (many sends from one synchronous stretch of user code share one publish).
 * A full ring sends the envelope to the bounded overflow (Outbound); past its limit `send` refuses
 * and the caller answers OVERLOADED.
 *
 * Reading: an async pump polls the inbound rings fairly and hands each decoded envelope to
 * `onEnvelope`; when all are empty it parks with Atomics.waitAsync (no spin: the event loop has
 * other work), also waking when an overflowing ring frees space. Between busy passes it yields to
 * the event loop (setImmediate) so timers and sockets keep running under a flood. The pump itself
 * does not keep the process alive (Node 20's waitAsync does not): the executor workers do, for as
 * long as the node runs.
 */

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { decodeEnvelope, type Envelope } from '../codec/envelope.js';
import type { Doorbell } from '../ring/doorbell.js';
import { InboundRings } from '../ring/inbound.js';
import type { RingHandle } from '../ring/ring.js';
import { Outbound, SendResult } from '../executor/outbound.js';

const POLL_BUDGET = 256;

export interface MainEndpointEvents {
  envelope(envelope: Envelope): void;
  malformed(error: unknown): void;
  /** Envelopes lost because their ring was replaced (its consumer crashed). */
  dropped(count: number): void;
}

export class MainEndpoint {
  private readonly inbound: InboundRings;
  private readonly outbound: Outbound;
  private publishScheduled = false;
  private closed = false;
  private pumping: Promise<void> | undefined;

  constructor(
    bell: Doorbell,
    inbound: readonly (RingHandle | undefined)[],
    outbound: readonly (RingHandle | undefined)[],
    overflowLimit: number,
    private readonly events: MainEndpointEvents,
  ) {
    this.inbound = new InboundRings(bell, (_ring, _kind, bytes, offset, length) => this.onRecord(bytes, offset, length));
    for (const handle of inbound) if (handle !== undefined) this.inbound.add(handle);
    this.outbound = new Outbound(outbound, overflowLimit);
  }

  start(): void {
    this.pumping ??= this.pump();
  }

  /** Queues an envelope for executor `index`. Returns false when it had to be refused. */
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

  /** Executor `index` was replaced: read from and write to its new rings. */
  replace(index: number, inbound: RingHandle, outbound: RingHandle): void {
    this.inbound.replace(index, inbound);
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
