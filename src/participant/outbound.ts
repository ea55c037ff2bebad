/**
 * Outbound: one thread's writing side of the rings to every other participant of the node, with
 * the bounded overflow that keeps a full ring from ever blocking the thread.
 *
 * Envelopes are encoded straight into the ring (src/codec) and published once per pass of the
 * owner's loop (`publish`), not once per message. When a ring is full the envelope is encoded to
 * bytes and kept in that destination's overflow; from then on `send` keeps appending there (order
 * is kept) and returns QUEUED, which tells the shard to stop running the sending process
 * (back pressure). `flushOverflow` moves what fits back into the ring and reports which
 * destinations drained, so the owner can resume their senders. A space request on the ring makes
 * the consumer ring our doorbell when it frees space.
 *
 * Resumption has hysteresis: a congested destination's overflow moves back into its ring only once
 * the ring has room for `resumeWant` bytes (the overflow's bytes plus RESUME_HEADROOM of the
 * capacity, at most RESUME_MAX of it, at least its next envelope). Without it a sender resumed as
 * soon as one envelope fitted, filled the ring again within a few envelopes and sent the rest of
 * its turn through the overflow: an allocation and a second copy for nearly every message under
 * sustained load.
 *
 * Runs: USER envelopes for another node, sent to the main thread's ring one after another, are
 * gathered into one RECORD_ENVELOPES record (RingWriter.reserveInRun) while it is unpublished, so
 * the cluster server copies them into its batch at once (see envelope.ts). Envelopes of
 * RUN_ENVELOPE_MAX bytes or more stay records of their own.
 *
 * Large envelopes: one larger than the ring's largest record (half the ring) goes in chunks
 * (chunks.ts), written at once as far as the ring has room; the rest waits at the head of the
 * overflow, with everything sent after it, and moves on a chunk at a time as the consumer frees
 * room (no headroom waited for: its senders resume only once all of it is in). So a large envelope
 * congests its destination until its last chunk is in the ring, and its sender waits for that as
 * for a full ring. One larger than `maxMessageBytes` is refused at once with MESSAGE_TOO_LARGE,
 * before anything is written or allocated (envelope.ts).
 *
 * Bound: at most `overflowLimit` envelopes and `maxMessageBytes` bytes per destination: once the
 * overflow holds either, an envelope is refused (counted by the caller as a dead letter with
 * reason 'overflow'); so it holds at most one envelope more. With back pressure in place this
 * takes one receive that sends more than the limit to one destination in a single call.
 */

import {
  encodeEnvelopeOrBytes,
  encodeEnvelopeToBytes,
  RECORD_ENVELOPE,
  RECORD_ENVELOPES,
  Signal,
  type Envelope,
} from '../codec/envelope.js';
import { RingWriter, type RingHandle } from '../ring/ring.js';
import { countEnvelopes } from '../codec/envelope-header.js';
import { Queue } from '../internal/queue.js';
import { BufferView } from '../internal/buffer-view.js';
import { SPARE_MAX_BYTES, chunkRecordBytes, writeChunks } from './chunks.js';

/** The bounds of one thread's sending side (node options of the same names). */
export interface TransferLimits {
  /** Envelopes an overflow holds before it refuses more. */
  readonly overflowLimit: number;
  /** The largest envelope sent (a larger one is refused with MESSAGE_TOO_LARGE); also the bytes an overflow holds before it refuses more. */
  readonly maxMessageBytes: number;
}

export const SendResult = {
  /** Written to the ring (visible at the next publish). */
  WRITTEN: 0,
  /** Kept in the overflow: the destination is congested. */
  QUEUED: 1,
  /** Refused: the overflow is at its limit. */
  REFUSED: 2,
} as const;

export type SendResult = (typeof SendResult)[keyof typeof SendResult];

/** A Buffer over the socket data envelope bytes are copied from (see BufferView). */
const sourceView = new BufferView();

/** Free room (a share of the ring's capacity) a destination needs beyond its overflow to resume. */
const RESUME_HEADROOM = 1 / 8;
/** The most room resumption waits for (records are at most half the ring; see hasSpaceFor). */
const RESUME_MAX = 1 / 4;

export class Outbound {
  private readonly writers: (RingWriter | undefined)[];
  private readonly dirty: boolean[];
  private readonly overflow: Queue<Uint8Array>[];
  /** The record kind of each overflow entry (a run from `sendBytes` stays a run). */
  private readonly overflowKinds: Queue<number>[];
  private readonly overflowBytes: number[];
  /** Envelopes in each overflow (a run queued whole counts all of its envelopes). */
  private readonly overflowEnvelopes: number[];
  /** Bytes of each overflow's first entry already written to the ring as chunks (a large envelope on its way). */
  private readonly headSent: number[];
  private overflowing = 0;
  private readonly overflowLimit: number;
  private readonly maxMessageBytes: number;
  /**
   * A buffer for the next large envelope, reused once the last one's chunks are all in a ring
   * (fresh memory costs its page faults: 1 MiB took 2.4 ms on the 2-core VM, copying it 50 us).
   * At most SPARE_MAX_BYTES; kept while free, lent to one envelope at a time.
   */
  private spare: Uint8Array | undefined;
  /** Buffers made here for large envelopes (only these become the spare). */
  private readonly largeBuffers = new WeakSet<ArrayBufferLike>();

