// The poller's hierarchical timer wheel (src/poller/wheel.ts): pure, time passed in. Ordering,
// cancellation, repeats, every level boundary, huge jumps, nextDue, errors, and a model-based
// property test against a naive list that keeps the same rules.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode } from '../../src/errors.js';
import { MAX_PENDING_TIMERS, TimerWheel, type TimerId } from '../../src/poller/wheel.js';
import { throwsCode } from '../support/errors.js';

const DAY = 86_400_000;
const YEAR = 365 * DAY;
const MAX_TICK = Number.MAX_SAFE_INTEGER;

type Fired<T> = { payload: T; id: TimerId; at: number };

/** Advances `wheel` to `nowMs` and returns what fired, stamped with the wheel's time. */
function advanceLog<T>(wheel: TimerWheel<T>, nowMs: number): Fired<T>[] {
  const fired: Fired<T>[] = [];
  const count = wheel.advance(nowMs, (payload, id) => fired.push({ payload, id, at: wheel.now }));
  expect(count).toBe(fired.length);
  return fired;
}

/** Advances by following nextDue() (as the poller does) until nothing is due at or before `untilMs`. */
function runUntil<T>(wheel: TimerWheel<T>, untilMs: number): Fired<T>[] {
  const fired: Fired<T>[] = [];
  for (let due = wheel.nextDue(); due !== undefined && due <= untilMs; due = wheel.nextDue()) {
    fired.push(...advanceLog(wheel, Math.max(due, wheel.now)));
  }
  fired.push(...advanceLog(wheel, untilMs));
  return fired;
}

/**
 * The reference: every pending timer in one array, and each advance repeatedly picks the smallest
 * (due, seq) among the timers it may fire. Same rules as the wheel (ticks, rounding, ready at
 * delay 0, skip or burst for repeats, callbacks' timers wait for the next advance).
 */
class ModelWheel {
  private timers: { id: TimerId; payload: number; due: number; seq: number; period: number; rearmed: boolean }[] = [];
  private seq = 0;
  private target = 0;
  now: number;

  constructor(
    private readonly startMs: number,
    private readonly tickMs: number,
    private readonly burst: boolean,
  ) {
    this.now = startMs;
  }

  get size(): number {
    return this.timers.length;
  }

  schedule(id: TimerId, delayMs: number, payload: number, repeatMs: number): void {
    let due = delayMs === 0 ? this.target : Math.min(MAX_TICK, Math.ceil((this.now - this.startMs + delayMs) / this.tickMs));
    if (due <= this.target) due = this.target;
    const period = repeatMs === 0 ? 0 : Math.min(MAX_TICK, Math.max(1, Math.ceil(repeatMs / this.tickMs)));
    this.timers.push({ id, payload, due, seq: this.seq++, period, rearmed: false });
  }

  cancel(id: TimerId): boolean {
    const at = this.timers.findIndex((t) => t.id === id);
    if (at < 0) return false;
    this.timers.splice(at, 1);
    return true;
  }

  nextDue(): number | undefined {
    if (this.timers.length === 0) return undefined;
    return this.startMs + Math.min(...this.timers.map((t) => t.due)) * this.tickMs;
  }

