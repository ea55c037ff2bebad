/**
 * Single-producer single-consumer ring of variable-length records over a SharedArrayBuffer.
 *
 * Contract: exactly one thread writes (RingWriter) and exactly one thread reads (RingReader).
 * Neither side ever waits for the other inside these methods; the hot paths (`reserve`,
 * `tryWrite`, `tryWriteMany`, `publish`, `drain`) neither throw nor allocate, except that a record
 * which could never fit is refused with RECORD_TOO_LARGE before anything is written.
 *
 * Memory layout (byte offsets; slot numbers in layout.ts):
 *
 *     0   control line 0: MAGIC, CAPACITY (constants)
 *    64   control line 1: HEAD          stored by the producer only
 *   128   control line 2: TAIL          stored by the consumer only
 *   192   control line 3: SPACE_WANTED  set by the producer, cleared by the consumer
 *   256   data: CAPACITY bytes (a power of two)
 *   256 + CAPACITY   guard: one cache line nothing writes (tests put canaries there)
 *
 * HEAD and TAIL are free-running byte counters (int32, wrapping); a position in the data region is
 * `counter & (CAPACITY - 1)`, bytes in use are `HEAD - TAIL`. A record is one header word
 * (`length << 8 | kind`, length up to 2^24 - 1, kind 0..254) followed by the payload, padded to 4
 * bytes. A record never straddles the end of the buffer: when it would, the producer writes a
 * header of kind WRAP_KIND covering the rest of the buffer and continues at offset 0, so the
 * consumer can hand out each payload as one contiguous view without copying.
 *
 * Because a record may need the tail of the buffer as well as its own size, a record is limited to
 * half the capacity: then, whatever the position, either the rest of the buffer or its start can
 * hold it once the ring is empty, and a writer can never wait for space that cannot come.
 *
 * Ordering: the producer writes header and payload with plain stores, then publishes HEAD with
 * Atomics.store; the consumer reads HEAD with Atomics.load before it reads any record, so every
 * byte below HEAD is visible to it. Symmetrically the consumer publishes TAIL only after it has
 * finished with the records below it. HEAD seen by the consumer "can be late" (it only
 * under-reports records) and so can TAIL seen by the producer (it only under-reports space).
 *
 * Waking: after publishing, the producer rings the consumer's doorbell (a no-op unless the consumer
 * is parked, see doorbell.ts). A producer that finds the ring full stores SPACE_WANTED = 1,
 * re-checks TAIL, announces its park (doorbell PARKED = 1) and re-checks TAIL and SPACE_WANTED;
 * the consumer stores TAIL, clears SPACE_WANTED with a compareExchange and rings the producer's
 * doorbell. If the consumer cleared the request before the producer announced its park, the
 * producer's re-check sees SPACE_WANTED = 0 and asks again instead of parking (the space freed may
 * still be too little for its record, and no later release would ring for it); otherwise the
 * consumer's ring finds PARKED = 1 and wakes it. The store-then-load argument of doorbell.ts
 * shows one of the two always happens.
 */

import { ErrorCode, HordeError } from '../errors.js';
import { Doorbell } from './doorbell.js';
import {
  MAX_LENGTH_FIELD,
  MAX_RECORD_KIND,
  MAX_RING_CAPACITY,
  MIN_RING_CAPACITY,
  RECORD_HEADER_BYTES,
  RING_CONTROL_BYTES,
  RING_GUARD_BYTES,
  RING_MAGIC,
  RingSlot,
  WRAP_KIND,
} from './layout.js';

/** The transferable description of one ring: post it to the thread at the other end. */
export interface RingHandle {
  /** The ring itself: control words, then `capacity` data bytes. */
  readonly buffer: SharedArrayBuffer;
  /** Doorbell of the consuming thread (rung when records arrive). */
  readonly consumerBell: SharedArrayBuffer;
  /** Doorbell of the producing thread (rung when space frees after `requestSpace`). */
  readonly producerBell: SharedArrayBuffer;
}

