// The throttle state machine and the latency window, driven by a simulated clock (no sleeping).
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { ThrottleState, type ThrottleEvent } from '../../src/gateway/throttle.js';
import { SlidingWindow } from '../../src/gateway/window.js';
import { throwsCode } from '../support/errors.js';

/** A clock the test moves by hand. */
function simulatedClock(start = 1_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

const marks = { highMarkMs: 20, lowMarkMs: 5, holdMs: 100 };

describe('ThrottleState', () => {
  it('admits while samples stay at or below the high mark, and throttles on the first one above it', () => {
    const clock = simulatedClock();
    const throttle = new ThrottleState(marks, clock.now);
    for (const ms of [1, 4, 19, 20, 7]) {
      expect(throttle.sample(ms)).toBeUndefined();
      clock.advance(10);
    }
    expect(throttle.throttled).toBe(false);
    const change = throttle.sample(20.5);
    expect(change).toEqual<ThrottleEvent>({ throttled: true, canaryMs: 20.5, at: 1_050 });
    expect(throttle.throttled).toBe(true);
    expect(throttle.changes).toBe(1);
  });

  it('keeps throttling between the marks (hysteresis): samples below the high mark are not enough', () => {
    const clock = simulatedClock();
    const throttle = new ThrottleState(marks, clock.now);
    throttle.sample(50);
    for (let i = 0; i < 100; i++) {
      clock.advance(10);
      expect(throttle.sample(i % 2 === 0 ? 5 : 19)).toBeUndefined(); // at the low mark counts as not below
    }
    expect(throttle.throttled).toBe(true);
    expect(throttle.changes).toBe(1);
  });

  it('admits again only once every sample stayed below the low mark for the hold time', () => {
    const clock = simulatedClock();
    const throttle = new ThrottleState(marks, clock.now);
    throttle.sample(30);
    clock.advance(10);
    expect(throttle.sample(2)).toBeUndefined(); // quiet period starts here (t = 1010)
    clock.advance(60);
    expect(throttle.sample(3)).toBeUndefined(); // 60 ms quiet
    clock.advance(39);
    expect(throttle.sample(1)).toBeUndefined(); // 99 ms quiet
    clock.advance(1);
    expect(throttle.sample(4.9)).toEqual<ThrottleEvent>({ throttled: false, canaryMs: 4.9, at: 1_110 });
    expect(throttle.throttled).toBe(false);
    expect(throttle.changes).toBe(2);
  });

  it('restarts the hold time at any sample at or above the low mark', () => {
    const clock = simulatedClock();
    const throttle = new ThrottleState(marks, clock.now);
    throttle.sample(30);
    expect(throttle.sample(1)).toBeUndefined(); // quiet from t = 1000
    clock.advance(90);
    expect(throttle.sample(6)).toBeUndefined(); // spike: the quiet period is over
    clock.advance(20);
    expect(throttle.sample(1)).toBeUndefined(); // 110 ms after the first quiet sample, but quiet again only now
    clock.advance(99);
    expect(throttle.sample(1)).toBeUndefined();
    expect(throttle.throttled).toBe(true);
    clock.advance(1);
    expect(throttle.sample(1)?.throttled).toBe(false);
  });

  it('does not admit without samples, however long the clock runs (a stuck canary keeps it throttled)', () => {
    const clock = simulatedClock();
    const throttle = new ThrottleState(marks, clock.now);
    throttle.sample(25);
    clock.advance(1_000_000);
    expect(throttle.throttled).toBe(true);
    expect(throttle.sample(3)).toBeUndefined(); // the first quiet sample only starts the hold time
    clock.advance(100);
    expect(throttle.sample(3)?.throttled).toBe(false);
  });

  it('cycles through many overloads, counting every transition', () => {
    const clock = simulatedClock();
    const throttle = new ThrottleState({ highMarkMs: 10, lowMarkMs: 2, holdMs: 0 }, clock.now);
    const seen: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(throttle.sample(11)!.throttled, throttle.sample(1)!.throttled); // hold 0: the first quiet sample admits
      clock.advance(5);
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i % 2 === 0));
    expect(throttle.changes).toBe(20);
  });

  it('resets to admitting (throttling switched off)', () => {
    const clock = simulatedClock();
    const throttle = new ThrottleState(marks, clock.now);
    expect(throttle.reset()).toBeUndefined();
    throttle.sample(100);
    expect(throttle.reset()).toEqual<ThrottleEvent>({ throttled: false, canaryMs: 0, at: 1_000 });
    expect(throttle.changes).toBe(2);
  });

  it('refuses marks that make no sense', () => {
    const { now } = simulatedClock();
    throwsCode(() => new ThrottleState({ highMarkMs: 5, lowMarkMs: 6, holdMs: 0 }, now), ErrorCode.INVALID_OPTION);
    throwsCode(() => new ThrottleState({ highMarkMs: Number.NaN, lowMarkMs: 1, holdMs: 0 }, now), ErrorCode.INVALID_OPTION);
    throwsCode(() => new ThrottleState({ highMarkMs: 5, lowMarkMs: 1, holdMs: -1 }, now), ErrorCode.INVALID_OPTION);
  });
});

describe('SlidingWindow', () => {
  it('gives nearest-rank percentiles of the samples in the window', () => {
    const clock = simulatedClock();
    const window = new SlidingWindow(1_000, clock.now);
    expect(window.percentiles([0.5])).toBeUndefined();
    for (let i = 100; i >= 1; i--) window.add(i); // out of order on purpose
    expect(window.percentiles([0, 0.5, 0.99, 1])).toEqual([1, 50, 99, 100]);
  });

  it('forgets samples older than the window', () => {
    const clock = simulatedClock();
    const window = new SlidingWindow(1_000, clock.now);
    window.add(500);
    clock.advance(600);
    window.add(1);
    expect(window.percentiles([1])).toEqual([500]);
    clock.advance(401); // the first sample is now 1001 ms old
    expect(window.count).toBe(1);
    expect(window.percentiles([0.5, 1])).toEqual([1, 1]);
    clock.advance(1_000);
    expect(window.percentiles([0.5])).toBeUndefined();
  });

  it('holds at most its capacity, overwriting the oldest samples first', () => {
    const clock = simulatedClock();
    const window = new SlidingWindow(1_000, clock.now, 4);
    for (let i = 1; i <= 10; i++) window.add(i);
    expect(window.count).toBe(4);
    expect(window.percentiles([0, 1])).toEqual([7, 10]);
  });

  it('refuses a bad window or capacity', () => {
    const { now } = simulatedClock();
    throwsCode(() => new SlidingWindow(0, now), ErrorCode.INVALID_OPTION);
    throwsCode(() => new SlidingWindow(10, now, 0), ErrorCode.INVALID_OPTION);
  });
});
