/**
 * A sliding window of latency samples: the samples of the last `windowMs`, at most `capacity` of
 * them (past it the oldest sample is overwritten before its time, so a burst cannot grow memory;
 * percentiles then cover the latest `capacity` samples). Pure, with an injected clock.
 *
 * Adding is O(1) into two preallocated typed arrays; a percentile query copies the live samples
 * and sorts them (O(n log n)), meant for status reads, not for every request.
 */

import { ErrorCode, HordeError } from '../errors.js';

export const DEFAULT_WINDOW_CAPACITY = 65_536;

export class SlidingWindow {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  /** Index of the oldest live sample, and how many there are. */
  private head = 0;
  private size = 0;

  constructor(
    readonly windowMs: number,
    private readonly now: () => number,
    readonly capacity = DEFAULT_WINDOW_CAPACITY,
  ) {
    if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs <= 0) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "windowMs" must be a finite number of ms > 0; got ${String(windowMs)}`);
    }
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `window capacity must be a positive integer; got ${String(capacity)}`);
    }
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  /** Samples currently in the window. */
  get count(): number {
    this.expire(this.now());
    return this.size;
  }

  add(value: number): void {
    const now = this.now();
    this.expire(now);
    if (this.size === this.capacity) {
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
    const at = (this.head + this.size) % this.capacity;
    this.times[at] = now;
    this.values[at] = value;
    this.size++;
  }

  /**
   * Nearest-rank percentiles (each `p` in 0..1) of the samples in the window, in the order asked;
   * undefined when the window is empty.
   */
  percentiles(ps: readonly number[]): number[] | undefined {
    this.expire(this.now());
    if (this.size === 0) return undefined;
    const sorted = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) sorted[i] = this.values[(this.head + i) % this.capacity]!;
    sorted.sort();
    return ps.map((p) => sorted[Math.min(this.size - 1, Math.max(0, Math.ceil(p * this.size) - 1))]!);
  }

  private expire(now: number): void {
    const oldest = now - this.windowMs;
    while (this.size > 0 && this.times[this.head]! < oldest) {
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
  }
}
