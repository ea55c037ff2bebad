/**
 * Hierarchical timer wheel: the core of the poller worker. Pure: no threads, no real clock. The
 * caller passes time in (`advance(Date.now())` in the poller, a simulated clock in the testkit) and
 * sleeps until `nextDue()`.
 *
 * Resolution and range. Time is counted in ticks of `tickMs` (default 1 ms) from `startMs`. A
 * delay is rounded up to whole ticks, so a timer never fires early; it fires at the first
 * `advance` whose time has reached its tick. Six levels of 256 slots cover 2^48 ticks (8,900 years
 * at 1 ms); a timer further out than that waits in an overflow list and enters the wheel when the
 * clock gets within 2^48 ticks of it. Ticks saturate at 2^53 - 1 (Number.MAX_SAFE_INTEGER).
 *
 * Layout. A timer at level L sits in the slot given by byte L of its due tick, where L is the
 * highest byte in which its due tick differs from `elapsed` (the tick the wheel has processed up
 * to). So a level holds only timers of the current 256^(L+1)-tick block, after the current
 * 256^L-tick slot, and every timer of level L - 1 is due before every timer of level L. A level-0
 * slot holds timers of one exact tick. When `elapsed` reaches the start of a slot at level L > 0,
 * its timers due at that tick fire and the rest move down (cascade) to the level of their
 * remaining distance: a timer moves at most 5 times (6 from the overflow list), a one-hour timer
 * at most 2. 256 slots rather than 64 (tokio's choice) means fewer levels and cascades for the same
 * range (a one-hour timer would move up to 3 times with 64); finding the next occupied slot costs
 * at most 8 word tests per level with the occupancy bitmaps.
 *
 * Invariant: a pending timer is always in the list that its due tick and `elapsed` alone select
 * (an entry placed earlier stays right until `elapsed` reaches its slot, which is then emptied).
 * So timers of one due tick are always in one list, in scheduling order (lists only append, a
 * cascade moves a list in order to lists holding no timer of that tick, a sort is stable), and
 * firing in list order gives scheduling order for ties without storing a sequence number.
 *
 * Timers are not objects: each is an index into parallel typed arrays (due tick, repeat period,
 * generation, list links, list id) plus one slot in a payload array.
 * Every slot, the overflow list, the "ready" list (due at or before the current tick: delay 0)
 * and the "firing" list (the batch being fired) are doubly-linked lists through those arrays, so
 * cancel unlinks in O(1) and frees the index at once: nothing cancelled stays behind. Freed
 * indices are reused first in, first out. A timer's id is `generation * 2^26 + index + 1`: cancel
 * finds the index without a map, and an id is never reused because the index's generation grows
 * each time it is freed (an index is retired for good after 2^27 uses, leaking 38 bytes per 2^27
 * timers). At most 2^26 timers may be pending (TIMER_CAPACITY). Memory follows the high-water mark
 * of pending timers: columns grow by doubling and never shrink.
 *
 * Complexity. schedule, cancel: O(1). advance: O(levels) per occupied slot it visits plus O(1) per
 * timer fired or cascaded; an idle gap of any length costs one bitmap search per level, never one
 * step per tick. nextDue: cached; recomputed after a change that may raise it in O(levels), plus,
 * when the earliest slot is at a level above 0 and its minimum is unknown, one sort of that slot
 * (after which cancelling its timers in due order, as request timeouts are, stays O(1)).
 *
 * Order. `advance` fires timers in due-tick order, timers of one tick in scheduling order (a
 * repeating timer counts as scheduled again each time it fires). During an advance, `now` is
 * already the new time: timers scheduled by fire callbacks are relative to it and never fire in
 * the same advance (a delay of 0 fires at the next one). A repeating timer re-arms at its own due
 * tick + period; if that is already past, `missedRepeats: 'skip'` (default, what a poller wants
 * after a stall) moves it to the first multiple of the period after now, so it fires at most once
 * per advance, and `'burst'` fires every missed period in order within the same advance (what a
 * fake clock jumping ahead expects). If fire callbacks throw, the advance still fires every due
 * timer, then rethrows the first error (an AggregateError if several threw).
 *
 * Tuning numbers (bench/timers.ts: `node --import tsx bench/run.ts timers`; 2-core VM shared with
 * other work, Node 20; 1M timers, random delays 1 ms .. 1 hour; medians of 5 rounds, range over
 * two runs at load 2-4):
 *   start-cancel-1M  schedule then cancel all: fresh wheel 10.6-13.1M pairs/s (growing its columns
 *                    from 1,024 to 2^20), reused wheel 18.4-22.4M; indexed binary heap 4.7-5.0M;
 *                    setTimeout + clearTimeout 0.51-0.66M.
 *   advance-fire-1M  poller loop (advance to nextDue, 874k wake-ups) 2.2-2.5M fires/s; 1 ms steps
 *                    (3.6M advances) 2.0-2.4M; one jump over the hour 2.5-3.1M; heap 1.1-1.4M. An
 *                    empty advance + nextDue costs ~40 ns. Per timer fired (up to two cascades and
 *                    the fire) ~100 ns while the timers fit in cache (100k), ~400 ns at 1M: chasing
 *                    list links through 30 MB is memory-bound. One interleaved 32-byte record per
 *                    timer instead of columns was measured no faster (A/B in one process), so the
 *                    columns stay.
 *   pending-1M       41.9 bytes per pending timer (30 in columns + 8 payload slot, at capacity 2^20
 *                    for 1M); heap 82.4; setTimeout 214.
 */

