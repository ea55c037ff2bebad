// The open-loop schedule: steps of constant rate, and the exact send time of every request.
import { invalidOption } from '../errors.js';
import type { ScheduleStep } from './types.js';

/** Options of `buildSchedule` and of `LoadTestOptions.schedule`; a bad one throws HORDE_INVALID_OPTION naming it (`schedule.stepMs`, ...). */
export interface ScheduleOptions {
  /** Multiples of capacity, one per step. Default: a geometric ramp from `from` to `to`. */
  multiples?: number[];
  /** First step's multiple of capacity. Default 0.1. */
  from?: number;
  /** Last step's multiple of capacity. Default 5. */
  to?: number;
  /** Steps of the ramp. Default 8. */
  steps?: number;
  /** Length of each step in ms, a whole number of seconds. Default 5000. */
  stepMs?: number;
}

/** Highest offered rate a step may have (requests per second). */
export const MAX_RATE = 1_000_000;

/**
 * The steps for a given capacity. The default ramp is geometric (0.1, 0.17, 0.31, 0.54, 0.94,
 * 1.6, 2.9, 5 times capacity): as many steps below the knee as above it.
 */
export function buildSchedule(capacity: number, options: ScheduleOptions = {}): ScheduleStep[] {
  if (!(Number.isFinite(capacity) && capacity > 0)) invalidOption('capacity', 'a positive number', capacity);
  const stepMs = options.stepMs ?? 5000;
  if (!(Number.isInteger(stepMs) && stepMs >= 1000 && stepMs % 1000 === 0)) {
    invalidOption('schedule.stepMs', 'a whole number of seconds in ms (1000, 2000, ...)', stepMs);
  }
  const multiples = options.multiples ?? geometricRamp(options);
  if (multiples.length === 0 || multiples.length > 1000) invalidOption('schedule.multiples', '1 to 1000 values', multiples.length);
  return multiples.map((multiple, index) => {
    if (!(Number.isFinite(multiple) && multiple > 0)) invalidOption(`schedule.multiples[${index}]`, 'a positive number', multiple);
    const rate = multiple * capacity;
    if (rate > MAX_RATE) invalidOption(`schedule.multiples[${index}]`, `a rate of at most ${MAX_RATE}/s`, rate);
    return { multiple, rate, durationMs: stepMs };
  });
}

function geometricRamp(options: ScheduleOptions): number[] {
  const from = options.from ?? 0.1;
  const to = options.to ?? 5;
  const steps = options.steps ?? 8;
  if (!(Number.isFinite(from) && from > 0)) invalidOption('schedule.from', 'a positive number', from);
  if (!(Number.isFinite(to) && to >= from)) invalidOption('schedule.to', 'a number >= schedule.from', to);
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= 1000)) invalidOption('schedule.steps', 'an integer from 1 to 1000', steps);
  if (steps === 1) return [to];
  const ratio = Math.pow(to / from, 1 / (steps - 1));
  return Array.from({ length: steps }, (_, i) => (i === steps - 1 ? to : from * Math.pow(ratio, i)));
}

export function scheduleDurationMs(steps: readonly ScheduleStep[]): number {
  return steps.reduce((sum, step) => sum + step.durationMs, 0);
}

/** The step and offered rate in force at `ms` since the schedule started (the last step past its end). */
export function stepAt(steps: readonly ScheduleStep[], ms: number): { index: number; step: ScheduleStep } {
  let start = 0;
  for (let index = 0; index < steps.length; index++) {
    const step = steps[index] as ScheduleStep;
    if (ms < start + step.durationMs) return { index, step };
    start += step.durationMs;
  }
  const index = steps.length - 1;
  return { index, step: steps[index] as ScheduleStep };
}

/** Requests a step sends: its rate times its length, rounded (at least one). */
export function requestsInStep(step: ScheduleStep): number {
  return Math.max(1, Math.round((step.rate * step.durationMs) / 1000));
}

/**
 * Walks the send times of a schedule in order: a step's requests evenly spaced over it, the first
 * one at its start. Times are computed from the step start and the request's index (no
 * accumulated rounding), so each step sends exactly `requestsInStep` requests, all inside it.
 */
export class ScheduleCursor {
  private stepIndex = 0;
  private stepStart = 0;
  private inStep = 0;

  constructor(private readonly steps: readonly ScheduleStep[]) {}

  /** The next send time in ms since the start, or undefined when the schedule is over. */
  next(): number | undefined {
    for (;;) {
      const step = this.steps[this.stepIndex];
      if (step === undefined) return undefined;
      const count = requestsInStep(step);
      if (this.inStep < count) {
        const at = (this.inStep * step.durationMs) / count;
        this.inStep++;
        return this.stepStart + at;
      }
      this.stepStart += step.durationMs;
      this.stepIndex++;
      this.inStep = 0;
    }
  }
}
