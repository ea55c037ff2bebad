// The phi-accrual failure detector: low under jittered regular heartbeats, rising once they stop,
// the documented detection window with the defaults, a bounded window, strict wire validation.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { PhiAccrualDetector, classifyPhi } from '../../src/cluster/phi-detector.js';
import { throwsCode } from '../support/errors.js';

/** A detector fed `count` heartbeats every `period` ms; returns it and the last heartbeat time. */
function regular(count: number, period = 200, options = {}): { detector: PhiAccrualDetector; last: number } {
  const detector = new PhiAccrualDetector(options);
  let t = 1000;
  for (let i = 0; i < count; i++, t += period) detector.heartbeat(t);
  return { detector, last: t - period };
}

describe('PhiAccrualDetector', () => {
  it('stays up under jittered regular heartbeats, pauses within the acceptable one included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 100, max: 300 }), { minLength: 5, maxLength: 400 }),
        fc.array(fc.integer({ min: 0, max: 399 }), { maxLength: 5 }),
        (intervals, pausedAt) => {
          const detector = new PhiAccrualDetector();
          let t = 0;
          detector.heartbeat(t);
          intervals.forEach((interval, i) => {
            t += pausedAt.includes(i) ? interval + 800 : interval; // a GC pause or a busy event loop
            expect(detector.status(t)).toBe('up'); // just before the late heartbeat is recorded
            detector.heartbeat(t);
          });
        },
      ),
      { numRuns: 200, seed: 61 },
    );
  });

  it('grows without bound once heartbeats stop, and reaches down', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 100, max: 300 }), { minLength: 1, maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1 }), (intervals, steps) => {
        const detector = new PhiAccrualDetector();
        let t = 0;
        detector.heartbeat(t);
        for (const interval of intervals) detector.heartbeat((t += interval));
        let previous = detector.phi(t);
        let at = t;
        for (const step of steps) {
          at += step;
          const phi = detector.phi(at);
          expect(phi).toBeGreaterThanOrEqual(previous);
          previous = phi;
        }
        // Mean at most 300, deviation at most 100 (ranges of 100..300): down within 300 + 1000 + 6 * 100 ms.
        expect(detector.status(t + 1900)).toBe('down');
      }),
      { numRuns: 200, seed: 62 },
    );
  });

  it('detects a stopped peer within the documented window (defaults, 200 ms heartbeats)', () => {
    const { detector, last } = regular(300);
    expect(detector.mean).toBe(200);
    expect(detector.status(last + 1300)).toBe('up');
    expect(detector.status(last + 1350)).toBe('suspect');
    expect(detector.status(last + 1700)).toBe('suspect');
    expect(detector.status(last + 1750)).toBe('down');
  });

  it('starts from the first heartbeat estimate', () => {
    const detector = new PhiAccrualDetector({ firstHeartbeatEstimateMs: 1000, acceptablePauseMs: 0 });
    expect(detector.phi(5)).toBe(0);
    detector.heartbeat(0);
    expect(detector.samples).toBe(2);
    expect(detector.mean).toBe(1000);
    expect(detector.status(500)).toBe('up');
    expect(detector.status(3000)).toBe('down');
  });

  it('keeps a bounded window, and leaves out the interval of a peer that came back from down', () => {
    const { detector, last } = regular(50, 200, { windowSize: 10 });
    expect(detector.samples).toBe(10);
    detector.heartbeat(last + 60_000); // back after being down: not a sample
    expect(detector.mean).toBe(200);
    let t = last + 60_000;
    for (let i = 0; i < 10; i++) detector.heartbeat((t += 1000)); // slower now: the window follows
    expect(detector.mean).toBe(1000);
    expect(detector.stdDeviation).toBe(0);
  });

  it('refuses time going backwards and bad options with HORDE_INVALID_OPTION', () => {
    const detector = new PhiAccrualDetector();
    detector.heartbeat(100);
    throwsCode(() => detector.heartbeat(99), ErrorCode.INVALID_OPTION);
    throwsCode(() => detector.phi(Number.NaN), ErrorCode.INVALID_OPTION);
    throwsCode(() => new PhiAccrualDetector({ windowSize: 0 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => new PhiAccrualDetector({ suspectThreshold: 9, downThreshold: 8 }), ErrorCode.INVALID_OPTION);
    expect(classifyPhi(0.5)).toBe('up');
    expect(classifyPhi(3, { suspectThreshold: 2, downThreshold: 4 })).toBe('suspect');
    expect(classifyPhi(Number.POSITIVE_INFINITY)).toBe('down');
  });

  it('round-trips its wire form and refuses garbage with HORDE_MALFORMED_FRAME only', () => {
    const { detector, last } = regular(150, 200, { windowSize: 20 });
    const copy = PhiAccrualDetector.fromWire(JSON.parse(JSON.stringify(detector.toWire())), { windowSize: 20 });
    expect(copy.toWire()).toEqual(detector.toWire());
    expect(copy.phi(last + 1500)).toBe(detector.phi(last + 1500));
    throwsCode(() => PhiAccrualDetector.fromWire({ intervals: [1], last: null }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => PhiAccrualDetector.fromWire({ intervals: [-1], last: 5 }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => PhiAccrualDetector.fromWire({ intervals: new Array(21).fill(1), last: 5 }, { windowSize: 20 }), ErrorCode.MALFORMED_FRAME);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (garbage, last) => {
        for (const input of [garbage, { intervals: [garbage], last }, { intervals: [], last }]) {
          try {
            PhiAccrualDetector.fromWire(input);
          } catch (error) {
            expect(error).toBeInstanceOf(HordeError);
            expect((error as HordeError).code).toBe(ErrorCode.MALFORMED_FRAME);
          }
        }
      }),
      { numRuns: 300, seed: 63 },
    );
  });
});