  advance(nowMs: number, fire: (payload: number, id: TimerId) => void): number {
    if (nowMs > this.now) {
      this.now = nowMs;
      this.target = Math.max(this.target, Math.min(MAX_TICK, Math.floor((nowMs - this.startMs) / this.tickMs)));
    }
    const seqStart = this.seq;
    for (const t of this.timers) t.rearmed = false;
    let fired = 0;
    for (;;) {
      let best: (typeof this.timers)[number] | undefined;
      for (const t of this.timers) {
        if (t.due > this.target || (t.seq >= seqStart && !t.rearmed)) continue;
        if (best === undefined || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
      }
      if (best === undefined) return fired;
      if (best.period > 0) {
        let next = best.due + best.period;
        if (!this.burst && next <= this.target) next = best.due + best.period * (Math.floor((this.target - best.due) / best.period) + 1);
        best.due = Math.min(next, MAX_TICK);
        best.seq = this.seq++;
        best.rearmed = true;
      } else {
        this.timers.splice(this.timers.indexOf(best), 1);
      }
      fired++;
      fire(best.payload, best.id);
    }
  }
}

describe('TimerWheel: ordering', () => {
  it('fires every timer exactly once, in due order, never early and at the first advance at or after its due time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 2 ** 26 })), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 2 ** 24 })), {
          minLength: 1,
          maxLength: 60,
        }),
        (delays, steps) => {
          const start = 1_700_000_000_000;
          const wheel = new TimerWheel<number>({ startMs: start });
          const dueOf = new Map<TimerId, number>();
          delays.forEach((delay, n) => dueOf.set(wheel.schedule(delay, n), start + delay));
          const firedAt = new Map<TimerId, number>();
          let previousNow = -Infinity; // the time of the previous advance
          let lastDue = -Infinity;
          const advanceTo = (now: number): void => {
            for (const { id, at } of advanceLog(wheel, now)) {
              expect(firedAt.has(id)).toBe(false);
              firedAt.set(id, at);
              const due = dueOf.get(id)!;
              expect(due).toBeGreaterThanOrEqual(lastDue);
              lastDue = due;
              expect(at).toBeGreaterThanOrEqual(due);
              expect(due).toBeGreaterThan(previousNow); // else an earlier advance should have fired it
            }
            previousNow = wheel.now;
          };
          for (const step of steps) advanceTo(wheel.now + step);
          advanceTo(start + 2 ** 27);
          expect(firedAt.size).toBe(delays.length);
          expect(wheel.size).toBe(0);
          expect(wheel.nextDue()).toBeUndefined();
        },
      ),
      { numRuns: 150, seed: 20_240_601 },
    );
  });

  it('fires timers of the same tick in scheduling order, also when they reach it from different levels', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    wheel.schedule(70_000, 'a'); // level 2 now
    advanceLog(wheel, 69_000);
    wheel.schedule(1_000, 'b'); // level 1 (due 70,000 too)
    advanceLog(wheel, 69_990);
    wheel.schedule(10, 'c'); // level 0
    wheel.schedule(10, 'd');
    expect(advanceLog(wheel, 70_000).map((f) => f.payload)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps scheduling order for ties after nextDue sorts a high-level slot', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    wheel.schedule(1_000, 'a'); // level 1, slot 3 (768..1023)
    const early = wheel.schedule(900, 'early'); // same slot, out of order: the slot is unsorted
    wheel.schedule(1_000, 'c');
    wheel.schedule(1_000, 'd');
    wheel.cancel(early); // its minimum is gone: nextDue sorts the slot
    expect(wheel.nextDue()).toBe(1_000);
    expect(advanceLog(wheel, 1_000).map((f) => f.payload)).toEqual(['a', 'c', 'd']);
  });

  it('fires everything due in order when one advance jumps over a year', () => {
    const wheel = new TimerWheel<number>({ startMs: 5 });
    const rng = fc.sample(fc.integer({ min: 0, max: YEAR }), { numRuns: 20_000, seed: 7 });
    rng.forEach((delay, n) => wheel.schedule(delay, n));
    const fired = advanceLog(wheel, 5 + YEAR);
    expect(fired).toHaveLength(rng.length);
    for (let k = 1; k < fired.length; k++) {
      const a = fired[k - 1]!.payload;
      const b = fired[k]!.payload;
      const da = rng[a]!;
      const db = rng[b]!;
      expect(da < db || (da === db && a < b)).toBe(true);
    }
    expect(wheel.size).toBe(0);
  });

  it('ignores advances backwards: time and due times keep the later reading', () => {
    const wheel = new TimerWheel<string>({ startMs: 1_000 });
    advanceLog(wheel, 1_100);
    expect(advanceLog(wheel, 1_050)).toEqual([]);
    expect(wheel.now).toBe(1_100);
    wheel.schedule(10, 'x');
    expect(wheel.nextDue()).toBe(1_110);
    expect(advanceLog(wheel, 900)).toEqual([]);
    expect(advanceLog(wheel, 1_109)).toEqual([]);
    expect(advanceLog(wheel, 1_110).map((f) => f.payload)).toEqual(['x']);
  });

  it('fires a delay-0 timer at the next advance, even one to the same time', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    advanceLog(wheel, 40);
    wheel.schedule(0, 'now');
    expect(wheel.nextDue()).toBe(40);
    expect(advanceLog(wheel, 40).map((f) => f.payload)).toEqual(['now']);
  });

  it('leaves timers scheduled by a fire callback for a later advance, relative to the new time', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    wheel.schedule(5, 'first');
    const fired = advanceLog(wheel, 100);
    expect(fired.map((f) => f.payload)).toEqual(['first']);
    const inner = advanceLog(wheel, 100); // nothing new yet
    expect(inner).toEqual([]);
    let chained: TimerId | undefined;
    wheel.schedule(0, 'parent');
    wheel.advance(100, () => {
      wheel.schedule(0, 'zero');
      chained = wheel.schedule(10, 'ten');
    });
    expect(wheel.size).toBe(2);
    expect(wheel.nextDue()).toBe(100);
    expect(advanceLog(wheel, 109).map((f) => f.payload)).toEqual(['zero']);
    expect(advanceLog(wheel, 110).map((f) => f.id)).toEqual([chained]);
  });

  it('rounds delays up to the tick and never fires early with a coarse tick', () => {
    const wheel = new TimerWheel<string>({ startMs: 3, tickMs: 10 });
    wheel.schedule(1, 'a'); // due 4, rounded to tick 1 = 13
    wheel.schedule(10, 'b'); // due 13 = tick 1
    wheel.schedule(11, 'c'); // due 14, tick 2 = 23
    expect(wheel.nextDue()).toBe(13);
    expect(advanceLog(wheel, 12)).toEqual([]);
    expect(advanceLog(wheel, 13).map((f) => f.payload)).toEqual(['a', 'b']);
    expect(wheel.nextDue()).toBe(23);
    advanceLog(wheel, 25); // now between ticks
    wheel.schedule(0, 'zero');
    wheel.schedule(0.5, 'half'); // due 25.5 -> tick 3 = 33
    expect(advanceLog(wheel, 25).map((f) => f.payload)).toEqual(['zero']);
    expect(advanceLog(wheel, 32.9)).toEqual([]);
    expect(advanceLog(wheel, 33).map((f) => f.payload)).toEqual(['half']);
  });
});

