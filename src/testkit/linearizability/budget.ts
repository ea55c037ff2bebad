/**
 * The search's budget. The check is exponential in the worst case, so it stops when either
 * budget is spent and answers 'unknown':
 * - steps: calls of `model.step`, counted across all parts. Deterministic: the same history and
 *   model stop at the same point on any machine, so a test with a step budget never flakes.
 * - time: milliseconds on a clock, checked every `CLOCK_EVERY` steps and at the start of each
 *   part. The clock comes from the caller's options; the default (the node's monotonic clock) is
 *   chosen here and nowhere else, so the search itself never reads the time.
 */
import { nowMs } from '../../internal/clock.js';

/** The default step budget of `checkLinearizable` (see `LinearizabilityOptions.maxSteps`). */
export const DEFAULT_MAX_STEPS = 1_000_000;

/** Steps between two readings of the clock, when a time budget is set. */
const CLOCK_EVERY = 256;

/** Why a search stopped before it could answer. */
export type BudgetExhausted = 'steps' | 'time';

/** Counts steps against `maxSteps` and, when `timeoutMs` is set, time against a deadline. */
export class Budget {
  steps = 0;
  exhausted: BudgetExhausted | undefined;
  private readonly deadline: number;
  private readonly clock: () => number;

  constructor(
    private readonly maxSteps: number,
    timeoutMs: number | undefined,
    clock: (() => number) | undefined,
  ) {
    this.clock = clock ?? nowMs;
    this.deadline = timeoutMs === undefined ? Infinity : this.clock() + timeoutMs;
  }

  /** Spends one step; false (and `exhausted` set) once a budget is spent. */
  spend(): boolean {
    if (this.exhausted !== undefined) return false;
    if (this.steps >= this.maxSteps) {
      this.exhausted = 'steps';
      return false;
    }
    this.steps++;
    return this.steps % CLOCK_EVERY !== 0 || this.checkTime();
  }

  /** Reads the clock (when there is a deadline); false (and `exhausted` set) past the deadline. */
  checkTime(): boolean {
    if (this.exhausted === undefined && this.deadline !== Infinity && this.clock() > this.deadline) this.exhausted = 'time';
    return this.exhausted === undefined;
  }
}
