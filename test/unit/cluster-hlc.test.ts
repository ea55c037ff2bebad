// The hybrid logical clock: strictly increasing, later than every message it received, close to
// physical time, bounded drift, strict wire validation.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { type Hlc, HybridClock, MAX_LOGICAL, compareHlc, hlcFromWire, hlcToWire } from '../../src/cluster/hlc.js';
import { throwsCode } from '../support/errors.js';

describe('HybridClock', () => {
  it('is strictly increasing whatever the wall clock does, and later than what it receives', () => {
    const eventArb = fc.record({
      wall: fc.integer({ min: 0, max: 2000 }),
      remote: fc.option(fc.record({ wall: fc.integer({ min: 0, max: 2500 }), logical: fc.integer({ min: 0, max: 50 }), node: fc.constantFrom('a', 'z') })),
    });
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 100 }), (events) => {
        const clock = new HybridClock('m', { maxDriftMs: 1000 });
        let previous: Hlc = clock.last;
        for (const event of events) {
          let ts: Hlc;
          if (event.remote === null) {
            ts = clock.now(event.wall);
          } else {
            try {
              ts = clock.receive(event.remote, event.wall);
            } catch (error) {
              expect((error as HordeError).code).toBe(ErrorCode.CLOCK_DRIFT);
              expect(event.remote.wall - event.wall).toBeGreaterThan(1000);
              expect(clock.last).toEqual(previous);
              continue;
            }
            expect(compareHlc(ts, event.remote)).toBeGreaterThan(0);
          }
          expect(compareHlc(ts, previous)).toBeGreaterThan(0);
          expect(ts.wall).toBeGreaterThanOrEqual(event.wall);
          previous = ts;
        }
      }),
      { numRuns: 300, seed: 31 },
    );
  });

  it('keeps causality across nodes with skewed clocks, and never runs ahead of the fastest clock', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -300, max: 300 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 5 }))),
        (skews, messages) => {
          const clocks = ['a', 'b', 'c'].map((n) => new HybridClock(n));
          let realTime = 10_000;
          for (const [from, to, advance] of messages) {
            realTime += advance;
            const sent = clocks[from]!.now(realTime + skews[from]!);
            const got = clocks[to]!.receive(sent, realTime + skews[to]!);
            expect(compareHlc(got, sent)).toBeGreaterThan(0);
            expect(got.wall).toBeLessThanOrEqual(realTime + Math.max(...skews));
          }
        },
      ),
      { numRuns: 200, seed: 32 },
    );
  });

  it('counts logical ticks while the wall clock stands still, and resets them when it moves', () => {
    const clock = new HybridClock('a');
    expect(clock.now(100)).toEqual({ wall: 100, logical: 0, node: 'a' });
    expect(clock.now(100)).toEqual({ wall: 100, logical: 1, node: 'a' });
    expect(clock.now(99)).toEqual({ wall: 100, logical: 2, node: 'a' });
    expect(clock.receive({ wall: 100, logical: 7, node: 'b' }, 100)).toEqual({ wall: 100, logical: 8, node: 'a' });
    expect(clock.receive({ wall: 150, logical: 3, node: 'b' }, 120)).toEqual({ wall: 150, logical: 4, node: 'a' });
    expect(clock.now(200)).toEqual({ wall: 200, logical: 0, node: 'a' });
  });

  it('refuses a remote timestamp too far ahead with HORDE_CLOCK_DRIFT and stays unchanged', () => {
    const clock = new HybridClock('a', { maxDriftMs: 500 });
    clock.now(1000);
    expect(clock.receive({ wall: 1500, logical: 0, node: 'b' }, 1000).wall).toBe(1500);
    const before = clock.last;
    const error = throwsCode(() => clock.receive({ wall: 2001, logical: 0, node: 'b' }, 1500), ErrorCode.CLOCK_DRIFT);
    expect(error.message).toContain('501 ms ahead');
    expect(clock.last).toEqual(before);
  });

  it('refuses a logical counter overflow and bad wall clocks', () => {
    const clock = HybridClock.fromWire('a', [5, MAX_LOGICAL, 'a']);
    throwsCode(() => clock.now(5), ErrorCode.CLOCK_DRIFT);
    expect(clock.now(6)).toEqual({ wall: 6, logical: 0, node: 'a' });
    throwsCode(() => clock.now(-1), ErrorCode.INVALID_OPTION);
    throwsCode(() => clock.now(1.5), ErrorCode.INVALID_OPTION);
    throwsCode(() => new HybridClock(''), ErrorCode.INVALID_OPTION);
  });

  it('orders equal wall and logical by node name', () => {
    expect(compareHlc({ wall: 1, logical: 1, node: 'a' }, { wall: 1, logical: 1, node: 'b' })).toBeLessThan(0);
    expect(compareHlc({ wall: 1, logical: 2, node: 'a' }, { wall: 1, logical: 1, node: 'b' })).toBeGreaterThan(0);
    expect(compareHlc({ wall: 1, logical: 1, node: 'a' }, { wall: 1, logical: 1, node: 'a' })).toBe(0);
  });

  it('round-trips its wire form and refuses garbage with HORDE_MALFORMED_FRAME only', () => {
    const ts = { wall: 123, logical: 4, node: 'n' };
    expect(hlcFromWire(JSON.parse(JSON.stringify(hlcToWire(ts))))).toEqual(ts);
    throwsCode(() => hlcFromWire([1, -1, 'n']), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => hlcFromWire([1, 0, '']), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => hlcFromWire({ wall: 1, logical: 0, node: 'n' }), ErrorCode.MALFORMED_FRAME);
    fc.assert(
      fc.property(fc.anything(), (garbage) => {
        try {
          hlcFromWire(garbage);
        } catch (error) {
          expect(error).toBeInstanceOf(HordeError);
          expect((error as HordeError).code).toBe(ErrorCode.MALFORMED_FRAME);
        }
      }),
      { numRuns: 300, seed: 33 },
    );
  });
});