describe('TimerWheel: every level boundary', () => {
  const delays = [
    1, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 2 ** 24 - 1, 2 ** 24, 2 ** 24 + 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1,
    2 ** 40 - 1, 2 ** 40, 2 ** 40 + 1, 2 ** 48 - 1, 2 ** 48, 2 ** 48 + 1, 2 ** 50 + 3, 3 * DAY, YEAR, 59 * 60_000 + 1, 61 * 60_000,
  ];
  // Starting phases: aligned, just before a level-0, level-1, level-3 and wheel-wide rollover.
  const offsets = [0, 1, 200, 255, 65_530, 2 ** 24 - 2, 2 ** 32 - 1, 2 ** 48 - 3];

  it.each(offsets)('fires each delay exactly at its tick, with nextDue exact at every step (clock at %d)', (offset) => {
    for (const delay of delays) {
      const wheel = new TimerWheel<number>({ startMs: 0 });
      advanceLog(wheel, offset);
      const id = wheel.schedule(delay, delay);
      const due = offset + delay;
      expect(wheel.nextDue()).toBe(due);
      // Wake up at a few points before the due time, as a poller might after other events.
      for (const before of [due - 1 - 2 ** 33, due - 1 - 70_000, due - 300, due - 256, due - 2, due - 1]) {
        if (before <= wheel.now) continue;
        expect(advanceLog(wheel, before)).toEqual([]);
        expect(wheel.nextDue()).toBe(due);
      }
      expect(advanceLog(wheel, due)).toEqual([{ payload: delay, id, at: due }]);
      expect(wheel.size).toBe(0);
      expect(wheel.nextDue()).toBeUndefined();
    }
  });

  it('fires each delay in one jump far past its due time', () => {
    const wheel = new TimerWheel<number>({ startMs: 0 });
    advanceLog(wheel, 77);
    for (const delay of delays) wheel.schedule(delay, delay);
    const fired = advanceLog(wheel, 2 ** 51);
    expect(fired.map((f) => f.payload)).toEqual([...delays].sort((a, b) => a - b));
  });

  it('saturates far-off delays at 2^53 - 1 ticks instead of losing them', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    wheel.schedule(1e300, 'end of time');
    wheel.schedule(Number.MAX_SAFE_INTEGER, 'max');
    expect(wheel.nextDue()).toBe(MAX_TICK);
    expect(advanceLog(wheel, MAX_TICK - 1)).toEqual([]);
    expect(advanceLog(wheel, 1e300).map((f) => f.payload)).toEqual(['end of time', 'max']);
  });
});

