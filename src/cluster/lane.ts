/**
 * One lane of a delivery session (session.ts): its own batches, sequence numbers, acknowledgements,
 * resend and deduplication. A session has two: regular traffic, and bulk (large envelopes, and
 * whatever their senders send after them until those are delivered).
 *
 * Design note (main thread only; no locking, but the invariants matter):
 * - Outgoing: envelopes are copied once, into segments of up to `batchBytes` (a larger envelope
 *   gets a segment of its own). At most one batch is in flight (sent, not acknowledged); the
 *   rest coalesce in pending segments, so a busy peer gets big batches and an idle one gets each
 *   message at once. A batch keeps its sequence number across resends.
 * - Incoming: `receivedSeq` is the last batch delivered. A batch at or below it is a resend of
 *   one already delivered: acknowledged again and dropped. Fragments of one batch are reassembled
 *   (bounded by `maxBatchBytes`) and delivered only when the last one arrived. A batch larger
 *   than that (from a peer that takes larger messages: one envelope over this node's
 *   maxMessageBytes) is not kept: its fragments are counted and dropped, and the owner gets the
 *   header of its first envelope to count and acknowledge it (refusing it would make the peer
 *   resend it on every connection).
 */
import { ErrorCode, HordeError } from '../errors.js';
import { ENVELOPE_HEADER_BYTES } from '../codec/envelope.js';
import { countEnvelopes } from '../codec/envelope-header.js';
import { BufferView } from '../internal/buffer-view.js';

/** A batch larger than this goes out as several Batch frames (fragments). */
export const FRAGMENT_BYTES = 64 * 1024;
const INITIAL_SEGMENT_BYTES = 4096;
const POOL_SIZE = 4;

interface Segment {
  bytes: Uint8Array;
  used: number;
}

/** A Buffer over the ring envelopes are copied from (see BufferView). */
const ringView = new BufferView();

export interface InflightBatch {
  seq: number;
  data: Uint8Array;
  /** The whole buffer `data` views (back to the pool once acknowledged). */
  buffer: Uint8Array;
  /** Bytes of `data` written to the current connection so far. */
  sent: number;
}

/** A batch larger than `maxBatchBytes`, received whole but not kept. */
export interface DroppedBatch {
  /** The first bytes of its first envelope (its header, when the batch is at least that long). */
  readonly head: Uint8Array;
  readonly bytes: number;
}

export class Lane {
  private readonly segments: Segment[] = [];
  /** Full-size segment buffers whose batches were acknowledged, for reuse (at most POOL_SIZE). */
  private readonly pool: Uint8Array[] = [];
  /** Small segment buffers (an idle peer's one-message batches), for reuse. */
  private readonly smallPool: Uint8Array[] = [];
  private pendingBytes = 0;
  private nextSeq = 1;
  inflight: InflightBatch | undefined;
  receivedSeq = 0;
  /** Fragments of the batch being reassembled, copied in as they come (the frames are views). */
  private reassembly = new Uint8Array(0);
  private reassemblyBytes = 0;
  /** The batch being received past `maxBatchBytes` (dropped as it comes), if any. */
  private dropping: { head: Uint8Array; bytes: number } | undefined;
  resent = 0;
  duplicates = 0;
  /** A batch went out in this session (so the peer may hold state about it). */
  everSent = false;

  constructor(
    private readonly batchBytes: number,
    private readonly maxBatchBytes: number,
  ) {}

  get queuedBytes(): number {
    return this.pendingBytes + (this.inflight === undefined ? 0 : this.inflight.data.length);
  }

  /** Copies one envelope into the pending batch. */
  enqueue(bytes: Uint8Array, offset: number, length: number): void {
    let last = this.segments[this.segments.length - 1];
    if (last !== undefined && last.bytes.length - last.used < length && last.used + length <= this.batchBytes) {
      // Segments start small (an idle peer's batch is one message) and double up to batchBytes.
      const size = Math.min(this.batchBytes, Math.max(last.bytes.length * 2, last.used + length));
      const grown = size === this.batchBytes ? this.fullSegment() : new Uint8Array(size);
      grown.set(last.bytes.subarray(0, last.used));
      last.bytes = grown;
    }
    if (last === undefined || last.bytes.length - last.used < length) {
      // Busy (another segment waits): start at full size; idle: small, and grow.
      const busy = last !== undefined || this.inflight !== undefined;
      const bytes = busy && length <= this.batchBytes ? this.fullSegment() : length <= INITIAL_SEGMENT_BYTES ? (this.smallPool.pop() ?? new Uint8Array(INITIAL_SEGMENT_BYTES)) : new Uint8Array(length);
      last = { bytes, used: 0 };
      this.segments.push(last);
    }
    // Buffer#copy: a native copy with no view allocated per message (a subarray's garbage cost
    // more than the copy itself; a byte loop is slower past a few dozen bytes).
    if (offset === 0 && length === bytes.length) last.bytes.set(bytes, last.used);
    else ringView.copy(bytes, offset, offset + length, last.bytes, last.used);
    last.used += length;
    this.pendingBytes += length;
  }

  /** Takes the next batch if none is in flight; undefined when nothing is pending or one is. */
  takeBatch(): InflightBatch | undefined {
    if (this.inflight !== undefined) return undefined;
    const segment = this.segments.shift();
    if (segment === undefined) return undefined;
    this.pendingBytes -= segment.used;
    this.inflight = { seq: this.nextSeq++, data: segment.bytes.subarray(0, segment.used), buffer: segment.bytes, sent: 0 };
    this.everSent = true;
    return this.inflight;
  }