import { ErrorCode, HordeError, invalidOption } from '../errors.js';

/** A positive safe integer, never reused by the wheel that issued it. */
export type TimerId = number;

export interface TimerWheelOptions {
  /** The clock reading tick 0 corresponds to; `now` starts here. */
  startMs: number;
  /** Resolution in ms (default 1). Delays and repeat periods are rounded up to whole ticks. */
  tickMs?: number;
  /** What a repeating timer does when an advance jumps over several of its periods (see top). */
  missedRepeats?: 'skip' | 'burst';
}

/** Levels of the wheel and bits per level (256 slots each): 48 bits of range before the overflow list. */
export const WHEEL_LEVELS = 6;
export const WHEEL_SLOT_BITS = 8;
/** Most timers one wheel may hold pending at once (the index part of a TimerId). */
export const MAX_PENDING_TIMERS = 2 ** 26;

const SLOTS = 1 << WHEEL_SLOT_BITS;
const SLOT_MASK = SLOTS - 1;
/** SPAN[L]: ticks covered by one slot of level L (SPAN[WHEEL_LEVELS]: by the whole wheel). */
const SPAN: readonly number[] = Array.from({ length: WHEEL_LEVELS + 1 }, (_, level) => 2 ** (WHEEL_SLOT_BITS * level));
const WHEEL_SPAN = 2 ** (WHEEL_SLOT_BITS * WHEEL_LEVELS);

// List ids: wheel slots are level * 256 + slot; then the three special lists.
const WHEEL_LISTS = WHEEL_LEVELS * SLOTS;
const READY = WHEEL_LISTS;
const OVERFLOW = WHEEL_LISTS + 1;
const FIRING = WHEEL_LISTS + 2;
const LIST_COUNT = WHEEL_LISTS + 3;
/** List id of a free index. */
const FREE = 0xffff;
const NONE = -1;

const TWO_32 = 2 ** 32;
const MAX_TICK = Number.MAX_SAFE_INTEGER;
const MAX_GENERATION = Math.floor((Number.MAX_SAFE_INTEGER - MAX_PENDING_TIMERS) / MAX_PENDING_TIMERS);
const MIN_CAPACITY = 1024;

export class TimerWheel<T> {
  readonly startMs: number;
  readonly tickMs: number;
  private readonly burst: boolean;

  private nowMs: number;
  /** floor((nowMs - startMs) / tickMs): timers due at or before it are due. */
  private targetTick = 0;
  /** The tick the wheel has processed up to (= targetTick outside advance), split in 32-bit halves. */
  private elapsed = 0;
  private elapsedLo = 0;
  private elapsedHi = 0;
  private pending = 0;
  private advancing = false;
  /** Earliest due tick of a pending timer; Infinity: none; NaN: unknown. */
  private cachedNext = Infinity;