describe('TimerWheel: cancellation', () => {
  it('cancels before firing (true), not after firing or twice (false)', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    const a = wheel.schedule(10, 'a');
    const b = wheel.schedule(10, 'b');
    const c = wheel.schedule(100_000, 'c');
    expect(wheel.cancel(a)).toBe(true);
    expect(wheel.cancel(a)).toBe(false);
    expect(wheel.has(a)).toBe(false);
    expect(advanceLog(wheel, 10).map((f) => f.payload)).toEqual(['b']);
    expect(wheel.cancel(b)).toBe(false);
    expect(wheel.cancel(c)).toBe(true);
    expect(advanceLog(wheel, 1e6)).toEqual([]);
    expect(wheel.size).toBe(0);
  });

  it('answers false for ids it never issued', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    const id = wheel.schedule(10, 'a');
    for (const bogus of [0, -1, 1.5, id + 1, id + MAX_PENDING_TIMERS, 2 ** 60, Number.NaN, Infinity, '1' as unknown as number]) {
      expect(wheel.cancel(bogus)).toBe(false);
    }
    expect(wheel.size).toBe(1);
  });

  it('lets a fire callback cancel a timer due in the same advance, and itself', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    const ids = new Map<string, TimerId>();
    for (const name of ['a', 'b', 'c']) ids.set(name, wheel.schedule(5, name));
    ids.set('later', wheel.schedule(300, 'later'));
    const results: boolean[] = [];
    const fired: string[] = [];
    wheel.advance(1_000, (payload, id) => {
      fired.push(payload);
      if (payload === 'a') {
        results.push(wheel.cancel(ids.get('b')!), wheel.cancel(ids.get('later')!), wheel.cancel(id));
      }
    });
    expect(fired).toEqual(['a', 'c']);
    expect(results).toEqual([true, true, false]);
    expect(wheel.size).toBe(0);
  });

  it('keeps memory bounded: cancelled timers free their slot at once', () => {
    const wheel = new TimerWheel<number>({ startMs: 0 });
    const pending: TimerId[] = [];
    for (let n = 0; n < 200_000; n++) {
      pending.push(wheel.schedule((n * 7919) % 3_600_000, n));
      if (pending.length > 100) wheel.cancel(pending.shift()!);
    }
    expect(wheel.size).toBe(100);
    expect(wheel.capacity).toBe(1024);
    // Freed in bulk, reused in bulk: no slot is lost.
    const many = Array.from({ length: 2_000 }, (_, n) => wheel.schedule(n + 1, n));
    expect(wheel.capacity).toBe(4096);
    for (const id of many) wheel.cancel(id);
    for (let round = 0; round < 3; round++) {
      const again = Array.from({ length: 3_900 }, (_, n) => wheel.schedule(n + 1, n));
      for (const id of again) wheel.cancel(id);
    }
    expect(wheel.capacity).toBe(4096);
    expect(wheel.size).toBe(100);
  });

  it('never reuses an id, even when it reuses the slot', () => {
    const wheel = new TimerWheel<number>({ startMs: 0 });
    const seen = new Set<TimerId>();
    for (let n = 0; n < 5_000; n++) {
      const id = wheel.schedule(n % 50, n);
      expect(Number.isSafeInteger(id) && id > 0).toBe(true);
      expect(seen.has(id)).toBe(false);
      seen.add(id);
      if (n % 3 === 0) wheel.cancel(id);
      if (n % 10 === 0) wheel.advance(wheel.now + 7, () => undefined);
    }
  });
});