  /** The peer delivered everything up to `seq`. Returns whether the in-flight batch is done. */
  acknowledge(seq: number): boolean {
    if (this.inflight !== undefined && this.inflight.seq <= seq) {
      this.release(this.inflight);
      return true;
    }
    return false;
  }

  private fullSegment(): Uint8Array {
    return this.pool.pop() ?? new Uint8Array(this.batchBytes);
  }

  /** The in-flight batch is delivered: its buffer can hold the next ones. */
  private release(batch: InflightBatch): void {
    this.inflight = undefined;
    if (batch.buffer.length === this.batchBytes && this.pool.length < POOL_SIZE) this.pool.push(batch.buffer);
    else if (batch.buffer.length === INITIAL_SEGMENT_BYTES && this.smallPool.length < POOL_SIZE) this.smallPool.push(batch.buffer);
  }

  /** A new connection: the in-flight batch (if the peer has not delivered it) goes out again. */
  resume(peerReceivedSeq: number): void {
    if (this.inflight === undefined) return;
    if (this.inflight.seq <= peerReceivedSeq) {
      this.release(this.inflight);
      return;
    }
    this.inflight.sent = 0;
    this.resent++;
  }

  /**
   * One Batch frame arrived: returns the complete batch data to deliver, a DroppedBatch (complete,
   * larger than `maxBatchBytes`: to count and acknowledge, not deliver), or undefined (a fragment,
   * or a duplicate). Throws HORDE_MALFORMED_FRAME for a gap in sequence numbers. `data` may be a
   * view valid only during the call (FrameDecoder): fragments are copied into one reassembly
   * buffer, kept for the next batch while it is at most twice `batchBytes`. The answer is valid
   * until the next `receive`.
   */
  receive(seq: number, data: Uint8Array, last: boolean): Uint8Array | DroppedBatch | undefined {
    const total = this.reassemblyBytes + data.length;
    if (this.dropping === undefined && total > this.maxBatchBytes) {
      const head = new Uint8Array(Math.min(ENVELOPE_HEADER_BYTES, total));
      const kept = Math.min(this.reassemblyBytes, head.length);
      head.set(this.reassembly.subarray(0, kept));
      head.set(data.subarray(0, head.length - kept), kept);
      this.dropPartial();
      this.dropping = { head, bytes: 0 };
    }
    if (this.dropping !== undefined) {
      this.dropping.bytes += total - this.reassemblyBytes;
      if (!last) return undefined;
      const dropped = this.dropping;
      this.dropping = undefined;
      return this.inSequence(seq) ? dropped : undefined;
    }
    let whole = data;
    if (!last || this.reassemblyBytes > 0) {
      if (total > this.reassembly.length) {
        const grown = new Uint8Array(Math.min(this.maxBatchBytes, Math.max(total, this.reassembly.length * 2, FRAGMENT_BYTES)));
        grown.set(this.reassembly.subarray(0, this.reassemblyBytes));
        this.reassembly = grown;
      }
      this.reassembly.set(data, this.reassemblyBytes);
      this.reassemblyBytes = total;
      if (!last) return undefined;
      whole = this.reassembly.subarray(0, total);
      this.dropPartial();
    }
    return this.inSequence(seq) ? whole : undefined;
  }

  /** Whether batch `seq` is the next to deliver (false: a duplicate); throws on a gap. */
  private inSequence(seq: number): boolean {
    if (seq <= this.receivedSeq) {
      this.duplicates++;
      return false;
    }
    if (seq !== this.receivedSeq + 1) {
      throw new HordeError(ErrorCode.MALFORMED_FRAME, `batch ${seq} arrived after ${this.receivedSeq}: a gap`);
    }
    return true;
  }

  /** Marks batch `seq` delivered (after its envelopes reached the rings). */
  delivered(seq: number): void {
    this.receivedSeq = seq;
  }

  /** A connection broke mid-batch: fragments received so far will come again. */
  dropPartial(): void {
    this.dropping = undefined;
    this.reassemblyBytes = 0;
    if (this.reassembly.length > 2 * this.batchBytes) this.reassembly = new Uint8Array(0);
  }

  /** Drops the in-flight batch; returns how many envelopes it held. */
  discardInflight(): number {
    const lost = this.inflight === undefined ? 0 : countEnvelopes(this.inflight.data);
    this.inflight = undefined;
    return lost;
  }

  /** Takes the envelopes not yet sent (for a fresh session with the same peer), in order. */
  takePending(): Uint8Array[] {
    const pending = this.segments.map((segment) => segment.bytes.subarray(0, segment.used));
    this.segments.length = 0;
    this.pendingBytes = 0;
    return pending;
  }

  /** The envelopes queued or in flight (not yet acknowledged), oldest first, as data runs. */
  unacknowledged(): Uint8Array[] {
    const runs = this.segments.map((segment) => segment.bytes.subarray(0, segment.used));
    if (this.inflight !== undefined) runs.unshift(this.inflight.data);
    return runs;
  }

  /** Ends the session: the envelopes never delivered (counted as dead letters by the owner). */
  discard(): number {
    let lost = 0;
    if (this.inflight !== undefined) lost += countEnvelopes(this.inflight.data);
    for (const segment of this.segments) lost += countEnvelopes(segment.bytes.subarray(0, segment.used));
    this.inflight = undefined;
    this.segments.length = 0;
    this.pendingBytes = 0;
    this.dropPartial();
    return lost;
  }
}