  constructor(
    handles: readonly (RingHandle | undefined)[],
    limits: TransferLimits,
    /** Where runs go (the main thread's participant index) and the node they are not for; none: no runs. */
    private readonly runs: { index: number; localNode: number } | undefined = undefined,
  ) {
    this.writers = handles.map((handle) => (handle === undefined ? undefined : new RingWriter(handle)));
    this.dirty = handles.map(() => false);
    this.overflow = handles.map(() => new Queue<Uint8Array>());
    this.overflowKinds = handles.map(() => new Queue<number>());
    this.overflowBytes = handles.map(() => 0);
    this.overflowEnvelopes = handles.map(() => 0);
    this.headSent = handles.map(() => 0);
    this.overflowLimit = limits.overflowLimit;
    this.maxMessageBytes = limits.maxMessageBytes;
  }

  /** Throws MESSAGE_TOO_LARGE (nothing sent) for an envelope over `maxMessageBytes`. */
  send(index: number, envelope: Envelope): SendResult {
    const writer = this.writers[index]!;
    if (this.overflow[index]!.size > 0) {
      // Encoded first: a message too large is refused as such whatever the overflow holds.
      const bytes = encodeEnvelopeToBytes(envelope, this.maxMessageBytes);
      if (this.overflowEnvelopes[index]! >= this.overflowLimit || this.overflowBytes[index]! >= this.maxMessageBytes) return SendResult.REFUSED;
      this.queue(index, bytes, RECORD_ENVELOPE, 1, 0);
      return SendResult.QUEUED;
    }
    const runs = this.runs;
    const inRun = runs !== undefined && index === runs.index && envelope.signal === Signal.USER && envelope.to.node !== runs.localNode;
    const bytes = encodeEnvelopeOrBytes(writer, envelope, inRun ? envelope.to.node : -1, this.maxMessageBytes, this.takeLarge);
    if (bytes === undefined) {
      this.dirty[index] = true;
      return SendResult.WRITTEN;
    }
    // The ring is full, or the envelope is larger than a record: its chunks go now as far as they fit.
    const sent = bytes.length > writer.maxPayload ? writeChunks(writer, bytes, RECORD_ENVELOPE, 0) : 0;
    if (sent > 0) this.dirty[index] = true;
    if (sent === bytes.length) {
      this.releaseLarge(bytes);
      return SendResult.WRITTEN;
    }
    this.overflowing++;
    this.queue(index, bytes, RECORD_ENVELOPE, 1, sent);
    return SendResult.QUEUED;
  }

  /**
   * Queues envelope bytes as they are (from a cluster peer: one envelope, or a run with `kind`
   * RECORD_ENVELOPES); never refused (see AsyncEndpoint.sendBytes; the cluster refuses envelopes
   * over maxMessageBytes before).
   */
  sendBytes(index: number, bytes: Uint8Array, offset: number, length: number, kind: number = RECORD_ENVELOPE): void {
    const writer = this.writers[index]!;
    let sent = 0;
    if (this.overflow[index]!.size === 0) {
      if (length <= writer.maxPayload) {
        const at = writer.reserve(kind, length);
        if (at >= 0) {
          sourceView.copy(bytes, offset, offset + length, writer.bytes, at);
          this.dirty[index] = true;
          return;
        }
      } else {
        sent = writeChunks(writer, bytes.subarray(offset, offset + length), kind, 0);
        if (sent > 0) this.dirty[index] = true;
        if (sent === length) return;
      }
      this.overflowing++;
    }
    let copy: Uint8Array;
    if (length > writer.maxPayload) {
      copy = this.takeLarge(length);
      sourceView.copy(bytes, offset, offset + length, copy, 0);
    } else {
      copy = bytes.slice(offset, offset + length);
    }
    this.queue(index, copy, kind, kind === RECORD_ENVELOPES ? countEnvelopes(copy) : 1, sent);
  }

  /** Memory for a large envelope: the spare if it is free and large enough, else a new buffer. */
  private readonly takeLarge = (length: number): Uint8Array => {
    const spare = this.spare;
    if (spare !== undefined && spare.length >= length) {
      this.spare = undefined;
      return spare.subarray(0, length);
    }
    const buffer = Buffer.allocUnsafeSlow(length);
    this.largeBuffers.add(buffer.buffer);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  };

  /** A large envelope is all in a ring: its buffer becomes the spare if it is one of ours, small enough and larger than the spare. */
  private releaseLarge(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (!this.largeBuffers.has(buffer) || buffer.byteLength > SPARE_MAX_BYTES) return;
    if (this.spare === undefined || this.spare.length < buffer.byteLength) this.spare = new Uint8Array(buffer);
  }