describe('TimerWheel: repeating timers', () => {
  it('fires every period while the clock moves in small steps, and cancel stops it', () => {
    const wheel = new TimerWheel<string>({ startMs: 1_000 });
    const id = wheel.schedule(10, 'tick', 25);
    const at: number[] = [];
    for (let now = 1_000; now <= 1_100; now++) {
      wheel.advance(now, (_, firedId) => {
        expect(firedId).toBe(id);
        at.push(wheel.now);
      });
    }
    expect(at).toEqual([1_010, 1_035, 1_060, 1_085]);
    expect(wheel.nextDue()).toBe(1_110);
    expect(wheel.size).toBe(1);
    expect(wheel.cancel(id)).toBe(true);
    expect(runUntil(wheel, 2_000)).toEqual([]);
  });

  it('skips missed periods by default (one fire per advance, phase kept)', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    wheel.schedule(10, 'r', 100);
    expect(advanceLog(wheel, 1_000)).toHaveLength(1);
    expect(wheel.nextDue()).toBe(1_010);
    expect(advanceLog(wheel, 1_009)).toHaveLength(0);
    expect(advanceLog(wheel, 1_010)).toHaveLength(1);
  });

  it('fires every missed period in order with missedRepeats: burst', () => {
    const wheel = new TimerWheel<string>({ startMs: 0, missedRepeats: 'burst' });
    wheel.schedule(10, 'r', 100);
    wheel.schedule(250, 'one-shot');
    const fired = advanceLog(wheel, 1_000);
    expect(fired.map((f) => f.payload)).toEqual(['r', 'r', 'r', 'one-shot', ...Array<string>(7).fill('r')]);
    expect(wheel.nextDue()).toBe(1_010);
  });

  it('stops when its own callback cancels it', () => {
    const wheel = new TimerWheel<string>({ startMs: 0, missedRepeats: 'burst' });
    let count = 0;
    const answers: boolean[] = [];
    wheel.schedule(0, 'r', 1);
    wheel.advance(100, (_, id) => {
      if (++count === 3) answers.push(wheel.cancel(id));
    });
    expect(count).toBe(3);
    expect(answers).toEqual([true]);
    expect(wheel.size).toBe(0);
  });
});

describe('TimerWheel: nextDue and size', () => {
  it('tracks the earliest timer through schedule, cancel and fire', () => {
    const wheel = new TimerWheel<string>({ startMs: 100 });
    expect(wheel.nextDue()).toBeUndefined();
    const far = wheel.schedule(70_000, 'far');
    expect(wheel.nextDue()).toBe(70_100);
    const mid = wheel.schedule(300, 'mid');
    const near = wheel.schedule(20, 'near');
    expect(wheel.nextDue()).toBe(120);
    expect(wheel.size).toBe(3);
    wheel.cancel(near);
    expect(wheel.nextDue()).toBe(400);
    expect(wheel.size).toBe(2);
    wheel.cancel(far);
    expect(wheel.nextDue()).toBe(400);
    const again = wheel.schedule(70_000, 'far again');
    expect(advanceLog(wheel, 400).map((f) => f.id)).toEqual([mid]);
    expect(wheel.nextDue()).toBe(70_100);
    expect(wheel.size).toBe(1);
    wheel.cancel(again);
    expect(wheel.nextDue()).toBeUndefined();
    expect(wheel.size).toBe(0);
  });

  it('finds the exact minimum of a high-level slot after its minimum is cancelled (in due order or not)', () => {
    const wheel = new TimerWheel<number>({ startMs: 0 });
    // 1,000 request timeouts of 5 s scheduled 0.2 ms apart land in a few level-1 slots.
    const ids: TimerId[] = [];
    for (let n = 0; n < 1_000; n++) {
      if (n % 5 === 0) advanceLog(wheel, wheel.now + 1);
      ids.push(wheel.schedule(5_000, n));
    }
    // Cancel in due order (replies arriving in order), checking nextDue each time.
    for (let n = 0; n < 990; n++) {
      wheel.cancel(ids[n]!);
      expect(wheel.nextDue()).toBe(Math.floor((n + 1) / 5) + 1 + 5_000);
    }
    // Out-of-order appends into a sorted slot, then cancel its minimum.
    const early = wheel.schedule(5_000 - 150, -1);
    expect(wheel.nextDue()).toBe(200 + 5_000 - 150);
    wheel.cancel(early);
    expect(wheel.nextDue()).toBe(199 + 5_000);
  });

  it('counts a repeating timer as pending until cancelled', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    wheel.schedule(1, 'r', 1);
    wheel.schedule(1, 'once');
    expect(wheel.size).toBe(2);
    advanceLog(wheel, 5);
    expect(wheel.size).toBe(1);
  });
});

