// The open-loop schedule: the ramp, exact request counts per step, and bad options.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { ScheduleCursor, buildSchedule, scheduleDurationMs, stepAt } from '../../src/loadtest/schedule.js';
import { throwsCode } from '../support/errors.js';

describe('buildSchedule', () => {
  it('ramps geometrically from 10% to 500% of capacity by default', () => {
    const steps = buildSchedule(1000);
    expect(steps).toHaveLength(8);
    expect(steps[0]?.multiple).toBeCloseTo(0.1, 10);
    expect(steps[7]?.multiple).toBe(5);
    expect(steps[7]?.rate).toBe(5000);
    for (let i = 1; i < steps.length; i++) {
      expect(steps[i]!.multiple).toBeGreaterThan(steps[i - 1]!.multiple);
      expect(steps[i]!.multiple / steps[i - 1]!.multiple).toBeCloseTo(Math.pow(50, 1 / 7), 6);
    }
    expect(scheduleDurationMs(steps)).toBe(40_000);
  });

  it('takes explicit multiples and step length', () => {
    const steps = buildSchedule(200, { multiples: [0.5, 2], stepMs: 3000 });
    expect(steps).toEqual([
      { multiple: 0.5, rate: 100, durationMs: 3000 },
      { multiple: 2, rate: 400, durationMs: 3000 },
    ]);
  });

  it('refuses bad options with HORDE_INVALID_OPTION', () => {
    throwsCode(() => buildSchedule(0), ErrorCode.INVALID_OPTION);
    throwsCode(() => buildSchedule(Number.NaN), ErrorCode.INVALID_OPTION);
    throwsCode(() => buildSchedule(100, { stepMs: 1500 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => buildSchedule(100, { multiples: [] }), ErrorCode.INVALID_OPTION);
    throwsCode(() => buildSchedule(100, { multiples: [1, -1] }), ErrorCode.INVALID_OPTION);
    throwsCode(() => buildSchedule(100, { from: 2, to: 1 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => buildSchedule(100, { steps: 0 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => buildSchedule(1e6, { multiples: [5] }), ErrorCode.INVALID_OPTION);
  });
});

describe('ScheduleCursor', () => {
  it('sends round(rate * seconds) evenly spaced requests per step, all inside it, in order', () => {
    const steps = buildSchedule(100, { multiples: [0.5, 3, 0.07, 0.002], stepMs: 2000 });
    const cursor = new ScheduleCursor(steps);
    const times: number[] = [];
    for (let t = cursor.next(); t !== undefined; t = cursor.next()) times.push(t);
    const inStep = (from: number, to: number): number[] => times.filter((t) => t >= from && t < to);
    expect(inStep(0, 2000)).toHaveLength(100);
    expect(inStep(2000, 4000)).toHaveLength(600);
    expect(inStep(4000, 6000)).toHaveLength(14); // 0.07 * 100 is 7.000000000000001 in floating point
    expect(inStep(6000, 8000)).toEqual([6000]); // 0.4 requests: at least one
    expect(times).toHaveLength(100 + 600 + 14 + 1);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThan(times[i - 1]!);
    expect(times[0]).toBe(0);
    expect(times[100]).toBe(2000);
    expect(times[101]! - times[100]!).toBeCloseTo(1000 / 300, 9);
    expect(cursor.next()).toBeUndefined();
  });

  it('stepAt finds the step in force, and the last one past the end', () => {
    const steps = buildSchedule(10, { multiples: [1, 2, 3], stepMs: 1000 });
    expect(stepAt(steps, 0).index).toBe(0);
    expect(stepAt(steps, 999.9).index).toBe(0);
    expect(stepAt(steps, 1000).index).toBe(1);
    expect(stepAt(steps, 2500).step.rate).toBe(30);
    expect(stepAt(steps, 10_000).index).toBe(2);
  });
});
