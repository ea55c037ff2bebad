/**
 * Canaries: one `horde.canary` process per executor shard, asked every `periodMs` from the node's
 * periodic ticks (`node.every`, the poller's timer wheel), so the round trip measures what a
 * request meets on its way: the main thread's event loop, the rings, the shard's run queue.
 *
 * At most one canary is in flight per shard (bounded: a stuck shard gets no pile of canaries).
 * A tick that finds the previous one still out reports its age as a sample (`late: true`), so a
 * shard stuck in a long receive raises the latency at once instead of staying silent. A canary
 * that is gone (its executor crashed and was replaced) is spawned again; the node's ask timeout
 * bounds a lost one.
 */

import { ErrorCode, HordeError } from '../errors.js';
import type { HordeNode } from '../node/node.js';
import type { Pid } from '../process/pid.js';
import { CANARY_KIND } from '../process/canary.js';

export interface CanarySample {
  shard: number;
  /** The round trip (or, for a late canary, its age so far), ms. */
  ms: number;
  /** True for the age of a canary that has not come back yet. */
  late: boolean;
  /** When it was sent (the `now` clock). */
  sentAt: number;
}

export interface CanaryEvents {
  sample(sample: CanarySample): void;
  /** A canary could not be asked or spawned for a reason other than the node stopping. */
  failed(error: unknown): void;
}

/** How long a canary may stay out before its ask gives up (its age is reported every tick anyway). */
const CANARY_TIMEOUT_MS = 30_000;

interface Shard {
  pid: Pid | undefined;
  sentAt: number | undefined;
  respawning: boolean;
}

export class Canaries {
  private readonly shards: Shard[] = [];
  private cancelTick: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly node: HordeNode,
    private readonly periodMs: number,
    private readonly now: () => number,
    private readonly events: CanaryEvents,
  ) {}

  /** Spawns a canary on every shard and starts the ticks. */
  async start(): Promise<void> {
    for (let shard = 0; shard < this.node.executorCount; shard++) {
      this.shards.push({ pid: await this.node.spawn(CANARY_KIND, undefined, { shard }), sentAt: undefined, respawning: false });
    }
    this.cancelTick = this.node.every(this.periodMs, () => this.tick());
  }

  /** Stops the ticks and ends the canary processes (when the node still runs). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTick?.();
    for (const shard of this.shards) {
      if (shard.pid !== undefined) this.whileRunning(() => this.node.exit(shard.pid!, 'shutdown'));
    }
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.now();
    this.shards.forEach((shard, index) => {
      if (shard.sentAt !== undefined) {
        this.events.sample({ shard: index, ms: now - shard.sentAt, late: true, sentAt: shard.sentAt });
        return;
      }
      if (shard.pid === undefined) this.respawn(index, shard);
      else this.ask(index, shard, shard.pid, now);
    });
  }

  private ask(index: number, shard: Shard, pid: Pid, sentAt: number): void {
    shard.sentAt = sentAt;
    let reply: Promise<unknown>;
    try {
      reply = this.node.ask(pid, sentAt, { timeoutMs: CANARY_TIMEOUT_MS });
    } catch (error) {
      shard.sentAt = undefined;
      this.fail(error);
      return;
    }
    reply.then(
      () => {
        shard.sentAt = undefined;
        if (!this.stopped) this.events.sample({ shard: index, ms: this.now() - sentAt, late: false, sentAt });
      },
      (error: unknown) => {
        shard.sentAt = undefined;
        if (this.stopped) return;
        if (error instanceof HordeError && error.code === ErrorCode.NOPROC) {
          this.respawn(index, shard);
          return;
        }
        if (error instanceof HordeError && error.code === ErrorCode.TIMEOUT) {
          this.events.sample({ shard: index, ms: this.now() - sentAt, late: true, sentAt });
          return;
        }
        this.fail(error);
      },
    );
  }

  private respawn(index: number, shard: Shard): void {
    if (shard.respawning) return;
    shard.respawning = true;
    shard.pid = undefined;
    this.node.spawn(CANARY_KIND, undefined, { shard: index }).then(
      (pid) => {
        shard.respawning = false;
        if (this.stopped) this.whileRunning(() => this.node.exit(pid, 'shutdown'));
        else shard.pid = pid;
      },
      (error: unknown) => {
        shard.respawning = false;
        this.fail(error);
      },
    );
  }

  /** Runs `action` unless the node is stopping (then there is nothing left to clean up). */
  private whileRunning(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (error instanceof HordeError && error.code === ErrorCode.NODE_STOPPED) {
      // The node stopped under the gateway: no more canaries can run, which is not a fault.
      this.stop();
      return;
    }
    this.events.failed(error);
  }
}
