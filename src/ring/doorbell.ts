/**
 * Doorbell: how a thread that consumes rings sleeps, and how producers wake it.
 *
 * One doorbell per consuming thread, shared by every ring that feeds it (and by every ring on
 * which that thread, as a producer, waits for space). It is one Int32 slot, PARKED.
 *
 * Protocol (all Atomics operations are sequentially consistent):
 *
 *   consumer                                   producer
 *   1. finds no work (after a short spin)       a. stores HEAD (publishes records)
 *   2. store PARKED = 1        (prepare)        b. load PARKED; if 1:
 *   3. re-check every ring for work                 compareExchange(PARKED, 1, 0) == 1 → notify
 *      - work found: store PARKED = 0, run it
 *   4. Atomics.wait(PARKED, 1)  (sleeps only while PARKED is still 1)
 *   5. store PARKED = 0
 *
 * Why no wake-up is lost: (a) and (2) are stores to different slots and (3), (b) are the loads
 * that follow them. Under sequential consistency either (a) comes before (3), and the re-check sees
 * the records, or (2) comes before (b), and the producer sees PARKED = 1 and clears it. Clearing
 * happens either before (4), which then returns "not-equal" at once, or after the consumer is
 * asleep, and the notify wakes it. A producer never notifies a consumer that has not announced
 * itself, so the busy path costs one Atomics.load per publish.
 *
 * Several producers may race on (b); the compareExchange lets only one of them notify, and the
 * consumer re-scans every ring before it parks again, so the others need not.
 *
 * Workers park with Atomics.wait. The main thread must never block: it parks with
 * Atomics.waitAsync, and `park()` refuses to run there. On Node 20 a pending waitAsync does not
 * keep the event loop alive, so whoever parks the main thread must hold a real handle open.
 */

import { isMainThread } from 'node:worker_threads';
import { ErrorCode, HordeError } from '../errors.js';
import { BELL_BYTES, BELL_MAGIC, BellSlot } from './layout.js';

/**
 * How a park ended, as `Atomics.wait` reports it: 'ok' when rung, 'not-equal' when rung before it
 * slept, 'timed-out' when the timeout passed first.
 */
export type ParkResult = 'ok' | 'not-equal' | 'timed-out';

/**
 * The wake-up slot of one consuming thread, shared by every ring that feeds it: producers `ring()`
 * it after publishing, and its owner parks on it when it has no work. Post `buffer` to other threads
 * and wrap it there with `new Doorbell(buffer)`.
 */
export class Doorbell {
  /** The shared memory of the doorbell (a few Int32 slots): transfer it to the other threads. */
  readonly buffer: SharedArrayBuffer;
  private readonly slots: Int32Array;

  /**
   * Wraps a doorbell another thread created. Throws HORDE_INVALID_SHARED_BUFFER unless `buffer`
   * came from `Doorbell.create()`.
   */
  constructor(buffer: SharedArrayBuffer) {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < BELL_BYTES) {
      throw new HordeError(ErrorCode.INVALID_SHARED_BUFFER, 'a doorbell needs a SharedArrayBuffer from Doorbell.create()');
    }
    this.buffer = buffer;
    this.slots = new Int32Array(buffer, 0, BELL_BYTES / 4);
    if (Atomics.load(this.slots, BellSlot.MAGIC) !== BELL_MAGIC) {
      throw new HordeError(ErrorCode.INVALID_SHARED_BUFFER, 'shared buffer is not a doorbell (bad magic)');
    }
  }

  /** Allocates a new doorbell in its own SharedArrayBuffer, not parked. */
  static create(): Doorbell {
    const buffer = new SharedArrayBuffer(BELL_BYTES);
    new Int32Array(buffer)[BellSlot.MAGIC] = BELL_MAGIC;
    return new Doorbell(buffer);
  }

  /** Producer side: wakes the owner if it is parked. Returns whether a notification was sent. */
  ring(): boolean {
    const slots = this.slots;
    if (Atomics.load(slots, BellSlot.PARKED) === 0) return false;
    if (Atomics.compareExchange(slots, BellSlot.PARKED, 1, 0) !== 1) return false;
    Atomics.add(slots, BellSlot.NOTIFIES, 1);
    Atomics.notify(slots, BellSlot.PARKED);
    return true;
  }

  /** Owner, step 2: announce the intent to park. Re-check for work after this, then park. */
  prepareToPark(): void {
    Atomics.store(this.slots, BellSlot.PARKED, 1);
  }

  /** Owner: the re-check found work; stay awake. */
  cancelPark(): void {
    Atomics.store(this.slots, BellSlot.PARKED, 0);
  }

  /** Owner, step 4 on a worker thread: sleep until rung (or the timeout, when given). */
  park(timeoutMs = Infinity): ParkResult {
    if (isMainThread) {
      throw new HordeError(ErrorCode.WOULD_BLOCK, 'Doorbell.park() would block the main thread; use parkAsync()');
    }
    Atomics.add(this.slots, BellSlot.PARKS, 1);
    const result = Atomics.wait(this.slots, BellSlot.PARKED, 1, timeoutMs);
    Atomics.store(this.slots, BellSlot.PARKED, 0);
    return result;
  }

  /** Owner, step 4 without blocking (the main thread): resolves when rung (or on the timeout). */
  async parkAsync(timeoutMs = Infinity): Promise<ParkResult> {
    Atomics.add(this.slots, BellSlot.PARKS, 1);
    const waiter = Atomics.waitAsync(this.slots, BellSlot.PARKED, 1, timeoutMs);
    const result = waiter.async ? await waiter.value : waiter.value;
    Atomics.store(this.slots, BellSlot.PARKED, 0);
    return result;
  }

  /** True while the owner has announced it is parked and nobody has rung yet. */
  get parked(): boolean {
    return Atomics.load(this.slots, BellSlot.PARKED) === 1;
  }

  /** Notifications sent so far (producers skip the notify while the owner is awake). */
  get notifies(): number {
    return Atomics.load(this.slots, BellSlot.NOTIFIES);
  }

  /** Times the owner has parked so far. */
  get parks(): number {
    return Atomics.load(this.slots, BellSlot.PARKS);
  }
}
