/**
 * A phi-accrual failure detector (Hayashibara et al., "The phi accrual failure detector", 2004),
 * computed as Akka and Cassandra do: the intervals between a peer's heartbeats are kept in a
 * window; `phi(now)` is -log10 of the probability that a heartbeat comes later than `now` if
 * intervals are normally distributed with the window's mean (plus `acceptablePauseMs`) and
 * standard deviation (at least `minStdDeviationMs`), using the logistic approximation of the
 * normal CDF. Phi 1 means a 10% chance the peer is still alive and merely late, phi 8 one in 10^8.
 *
 * Pure: time is a parameter (a monotonic clock in ms: the host Clock's `monotonicMs` in the
 * server); no timers. The window is a ring of `windowSize` intervals with running sums (O(1) per heartbeat).
 * As in Akka, an interval that ends when phi is already at `downThreshold` is not added (a peer
 * back from a long pause must not inflate the mean and slow later detection), and the first
 * heartbeat seeds the window with `firstHeartbeatEstimateMs` +- a quarter of it.
 *
 * Detection window with the defaults (200 ms heartbeats; window 100, min deviation 100 ms,
 * acceptable pause 1,000 ms; suspect at phi 1, down at phi 8): after regular heartbeats stop,
 * phi reaches 1 about 1,330 ms and 8 about 1,720 ms after the last one (mean 200 + pause 1,000 +
 * 1.3 or 5.2 deviations of 100), so a node that dies is `down` 1.52 to 1.72 s after its death,
 * `suspect` from 1.13 to 1.33 s. Jittered heartbeats widen the deviation and the window with it.
 * The test "detects a stopped peer within the documented window" pins these figures.
 */
import { ErrorCode, HordeError } from '../errors.js';
import { expectArray, expectInt, expectRecord, field, parseWire } from './wire-check.js';

export interface PhiOptions {
  /** Intervals kept (default 100). */
  windowSize: number;
  /** Floor of the standard deviation, ms (default 100): regular heartbeats would otherwise make phi jumpy. */
  minStdDeviationMs: number;
  /** Pause tolerated on top of the mean interval, ms (default 1,000): GC, a busy event loop. */
  acceptablePauseMs: number;
  /** The interval assumed before any was measured, ms (default 200: the heartbeat period). */
  firstHeartbeatEstimateMs: number;
  /** Phi from which a peer is `suspect` (default 1). */
  suspectThreshold: number;
  /** Phi from which a peer is `down` (default 8). */
  downThreshold: number;
}

export const DEFAULT_PHI_OPTIONS: PhiOptions = {
  windowSize: 100,
  minStdDeviationMs: 100,
  acceptablePauseMs: 1000,
  firstHeartbeatEstimateMs: 200,
  suspectThreshold: 1,
  downThreshold: 8,
};

export type Reachability = 'up' | 'suspect' | 'down';

/** Maps phi to a reachability with two thresholds. */
export function classifyPhi(phi: number, thresholds: { suspectThreshold: number; downThreshold: number } = DEFAULT_PHI_OPTIONS): Reachability {
  if (phi >= thresholds.downThreshold) return 'down';
  if (phi >= thresholds.suspectThreshold) return 'suspect';
  return 'up';
}

/** The wire form: the window's intervals (oldest first) and the last heartbeat time. */
export interface PhiWire {
  intervals: number[];
  last: number | null;
}

const MAX_INTERVAL_MS = 2 ** 40;

