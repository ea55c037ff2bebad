// A clock and timers that only move when the test moves them (the seams of src/internal/host.ts).
import type { Clock, TimerHandle, Timers } from '../../src/internal/host.js';

export class ManualClock implements Clock {
  constructor(
    private wall = 1_800_000_000_000,
    private mono = 0,
  ) {}

  wallMs(): number {
    return this.wall;
  }

  monotonicMs(): number {
    return this.mono;
  }

  /** Moves both clocks forward by `ms`. */
  advance(ms: number): void {
    if (ms < 0) throw new Error(`a manual clock does not go back (${ms} ms)`);
    this.wall += ms;
    this.mono += ms;
  }
}

interface ManualTimer {
  due: number;
  /** The period of an interval; undefined for a timeout. */
  every: number | undefined;
  callback: () => void;
  /** Creation order: timers due at the same time fire in the order they were set. */
  order: number;
}

/** Timers on a ManualClock: nothing fires until `run` moves time past it. */
export class ManualTimers implements Timers {
  private readonly pending = new Set<ManualTimer>();
  private created = 0;

  constructor(private readonly clock: ManualClock) {}

  timeout(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, undefined);
  }

  interval(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, ms);
  }

  clear(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.pending.delete(handle as ManualTimer);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Moves time forward by `ms`: every timer that comes due fires at its due time, in order, and
   * `between` runs after each (to let the network deliver what it sent).
   */
  async run(ms: number, between: () => Promise<void>): Promise<void> {
    const end = this.clock.monotonicMs() + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.pending) {
        if (timer.due <= end && (next === undefined || timer.due < next.due || (timer.due === next.due && timer.order < next.order))) next = timer;
      }
      if (next === undefined) break;
      this.clock.advance(next.due - this.clock.monotonicMs());
      if (next.every === undefined) this.pending.delete(next);
      else next.due += next.every;
      next.callback();
      await between();
    }
    this.clock.advance(end - this.clock.monotonicMs());
  }

  private add(callback: () => void, ms: number, every: number | undefined): ManualTimer {
    const timer: ManualTimer = { due: this.clock.monotonicMs() + Math.max(0, ms), every, callback, order: this.created++ };
    this.pending.add(timer);
    return timer;
  }
}
