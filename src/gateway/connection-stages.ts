/**
 * Where each gateway connection stands, for its time limits and for eviction. Pure: the caller
 * passes the time, and decides what an expired or evicted connection gets.
 *
 * Stages, each with a time limit (a connection is in at most one, or in none):
 *  - FIRST_FRAME: connected and no whole frame read yet (firstFrameTimeoutMs from entering);
 *  - FRAME: a frame has started and not ended (frameTimeoutMs from its first byte: a client that
 *    trickles a byte at a time does not move the deadline);
 *  - IDLE: nothing in flight, no frame started (idleTimeoutMs; 0 = no limit, still tracked for
 *    eviction).
 * None: requests in flight (each has its own timeout), or the gateway is not reading the
 * connection while it waits for a frame (the gateway's own pause is not the client's delay).
 *
 * Cost: all deadlines of a stage are entry time + the stage's one duration, and the time only
 * grows, so a stage's Map in insertion order is in deadline order. Entering a stage is a delete
 * and a set at the end of a Map; the next deadline is the first entry; a sweep removes entries
 * from the front until one is not due. O(1) per change and O(1 + expired) per sweep, however many
 * connections there are (no timer per connection, no scan).
 *
 * Eviction order (a new connection at maxConnections takes the place of one): first the
 * connections that never sent a byte, oldest first (a client that connected and said nothing has
 * shown the least; a slowloris's silent sockets go before clients that were served), then IDLE
 * ones, idle the longest first. A connection with any request or frame in flight is never evicted.
 */

export const Stage = {
  FIRST_FRAME: 0,
  FRAME: 1,
  IDLE: 2,
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

export interface StageLimits {
  firstFrameTimeoutMs: number;
  frameTimeoutMs: number;
  /** 0: no limit. */
  idleTimeoutMs: number;
}

export class ConnectionStages<T> {
  /** Per stage: item -> deadline (IDLE without a limit: the time it went idle), in deadline order. */
  private readonly queues: readonly [Map<T, number>, Map<T, number>, Map<T, number>] = [new Map(), new Map(), new Map()];
  private readonly durations: readonly [number, number, number];
  private readonly current = new Map<T, Stage>();
  /** Items that have not sent a byte yet, in the order they connected. */
  private readonly silent = new Set<T>();

  constructor(limits: StageLimits) {
    this.durations = [limits.firstFrameTimeoutMs, limits.frameTimeoutMs, limits.idleTimeoutMs];
  }

  stageOf(item: T): Stage | undefined {
    return this.current.get(item);
  }

  /**
   * Puts `item` in `stage` with a fresh deadline (now + the stage's limit), or in none
   * (`undefined`). Entering the stage it is already in restarts its deadline.
   */
  enter(item: T, stage: Stage | undefined, now: number): void {
    const previous = this.current.get(item);
    if (previous !== undefined) this.queues[previous].delete(item);
    if (stage === undefined) {
      this.current.delete(item);
      return;
    }
    this.current.set(item, stage);
    this.queues[stage].set(item, now + this.durations[stage]);
  }

  /** A new connection that has sent nothing yet: first in line for eviction. */
  addSilent(item: T): void {
    this.silent.add(item);
  }

  /** `item` sent its first byte. */
  heard(item: T): void {
    this.silent.delete(item);
  }

  isSilent(item: T): boolean {
    return this.silent.has(item);
  }

  /** Forgets `item` altogether (it closed). */
  remove(item: T): void {
    this.enter(item, undefined, 0);
    this.silent.delete(item);
  }

  /** The connection to close for a new one: the oldest silent one, else the one idle the longest. */
  evictable(): T | undefined {
    for (const item of this.silent) return item;
    for (const item of this.queues[Stage.IDLE].keys()) return item;
    return undefined;
  }

  /** Items in `stage` now. */
  count(stage: Stage): number {
    return this.queues[stage].size;
  }

  /**
   * Takes every item whose deadline is at or before `now` out of its stage (it stays in the
   * silent set until `remove`) and hands it to `expired`, earliest deadlines of a stage first.
   */
  expire(now: number, expired: (item: T, stage: Stage) => void): void {
    for (const stage of [Stage.FIRST_FRAME, Stage.FRAME, Stage.IDLE] as const) {
      if (this.durations[stage] === 0) continue;
      const queue = this.queues[stage];
      // Deleting the entry being visited is safe in a Map's iteration; entries added meanwhile
      // come later in the order with later deadlines, where the loop stops.
      for (const [item, deadline] of queue) {
        if (deadline > now) break;
        queue.delete(item);
        this.current.delete(item);
        expired(item, stage);
      }
    }
  }
}
