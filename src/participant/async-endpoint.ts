/**
 * AsyncEndpoint: the rings of a thread that lives on its event loop and must never block: the main
 * thread, and the file I/O worker (whose work is asynchronous file system calls).
 *
 * Writing: `send` encodes into the ring to the target participant; records are published once per
 * microtask checkpoint (many sends from one synchronous stretch of user code share one publish).
 * A full ring sends the envelope to the bounded overflow (Outbound); past its limit `send` refuses
 * and the caller answers OVERLOADED. An envelope larger than a ring record goes in chunks
 * (chunks.ts); one over `maxMessageBytes` throws MESSAGE_TOO_LARGE.
 *
 * Reading: an async pump polls the inbound rings fairly, gathers chunked records whole
 * (`reassembling`, chunks.ts) and hands each decoded envelope to `onEnvelope`; when all are empty
 * it parks with Atomics.waitAsync (no spin: the event loop has other work), also waking when an
 * overflowing ring frees space. Between busy passes it yields to
 * the event loop (setImmediate) so timers, sockets and file callbacks keep running under a flood.
 * Cluster: on the main thread, an envelope addressed to another node (its header's to.node is not
 * `localNode`) is not decoded but handed to `remote` as bytes (the cluster server batches it),
 * and `sendBytes` puts envelope bytes that arrived from a peer into a ring as they are. A run
 * record (RECORD_ENVELOPES, see envelope.ts) whose envelopes are all USER envelopes for one other
 * node goes to `remote` whole; any other run is taken apart into its envelopes.
 * `pauseReading` stops the pump from reading the inbound rings (the cluster's back pressure);
 * `drained` reports that every overflow emptied (the cluster reads its sockets again).
 * The pump itself does not keep its thread alive (Node 20's waitAsync does not): on the main thread
 * the executor workers do, for as long as the node runs; the file worker holds a ref'd handle.
 */

import { setImmediate as yieldToEventLoop, setTimeout as delay } from 'node:timers/promises';
import {
  ENVELOPE_HEADER_BYTES,
  EnvelopeField,
  RECORD_ENVELOPE,
  RECORD_ENVELOPES,
  Signal,
  decodeEnvelope,
  malformedRun,
  type Envelope,
} from '../codec/envelope.js';
import type { Doorbell } from '../ring/doorbell.js';
import { InboundRings } from '../ring/inbound.js';
import type { RingHandle } from '../ring/ring.js';
import { Outbound, SendResult, type TransferLimits } from './outbound.js';
import { reassembling } from './chunks.js';
import { toNodeAt, walkEnvelopes } from '../codec/envelope-header.js';

const POLL_BUDGET = 256;

export interface AsyncEndpointEvents {
  envelope(envelope: Envelope): void;
  malformed(error: unknown): void;
  /** Envelopes lost because their ring was replaced (its consumer crashed). */
  dropped(count: number): void;
  /**
   * An envelope for another node (`run` false), or a run of USER envelopes all for one other node
   * (`run` true): bytes[offset, offset + length) is valid during the call only.
   */
  remote?(bytes: Uint8Array, offset: number, length: number, run: boolean): void;
  /** Every overflow emptied after having been congested. */
  drained?(): void;
}

export class AsyncEndpoint {
  private readonly inbound: InboundRings;
  private readonly outbound: Outbound;
  /** Reader index in `inbound` of each participant's ring. */
  private readonly positions: number[] = [];
  private publishScheduled = false;
  private closed = false;
  private pumping: Promise<void> | undefined;
  private paused = false;
  private resumeReading: (() => void) | undefined;

  constructor(
    bell: Doorbell,
    inbound: readonly (RingHandle | undefined)[],
    outbound: readonly (RingHandle | undefined)[],
    limits: TransferLimits,
    private readonly events: AsyncEndpointEvents,
    private readonly localNode = 0,
  ) {
    const visit = reassembling((_ring, kind, bytes, offset, length) => this.onRecord(kind, bytes, offset, length), limits.maxMessageBytes, (error) => events.malformed(error));
    this.inbound = new InboundRings(bell, visit);
    inbound.forEach((handle, participant) => {
      if (handle !== undefined) this.positions[participant] = this.inbound.add(handle);
    });
    this.outbound = new Outbound(outbound, limits);
  }

