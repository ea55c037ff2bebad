// Periodic samples of the target (gateway status, node health), timestamped on the performance clock.
//
// Design: an interval timer calls `target.sample()`; at most one call is outstanding, so a tick
// that finds the previous sample still pending is skipped and counted (a slow target cannot pile
// up calls). Samples are kept in memory, at most MAX_SAMPLES of them (a day at one a second);
// beyond that, new ones are counted as skipped. A failed sample is counted with its error and the
// sampler goes on.
import { performance } from 'node:perf_hooks';
import { describeError } from './outcome.js';
import type { LoadTarget, TargetSample } from './types.js';

export const MAX_SAMPLES = 86_400;

export interface TimedSample {
  /** Performance-clock time the sample arrived. */
  at: number;
  sample: TargetSample;
}

export interface SamplerCounts {
  taken: number;
  skipped: number;
  failed: number;
  lastError: string | null;
}

export class Sampler {
  readonly samples: TimedSample[] = [];
  readonly counts: SamplerCounts = { taken: 0, skipped: 0, failed: 0, lastError: null };
  private readonly timer: NodeJS.Timeout;
  private pending: Promise<void> | null = null;

  constructor(
    private readonly target: LoadTarget,
    intervalMs: number,
  ) {
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
  }

  /** Stops sampling and waits for a sample in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.pending;
  }

  /** Samples taken from `from` (inclusive) to `to` (exclusive), performance-clock times. */
  between(from: number, to: number): TimedSample[] {
    return this.samples.filter((s) => s.at >= from && s.at < to);
  }

  private take(): void {
    if (this.pending !== null || this.samples.length >= MAX_SAMPLES) {
      this.counts.skipped++;
      return;
    }
    let call: Promise<TargetSample>;
    try {
      call = this.target.sample();
    } catch (error) {
      this.fail(error);
      return;
    }
    this.pending = call.then(
      (sample) => {
        this.pending = null;
        this.counts.taken++;
        this.samples.push({ at: performance.now(), sample });
      },
      (error: unknown) => {
        this.pending = null;
        this.fail(error);
      },
    );
  }

  private fail(error: unknown): void {
    this.counts.failed++;
    this.counts.lastError = describeError(error);
  }
}