describe('TimerWheel: errors', () => {
  it('refuses negative, NaN and infinite delays and periods with INVALID_TIMER', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    for (const bad of [-1, -0.5, Number.NaN, Infinity, -Infinity, '5' as unknown as number, undefined as unknown as number]) {
      throwsCode(() => wheel.schedule(bad, 'x'), ErrorCode.INVALID_TIMER);
      if (bad !== undefined) throwsCode(() => wheel.schedule(1, 'x', bad), ErrorCode.INVALID_TIMER);
    }
    throwsCode(() => wheel.advance(Number.NaN, () => undefined), ErrorCode.INVALID_TIMER);
    expect(wheel.size).toBe(0);
  });

  it('refuses bad options with INVALID_OPTION', () => {
    throwsCode(() => new TimerWheel({ startMs: Number.NaN }), ErrorCode.INVALID_OPTION);
    throwsCode(() => new TimerWheel({ startMs: 0, tickMs: 0 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => new TimerWheel({ startMs: 0, tickMs: -1 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => new TimerWheel({ startMs: 0, missedRepeats: 'catch-up' as 'skip' }), ErrorCode.INVALID_OPTION);
  });

  it('fires every due timer even when callbacks throw, then rethrows (AggregateError for several)', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    for (const name of ['a', 'boom', 'b']) wheel.schedule(1, name);
    const fired: string[] = [];
    const fire = (payload: string): void => {
      fired.push(payload);
      if (payload.startsWith('boom')) throw new Error(payload);
    };
    expect(() => wheel.advance(1, fire)).toThrow('boom');
    expect(fired).toEqual(['a', 'boom', 'b']);
    wheel.schedule(1, 'boom1');
    wheel.schedule(1, 'boom2');
    expect(() => wheel.advance(2, fire)).toThrow(AggregateError);
    expect(wheel.size).toBe(0);
    wheel.schedule(1, 'after');
    expect(advanceLog(wheel, 3).map((f) => f.payload)).toEqual(['after']);
  });

  it('refuses advance from inside a fire callback', () => {
    const wheel = new TimerWheel<string>({ startMs: 0 });
    wheel.schedule(1, 'a');
    throwsCode(() => wheel.advance(1, () => wheel.advance(2, () => undefined)), ErrorCode.INVALID_TIMER);
  });
});

// ---- model-based property test ----

type Op =
  | { kind: 'schedule'; delay: number; repeat: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'cancelBogus'; id: number }
  | { kind: 'advance'; delta: number };

function opArb(burst: boolean): fc.Arbitrary<Op> {
  const delay = fc.oneof(
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 300 }) },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 70_000 }) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 2 ** 34 }) },
    { weight: burst ? 0 : 1, arbitrary: fc.integer({ min: 2 ** 47, max: 2 ** 50 }) },
    { weight: 1, arbitrary: fc.double({ min: 0, max: 1_000, noNaN: true }) },
  );
  const repeat = fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: burst ? fc.integer({ min: 40, max: 5_000 }) : fc.integer({ min: 1, max: 5_000 }) },
    { weight: 1, arbitrary: fc.double({ min: 0.1, max: 300, noNaN: true }) },
  );
  const delta = fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 400 }) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 80_000 }) },
    { weight: burst ? 0 : 2, arbitrary: fc.integer({ min: 1, max: 2 ** 36 }) },
    { weight: burst ? 0 : 1, arbitrary: fc.integer({ min: 2 ** 47, max: 2 ** 50 }) },
    { weight: 1, arbitrary: fc.integer({ min: -1_000, max: -1 }) },
    { weight: 1, arbitrary: fc.double({ min: 0, max: 50, noNaN: true }) },
  );
  return fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('schedule' as const), delay, repeat }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancelBogus' as const), id: fc.integer({ min: -5, max: 2 ** 40 }) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), delta }) },
  );
}