  start(): void {
    this.pumping ??= this.pump();
  }

  /**
   * Queues an envelope for participant `index`. Returns false when it had to be refused (the
   * overflow is at its limit); throws MESSAGE_TOO_LARGE for one over `maxMessageBytes`.
   */
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

  /**
   * Queues envelope bytes as they are (from a cluster peer: one envelope, or with `run` several
   * concatenated for the same executor) for participant `index`. Never refused:
   * the caller stops reading its sockets while `congested` (so the overflow is bounded by what one
   * batch holds beyond the limit).
   */
  sendBytes(index: number, bytes: Uint8Array, offset: number, length: number, run = false): void {
    this.outbound.sendBytes(index, bytes, offset, length, run ? RECORD_ENVELOPES : RECORD_ENVELOPE);
    if (!this.publishScheduled) {
      this.publishScheduled = true;
      queueMicrotask(() => {
        this.publishScheduled = false;
        this.outbound.publish();
      });
    }
    if (this.outbound.congested) {
      this.inbound.bell.ring();
      this.resumeReading?.();
      this.resumeReading = undefined;
    }
  }

  get congested(): boolean {
    return this.outbound.congested;
  }

  /** Stops reading the inbound rings until `resume` (envelopes wait in the rings; senders feel it). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.resumeReading?.();
    this.resumeReading = undefined;
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
    this.resume();
    this.outbound.publish();
    this.inbound.bell.ring();
    await this.pumping;
  }

  private async pump(): Promise<void> {
    const ready = (): boolean => this.closed || this.outbound.canFlush();
    while (!this.closed) {
      if (this.paused) {
        // Not reading the rings, but still moving overflow into them: what drains it is the
        // executors, and the cluster waits for that before it reads its sockets again.
        if (this.outbound.congested) {
          this.flushOverflow();
          await delay(1);
        } else {
          await new Promise<void>((resolve) => {
            this.resumeReading = resolve;
          });
        }
        continue;
      }
      const polled = this.inbound.poll(POLL_BUDGET);
      this.flushOverflow();
      if (polled > 0) await yieldToEventLoop();
      else await this.inbound.waitForWorkAsync({ ready });
    }
  }

  private flushOverflow(): void {
    if (this.outbound.congested) {
      this.outbound.flushOverflow(() => undefined);
      if (!this.outbound.congested) this.events.drained?.();
    }
    this.outbound.publish();
  }

  private onRecord(kind: number, bytes: Uint8Array, offset: number, length: number): void {
    if (kind !== RECORD_ENVELOPES) {
      this.onEnvelopeRecord(bytes, offset, length);
      return;
    }
    const end = offset + length;
    if (this.events.remote !== undefined && this.isRemoteRun(bytes, offset, end)) {
      this.events.remote(bytes, offset, length, true);
      return;
    }
    const stop = walkEnvelopes(bytes, offset, end, this.visitEnvelope);
    if (stop !== end) this.events.malformed(malformedRun(stop - offset, length));
  }

  /** Whether the run in bytes[offset, end) is whole and holds only USER envelopes for one other node. */
  private isRemoteRun(bytes: Uint8Array, offset: number, end: number): boolean {
    const node = toNodeAt(bytes, offset);
    if (node === this.localNode) return false;
    let remote = true;
    const stop = walkEnvelopes(bytes, offset, end, (run, at) => {
      if (run[at + EnvelopeField.SIGNAL] !== Signal.USER || toNodeAt(run, at) !== node) remote = false;
    });
    return remote && stop === end;
  }

  private readonly visitEnvelope = (bytes: Uint8Array, offset: number, length: number): void => this.onEnvelopeRecord(bytes, offset, length);

  private onEnvelopeRecord(bytes: Uint8Array, offset: number, length: number): void {
    if (this.events.remote !== undefined && length >= ENVELOPE_HEADER_BYTES && toNodeAt(bytes, offset) !== this.localNode) {
      this.events.remote(bytes, offset, length, false);
      return;
    }
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
