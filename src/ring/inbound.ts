/**
 * InboundRings: one consuming thread's view of every ring that feeds it, polled fairly, and the
 * spin-then-park loop that puts the thread to sleep when they are all empty.
 *
 * Fairness: `poll` makes one pass over the rings, taking at most `budget` records from each, and
 * the next pass starts one ring further on (round-robin). Every ring that had records when a pass
 * reached it is served in that pass, so no ring waits more than one pass while others are served,
 * however chatty one producer is.
 *
 * Sleeping: all rings of one consumer share its doorbell. `waitForWork` spins for a bounded number
 * of checks (cheap Atomics.loads of each ring's HEAD), then follows the doorbell protocol in
 * doorbell.ts: announce, re-check, park. The re-check includes the caller's own `ready` predicate,
 * so a thread that also waits for space in an outbound ring (whose consumer rings the same bell)
 * or for anything else signalled through the bell cannot miss that wake-up either.
 *
 * Tuning: DEFAULT_SPIN_CHECKS = 10,000 checks of one ring take about 70 us on the 2-core machines
 * this project runs on (2,000 took about 14 us). Waking a parked thread costs 8-15 us there, so
 * a spin shorter than the partner's reply time makes both sides park and pay it again: with 2,000
 * checks the ping-pong p99 was 31.6 us (p50 0.35 us), with 10,000 it was 14 us, with 30,000
 * 1.5 us but an idle thread then burns 200 us of a core before it sleeps. 10,000 is the
 * compromise; `npm run bench -- ring` (case pingpong, `horde` against `horde-nospin`) measures it.
 * `spin: 0` turns spinning off.
 *
 * Tried and dropped: an adaptive spin (doubling after a spin or a short park found work, halving
 * after a long park). It helps an oversubscribed machine, where fixed spinning loses to parking at
 * once (ping-pong p50 141 us spinning against 3.7 us parking, load average 3.8 on 2 cores), but on
 * a quiet one it cost ping-pong p99 128 us against 1.3 us and one-way 17.8M against 35M msgs/s
 * (`npm run bench -- ring`), so the spin stays fixed.
 */

import { ErrorCode, HordeError } from '../errors.js';
import type { Doorbell, ParkResult } from './doorbell.js';
import { RingReader, type RingHandle, type RecordVisitor } from './ring.js';

/** Checks of the inbound rings `waitForWork` makes before it parks (10,000 checks of one ring: about 70 us on 2 cores). */
export const DEFAULT_SPIN_CHECKS = 10_000;
/** Records `poll` takes from each ring in one pass when no budget is given. */
export const DEFAULT_POLL_BUDGET = 64;

/** Like RecordVisitor, with the index of the ring the record came from (order of `add`). */
export type InboundVisitor = (ring: number, kind: number, bytes: Uint8Array, offset: number, length: number) => void;

/** Options of `InboundRings.waitForWork` (and, without `spin`, of `waitForWorkAsync`). */
export interface WaitOptions {
  /** Checks of all rings before parking; 0 parks at once. Default DEFAULT_SPIN_CHECKS. */
  spin?: number;
  /** Give up parking after this long (the result is then 'timed-out'). Default: no limit. */
  timeoutMs?: number;
  /** Another condition that counts as work (re-checked after announcing the park). */
  ready?: () => boolean;
}

/** 'work' when the rings (or `ready`) had something before parking; otherwise how the park ended. */
export type WaitResult = 'work' | ParkResult;

/**
 * Every ring that feeds one consuming thread, polled fairly (round-robin, a budget per ring), with
 * the spin-then-park wait that sleeps on the thread's doorbell until a producer rings it.
 */
export class InboundRings {
  /** This thread's doorbell: the consumer doorbell of every ring added. */
  readonly bell: Doorbell;
  private readonly visit: InboundVisitor;
  private readonly readers: RingReader[] = [];
  private readonly visitors: RecordVisitor[] = [];
  private start = 0;

  /** `visit` is called once per record, with the index of its ring, by `poll`. */
  constructor(bell: Doorbell, visit: InboundVisitor) {
    this.bell = bell;
    this.visit = visit;
  }

  /** Adds a ring whose consumer doorbell is this thread's bell. Returns its index. */
  add(handle: RingHandle): number {
    const index = this.readers.length;
    this.readers.push(new RingReader(handle));
    const visit = this.visit;
    this.visitors.push((kind, bytes, offset, length) => visit(index, kind, bytes, offset, length));
    return index;
  }

  /** Replaces ring `index` (its producer was replaced); records left in the old ring are dropped. */
  replace(index: number, handle: RingHandle): void {
    this.reader(index);
    this.readers[index] = new RingReader(handle);
  }

  /** Rings added so far. */
  get size(): number {
    return this.readers.length;
  }

  /** The reader of ring `index`; throws HORDE_INVALID_OPTION when there is none. */
  reader(index: number): RingReader {
    const reader = this.readers[index];
    if (reader === undefined) throw new HordeError(ErrorCode.INVALID_OPTION, `no inbound ring ${index}`);
    return reader;
  }

  /** One fair pass: at most `budget` records from each ring. Returns the records visited. */
  poll(budget = DEFAULT_POLL_BUDGET): number {
    const count = this.readers.length;
    if (count === 0) return 0;
    let visited = 0;
    const first = this.start;
    for (let step = 0; step < count; step++) {
      let index = first + step;
      if (index >= count) index -= count;
      visited += this.readers[index]!.drain(this.visitors[index]!, budget);
    }
    this.start = first + 1 >= count ? 0 : first + 1;
    return visited;
  }

  /** True when any ring has a record waiting (one Atomics.load per ring). */
  hasWork(): boolean {
    const readers = this.readers;
    for (let i = 0; i < readers.length; i++) {
      if (readers[i]!.hasRecords()) return true;
    }
    return false;
  }

  /** Worker threads: spin, then park until a producer rings. Refuses on the main thread. */
  waitForWork(options: WaitOptions = {}): WaitResult {
    if (this.spinFor(options.spin ?? DEFAULT_SPIN_CHECKS, options.ready)) return 'work';
    this.bell.prepareToPark();
    if (this.hasWork() || options.ready?.() === true) {
      this.bell.cancelPark();
      return 'work';
    }
    return this.bell.park(options.timeoutMs);
  }

  /** The main thread: parks without blocking (no spin: the event loop has other work). */
  async waitForWorkAsync(options: Omit<WaitOptions, 'spin'> = {}): Promise<WaitResult> {
    this.bell.prepareToPark();
    if (this.hasWork() || options.ready?.() === true) {
      this.bell.cancelPark();
      return 'work';
    }
    return this.bell.parkAsync(options.timeoutMs);
  }

  private spinFor(checks: number, ready: (() => boolean) | undefined): boolean {
    for (let i = 0; i < checks; i++) {
      if (this.hasWork() || (ready !== undefined && ready())) return true;
    }
    return false;
  }
}