/** Options of `createRing`. */
export interface RingOptions {
  /** Data capacity in bytes: a power of two from 64 to 2^30. Default 1 MiB. */
  capacity?: number;
  /** The consumer thread's doorbell (shared by all rings it reads). Default: a new one. */
  consumerBell?: Doorbell;
  /** The producer thread's doorbell. Default: a new one. */
  producerBell?: Doorbell;
}

/** Data bytes of a ring when `capacity` is not given: 1 MiB (records up to 512 KiB less 4 bytes). */
export const DEFAULT_RING_CAPACITY = 1 << 20;

/** Called once per record by `RingReader.drain`; the payload is `bytes[offset, offset + length)`. */
export type RecordVisitor = (kind: number, bytes: Uint8Array, offset: number, length: number) => void;

/**
 * Allocates a ring and returns its handle (shared buffers only), to post to the other thread.
 * Throws HORDE_INVALID_OPTION when `capacity` is not a power of two from 64 to 2^30 bytes.
 */
export function createRing(options: RingOptions = {}): RingHandle {
  const capacity = options.capacity ?? DEFAULT_RING_CAPACITY;
  if (
    !Number.isInteger(capacity) ||
    capacity < MIN_RING_CAPACITY ||
    capacity > MAX_RING_CAPACITY ||
    (capacity & (capacity - 1)) !== 0
  ) {
    throw new HordeError(
      ErrorCode.INVALID_OPTION,
      `option "capacity" must be a power of two from ${MIN_RING_CAPACITY} to ${MAX_RING_CAPACITY}; got ${String(capacity)}`,
    );
  }
  const buffer = new SharedArrayBuffer(RING_CONTROL_BYTES + capacity + RING_GUARD_BYTES);
  const control = new Int32Array(buffer, 0, RING_CONTROL_BYTES / 4);
  control[RingSlot.MAGIC] = RING_MAGIC;
  control[RingSlot.CAPACITY] = capacity;
  return {
    buffer,
    consumerBell: (options.consumerBell ?? Doorbell.create()).buffer,
    producerBell: (options.producerBell ?? Doorbell.create()).buffer,
  };
}

/** Bytes a record of `length` payload bytes occupies in the ring (header and padding). */
export function recordBytes(length: number): number {
  return RECORD_HEADER_BYTES + ((length + 3) & ~3);
}

/** The largest payload a ring of `capacity` bytes accepts. */
export function maxPayloadFor(capacity: number): number {
  return Math.min(capacity / 2 - RECORD_HEADER_BYTES, MAX_LENGTH_FIELD);
}

class RingView {
  /** Data bytes of the ring (a power of two). */
  readonly capacity: number;
  /** The data region; payload offsets returned by `reserve` and given to visitors index into it. */
  readonly bytes: Uint8Array;
  /** The data region as a DataView, for writing fixed binary layouts in place. */
  readonly view: DataView;
  /** The largest payload this ring accepts (half the capacity, less the header). */
  readonly maxPayload: number;
  /** @internal */
  protected readonly control: Int32Array;
  /** @internal */
  protected readonly words: Uint32Array;
  /** @internal */
  protected readonly mask: number;

  constructor(handle: RingHandle) {
    const buffer = handle.buffer;
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < RING_CONTROL_BYTES + MIN_RING_CAPACITY) {
      throw new HordeError(ErrorCode.INVALID_SHARED_BUFFER, 'a ring needs a handle from createRing()');
    }
    this.control = new Int32Array(buffer, 0, RING_CONTROL_BYTES / 4);
    if (this.control[RingSlot.MAGIC] !== RING_MAGIC) {
      throw new HordeError(ErrorCode.INVALID_SHARED_BUFFER, 'shared buffer is not a ring (bad magic)');
    }
    const capacity = this.control[RingSlot.CAPACITY]!;
    if (buffer.byteLength !== RING_CONTROL_BYTES + capacity + RING_GUARD_BYTES) {
      throw new HordeError(ErrorCode.INVALID_SHARED_BUFFER, 'ring buffer size does not match its capacity');
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.maxPayload = maxPayloadFor(capacity);
    this.bytes = new Uint8Array(buffer, RING_CONTROL_BYTES, capacity);
    this.view = new DataView(buffer, RING_CONTROL_BYTES, capacity);
    this.words = new Uint32Array(buffer, RING_CONTROL_BYTES, capacity / 4);
  }

