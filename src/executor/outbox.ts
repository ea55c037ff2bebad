/**
 * Outbox: the effects a running callback (`receive`, `init`, `terminate`) records through its
 * `ctx`, carried out in order by the shard once the callback returns (Shard.flush). A callback
 * that throws has its outbox discarded: nothing leaves a `receive` that did not return.
 *
 * Parallel arrays reused for every callback (no object per effect; `count` entries are live).
 * Truncating arrays with `length = 0` per callback cost a third of the in-shard ping-pong time
 * (V8 frees and regrows the backing store), so `discard` clears the live entries instead.
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

export class Outbox {
  readonly ops: number[] = [];
  readonly pids: (Pid | undefined)[] = [];
  readonly values: unknown[] = [];
  readonly refs: number[] = [];
  /** A spawn's kind (its args are in `values`). */
  readonly kinds: (string | undefined)[] = [];
  /** Live entries. */
  count = 0;

  record(op: Op, target: Pid | undefined, value: unknown, ref: number): void {
    const index = this.count++;
    this.ops[index] = op;
    this.pids[index] = target;
    this.values[index] = value;
    this.refs[index] = ref;
  }

  /** A spawn: its kind goes beside the others (no request object per local spawn); ref 1 links. */
  recordSpawn(child: Pid, kind: string, args: unknown, link: boolean): void {
    const index = this.count;
    this.record(Op.SPAWN, child, args, link ? 1 : 0);
    this.kinds[index] = kind;
  }

  /** Forgets the outbox, dropping its references so messages can be collected. */
  discard(): void {
    const count = this.count;
    this.count = 0;
    for (let i = 0; i < count; i++) {
      this.pids[i] = undefined;
      this.values[i] = undefined;
      this.kinds[i] = undefined;
    }
  }
}
