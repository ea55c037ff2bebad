/**
 * SimNodeTime: one simulated node's clocks and timers (the `Clock` and `Timers` seams of
 * src/internal/host.ts) over the shared SimScheduler.
 *
 * Concurrency design: the node's monotonic clock is a piecewise-linear function of simulated
 * time: it runs at `rate` (1, or what `drift` set) from its last anchor. Its wall clock is the
 * monotonic clock plus an offset that `skew` moves (a clock step, as NTP makes). A timer is due
 * at a time of the node's own monotonic clock, turned into simulated time through the rate, so a
 * fast clock fires its timers early in everyone else's time; `drift` re-anchors and reschedules
 * every pending timer. Timer events are owned by the node, so while the node is paused they wait
 * and fire at once when it resumes, late, as a process stopped with SIGSTOP finds them; its clock
 * meanwhile keeps running (the machine's clock does not stop with the process). An interval is
 * rescheduled one period after it fired, as Node's are.
 */

import type { Clock, TimerHandle, Timers } from '../../internal/host.js';
import type { SimEvent, SimScheduler } from './scheduler.js';

interface SimTimer {
  /** Due time on the node's monotonic clock. */
  due: number;
  every: number | undefined;
  callback: () => void;
  event: SimEvent | undefined;
}

/** A simulated node's clocks and timers. */
export class SimNodeTime implements Clock, Timers {
  private anchorGlobal: number;
  private anchorLocal: number;
  private rate = 1;
  private wallOffset: number;
  private readonly timers = new Set<SimTimer>();

  /**
   * A node's clocks, reading 0 (monotonic) and `wallStartMs` (wall) now, running at the simulated rate.
   * @param scheduler The run's event loop.
   * @param owner The node's name: its timers are its events.
   * @param wallStartMs Its wall clock when its monotonic clock reads 0.
   */
  constructor(
    private readonly scheduler: SimScheduler,
    private readonly owner: string,
    wallStartMs = 1_800_000_000_000,
  ) {
    this.anchorGlobal = scheduler.now;
    this.anchorLocal = 0;
    this.wallOffset = wallStartMs;
  }

  monotonicMs(): number {
    return this.anchorLocal + (this.scheduler.now - this.anchorGlobal) * this.rate;
  }

  wallMs(): number {
    return this.monotonicMs() + this.wallOffset;
  }

  /** Steps the wall clock by `ms` (either way); the monotonic clock and the timers do not move. */
  skew(ms: number): void {
    this.wallOffset += ms;
  }

  /** From now on the node's clocks run at `ratio` times simulated time (1.01: 1% fast). */
  drift(ratio: number): void {
    if (!(ratio > 0) || !Number.isFinite(ratio)) throw new RangeError(`drift ratio must be a positive number, not ${ratio}`);
    this.anchorLocal = this.monotonicMs();
    this.anchorGlobal = this.scheduler.now;
    this.rate = ratio;
    for (const timer of this.timers) this.schedule(timer);
  }

  timeout(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, undefined);
  }

  interval(callback: () => void, ms: number): TimerHandle {
    return this.add(callback, ms, Math.max(1, ms));
  }

  clear(handle: TimerHandle | undefined): void {
    const timer = handle as SimTimer | undefined;
    if (timer === undefined || !this.timers.delete(timer)) return;
    this.scheduler.cancel(timer.event);
  }

  /** Timers pending. */
  get pending(): number {
    return this.timers.size;
  }

  /** Drops every pending timer (the node crashed). */
  clearAll(): void {
    for (const timer of this.timers) this.scheduler.cancel(timer.event);
    this.timers.clear();
  }

  private add(callback: () => void, ms: number, every: number | undefined): SimTimer {
    const timer: SimTimer = { due: this.monotonicMs() + Math.max(0, ms), every, callback, event: undefined };
    this.timers.add(timer);
    this.schedule(timer);
    return timer;
  }

  private schedule(timer: SimTimer): void {
    this.scheduler.cancel(timer.event);
    const at = this.anchorGlobal + (timer.due - this.anchorLocal) / this.rate;
    timer.event = this.scheduler.at(at, () => this.fire(timer), 'timer', this.owner);
  }

  private fire(timer: SimTimer): void {
    if (timer.every === undefined) this.timers.delete(timer);
    else {
      timer.due = this.monotonicMs() + timer.every;
      this.schedule(timer);
    }
    timer.callback();
  }
}