  // One column per field, indexed by timer index.
  private capacityNow = 0;
  private used = 0;
  private dueCol = new Float64Array(0);
  private repeatCol = new Float64Array(0);
  private genCol = new Uint32Array(0);
  private nextCol = new Int32Array(0);
  private prevCol = new Int32Array(0);
  private listCol = new Uint16Array(0);
  private readonly payloads: (T | undefined)[] = [];
  private freeHead = NONE;
  private freeTail = NONE;
  private retiredCount = 0;

  // One entry per list.
  private readonly heads = new Int32Array(LIST_COUNT).fill(NONE);
  private readonly tails = new Int32Array(LIST_COUNT).fill(NONE);
  /** 1 when the list is in non-decreasing due order (its head is its minimum). */
  private readonly sortedByDue = new Uint8Array(LIST_COUNT).fill(1);
  /** For unsorted lists: the minimum due tick, or NaN when unknown (its minimum was cancelled). */
  private readonly minDue = new Float64Array(LIST_COUNT).fill(Number.NaN);
  /** One bit per wheel slot: occupied. */
  private readonly occupied = new Uint32Array(WHEEL_LISTS / 32);
  private readonly levelCount = new Int32Array(WHEEL_LEVELS);
  /** Reused by sortList(); never holds anything across a call. */
  private readonly scratch: number[] = [];

  constructor(options: TimerWheelOptions) {
    const { startMs, tickMs = 1, missedRepeats = 'skip' } = options;
    if (typeof startMs !== 'number' || !Number.isFinite(startMs)) invalidOption('startMs', 'a finite number', startMs);
    if (typeof tickMs !== 'number' || !(tickMs > 0) || !Number.isFinite(tickMs)) invalidOption('tickMs', 'a finite number > 0', tickMs);
    if (missedRepeats !== 'skip' && missedRepeats !== 'burst') invalidOption('missedRepeats', '"skip" or "burst"', missedRepeats);
    this.startMs = startMs;
    this.tickMs = tickMs;
    this.nowMs = startMs;
    this.burst = missedRepeats === 'burst';
  }

  /** Pending timers (a repeating timer stays pending until cancelled). */
  get size(): number {
    return this.pending;
  }

  /** The latest time passed to `advance` (or `startMs`). */
  get now(): number {
    return this.nowMs;
  }

  /** Timer slots allocated (the high-water mark of pending timers, rounded up to a power of 2). */
  get capacity(): number {
    return this.capacityNow;
  }

  /** Indices retired because their generation ran out (for memory accounting; normally 0). */
  get retired(): number {
    return this.retiredCount;
  }

  /**
   * Schedules `payload` to fire `delayMs` from `now` (rounded up to the tick); `repeatMs > 0`
   * re-arms it every `repeatMs` (rounded up to the tick) after each due time. A delay of 0 fires at
   * the next advance. Throws INVALID_TIMER for a negative, NaN or infinite delay or repeat, and
   * TIMER_CAPACITY when 2^26 timers are pending.
   */
  schedule(delayMs: number, payload: T, repeatMs = 0): TimerId {
    if (typeof delayMs !== 'number' || !(delayMs >= 0) || delayMs === Infinity) throw invalidTimer('delayMs', delayMs);
    if (typeof repeatMs !== 'number' || !(repeatMs >= 0) || repeatMs === Infinity) throw invalidTimer('repeatMs', repeatMs);
    const target = this.targetTick;
    let due = delayMs === 0 ? target : Math.ceil((this.nowMs - this.startMs + delayMs) / this.tickMs);
    if (due > MAX_TICK) due = MAX_TICK;
    const i = this.allocate();
    this.repeatCol[i] = repeatMs === 0 ? 0 : Math.min(MAX_TICK, Math.max(1, Math.ceil(repeatMs / this.tickMs)));
    this.payloads[i] = payload;
    this.pending++;
    if (due <= target) {
      due = target;
      this.dueCol[i] = due;
      this.append(READY, i);
    } else {
      this.dueCol[i] = due;
      this.place(i, due);
    }
    if (due < this.cachedNext) this.cachedNext = due;
    return this.idOf(i);
  }

  /** Cancels a pending timer; false (and nothing else) for unknown, cancelled or fired one-shot ids. */
  cancel(id: TimerId): boolean {
    const i = this.indexOf(id);
    if (i === NONE) return false;
    this.unlink(i);
    if (this.dueCol[i] === this.cachedNext) this.cachedNext = Number.NaN;
    this.release(i);
    return true;
  }

