/**
 * The node's clock: milliseconds since the epoch, with sub-millisecond precision, the same on
 * every thread of a node. It is the process-wide monotonic clock (process.hrtime) plus an epoch
 * offset that the main thread takes once and hands to its workers (each thread's
 * performance.timeOrigin, and Date.now() against the monotonic clock, can differ by milliseconds).
 * Timers (the poller's wheel) and `ctx.now` both read it, so a timer's lateness measured in a
 * process is real lateness, and the clock never goes back.
 */

function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

let offsetMs = Date.now() - monotonicMs();

/** The offset this thread uses; pass it to the node's workers. */
export function clockOffset(): number {
  return offsetMs;
}

/** Adopts the main thread's offset (workers, at start). */
export function useClockOffset(offset: number): void {
  offsetMs = offset;
}

export function nowMs(): number {
  return monotonicMs() + offsetMs;
}