/** What a fire callback did, recorded on the wheel and replayed on the model. */
type CallbackAction = { scheduled?: { id: TimerId; delay: number; repeat: number; payload: number }; cancelled?: { id: TimerId; result: boolean } };

function checkAgainstModel(ops: Op[], startMs: number, tickMs: number, burst: boolean): void {
  const wheel = new TimerWheel<number>({ startMs, tickMs, missedRepeats: burst ? 'burst' : 'skip' });
  const model = new ModelWheel(startMs, tickMs, burst);
  const issued: TimerId[] = [];
  let payloads = 0;
  const check = (): void => {
    expect(wheel.size).toBe(model.size);
    expect(wheel.nextDue()).toBe(model.nextDue());
    expect(wheel.now).toBe(model.now);
  };
  for (const op of ops) {
    switch (op.kind) {
      case 'schedule': {
        const payload = payloads++;
        const id = wheel.schedule(op.delay, payload, op.repeat);
        model.schedule(id, op.delay, payload, op.repeat);
        issued.push(id);
        break;
      }
      case 'cancel': {
        if (issued.length === 0) break;
        const id = issued[op.pick % issued.length]!;
        expect(wheel.cancel(id)).toBe(model.cancel(id));
        break;
      }
      case 'cancelBogus':
        expect(wheel.cancel(op.id)).toBe(model.cancel(op.id));
        break;
      case 'advance': {
        const now = wheel.now + op.delta;
        // On the wheel, callbacks act from the payload; the model replays the same actions.
        const actions: CallbackAction[] = [];
        const firedWheel: [number, TimerId][] = [];
        wheel.advance(now, (payload, id) => {
          firedWheel.push([payload, id]);
          const action: CallbackAction = {};
          if (payload % 7 === 3) {
            const scheduled = { id: 0, delay: payload % 3 === 0 ? 0 : payload % 500, repeat: 0, payload: payloads++ };
            scheduled.id = wheel.schedule(scheduled.delay, scheduled.payload);
            issued.push(scheduled.id);
            action.scheduled = scheduled;
          }
          if (payload % 5 === 1) {
            const target = payload % 2 === 0 ? id : issued[(payload * 31) % issued.length]!;
            action.cancelled = { id: target, result: wheel.cancel(target) };
          }
          actions.push(action);
        });
        const firedModel: [number, TimerId][] = [];
        model.advance(now, (payload, id) => {
          const action = actions[firedModel.length];
          firedModel.push([payload, id]);
          if (action?.scheduled !== undefined) {
            const { id: newId, delay, payload: newPayload, repeat } = action.scheduled;
            model.schedule(newId, delay, newPayload, repeat);
          }
          if (action?.cancelled !== undefined) expect(model.cancel(action.cancelled.id)).toBe(action.cancelled.result);
        });
        expect(firedWheel).toEqual(firedModel);
        break;
      }
    }
    check();
  }
}

describe('TimerWheel: against a naive sorted list (model-based)', () => {
  it('agrees on fires, order, cancel results, size and nextDue (missedRepeats: skip)', () => {
    fc.assert(
      fc.property(
        fc.array(opArb(false), { minLength: 1, maxLength: 120 }),
        fc.constantFrom(0, 1_700_000_000_000),
        fc.constantFrom(1, 1, 10, 0.5),
        (ops, startMs, tickMs) => checkAgainstModel(ops, startMs, tickMs, false),
      ),
      { numRuns: 300, seed: 424_242 },
    );
  });

  it('agrees with missedRepeats: burst', () => {
    fc.assert(
      fc.property(fc.array(opArb(true), { minLength: 1, maxLength: 120 }), fc.constantFrom(1, 10), (ops, tickMs) =>
        checkAgainstModel(ops, 0, tickMs, true),
      ),
      { numRuns: 200, seed: 31_337 },
    );
  });
});
