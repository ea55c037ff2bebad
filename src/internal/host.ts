/**
 * Time and chance as a host provides them: a `Clock`, `Timers`, a `Random` and `Entropy`.
 * Protocol code (the cluster server, its connections, membership and failure detection) takes them as parameters
 * instead of reading `Date.now()`, `performance.now()`, `setTimeout` or `Math.random` itself, so
 * a test or a simulator can drive it with a manual clock, manual timers and a seeded generator.
 *
 * The production implementations (`systemClock`, `systemTimers`, `systemRandom`, `systemEntropy`) are in this one
 * module and nowhere else; they are what the globals would have been, with no extra cost: each
 * method is one call of the global it stands for.
 */

import { randomBytes } from 'node:crypto';

/** Two clocks, both in milliseconds. */
export interface Clock {
  /**
   * Wall-clock time since the epoch: what is told to other nodes (hybrid logical clock
   * timestamps, metadata versions, heartbeat send times). It may jump.
   */
  wallMs(): number;
  /** Time from an arbitrary origin that never goes back: failure detection, deadlines. */
  monotonicMs(): number;
}

/** A pending timer, to pass to `Timers.clear`; nothing else may be done with it. */
export type TimerHandle = object;

/**
 * One-shot and repeating timers. A `weak` timer does not keep the process alive by itself (Node's
 * `unref`); a simulator may ignore the flag.
 */
export interface Timers {
  /** Calls `callback` once, `ms` from now. */
  timeout(callback: () => void, ms: number, weak?: boolean): TimerHandle;
  /** Calls `callback` every `ms` until cleared. */
  interval(callback: () => void, ms: number, weak?: boolean): TimerHandle;
  /** Cancels a timer (either kind); `undefined` and a timer that already fired are ignored. */
  clear(handle: TimerHandle | undefined): void;
}

/** A source of uniformly distributed numbers. */
export interface Random {
  /** A number in [0, 1). */
  next(): number;
}

/**
 * Unpredictable bytes: handshake challenges and run (incarnation) ids. Production's come from the
 * operating system's CSPRNG; a simulator's from its seeded generator, so a run replays.
 */
export type Entropy = (count: number) => Uint8Array;

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monotonicMs: () => performance.now(),
};

export const systemTimers: Timers = {
  timeout(callback, ms, weak = false) {
    const timer = setTimeout(callback, ms);
    if (weak) timer.unref();
    return timer;
  },
  interval(callback, ms, weak = false) {
    const timer = setInterval(callback, ms);
    if (weak) timer.unref();
    return timer;
  },
  clear(handle) {
    // clearTimeout and clearInterval are interchangeable in Node.
    if (handle !== undefined) clearTimeout(handle as NodeJS.Timeout);
  },
};

export const systemRandom: Random = {
  next: () => Math.random(),
};

export const systemEntropy: Entropy = (count) => new Uint8Array(randomBytes(count));
