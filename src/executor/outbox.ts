/**
 * Outbox: the effects a running callback (`receive`, `init`, `terminate`) records through its
 * `ctx`, carried out in order by the shard once the callback returns (Shard.flush). A callback
 * that throws has its outbox discarded: nothing leaves a `receive` that did not return.
 *
 * Parallel arrays reused for every callback (no object per effect; `outCount` entries are live).
 * Truncating arrays with `length = 0` per callback cost a third of the in-shard ping-pong time
 * (V8 frees and regrows the backing store), so `discardOutbox` clears the live entries instead.
 */

import type { Pid } from '../process/pid.js';

/** The effects a callback can record. */
export const Op = {
  SEND: 1,
  SPAWN: 2,
  LINK: 3,
  UNLINK: 4,
  MONITOR: 5,
  DEMONITOR: 6,
  EXIT_SELF: 7,
  STOP: 8,
  TRAP: 9,
  TIMER_START: 10,
  TIMER_CANCEL: 11,
  IO: 12,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

/**
 * The outbox of a shard. Shard extends it, so its arrays stay fields of the shard itself, as they
 * were before the split and where the hot path reads them from `this`: a separate outbox object
 * reached through a field measured slower on ping-pong and thread ring in the bare-shard A/B
 * against the shard before the split (in-process, alternated, CPU time; noisy on the loaded 2-core
 * VM, so the size of the difference is not known).
 */
export class Outbox {
  protected readonly outOps: number[] = [];
  protected readonly outPids: (Pid | undefined)[] = [];
  protected readonly outValues: unknown[] = [];
  protected readonly outRefs: number[] = [];
  /** A spawn's kind (its args are in `outValues`). */
  protected readonly outKinds: (string | undefined)[] = [];
  /** Live entries. */
  protected outCount = 0;

  /** @internal Records an effect of the running callback (ShardContext). */
  record(op: Op, target: Pid | undefined, value: unknown, ref: number): void {
    const index = this.outCount++;
    this.outOps[index] = op;
    this.outPids[index] = target;
    this.outValues[index] = value;
    this.outRefs[index] = ref;
  }

  /** @internal A spawn: its kind goes beside the others (no request object per local spawn); ref 1 links. */
  recordSpawn(child: Pid, kind: string, args: unknown, link: boolean): void {
    const index = this.outCount;
    this.record(Op.SPAWN, child, args, link ? 1 : 0);
    this.outKinds[index] = kind;
  }

  /** Forgets the outbox, dropping its references so messages can be collected. */
  protected discardOutbox(): void {
    const count = this.outCount;
    this.outCount = 0;
    for (let i = 0; i < count; i++) {
      this.outPids[i] = undefined;
      this.outValues[i] = undefined;
      this.outKinds[i] = undefined;
    }
  }
}
