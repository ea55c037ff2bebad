/**
 * Watchdog: long receive detection. Every `longReceiveMs/2` it reads each executor's heartbeat
 * (the turns counter and the running pid in its status block, written by the executor before each
 * turn); a turn whose heartbeat has not moved for `longReceiveMs` is reported once (`longReceive`,
 * with the pid and kind), at no cost to the executors' hot path.
 *
 * It runs on the main thread's event loop; its clock and its interval timer are injected
 * (`WatchdogClock`), so a test or a simulator can drive it without waiting.
 */

import { pid as makePid, type Pid } from '../process/pid.js';

/** The clock and periodic timer the watchdog runs on. */
export interface WatchdogClock {
  /** Wall clock in ms. */
  now(): number;
  /** Calls `check` every `ms` until the returned function is called; must not keep the process alive. */
  every(ms: number, check: () => void): () => void;
}

/** What the watchdog reads of one executor: its status block's heartbeat. */
export interface Heartbeat {
  /** Turns begun so far. */
  turns: number;
  /** The serial of the process whose turn runs, or -1 when idle. */
  serial: number;
  /** Its kind, when known. */
  kind: string | undefined;
}

/** A receive that has run `runningMs` so far. */
export interface LongReceive {
  pid: Pid;
  kind: string | undefined;
  runningMs: number;
}

export class Watchdog {
  private readonly stalls = new Map<number, { turns: number; serial: number; since: number; reported: boolean }>();
  private readonly cancel: () => void;
  /** Receives reported so far. */
  longReceives = 0;

  constructor(
    private readonly clock: WatchdogClock,
    private readonly nodeId: number,
    private readonly longReceiveMs: number,
    /** The heartbeats of the executors, by shard, as they are now. */
    private readonly heartbeats: () => Heartbeat[],
    private readonly report: (receive: LongReceive) => void,
  ) {
    this.cancel = clock.every(Math.max(5, Math.floor(longReceiveMs / 2)), () => this.check());
  }

  /** Reads every heartbeat once (what the timer does). */
  check(): void {
    const now = this.clock.now();
    this.heartbeats().forEach((beat, shard) => {
      const last = this.stalls.get(shard);
      if (beat.serial < 0 || last === undefined || last.turns !== beat.turns || last.serial !== beat.serial) {
        this.stalls.set(shard, { turns: beat.turns, serial: beat.serial, since: now, reported: false });
        return;
      }
      if (!last.reported && now - last.since >= this.longReceiveMs) {
        last.reported = true;
        this.longReceives++;
        this.report({ pid: makePid(this.nodeId, shard, beat.serial), kind: beat.kind, runningMs: now - last.since });
      }
    });
  }

  stop(): void {
    this.cancel();
  }
}
