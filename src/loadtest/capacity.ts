// Capacity: a short closed-loop run (a fixed number of requests in flight, each sent as soon as
// the previous one settles) whose best one-second window of completions is the peak rate.
//
// Concurrency: `concurrency` async loops share the counters on the one event loop; completions
// are counted into 100 ms buckets (bounded: duration / 100 ms of them). A loop whose request
// failed yields a macrotask before the next one, so a target that rejects at once cannot starve
// timers and I/O.
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldMacrotask } from 'node:timers/promises';
import { ErrorCode, HordeError } from '../errors.js';
import { ErrorTally, classify, startRequest } from './outcome.js';
import type { CapacityResult, LoadTarget } from './types.js';

/** Options of `measureCapacity` and of `LoadTestOptions.capacityRun`. */
export interface CapacityOptions {
  /** Requests in flight. Default 32. */
  concurrency?: number;
  /** Length of the run in ms. Default 3000. */
  durationMs?: number;
}

const BUCKET_MS = 100;
const WINDOW_MS = 1000;

/**
 * Measures the target's capacity closed-loop: `concurrency` requests in flight (each sent as soon
 * as the one before settles) for `durationMs`; the rate is the best one-second window of
 * completions. Leaves throttling as it is. Rejects with HORDE_LOADTEST_NO_CAPACITY when nothing completed.
 */
export async function measureCapacity(target: LoadTarget, options: CapacityOptions = {}): Promise<CapacityResult> {
  const concurrency = options.concurrency ?? 32;
  const durationMs = options.durationMs ?? 3000;
  const buckets = new Array<number>(Math.ceil(durationMs / BUCKET_MS)).fill(0);
  const tally = new ErrorTally();
  let completed = 0;
  let shed = 0;
  let failed = 0;
  const start = performance.now();

  async function loop(): Promise<void> {
    for (;;) {
      const sentAt = performance.now() - start;
      if (sentAt >= durationMs) return;
      try {
        await startRequest(() => target.request());
        const at = performance.now() - start;
        if (at < durationMs) {
          const bucket = Math.floor(at / BUCKET_MS);
          buckets[bucket] = (buckets[bucket] ?? 0) + 1;
        }
        completed++;
      } catch (error) {
        if (classify(error) === 'shed') shed++;
        else {
          failed++;
          tally.add(error);
        }
        await yieldMacrotask();
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, () => loop()));
  const rate = peakRate(buckets);
  if (!(rate > 0)) {
    throw new HordeError(
      ErrorCode.LOADTEST_NO_CAPACITY,
      `the capacity run completed no request in ${durationMs} ms (${shed} shed, ${failed} failed${tally.last === null ? '' : `; last error ${tally.last}`})`,
    );
  }
  return { rate, measured: true, concurrency, durationMs, completed, shed, failed };
}

/** Completions per second in the best window of WINDOW_MS (the whole run if it is shorter). */
export function peakRate(buckets: readonly number[]): number {
  const width = Math.max(1, Math.min(buckets.length, WINDOW_MS / BUCKET_MS));
  let sum = 0;
  let best = 0;
  for (let i = 0; i < buckets.length; i++) {
    sum += buckets[i] ?? 0;
    if (i >= width) sum -= buckets[i - width] ?? 0;
    if (i >= width - 1) best = Math.max(best, sum);
  }
  return (best * 1000) / (width * BUCKET_MS);
}
