/**
 * A hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks", 2014). A timestamp
 * is `(wall, logical, node)`: `wall` is the largest physical time (ms) the clock has heard of,
 * `logical` counts events within one `wall` value, `node` breaks the remaining ties, so timestamps
 * are totally ordered and unique per node. Properties: `now` and `receive` are strictly
 * increasing; a receive is later than the remote event (causality); `wall` stays within the
 * accepted drift of the real wall clock.
 *
 * Pure: the wall clock is a parameter (in the server, the wall time of the host's Clock,
 * src/internal/host.ts). Bounded drift: a remote timestamp more than `maxDriftMs` ahead of the
 * local wall clock is refused with HORDE_CLOCK_DRIFT and leaves the clock unchanged (otherwise
 * one bad clock would drag every node's timestamps into the future). `logical` is bounded by MAX_LOGICAL; reaching it (more than
 * 2^32 events within one millisecond of a stalled clock) is also HORDE_CLOCK_DRIFT.
 */
import { ErrorCode, HordeError } from '../errors.js';
import { expectInt, expectString, expectTuple, localString, parseWire } from './wire-check.js';

export interface Hlc {
  readonly wall: number;
  readonly logical: number;
  readonly node: string;
}

/** The wire form: `[wall, logical, node]`. */
export type HlcWire = [wall: number, logical: number, node: string];

export const MAX_LOGICAL = 0xffff_ffff;
export const DEFAULT_MAX_DRIFT_MS = 10_000;
export const MAX_HLC_NODE_BYTES = 255;

/** Orders timestamps: wall, then logical, then node name (code unit order). */
export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.node !== b.node) return a.node < b.node ? -1 : 1;
  return 0;
}

export function hlcToWire(ts: Hlc): HlcWire {
  return [ts.wall, ts.logical, ts.node];
}

/** Validates untrusted input; throws only HORDE_MALFORMED_FRAME. */
export function hlcFromWire(value: unknown): Hlc {
  return parseWire('hlc', () => {
    const [wall, logical, node] = expectTuple(value, 'hlc', 3);
    return {
      wall: expectInt(wall, 'hlc.wall', 0, Number.MAX_SAFE_INTEGER),
      logical: expectInt(logical, 'hlc.logical', 0, MAX_LOGICAL),
      node: expectString(node, 'hlc.node', MAX_HLC_NODE_BYTES),
    };
  });
}

function checkWall(wallMs: number): number {
  if (!Number.isSafeInteger(wallMs) || wallMs < 0) {
    throw new HordeError(ErrorCode.INVALID_OPTION, `wall clock must be a non-negative integer of ms; got ${String(wallMs)}`);
  }
  return wallMs;
}

export class HybridClock {
  private wall = 0;
  private logical = 0;
  readonly maxDriftMs: number;

  constructor(
    readonly node: string,
    options: { maxDriftMs?: number } = {},
  ) {
    localString(node, 'node', MAX_HLC_NODE_BYTES);
    const drift = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
    if (!Number.isSafeInteger(drift) || drift < 0) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `option "maxDriftMs" must be a non-negative integer; got ${String(drift)}`);
    }
    this.maxDriftMs = drift;
  }

  /** The last timestamp this clock gave out (wall 0, logical 0 before the first). */
  get last(): Hlc {
    return { wall: this.wall, logical: this.logical, node: this.node };
  }

  /** A timestamp for a local or send event. */
  now(wallMs: number): Hlc {
    const physical = checkWall(wallMs);
    if (physical > this.wall) return this.set(physical, 0);
    return this.set(this.wall, this.logical + 1);
  }

  /**
   * Takes in a remote event's timestamp (a receive event) and returns the receive's timestamp,
   * later than both the remote one and every earlier local one. HORDE_CLOCK_DRIFT when `remote`
   * is more than `maxDriftMs` ahead of `wallMs` (the clock is unchanged).
   */
  receive(remote: Hlc, wallMs: number): Hlc {
    const physical = checkWall(wallMs);
    if (remote.wall - physical > this.maxDriftMs) {
      throw new HordeError(
        ErrorCode.CLOCK_DRIFT,
        `timestamp from ${JSON.stringify(remote.node)} is ${remote.wall - physical} ms ahead of the local clock (limit ${this.maxDriftMs} ms)`,
      );
    }
    const wall = Math.max(this.wall, remote.wall, physical);
    if (wall === this.wall && wall === remote.wall) return this.set(wall, Math.max(this.logical, remote.logical) + 1);
    if (wall === this.wall) return this.set(wall, this.logical + 1);
    if (wall === remote.wall) return this.set(wall, remote.logical + 1);
    return this.set(wall, 0);
  }

  toWire(): HlcWire {
    return hlcToWire(this.last);
  }

  /** A clock for `node` that continues after a saved timestamp (its node name is not checked). */
  static fromWire(node: string, value: unknown, options: { maxDriftMs?: number } = {}): HybridClock {
    const saved = hlcFromWire(value);
    const clock = new HybridClock(node, options);
    clock.wall = saved.wall;
    clock.logical = saved.logical;
    return clock;
  }

  private set(wall: number, logical: number): Hlc {
    if (logical > MAX_LOGICAL) {
      throw new HordeError(ErrorCode.CLOCK_DRIFT, `logical counter overflow at wall ${wall}: the physical clock is not advancing`);
    }
    this.wall = wall;
    this.logical = logical;
    return { wall, logical, node: this.node };
  }
}