  /** Bytes currently in use (records not yet consumed), as this side can see it. */
  get usedBytes(): number {
    return (Atomics.load(this.control, RingSlot.HEAD) - Atomics.load(this.control, RingSlot.TAIL)) | 0;
  }
}

/**
 * The producing end of a ring: use it on exactly one thread. `reserve`, `tryWrite`, `tryWriteMany`
 * and `publish` never wait, and never throw or allocate except to refuse a record larger than
 * `maxPayload` (HORDE_RECORD_TOO_LARGE); `writeOrPark` and `parkForSpace` park a worker thread while the ring is full.
 */
export class RingWriter extends RingView {
  private readonly consumerBell: Doorbell;
  private readonly producerBell: Doorbell;
  /** HEAD including reserved but unpublished records. */
  private head: number;
  /** Last TAIL loaded; refreshed only when the space it implies is not enough. */
  private tailSeen: number;
  /** Position of the last reserved record while it is unpublished (it may grow), else -1. */
  private lastPosition = -1;
  private lastLength = 0;
  /** The run label of the last reserved record while it is unpublished (see reserveInRun); -1 otherwise. */
  private lastTag = -1;

  /** Opens the ring of `handle` for writing. Throws HORDE_INVALID_SHARED_BUFFER for a handle not from `createRing`. */
  constructor(handle: RingHandle) {
    super(handle);
    this.consumerBell = new Doorbell(handle.consumerBell);
    this.producerBell = new Doorbell(handle.producerBell);
    this.head = Atomics.load(this.control, RingSlot.HEAD);
    this.tailSeen = Atomics.load(this.control, RingSlot.TAIL);
  }

  /**
   * Claims room for one record and writes its header, without publishing it. Returns the offset
   * in `bytes` where the caller writes the `length` payload bytes, or -1 when the ring is full.
   * Call `publish()` to make every reserved record visible at once.
   */
  reserve(kind: number, length: number): number {
    if (length > this.maxPayload || length < 0 || !Number.isInteger(length)) this.refuse(length);
    if (kind < 0 || kind > MAX_RECORD_KIND || (kind | 0) !== kind) this.refuseKind(kind);
    const size = RECORD_HEADER_BYTES + ((length + 3) & ~3);
    let position = this.head & this.mask;
    const toEnd = this.capacity - position;
    const needed = toEnd < size ? toEnd + size : size;
    if (this.capacity - ((this.head - this.tailSeen) | 0) < needed) {
      this.tailSeen = Atomics.load(this.control, RingSlot.TAIL);
      if (this.capacity - ((this.head - this.tailSeen) | 0) < needed) return -1;
    }
    if (toEnd < size) {
      this.words[position >>> 2] = ((toEnd - RECORD_HEADER_BYTES) << 8) | WRAP_KIND;
      this.head = (this.head + toEnd) | 0;
      position = 0;
    }
    this.words[position >>> 2] = ((length << 8) | kind) >>> 0;
    this.head = (this.head + size) | 0;
    this.lastPosition = position;
    this.lastLength = length;
    this.lastTag = -1;
    return position + RECORD_HEADER_BYTES;
  }