function checkOptions(options: Partial<PhiOptions> | undefined): PhiOptions {
  const merged = { ...DEFAULT_PHI_OPTIONS, ...options };
  const positive = (name: keyof PhiOptions, integer: boolean) => {
    const value = merged[name];
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isSafeInteger(value))) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "${name}" must be a positive ${integer ? 'integer' : 'number'}; got ${String(value)}`);
    }
  };
  positive('windowSize', true);
  positive('minStdDeviationMs', false);
  positive('firstHeartbeatEstimateMs', false);
  positive('suspectThreshold', false);
  positive('downThreshold', false);
  if (!Number.isFinite(merged.acceptablePauseMs) || merged.acceptablePauseMs < 0) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `option "acceptablePauseMs" must be a non-negative number; got ${String(merged.acceptablePauseMs)}`);
  }
  if (merged.suspectThreshold > merged.downThreshold) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `option "suspectThreshold" (${merged.suspectThreshold}) must not exceed "downThreshold" (${merged.downThreshold})`);
  }
  return merged;
}

export class PhiAccrualDetector {
  readonly options: PhiOptions;
  private readonly window: number[] = [];
  /** Where the next interval goes once the window is full. */
  private next = 0;
  private sum = 0;
  private sumSquares = 0;
  private last: number | undefined;

  constructor(options?: Partial<PhiOptions>) {
    this.options = checkOptions(options);
  }

  /** Records a heartbeat that arrived at `nowMs`. HORDE_INVALID_OPTION if time went backwards. */
  heartbeat(nowMs: number): void {
    checkTime(nowMs);
    if (this.last === undefined) {
      const mean = this.options.firstHeartbeatEstimateMs;
      this.record(mean - mean / 4);
      this.record(mean + mean / 4);
    } else {
      if (nowMs < this.last) {
        throw new HordeError(ErrorCode.INVALID_OPTION, `heartbeat at ${nowMs} ms is before the previous one at ${this.last} ms (use a monotonic clock)`);
      }
      if (this.phi(nowMs) < this.options.downThreshold) this.record(nowMs - this.last);
    }
    this.last = nowMs;
  }

  /** Suspicion that the peer is gone at `nowMs` (0 before the first heartbeat). */
  phi(nowMs: number): number {
    checkTime(nowMs);
    if (this.last === undefined) return 0;
    const elapsed = Math.max(0, nowMs - this.last);
    const mean = this.mean + this.options.acceptablePauseMs;
    const deviation = Math.max(this.stdDeviation, this.options.minStdDeviationMs);
    const y = (elapsed - mean) / deviation;
    const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
    return Math.max(0, elapsed > mean ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e)));
  }

  /** `classifyPhi(this.phi(nowMs), this.options)`. */
  status(nowMs: number): Reachability {
    return classifyPhi(this.phi(nowMs), this.options);
  }

  /** Intervals in the window. */
  get samples(): number {
    return this.window.length;
  }

  /** Mean interval in the window, ms (0 when empty). */
  get mean(): number {
    return this.window.length === 0 ? 0 : this.sum / this.window.length;
  }

  /** Standard deviation of the window, ms. */
  get stdDeviation(): number {
    if (this.window.length === 0) return 0;
    const mean = this.mean;
    return Math.sqrt(Math.max(0, this.sumSquares / this.window.length - mean * mean));
  }

  toWire(): PhiWire {
    const ordered = this.window.length < this.options.windowSize ? [...this.window] : [...this.window.slice(this.next), ...this.window.slice(0, this.next)];
    return { intervals: ordered, last: this.last ?? null };
  }

  /** Validates untrusted input (intervals as integers of ms); throws only HORDE_MALFORMED_FRAME. */
  static fromWire(value: unknown, options?: Partial<PhiOptions>): PhiAccrualDetector {
    const detector = new PhiAccrualDetector(options);
    return parseWire('phi detector', () => {
      const record = expectRecord(value, 'phi detector');
      const intervals = expectArray(field(record, 'intervals'), 'phi intervals', detector.options.windowSize).map((v) =>
        expectInt(v, 'phi interval', 0, MAX_INTERVAL_MS),
      );
      const last = field(record, 'last');
      if (last !== null) detector.last = expectInt(last, 'phi last heartbeat', 0, Number.MAX_SAFE_INTEGER);
      else if (intervals.length > 0) throw new HordeError(ErrorCode.MALFORMED_FRAME, 'malformed cluster state: phi intervals without a last heartbeat');
      for (const interval of intervals) detector.record(interval);
      return detector;
    });
  }

  private record(interval: number): void {
    if (this.window.length < this.options.windowSize) {
      this.window.push(interval);
    } else {
      const old = this.window[this.next]!;
      this.sum -= old;
      this.sumSquares -= old * old;
      this.window[this.next] = interval;
      this.next = (this.next + 1) % this.options.windowSize;
    }
    this.sum += interval;
    this.sumSquares += interval * interval;
  }
}

function checkTime(nowMs: number): void {
  if (!Number.isFinite(nowMs) || nowMs < 0) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `time must be a finite, non-negative number of ms; got ${String(nowMs)}`);
  }
}
