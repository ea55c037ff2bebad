/**
 * SharedCounters: one thread's counters in shared memory, written by that thread and read by
 * another (the main thread) without a message round trip, so a scrape never stops the writer.
 *
 * Layout: one SharedArrayBuffer of 8 + 8 * slots bytes. Int32 word 0 is a sequence number; the
 * Float64 slots follow at byte 8 (aligned). Float64 holds every count exactly up to 2^53.
 *
 * Concurrency: exactly one writer (the owning thread) and any number of readers. Float64 stores
 * are not Atomics operations, and the memory model lets a racing reader see a torn value, so the
 * writer brackets every publish with a seqlock: `begin()` makes the sequence odd, the plain stores
 * follow, `end()` makes it even again (both Atomics.add, sequentially consistent, so the stores
 * cannot move outside them). A reader copies the slots between two Atomics.load of the sequence
 * and keeps the copy only when both were the same even number; otherwise it tries again (bounded:
 * after MAX_TRIES it returns undefined, which the caller reports as "no reading this time").
 * A publish is a few stores and two atomic adds, once per executor pass, never per message.
 */

const HEADER_BYTES = 8;
const MAX_TRIES = 64;

export class SharedCounters {
  readonly buffer: SharedArrayBuffer;
  private readonly sequence: Int32Array;
  /** The slots: the writer stores into them between begin() and end(). */
  readonly slots: Float64Array;

  constructor(bufferOrSlots: SharedArrayBuffer | number) {
    this.buffer = typeof bufferOrSlots === 'number' ? new SharedArrayBuffer(HEADER_BYTES + 8 * bufferOrSlots) : bufferOrSlots;
    this.sequence = new Int32Array(this.buffer, 0, 1);
    this.slots = new Float64Array(this.buffer, HEADER_BYTES);
  }

  /** Writer: a publish starts (readers retry until end()). */
  begin(): void {
    Atomics.add(this.sequence, 0, 1);
  }

  /** Writer: the publish is complete. */
  end(): void {
    Atomics.add(this.sequence, 0, 1);
  }

  /** Reader: a consistent copy of every slot, or undefined if the writer kept publishing meanwhile. */
  read(): Float64Array | undefined {
    const copy = new Float64Array(this.slots.length);
    for (let tries = 0; tries < MAX_TRIES; tries++) {
      const before = Atomics.load(this.sequence, 0);
      if ((before & 1) !== 0) continue;
      copy.set(this.slots);
      if (Atomics.load(this.sequence, 0) === before) return copy;
    }
    return undefined;
  }
}