  /**
   * Grows the last reserved record by `extra` payload bytes, if it is still unpublished, the bytes
   * fit before the end of the buffer (a record never wraps) and within `maxPayload`, and the ring
   * has the room. Returns the offset of the new bytes in `bytes`, or -1 (nothing changed). Lets a
   * producer gather several small items into one record without knowing their number up front.
   */
  extend(extra: number): number {
    const position = this.lastPosition;
    if (position < 0 || extra <= 0) return -1;
    const length = this.lastLength + extra;
    if (length > this.maxPayload) return -1;
    const oldSize = RECORD_HEADER_BYTES + ((this.lastLength + 3) & ~3);
    const newSize = RECORD_HEADER_BYTES + ((length + 3) & ~3);
    if (position + newSize > this.capacity) return -1;
    const grow = newSize - oldSize;
    if (this.capacity - ((this.head - this.tailSeen) | 0) < grow) {
      this.tailSeen = Atomics.load(this.control, RingSlot.TAIL);
      if (this.capacity - ((this.head - this.tailSeen) | 0) < grow) return -1;
    }
    const word = this.words[position >>> 2]!;
    this.words[position >>> 2] = ((length << 8) | (word & 0xff)) >>> 0;
    this.head = (this.head + grow) | 0;
    const at = position + RECORD_HEADER_BYTES + this.lastLength;
    this.lastLength = length;
    return at;
  }

  /**
   * Room for `length` more bytes of the run labelled `tag`: the last reserved record grows when it
   * is that run, still unpublished, and stays within `maxRun` bytes (`extend`); otherwise a new
   * record of `kind` starts the run. Returns the offset of the bytes, or -1 when the ring is full.
   */
  reserveInRun(kind: number, tag: number, length: number, maxRun: number): number {
    if (this.lastTag === tag && this.lastLength + length <= maxRun) {
      const at = this.extend(length);
      if (at >= 0) return at;
    }
    const at = this.reserve(kind, length);
    if (at >= 0) this.lastTag = tag;
    return at;
  }

  /** Makes every reserved record visible to the consumer and wakes it if it is parked. */
  publish(): void {
    Atomics.store(this.control, RingSlot.HEAD, this.head);
    this.lastPosition = -1;
    this.lastTag = -1;
    this.consumerBell.ring();
  }

  /** Writes and publishes one record. Returns false (writing nothing) when the ring is full. */
  tryWrite(kind: number, payload: Uint8Array): boolean {
    const offset = this.reserve(kind, payload.length);
    if (offset < 0) return false;
    this.bytes.set(payload, offset);
    this.publish();
    return true;
  }

  /**
   * Writes records `payloads[start..]` of one kind until the ring is full, then publishes them
   * all at once. Returns how many were written.
   */
  tryWriteMany(kind: number, payloads: readonly Uint8Array[], start = 0): number {
    let written = 0;
    for (let i = start; i < payloads.length; i++) {
      const payload = payloads[i]!;
      const offset = this.reserve(kind, payload.length);
      if (offset < 0) break;
      this.bytes.set(payload, offset);
      written++;
    }
    if (written > 0) this.publish();
    return written;
  }

  /** True when a record of `length` payload bytes fits now (loads TAIL afresh). */
  hasSpaceFor(length: number): boolean {
    const size = recordBytes(length);
    const toEnd = this.capacity - (this.head & this.mask);
    const needed = toEnd < size ? toEnd + size : size;
    this.tailSeen = Atomics.load(this.control, RingSlot.TAIL);
    return this.capacity - ((this.head - this.tailSeen) | 0) >= needed;
  }

  /**
   * Asks the consumer to ring this producer's doorbell once it frees space. Returns true if a
   * record of `length` bytes already fits (then nothing stays requested and the caller retries).
   * Otherwise the caller may park on its doorbell; after `prepareToPark` it must re-check both
   * `hasSpaceFor(length)` and `spaceRequested`: the consumer clears the request when it frees
   * space, and the space it freed may still be too little, in which case the caller asks again.
   */
  requestSpace(length: number): boolean {
    Atomics.store(this.control, RingSlot.SPACE_WANTED, 1);
    if (this.hasSpaceFor(length)) {
      Atomics.store(this.control, RingSlot.SPACE_WANTED, 0);
      return true;
    }
    return false;
  }

  /** True while a `requestSpace` has not yet been answered by the consumer freeing space. */
  get spaceRequested(): boolean {
    return Atomics.load(this.control, RingSlot.SPACE_WANTED) !== 0;
  }

