/**
 * ShardContext: the `ctx` given to a process's callbacks. It only records effects into the
 * shard's outbox (outbox.ts) for the running process and reads what the shard says of the running
 * callback (self, sender, time); the shard carries the effects out once the callback returns.
 * One object per shard, reused for every callback.
 */

import { ErrorCode, HordeError } from '../errors.js';
import type { IoRequest, TimerOptions, TimerRequest } from '../process/io.js';
import type { Pid } from '../process/pid.js';
import type { Context, ExitReason, ReplyToken, SpawnOptions } from '../process/types.js';
import { Op } from './outbox.js';

/** What the context reads from its shard about the callback running now. */
export interface ContextOwner {
  /** The shard's number (a spawn's default shard). */
  readonly shard: number;
  /** The running callback's pid. */
  readonly currentPid: Pid;
  /** The sender of the message being handled, if any. */
  readonly sender: Pid | undefined;
  /** The ref of the message being handled (an ask's), else 0. */
  readonly senderRef: number;
  /** The host's wall clock, in ms. */
  clock(): number;
  allocatePid(shard: number): Pid;
  allocateRef(): number;
}

/** Where the context records effects (the shard, which extends Outbox). */
export interface EffectRecorder {
  record(op: Op, target: Pid | undefined, value: unknown, ref: number): void;
  recordSpawn(child: Pid, kind: string, args: unknown, link: boolean): void;
}

export class ShardContext implements Context {
  constructor(
    private readonly owner: ContextOwner,
    private readonly outbox: EffectRecorder,
  ) {}

  get self(): Pid {
    return this.owner.currentPid;
  }

  get from(): Pid | undefined {
    return this.owner.sender;
  }

  get now(): number {
    return this.owner.clock();
  }

  send<T>(to: Pid<T>, msg: NoInfer<T>): void {
    this.outbox.record(Op.SEND, to, msg, 0);
  }

  reply(msg: unknown, token?: ReplyToken): void {
    if (token !== undefined) {
      this.outbox.record(Op.SEND, token.to, msg, token.ref);
      return;
    }
    const to = this.owner.sender;
    if (to !== undefined) this.outbox.record(Op.SEND, to, msg, this.owner.senderRef);
  }

  replyToken(): ReplyToken | undefined {
    const to = this.owner.sender;
    return to === undefined ? undefined : { to, ref: this.owner.senderRef };
  }

  spawn<T = unknown>(kind: string, args?: unknown, options?: SpawnOptions): Pid<T> {
    const child = this.owner.allocatePid(options?.shard ?? this.owner.shard);
    this.outbox.recordSpawn(child, kind, args, options?.link === true);
    return child as Pid<T>;
  }

  link(target: Pid): void {
    this.outbox.record(Op.LINK, target, undefined, 0);
  }

  unlink(target: Pid): void {
    this.outbox.record(Op.UNLINK, target, undefined, 0);
  }

  monitor(target: Pid): number {
    const ref = this.owner.allocateRef();
    this.outbox.record(Op.MONITOR, target, undefined, ref);
    return ref;
  }

  demonitor(ref: number): void {
    this.outbox.record(Op.DEMONITOR, undefined, undefined, ref);
  }

  exit(reason: ExitReason = 'normal'): void {
    this.outbox.record(Op.EXIT_SELF, undefined, reason, 0);
  }

  stop(target: Pid, reason: ExitReason = 'shutdown'): void {
    this.outbox.record(Op.STOP, target, reason, 0);
  }

  trapExits(on: boolean): void {
    this.outbox.record(Op.TRAP, undefined, on, 0);
  }

  startTimer(ms: number, msg: unknown, options?: TimerOptions): number {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new HordeError(ErrorCode.INVALID_TIMER, `startTimer: delay must be a finite number of ms >= 0; got ${String(ms)}`);
    }
    const repeat = options?.repeat === true;
    if (repeat && ms === 0) throw new HordeError(ErrorCode.INVALID_TIMER, 'startTimer: a repeating timer needs a delay > 0');
    const ref = this.owner.allocateRef();
    const request: TimerRequest = { dueMs: this.owner.clock() + ms, delayMs: ms, repeat, message: msg };
    this.outbox.record(Op.TIMER_START, undefined, request, ref);
    return ref;
  }

  cancelTimer(ref: number): void {
    this.outbox.record(Op.TIMER_CANCEL, undefined, undefined, ref);
  }

  io(request: IoRequest): number {
    const ref = this.owner.allocateRef();
    this.outbox.record(Op.IO, undefined, request, ref);
    return ref;
  }

  compute(task: string, input: unknown): number {
    return this.io({ op: 'compute', task, input });
  }
}
