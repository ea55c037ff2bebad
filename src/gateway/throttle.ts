/**
 * The gateway's throttle: a pure state machine over canary round trips, with hysteresis.
 *
 *   admitting --(a sample above highMarkMs)--> throttled
 *   throttled --(every sample below lowMarkMs for holdMs)--> admitting
 *
 * While throttled, the quiet period starts at the first sample below the low mark and restarts
 * at any sample at or above it; the machine admits again at the first sample that finds the
 * quiet period holdMs old. Only samples move it (no sample, no change: a canary that never
 * comes back keeps the gateway throttled; the gateway feeds the age of a late canary as a
 * sample). The clock is injected, so tests drive it without sleeping.
 */

import { ErrorCode, HordeError } from '../errors.js';

export interface ThrottleMarks {
  /** A canary round trip above this (ms) stops admission. */
  highMarkMs: number;
  /** Admission resumes once every canary stays below this (ms)... */
  lowMarkMs: number;
  /** ...for this long (ms). */
  holdMs: number;
}

/**
 * A change of the throttle's state: the payload of the gateway's 'throttle' event, which also
 * counts it (`status().throttleChanges`).
 */
export interface ThrottleEvent {
  /** True when admission stopped, false when it resumed. */
  throttled: boolean;
  /** The canary round trip (ms) that caused it (0 for a reset: throttling switched off). */
  canaryMs: number;
  /** The time of the change, on the gateway's clock: the node clock, in ms since the epoch. */
  at: number;
}

export class ThrottleState {
  private state = false;
  private quietSince: number | undefined;
  private transitions = 0;

  constructor(
    readonly marks: ThrottleMarks,
    private readonly now: () => number,
  ) {
    const { highMarkMs, lowMarkMs, holdMs } = marks;
    for (const [name, value] of Object.entries({ highMarkMs, lowMarkMs, holdMs })) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new HordeError(ErrorCode.INVALID_OPTION, `option "${name}" must be a finite number of ms >= 0; got ${String(value)}`);
      }
    }
    if (lowMarkMs > highMarkMs) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "lowMarkMs" (${lowMarkMs}) must not exceed "highMarkMs" (${highMarkMs})`);
    }
  }

  /** True while new requests are not admitted. */
  get throttled(): boolean {
    return this.state;
  }

  /** How many times the state changed. */
  get changes(): number {
    return this.transitions;
  }

  /** Feeds one canary round trip (ms); returns the transition it caused, if any. */
  sample(canaryMs: number): ThrottleEvent | undefined {
    if (!this.state) {
      if (canaryMs > this.marks.highMarkMs) return this.change(true, canaryMs);
      return undefined;
    }
    if (canaryMs >= this.marks.lowMarkMs) {
      this.quietSince = undefined;
      return undefined;
    }
    const now = this.now();
    this.quietSince ??= now;
    if (now - this.quietSince >= this.marks.holdMs) return this.change(false, canaryMs);
    return undefined;
  }

  /** Back to admitting (throttling switched off); the transition, if the state changed. */
  reset(): ThrottleEvent | undefined {
    return this.state ? this.change(false, 0) : undefined;
  }

  private change(throttled: boolean, canaryMs: number): ThrottleEvent {
    this.state = throttled;
    this.quietSince = undefined;
    this.transitions++;
    return { throttled, canaryMs, at: this.now() };
  }
}