  /**
   * Worker threads that only produce (tests, benchmarks): writes one record, parking on this
   * producer's doorbell while the ring is full. Never use it on a thread that must keep serving
   * its own inbound rings: an executor keeps its overflow instead (see DESIGN.md, back pressure).
   */
  writeOrPark(kind: number, payload: Uint8Array, timeoutMs = Infinity): void {
    while (!this.tryWrite(kind, payload)) this.parkForSpace(payload.length, timeoutMs);
  }

  /** Parks this (worker) producer until a record of `length` bytes may fit; the caller retries. */
  parkForSpace(length: number, timeoutMs = Infinity): void {
    if (this.requestSpace(length)) return;
    this.producerBell.prepareToPark();
    if (this.hasSpaceFor(length) || !this.spaceRequested) {
      this.producerBell.cancelPark();
      return;
    }
    if (this.producerBell.park(timeoutMs) === 'timed-out') {
      throw new HordeError(ErrorCode.TIMEOUT, `no space in the ring after ${timeoutMs} ms`);
    }
  }

  /** Throws RECORD_TOO_LARGE for a record this ring could never hold (as `reserve` would). */
  assertFits(length: number): void {
    if (length > this.maxPayload) this.refuse(length);
  }

  private refuse(length: number): never {
    throw new HordeError(
      ErrorCode.RECORD_TOO_LARGE,
      `record of ${String(length)} bytes refused: this ring of ${this.capacity} bytes holds records of at most ${this.maxPayload} bytes`,
    );
  }

  private refuseKind(kind: number): never {
    throw new HordeError(ErrorCode.INVALID_RECORD_KIND, `record kind must be an integer from 0 to ${MAX_RECORD_KIND}; got ${String(kind)}`);
  }
}

/**
 * The consuming end of a ring: use it on exactly one thread. It hands records out in the order
 * they were published, as views into the ring valid only during the visit.
 */
export class RingReader extends RingView {
  private readonly producerBell: Doorbell;
  private tail: number;

  /** Opens the ring of `handle` for reading. Throws HORDE_INVALID_SHARED_BUFFER for a handle not from `createRing`. */
  constructor(handle: RingHandle) {
    super(handle);
    this.producerBell = new Doorbell(handle.producerBell);
    this.tail = Atomics.load(this.control, RingSlot.TAIL);
  }

  /** True when at least one record (or wrap marker) is waiting. */
  hasRecords(): boolean {
    return Atomics.load(this.control, RingSlot.HEAD) !== this.tail;
  }

  /**
   * Hands every available record, up to `maxRecords`, to `visit`, then frees their space in one
   * store (and wakes the producer if it asked for space). The payload view is valid only during
   * the call. If `visit` throws, the records before it and the one it threw on count as consumed.
   * Returns the number of records visited.
   */
  drain(visit: RecordVisitor, maxRecords = Number.POSITIVE_INFINITY): number {
    const head = Atomics.load(this.control, RingSlot.HEAD);
    const words = this.words;
    const bytes = this.bytes;
    let tail = this.tail;
    let visited = 0;
    try {
      while (tail !== head && visited < maxRecords) {
        const position = tail & this.mask;
        const word = words[position >>> 2]!;
        const kind = word & 0xff;
        const length = word >>> 8;
        tail = (tail + RECORD_HEADER_BYTES + ((length + 3) & ~3)) | 0;
        if (kind === WRAP_KIND) continue;
        visited++;
        visit(kind, bytes, position + RECORD_HEADER_BYTES, length);
      }
    } finally {
      if (tail !== this.tail) this.release(tail);
    }
    return visited;
  }

  private release(tail: number): void {
    this.tail = tail;
    Atomics.store(this.control, RingSlot.TAIL, tail);
    if (
      Atomics.load(this.control, RingSlot.SPACE_WANTED) !== 0 &&
      Atomics.compareExchange(this.control, RingSlot.SPACE_WANTED, 1, 0) === 1
    ) {
      this.producerBell.ring();
    }
  }
}