  /** Appends to an overflow; `sent`: bytes of it already in the ring (it is then the first entry). */
  private queue(index: number, bytes: Uint8Array, kind: number, envelopes: number, sent: number): void {
    const queue = this.overflow[index]!;
    queue.push(bytes);
    this.overflowKinds[index]!.push(kind);
    this.overflowBytes[index]! += bytes.length - sent;
    this.overflowEnvelopes[index]! += envelopes;
    if (queue.size === 1) {
      this.headSent[index] = sent;
      this.writers[index]!.requestSpace(this.resumeWant(index));
    }
  }

  /**
   * The room destination `index` must have before its overflow moves back (see the note above),
   * and never less than its next envelope needs (one may be larger than RESUME_MAX of the ring).
   * A large envelope on its way moves on as soon as its next chunk fits: its senders resume only
   * once all of it is in the ring anyway.
   */
  private resumeWant(index: number): number {
    const writer = this.writers[index]!;
    const next = this.overflow[index]!.peek()?.length ?? 0;
    if (next > writer.maxPayload) return chunkRecordBytes(writer);
    const capacity = writer.capacity;
    const want = Math.min(this.overflowBytes[index]! + capacity * RESUME_HEADROOM, capacity * RESUME_MAX) | 0;
    return Math.max(want, next);
  }

  /** Makes every record written since the last publish visible (one store per ring). */
  publish(): void {
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      if (dirty[i] === true) {
        dirty[i] = false;
        this.writers[i]!.publish();
      }
    }
  }

  /** True when some destination has an overflow. */
  get congested(): boolean {
    return this.overflowing > 0;
  }

  /**
   * True when a congested destination's ring has the room its overflow waits for, or its consumer
   * answered the space request (freed some space): then `flushOverflow` must run, to move the
   * overflow or to ask again. Without the second case a consumer that freed too little just
   * before the owner parked would never ring it again.
   */
  canFlush(): boolean {
    if (this.overflowing === 0) return false;
    for (let i = 0; i < this.overflow.length; i++) {
      if (this.overflow[i]!.size === 0) continue;
      const writer = this.writers[i]!;
      if (!writer.spaceRequested || writer.hasSpaceFor(this.resumeWant(i))) return true;
    }
    return false;
  }

  /**
   * Moves overflow into the rings that have the room it waits for; calls `drained(index)` for each
   * emptied overflow. A destination without that room asks its consumer to ring when space frees.
   */
  flushOverflow(drained: (index: number) => void): void {
    if (this.overflowing === 0) return;
    for (let i = 0; i < this.overflow.length; i++) {
      const queue = this.overflow[i]!;
      if (queue.size === 0) continue;
      const writer = this.writers[i]!;
      const want = this.resumeWant(i);
      if (!writer.hasSpaceFor(want) && !writer.requestSpace(want)) continue;
      const kinds = this.overflowKinds[i]!;
      for (let next = queue.peek(); next !== undefined; next = queue.peek()) {
        const kind = kinds.peek()!;
        if (next.length > writer.maxPayload) {
          const before = this.headSent[i]!;
          const sent = writeChunks(writer, next, kind, before);
          this.overflowBytes[i]! -= sent - before;
          this.headSent[i] = sent;
          if (sent < next.length) break;
          this.headSent[i] = 0;
          this.releaseLarge(next);
        } else {
          const offset = writer.reserve(kind, next.length);
          if (offset < 0) break;
          writer.bytes.set(next, offset);
          this.overflowBytes[i]! -= next.length;
        }
        this.overflowEnvelopes[i]! -= kind === RECORD_ENVELOPES ? countEnvelopes(next) : 1;
        queue.shift();
        kinds.shift();
      }
      writer.publish();
      if (queue.size === 0) {
        this.overflowing--;
        this.overflowBytes[i] = 0;
        this.overflowEnvelopes[i] = 0;
        drained(i);
      } else {
        writer.requestSpace(this.resumeWant(i));
      }
    }
  }

  /** Envelopes waiting per destination. */
  overflowSizes(): number[] {
    return [...this.overflowEnvelopes];
  }

  ringUsedBytes(): number[] {
    return this.writers.map((writer) => writer?.usedBytes ?? 0);
  }

  /** Points destination `index` at a new ring (its consumer was replaced); drops its overflow. */
  replace(index: number, handle: RingHandle): number {
    const queue = this.overflow[index]!;
    const dropped = this.overflowEnvelopes[index]!;
    if (queue.size > 0) this.overflowing--;
    this.overflow[index] = new Queue<Uint8Array>();
    this.overflowKinds[index] = new Queue<number>();
    this.overflowBytes[index] = 0;
    this.overflowEnvelopes[index] = 0;
    this.headSent[index] = 0;
    this.writers[index] = new RingWriter(handle);
    this.dirty[index] = false;
    return dropped;
  }
}
