/**
 * SpawnWait: messages and signals for processes whose spawn is still on its way to this shard.
 *
 * A process on another shard that spawns here allocates the child's pid itself and sends a SPAWN
 * through its ring to this shard; the pid is usable at once, so it can reach a third thread (the
 * main thread, a shard, another node) whose message takes another ring and lands first. Without
 * this, that message would be a dead letter and a monitor would fire 'noproc' for a process that
 * is about to exist.
 *
 * The test: one allocator's serials arrive at a shard in increasing order (a ring is FIFO; see
 * ProcessTable), so `frontier` keeps, per allocator, the highest index whose SPAWN arrived. A pid
 * of this shard above its allocator's frontier is on its way (or never will be, if its spawner
 * died first or the pid is made up); at or below it, the process existed and is gone. Never awaited:
 * pids of this shard's own allocator (its spawns here run in order) and of the main thread's
 * (node.spawn hands a pid out only once the process runs).
 *
 * A replacement executor starts after the processes of its predecessor are lost: `floors` gives
 * the counters the live allocators had reached when it started (pids at or below them belonged
 * to the predecessor), and allocators older than `floorsBelow` that are not listed are gone.
 *
 * Bounds: at most HOLD_LIMIT envelopes wait, each at most HOLD_MS from the first that waits for its
 * pid; the shard answers expired ones as missing (dead letter, 'noproc' to links and monitors). The
 * envelope that finds the limit reached is answered as missing at once, together with everything
 * that waits for the same pid (`giveUp`), so that no later envelope for it (an UNLINK, a
 * DEMONITOR) is lost while an earlier one it undoes is kept. When the SPAWN arrives, the waiting
 * envelopes are handed back in arrival order, before anything else reaches the new process.
 */

import type { Signal } from '../codec/envelope.js';
import { MAIN_SPAWNER, serialIndex, serialStream, type Pid } from '../process/pid.js';

/** Envelopes waiting for spawns, per shard. */
export const HOLD_LIMIT = 4096;
/** How long the envelopes for one pid wait for its SPAWN. */
export const HOLD_MS = 5000;

/** What a replacement executor knows about the allocators alive when it started. */
export interface SpawnFloors {
  /** [spawnerId, counter]: that allocator's pids here up to `counter` were its predecessor's. */
  readonly floors: ReadonlyArray<readonly [number, number]>;
  /** Allocators with a lower id that are not in `floors` are gone: none of their pids is awaited. */
  readonly floorsBelow: number;
}

/** One waiting envelope, as the shard will handle it. */
export interface HeldEnvelope {
  readonly signal: Signal;
  readonly to: Pid;
  readonly from: Pid | undefined;
  readonly ref: number;
  readonly payload: unknown;
}

interface Waiting {
  readonly deadline: number;
  readonly envelopes: HeldEnvelope[];
}

export class SpawnWait {
  private readonly ownSpawner: number;
  private readonly frontier = new Map<number, number>();
  private readonly floorsBelow: number;
  /**
   * By serial, in the order each pid's first envelope came, which is the order of their deadlines
   * (that moment plus HOLD_MS): the oldest wait is the Map's first entry.
   */
  private readonly waiting = new Map<number, Waiting>();
  private count = 0;

  constructor(ownSpawner: number, history?: SpawnFloors) {
    this.ownSpawner = ownSpawner;
    this.floorsBelow = history?.floorsBelow ?? 0;
    for (const [spawner, counter] of history?.floors ?? []) this.frontier.set(spawner, counter);
  }

  /** Envelopes waiting. */
  get size(): number {
    return this.count;
  }

  /** Whether a process of this shard with `serial`, not in its table, may still be spawned. */
  mayArrive(serial: number): boolean {
    const stream = serialStream(serial);
    if (stream === this.ownSpawner || stream === MAIN_SPAWNER) return false;
    const reached = this.frontier.get(stream);
    if (reached === undefined) return stream >= this.floorsBelow;
    return serialIndex(serial) > reached;
  }

  /** A SPAWN for `serial` arrived (whether or not it succeeded): what waited for it, in order. */
  arrived(serial: number): HeldEnvelope[] | undefined {
    const stream = serialStream(serial);
    if (stream === this.ownSpawner || stream === MAIN_SPAWNER) return undefined;
    const index = serialIndex(serial);
    if (index > (this.frontier.get(stream) ?? -1)) this.frontier.set(stream, index);
    if (this.count === 0) return undefined;
    return this.giveUp(serial);
  }

  /** Removes and returns what waits for `serial` (the caller answers it as missing). */
  giveUp(serial: number): HeldEnvelope[] | undefined {
    const entry = this.waiting.get(serial);
    if (entry === undefined) return undefined;
    this.waiting.delete(serial);
    this.count -= entry.envelopes.length;
    return entry.envelopes;
  }

  /** Keeps an envelope for a pid that `mayArrive`; false when HOLD_LIMIT envelopes already wait. */
  hold(envelope: HeldEnvelope, now: number): boolean {
    if (this.count >= HOLD_LIMIT) return false;
    const serial = envelope.to.serial;
    const entry = this.waiting.get(serial);
    if (entry === undefined) {
      this.waiting.set(serial, { deadline: now + HOLD_MS, envelopes: [envelope] });
    } else {
      entry.envelopes.push(envelope);
    }
    this.count++;
    return true;
  }

  /** The earliest deadline of a waiting envelope, or Infinity. */
  nextDeadline(): number {
    for (const entry of this.waiting.values()) return entry.deadline;
    return Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the envelopes whose wait ended by `now`, oldest first. */
  expire(now: number): HeldEnvelope[] {
    const expired: HeldEnvelope[] = [];
    for (const [serial, entry] of this.waiting) {
      if (entry.deadline > now) break;
      for (const envelope of this.giveUp(serial)!) expired.push(envelope);
    }
    return expired;
  }
}
