/**
 * The gateway's admission window: how many requests may be in flight in the node at once, sized
 * by the canaries (additive increase, multiplicative decrease, as TCP sizes its congestion
 * window). A canary back below the low mark widens the window by one; one above the high mark
 * halves it. So the work queued inside the node stays about what the executors get through
 * within the canary marks, and the canary latency stays near its idle value instead of climbing
 * until the on/off throttle trips. As TCP halves at most once a round trip, it halves at most once
 * per `decreaseEveryMs`: one slow canary, or a burst of them, is one signal. Pure: the gateway
 * feeds it samples with their times.
 */
import { ErrorCode, HordeError } from '../errors.js';

export class AdmissionWindow {
  private current: number;
  private lastDecrease = -Infinity;

  constructor(
    readonly min: number,
    readonly max: number,
    initial: number,
    readonly decreaseEveryMs = 0,
  ) {
    if (!Number.isSafeInteger(min) || min < 1) throw new HordeError(ErrorCode.INVALID_OPTION, `option "minInFlight" must be a positive integer; got ${String(min)}`);
    if (!Number.isSafeInteger(max) || max < min) throw new HordeError(ErrorCode.INVALID_OPTION, `option "maxInFlight" must be an integer >= minInFlight (${min}); got ${String(max)}`);
    this.current = Math.min(max, Math.max(min, Math.floor(initial)));
  }

  /** Requests that may be in flight now. */
  get limit(): number {
    return this.current;
  }

  /** One canary round trip (`ms`, finished at `nowMs`), against the marks. */
  sample(ms: number, lowMarkMs: number, highMarkMs: number, nowMs = 0): void {
    if (ms > highMarkMs) {
      if (nowMs - this.lastDecrease < this.decreaseEveryMs) return;
      this.lastDecrease = nowMs;
      this.current = Math.max(this.min, Math.floor(this.current / 2));
    } else if (ms < lowMarkMs) {
      this.current = Math.min(this.max, this.current + 1);
    }
  }

  reset(initial: number): void {
    this.current = Math.min(this.max, Math.max(this.min, Math.floor(initial)));
  }
}
