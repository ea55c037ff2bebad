// The open-loop driver: sends requests at the schedule's times whatever the target does, and
// times each one from its *scheduled* send time, so a stalled target shows as latency of every
// request it delayed (no coordinated omission).
//
// Design:
// - One timer loop on the event loop. Each tick sends every request whose scheduled time has
//   passed, then sleeps until the next one (setTimeout, so at most about one tick per ms; requests
//   due within the same ms go out together, and the lateness is measured, per second, as send lag).
// - Outstanding requests are bounded by `maxOutstanding`. A request due while the bound is reached
//   is not sent: it is counted as `notSent` in its second, and as a failure in every rate (it never
//   completes). The schedule goes on; nothing queues in the harness.
// - Requests belong to the second they were scheduled in; that second's counters take their
//   outcome whenever it arrives. After the last send the phase waits up to `drainTimeoutMs` for
//   outstanding requests; those still out are counted `unfinished` and the phase closes. Outcomes
//   after the close only bump `lateOutcomes`.
// - Memory: one bucket per scheduled second (a 2-digit HdrHistogram, about 12 KB, made at the
//   first completion), and one closure per outstanding request.
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from './histogram.js';
import { ErrorTally, classify, startRequest } from './outcome.js';
import { ScheduleCursor, scheduleDurationMs, stepAt } from './schedule.js';
import type { Counts, LoadTarget, ScheduleStep } from './types.js';

export interface DriverOptions {
  /** Requests outstanding at most; past it requests are counted `notSent`. */
  maxOutstanding: number;
  /** How long to wait for outstanding requests after the last send, in ms. */
  drainTimeoutMs: number;
}

export interface SecondBucket extends Counts {
  latency: LatencyHistogram | null;
  sendLag: LatencyHistogram | null;
}

/** What the driver has done so far (read by the progress display). */
export interface LiveStats {
  elapsedMs: number;
  durationMs: number;
  stepIndex: number;
  outstanding: number;
  /** The last full second: its offered rate, completions, sheds and p99 so far. */
  lastSecond: { offered: number; completed: number; shed: number; failed: number; p99Ms: number | null } | null;
}

export interface DriverOutcome {
  /** Performance-clock time the schedule started at. */
  startedAt: number;
  seconds: SecondBucket[];
  total: LatencyHistogram;
  errors: ErrorTally;
}

export function emptyCounts(): Counts {
  return { offered: 0, notSent: 0, shed: 0, admitted: 0, completed: 0, timeouts: 0, errors: 0, unfinished: 0 };
}

/** One open-loop run of a schedule. `done` settles when the phase has closed. */
export class OpenLoopDriver {
  readonly done: Promise<DriverOutcome>;
  private readonly seconds: SecondBucket[];
  private readonly cursor: ScheduleCursor;
  private readonly total = new LatencyHistogram(3);
  private readonly errors = new ErrorTally();
  private readonly durationMs: number;
  private readonly startedAt: number;
  private next: number | undefined;
  private outstanding = 0;
  private closed = false;
  private late = 0;
  private timer: NodeJS.Timeout | undefined;
  private drained: (() => void) | undefined;

  constructor(
    private readonly target: LoadTarget,
    private readonly steps: readonly ScheduleStep[],
    private readonly options: DriverOptions,
  ) {
    this.durationMs = scheduleDurationMs(steps);
    this.seconds = Array.from({ length: Math.ceil(this.durationMs / 1000) }, () => ({ ...emptyCounts(), latency: null, sendLag: null }));
    this.cursor = new ScheduleCursor(steps);
    this.next = this.cursor.next();
    this.startedAt = performance.now();
    this.done = new Promise<void>((resolve) => {
      this.drained = resolve;
      this.tick();
    }).then(() => this.close());
  }

  /** Outcomes that arrived after the phase closed (they can keep arriving after `done`). */
  get lateOutcomes(): number {
    return this.late;
  }

  stats(): LiveStats {
    const elapsedMs = Math.min(performance.now() - this.startedAt, this.durationMs);
    const current = Math.floor(elapsedMs / 1000);
    const last = current > 0 ? this.seconds[current - 1] : undefined;
    return {
      elapsedMs,
      durationMs: this.durationMs,
      stepIndex: stepAt(this.steps, elapsedMs).index,
      outstanding: this.outstanding,
      lastSecond:
        last === undefined
          ? null
          : {
              offered: last.offered,
              completed: last.completed,
              shed: last.shed,
              failed: last.notSent + last.timeouts + last.errors,
              p99Ms: last.latency === null ? null : last.latency.percentileMs(99),
            },
    };
  }

  private tick(): void {
    this.timer = undefined;
    const now = performance.now() - this.startedAt;
    while (this.next !== undefined && this.next <= now) {
      this.send(this.next, now);
      this.next = this.cursor.next();
    }
    if (this.next !== undefined) {
      this.timer = setTimeout(() => this.tick(), Math.max(1, Math.floor(this.next - now)));
      return;
    }
    if (this.outstanding === 0) {
      this.drained?.();
      return;
    }
    // Schedule over, requests still out: wait for them, but not past the drain time.
    this.timer = setTimeout(() => this.drained?.(), this.options.drainTimeoutMs);
  }

  private send(scheduledMs: number, nowMs: number): void {
    const bucket = this.seconds[Math.min(Math.floor(scheduledMs / 1000), this.seconds.length - 1)] as SecondBucket;
    bucket.offered++;
    if (this.outstanding >= this.options.maxOutstanding) {
      bucket.notSent++;
      return;
    }
    bucket.sendLag ??= new LatencyHistogram(2);
    bucket.sendLag.recordMs(nowMs - scheduledMs);
    this.outstanding++;
    bucket.unfinished++;
    startRequest(() => this.target.request()).then(
      () => {
        if (!this.settle(bucket)) return;
        const latencyMs = performance.now() - this.startedAt - scheduledMs;
        bucket.admitted++;
        bucket.completed++;
        bucket.latency ??= new LatencyHistogram(2);
        bucket.latency.recordMs(latencyMs);
        this.total.recordMs(latencyMs);
      },
      (error: unknown) => {
        if (!this.settle(bucket)) return;
        const kind = classify(error);
        if (kind === 'shed') {
          bucket.shed++;
          return;
        }
        bucket.admitted++;
        if (kind === 'timeout') bucket.timeouts++;
        else bucket.errors++;
        this.errors.add(error);
      },
    );
  }

  /** Books one settled request; false when the phase is already closed. */
  private settle(bucket: SecondBucket): boolean {
    if (this.closed) {
      this.late++;
      return false;
    }
    this.outstanding--;
    bucket.unfinished--;
    if (this.outstanding === 0 && this.next === undefined) this.drained?.();
    return true;
  }

  private close(): DriverOutcome {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    return { startedAt: this.startedAt, seconds: this.seconds, total: this.total, errors: this.errors };
  }
}
