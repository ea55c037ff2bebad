/**
 * A delivery session with one incarnation of one peer. It outlives connections: a dropped
 * connection re-established to the same incarnation resumes the session, so delivery stays
 * exactly once and in order per sender and receiver.
 *
 * Design note (main thread only; no locking, but the invariants matter):
 * - Two lanes (lane.ts), each with its own batches, sequence numbers and acknowledgements:
 *   REGULAR for ordinary traffic and BULK for envelopes of BULK_BYTES or more. The cluster server
 *   writes REGULAR first and BULK fragments only when REGULAR has nothing to send, so a large
 *   message cannot hold up small ones behind it: they pass it, at most one fragment behind.
 * - Order per sender: a sender's envelopes must arrive in the order it sent them, and the two
 *   lanes are delivered independently. So once a sender has an envelope in BULK, everything it
 *   sends goes to BULK too until those are acknowledged (`bulkSenders` counts them); and a large
 *   envelope from a sender that still has REGULAR envelopes unacknowledged stays in REGULAR.
 *   The check costs nothing while no bulk traffic is under way (`bulkSenders` is empty).
 * - Bound: `queuedBytes` against the owner's high-water mark (maxPendingBytes): over it the owner
 *   stops reading the rings that feed other nodes; `enqueue` itself never refuses.
 */
import { EnvelopeField, NO_SENDER_SERIAL } from '../codec/envelope.js';
import { forEachEnvelope } from '../codec/envelope-header.js';
import { Lane } from './lane.js';

export { FRAGMENT_BYTES, type InflightBatch } from './lane.js';

export const LaneId = { REGULAR: 0, BULK: 1 } as const;
export type LaneId = (typeof LaneId)[keyof typeof LaneId];

/** Envelopes at least this large travel in the BULK lane. */
export const BULK_BYTES = 32 * 1024;

/** The sender of the envelope at `offset` as a map key ("node.shard.serial", or "-" for none). */
function senderKey(bytes: Uint8Array, offset: number): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const serial = view.getFloat64(offset + EnvelopeField.FROM_SERIAL, true);
  if (serial === NO_SENDER_SERIAL) return '-';
  return `${view.getUint16(offset + EnvelopeField.FROM_NODE, true)}.${view.getUint16(offset + EnvelopeField.FROM_SHARD, true)}.${serial}`;
}

export class Session {
  readonly lanes: readonly [Lane, Lane];
  /** Envelopes in the BULK lane not yet acknowledged, per sender. */
  private readonly bulkSenders = new Map<string, number>();

  constructor(
    /** The peer's incarnation this session is with. */
    readonly peerIncarnation: string,
    batchBytes: number,
    maxBatchBytes: number,
  ) {
    this.lanes = [new Lane(batchBytes, maxBatchBytes), new Lane(batchBytes, maxBatchBytes)];
  }

  get queuedBytes(): number {
    return this.lanes[0].queuedBytes + this.lanes[1].queuedBytes;
  }

  /** A batch went out in this session (so the peer may hold state about it). */
  get everSent(): boolean {
    return this.lanes[0].everSent || this.lanes[1].everSent;
  }

  get resent(): number {
    return this.lanes[0].resent + this.lanes[1].resent;
  }

  /**
   * Copies one envelope into the lane its size and its sender's earlier envelopes call for; a run
   * (small USER envelopes from one executor) goes to REGULAR whole unless bulk traffic is under way.
   */
  enqueue(bytes: Uint8Array, offset: number, length: number, run = false): void {
    if (this.bulkSenders.size === 0 && (run || length < BULK_BYTES)) {
      this.lanes[LaneId.REGULAR].enqueue(bytes, offset, length);
      return;
    }
    if (run) {
      forEachEnvelope(bytes.subarray(offset, offset + length), (at, envelopeLength) => this.enqueue(bytes, offset + at, envelopeLength));
      return;
    }
    const sender = senderKey(bytes, offset);
    const bulk = this.bulkSenders.has(sender) || (length >= BULK_BYTES && !this.regularHolds(sender));
    if (!bulk) {
      this.lanes[LaneId.REGULAR].enqueue(bytes, offset, length);
      return;
    }
    this.bulkSenders.set(sender, (this.bulkSenders.get(sender) ?? 0) + 1);
    this.lanes[LaneId.BULK].enqueue(bytes, offset, length);
  }

  /** Whether REGULAR holds an unacknowledged envelope of `sender` (scanned: bulk traffic is rare). */
  private regularHolds(sender: string): boolean {
    for (const run of this.lanes[LaneId.REGULAR].unacknowledged()) {
      let found = false;
      forEachEnvelope(run, (offset) => {
        if (!found && senderKey(run, offset) === sender) found = true;
      });
      if (found) return true;
    }
    return false;
  }

  /** The peer delivered everything up to `seq` in `lane`. Returns whether a batch completed. */
  acknowledge(lane: LaneId, seq: number): boolean {
    const target = this.lanes[lane];
    const batch = target.inflight;
    if (batch === undefined || batch.seq > seq) return false;
    if (lane === LaneId.BULK) this.forgetBulk(batch.data);
    return target.acknowledge(seq);
  }

  private forgetBulk(data: Uint8Array): void {
    forEachEnvelope(data, (offset) => {
      const sender = senderKey(data, offset);
      const left = (this.bulkSenders.get(sender) ?? 1) - 1;
      if (left <= 0) this.bulkSenders.delete(sender);
      else this.bulkSenders.set(sender, left);
    });
  }

  /** A new connection: each lane's unacknowledged batch goes out again unless the peer has it. */
  resume(receivedRegular: number, receivedBulk: number): void {
    const bulk = this.lanes[LaneId.BULK].inflight;
    if (bulk !== undefined && bulk.seq <= receivedBulk) this.forgetBulk(bulk.data);
    this.lanes[LaneId.REGULAR].resume(receivedRegular);
    this.lanes[LaneId.BULK].resume(receivedBulk);
  }

  /** A connection broke mid-batch: fragments received so far will come again. */
  dropPartial(): void {
    this.lanes[0].dropPartial();
    this.lanes[1].dropPartial();
  }

  /** Drops the in-flight batches; returns how many envelopes they held. */
  discardInflight(): number {
    const bulk = this.lanes[LaneId.BULK].inflight;
    if (bulk !== undefined) this.forgetBulk(bulk.data);
    return this.lanes[0].discardInflight() + this.lanes[1].discardInflight();
  }

  /** Hands the envelopes not yet sent to `next` (a fresh session with the same peer), in order. */
  moveTo(next: Session): void {
    for (const lane of this.lanes) {
      for (const run of lane.takePending()) forEachEnvelope(run, (offset, length) => next.enqueue(run, offset, length));
    }
    this.bulkSenders.clear();
  }

  /** Ends the session: the envelopes never delivered (counted as dead letters by the owner). */
  discard(): number {
    this.bulkSenders.clear();
    return this.lanes[0].discard() + this.lanes[1].discard();
  }
}