  /** Whether `id` is pending. */
  has(id: TimerId): boolean {
    return this.indexOf(id) !== NONE;
  }

  /**
   * Moves time to `nowMs` (earlier readings are ignored) and calls `fire(payload, id)` for every
   * due timer, in due order, ties in scheduling order. Returns how many fired. Callbacks may
   * schedule and cancel timers; they may not call `advance`.
   */
  advance(nowMs: number, fire: (payload: T, id: TimerId) => void): number {
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) throw invalidTimer('nowMs', nowMs);
    if (this.advancing) throw new HordeError(ErrorCode.INVALID_TIMER, 'TimerWheel.advance called from inside a fire callback');
    if (nowMs > this.nowMs) {
      this.nowMs = nowMs;
      const tick = Math.floor((nowMs - this.startMs) / this.tickMs);
      if (tick > this.targetTick) this.targetTick = Math.min(tick, MAX_TICK);
    }
    const target = this.targetTick;
    const errors: unknown[] = [];
    let fired = 0;
    this.advancing = true;
    this.cachedNext = Number.NaN;
    try {
      // Due at or before the previous advance's tick. Moved whole, so that what callbacks add to
      // the ready list waits for the next advance.
      if (this.heads[READY] !== NONE) {
        this.collect(READY);
        for (let i = this.heads[FIRING]!; i !== NONE; i = this.heads[FIRING]!) {
          this.fireOne(i, fire, errors);
          fired++;
        }
      }
      for (;;) {
        let list = this.nextWheelList();
        let deadline: number;
        if (list !== NONE) {
          const level = list >>> WHEEL_SLOT_BITS;
          const block = SPAN[level + 1]!;
          deadline = this.elapsed - (this.elapsed % block) + (list & SLOT_MASK) * SPAN[level]!;
        } else if (this.heads[OVERFLOW] !== NONE) {
          // The wheel is empty: jump to the start of the 2^48-tick block of the earliest far timer.
          const earliest = this.listMin(OVERFLOW);
          list = OVERFLOW;
          deadline = earliest - (earliest % WHEEL_SPAN);
        } else {
          break;
        }
        if (deadline > target) break;
        this.setElapsed(deadline);
        this.collect(list);
        for (let i = this.heads[FIRING]!; i !== NONE; i = this.heads[FIRING]!) {
          this.fireOne(i, fire, errors);
          fired++;
        }
      }
      // Every occupied slot starts after target, so each timer keeps its level and slot.
      if (target > this.elapsed) this.setElapsed(target);
    } finally {
      this.advancing = false;
      this.cachedNext = Number.NaN;
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} timer callbacks threw`);
    return fired;
  }

  /**
   * Earliest due time (ms) of a pending timer, or undefined. At or before `now` when a timer is
   * already due (delay 0): advance at once instead of sleeping. O(1) when cached, else O(levels).
   */
  nextDue(): number | undefined {
    let due = this.cachedNext;
    if (due !== due) {
      due = this.computeNext();
      // During an advance, firing changes the lists without keeping the cache: do not store it.
      if (!this.advancing) this.cachedNext = due;
    }
    return due === Infinity ? undefined : this.startMs + due * this.tickMs;
  }

  // ---- internals ----

  private computeNext(): number {
    const wheel = this.nextWheelList();
    const later = wheel === NONE ? this.listMin(OVERFLOW) : this.listMin(wheel);
    return Math.min(this.listMin(FIRING), this.listMin(READY), later);
  }

  private idOf(i: number): TimerId {
    return this.genCol[i]! * MAX_PENDING_TIMERS + i + 1;
  }

  private indexOf(id: TimerId): number {
    if (!Number.isSafeInteger(id) || id < 1) return NONE;
    const k = id - 1;
    const i = k % MAX_PENDING_TIMERS;
    if (i >= this.used || (k - i) / MAX_PENDING_TIMERS !== this.genCol[i] || this.listCol[i] === FREE) return NONE;
    return i;
  }

  private allocate(): number {
    const i = this.freeHead;
    if (i !== NONE) {
      this.freeHead = this.nextCol[i]!;
      if (this.freeHead === NONE) this.freeTail = NONE;
      return i;
    }
    if (this.used === this.capacityNow) this.grow();
    return this.used++;
  }

  private release(i: number): void {
    this.payloads[i] = undefined;
    this.listCol[i] = FREE;
    this.pending--;
    const generation = this.genCol[i]! + 1;
    this.genCol[i] = generation;
    if (generation > MAX_GENERATION) {
      this.retiredCount++;
      return;
    }
    this.nextCol[i] = NONE;
    if (this.freeTail === NONE) this.freeHead = i;
    else this.nextCol[this.freeTail] = i;
    this.freeTail = i;
  }

  private grow(): void {
    if (this.capacityNow >= MAX_PENDING_TIMERS) {
      throw new HordeError(ErrorCode.TIMER_CAPACITY, `a timer wheel holds at most ${MAX_PENDING_TIMERS} pending timers`);
    }
    const capacity = Math.min(MAX_PENDING_TIMERS, Math.max(MIN_CAPACITY, this.capacityNow * 2));
    this.dueCol = grown(this.dueCol, new Float64Array(capacity));
    this.repeatCol = grown(this.repeatCol, new Float64Array(capacity));
    this.genCol = grown(this.genCol, new Uint32Array(capacity));
    this.nextCol = grown(this.nextCol, new Int32Array(capacity));
    this.prevCol = grown(this.prevCol, new Int32Array(capacity));
    this.listCol = grown(this.listCol, new Uint16Array(capacity));
    this.capacityNow = capacity;
  }

  private setElapsed(tick: number): void {
    this.elapsed = tick;
    const lo = tick >>> 0;
    this.elapsedLo = lo;
    this.elapsedHi = (tick - lo) / TWO_32;
  }

  /** Puts timer `i` (due > elapsed) in the wheel slot or the overflow list its distance calls for. */
  private place(i: number, due: number): void {
    const lo = due >>> 0;
    const hi = (due - lo) / TWO_32;
    const xhi = hi ^ this.elapsedHi;
    const level = xhi !== 0 ? (63 - Math.clz32(xhi)) >> 3 : (31 - Math.clz32(lo ^ this.elapsedLo)) >> 3;
    if (level >= WHEEL_LEVELS) {
      this.append(OVERFLOW, i);
      return;
    }
    const slot = level < 4 ? (lo >>> (level << 3)) & SLOT_MASK : (hi >>> ((level - 4) << 3)) & SLOT_MASK;
    this.append((level << WHEEL_SLOT_BITS) | slot, i);
  }

  private append(list: number, i: number): void {
    const tail = this.tails[list]!;
    const due = this.dueCol[i]!;
    this.listCol[i] = list;
    this.nextCol[i] = NONE;
    this.prevCol[i] = tail;
    if (tail === NONE) {
      this.heads[list] = i;
      if (list < WHEEL_LISTS) this.occupied[list >>> 5]! |= 1 << (list & 31);
    } else {
      this.nextCol[tail] = i;
      if (this.sortedByDue[list] === 1) {
        if (due < this.dueCol[tail]!) {
          this.sortedByDue[list] = 0;
          this.minDue[list] = Math.min(this.dueCol[this.heads[list]!]!, due);
        }
      } else if (due < this.minDue[list]!) {
        this.minDue[list] = due;
      }
    }
    this.tails[list] = i;
    if (list < WHEEL_LISTS) this.levelCount[list >>> WHEEL_SLOT_BITS]!++;
  }

  private unlink(i: number): void {
    const list = this.listCol[i]!;
    const prev = this.prevCol[i]!;
    const next = this.nextCol[i]!;
    if (prev === NONE) this.heads[list] = next;
    else this.nextCol[prev] = next;
    if (next === NONE) this.tails[list] = prev;
    else this.prevCol[next] = prev;
    if (list < WHEEL_LISTS) this.levelCount[list >>> WHEEL_SLOT_BITS]!--;
    if (this.heads[list] === NONE) {
      this.sortedByDue[list] = 1;
      this.minDue[list] = Number.NaN;
      if (list < WHEEL_LISTS) this.occupied[list >>> 5]! &= ~(1 << (list & 31));
    } else if (this.sortedByDue[list] === 0 && this.dueCol[i] === this.minDue[list]) {
      this.minDue[list] = Number.NaN;
    }
  }

  /** The first occupied slot of the lowest non-empty level: it holds the earliest wheel timers. */
  private nextWheelList(): number {
    for (let level = 0; level < WHEEL_LEVELS; level++) {
      if (this.levelCount[level] === 0) continue;
      const digit = level < 4 ? (this.elapsedLo >>> (level << 3)) & SLOT_MASK : (this.elapsedHi >>> ((level - 4) << 3)) & SLOT_MASK;
      // Timers of a level are always in slots after elapsed's own digit at that level.
      const from = (level << WHEEL_SLOT_BITS) + digit + 1;
      const end = (level + 1) << WHEEL_SLOT_BITS;
      if (from < end) {
        let word = from >>> 5;
        let bits = this.occupied[word]! & (-1 << (from & 31));
        const endWord = end >>> 5;
        for (;;) {
          if (bits !== 0) return (word << 5) + 31 - Math.clz32(bits & -bits);
          if (++word === endWord) break;
          bits = this.occupied[word]!;
        }
      }
      throw new Error(`TimerWheel invariant broken: level ${level} holds timers but none after slot ${digit}`);
    }
    return NONE;
  }

  /**
   * Empties `list` (elapsed has reached its start; for READY, everything in it is due): timers due
   * by now go to the firing list, in list order, which is scheduling order for timers of one tick
   * (see the invariant at the top); the others move down to the level of their remaining distance.
   */
  private collect(list: number): void {
    let i = this.heads[list]!;
    const inWheel = list < WHEEL_LISTS;
    if (inWheel) this.occupied[list >>> 5]! &= ~(1 << (list & 31));
    this.heads[list] = NONE;
    this.tails[list] = NONE;
    this.sortedByDue[list] = 1;
    this.minDue[list] = Number.NaN;
    const now = this.elapsed;
    while (i !== NONE) {
      const next = this.nextCol[i]!;
      if (inWheel) this.levelCount[list >>> WHEEL_SLOT_BITS]!--;
      const due = this.dueCol[i]!;
      if (due <= now) this.append(FIRING, i);
      else this.place(i, due);
      i = next;
    }
  }

  /** Unlinks timer `i`, re-arms or frees it, then calls `fire` (collecting what it throws). */
  private fireOne(i: number, fire: (payload: T, id: TimerId) => void, errors: unknown[]): void {
    this.unlink(i);
    const payload = this.payloads[i] as T;
    const id = this.idOf(i);
    const period = this.repeatCol[i]!;
    if (period > 0) {
      const due = this.dueCol[i]!;
      let next = due + period;
      if (!this.burst && next <= this.targetTick) next = due + period * (Math.floor((this.targetTick - due) / period) + 1);
      if (next > MAX_TICK) next = MAX_TICK;
      this.dueCol[i] = next;
      if (next > this.elapsed) this.place(i, next);
      else this.append(READY, i);
    } else {
      this.release(i);
    }
    try {
      fire(payload, id);
    } catch (error) {
      errors.push(error);
    }
  }

  /** Minimum due tick of a list (Infinity when empty); sorts the list when it is not known. */
  private listMin(list: number): number {
    const head = this.heads[list]!;
    if (head === NONE) return Infinity;
    if (this.sortedByDue[list] === 1) return this.dueCol[head]!;
    const known = this.minDue[list]!;
    if (known === known) return known;
    this.sortList(list);
    return this.dueCol[this.heads[list]!]!;
  }

  /** Relinks a list in due order (stable: ties keep scheduling order), so its head is its minimum. */
  private sortList(list: number): void {
    const items = this.scratch;
    items.length = 0;
    for (let i = this.heads[list]!; i !== NONE; i = this.nextCol[i]!) items.push(i);
    const due = this.dueCol;
    items.sort((a, b) => due[a]! - due[b]!);
    let prev = NONE;
    for (const i of items) {
      this.prevCol[i] = prev;
      if (prev === NONE) this.heads[list] = i;
      else this.nextCol[prev] = i;
      prev = i;
    }
    this.nextCol[prev] = NONE;
    this.tails[list] = prev;
    this.sortedByDue[list] = 1;
    this.minDue[list] = Number.NaN;
    items.length = 0;
  }
}

function grown<A extends Float64Array | Uint32Array | Int32Array | Uint16Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

function invalidTimer(what: string, value: unknown): HordeError {
  return new HordeError(
    ErrorCode.INVALID_TIMER,
    `${what} must be a finite number >= 0; got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
  );
}
