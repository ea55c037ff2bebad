/**
 * What a process is, seen by the people who write one.
 *
 * A process kind is a factory `(args) => Process` listed in a behaviour module (`defineBehaviours`)
 * that every executor loads. A process has `receive(msg, ctx)`, optional `init(ctx)` and
 * `terminate(reason, ctx)`; its state is its own object. Everything `ctx` does is recorded and
 * carried out after the callback returns (the pure process of rabble): nothing leaves before
 * `receive` returns, which is what makes a process testable without threads (src/testkit).
 */

import type { WireError } from '../errors.js';
import type { IoRequest, TimerOptions } from './io.js';
import type { Pid } from './pid.js';

/**
 * Why a process ended. 'normal' ends quietly (linked processes that do not trap exits live on);
 * anything else takes non-trapping linked processes with it. Errors thrown by `receive` become
 * their wire form (`{code, message, ...}`) so the reason can cross threads and nodes.
 * Reasons horde itself uses: 'normal', 'shutdown', 'killed', 'noproc', 'executor_crashed', 'mailbox_overflow',
 * 'noconnection', 'max_restart_intensity'.
 */
export type ExitReason = string | WireError;

// Brands in the global symbol registry, so `instanceof Exit` / `instanceof Down` hold even when a
// behaviour module and the runtime load different copies of this file (src/ under a TypeScript
// loader next to dist/, or two installed versions).
const EXIT_BRAND = Symbol.for('horde.Exit');

/** True when `value` carries `brand` (a Symbol.for key): `instanceof` for horde's message classes. */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
const DOWN_BRAND = Symbol.for('horde.Down');

/** Delivered to a process that traps exits when a linked process ends (or sends it an exit). */
export class Exit {
  /** Always `'EXIT'`, so a message union can be narrowed on `type`. */
  readonly type = 'EXIT';
  /** Brand that makes `instanceof Exit` hold across copies of horde; always true. */
  readonly [EXIT_BRAND] = true;
  /**
   * Made by the runtime when it delivers an exit signal (and by tests that feed one to a process).
   * @param from The linked process that ended, or the process that sent the exit signal.
   * @param reason Why: its exit reason ('normal', 'shutdown', 'noconnection', an error record, ...).
   */
  constructor(
    readonly from: Pid,
    readonly reason: ExitReason,
  ) {}

  /** `instanceof Exit` tests the brand, so it holds for an Exit made by another copy of horde. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, EXIT_BRAND);
  }
}

/** Delivered to a monitoring process when the monitored one ends (or never existed: 'noproc'). */
export class Down {
  /** Always `'DOWN'`, so a message union can be narrowed on `type`. */
  readonly type = 'DOWN';
  /** Brand that makes `instanceof Down` hold across copies of horde; always true. */
  readonly [DOWN_BRAND] = true;
  /**
   * Made by the runtime when a monitored process ends (and by tests that feed one to a process).
   * @param ref The monitor's reference, as `ctx.monitor` returned it.
   * @param pid The monitored process.
   * @param reason Its exit reason: 'noproc' when it did not exist, 'noconnection' when its node was lost.
   */
  constructor(
    readonly ref: number,
    readonly pid: Pid,
    readonly reason: ExitReason,
  ) {}

  /** `instanceof Down` tests the brand, so it holds for a Down made by another copy of horde. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, DOWN_BRAND);
  }
}

/** The messages the runtime itself delivers: `Exit` (when trapping exits) and `Down` (when monitoring). */
export type SystemMessage = Exit | Down;

/** Who to answer and under which reference: keep it to reply after the current message. */
export interface ReplyToken {
  /** The process that asked. */
  readonly to: Pid;
  /** The reference its answer must carry (0 for a message that was not an ask). */
  readonly ref: number;
}

/** Options of `ctx.spawn` (`node.spawn` takes `shard` only). */
export interface SpawnOptions {
  /** Link the new process to its parent atomically at creation (spawn_link). */
  link?: boolean;
  /** The shard (executor) to run on. Default: the parent's shard (the node picks for node.spawn). */
  shard?: number;
}

/**
 * What a process may do, handed to `init`, `receive` and `terminate` (valid only during that call).
 * Sends, spawns, links and the rest are recorded and carried out after the callback returns; a
 * callback that throws sends nothing. `M` is the messages the process accepts.
 */
export interface Context<M = unknown> {
  /** This process. */
  readonly self: Pid<M>;
  /** The sender of the message being handled (undefined for messages without one). */
  readonly from: Pid | undefined;
  /** The time now in milliseconds, from the runtime's clock (simulated in the testkit). */
  readonly now: number;
  /** Sends `msg` to `to` after this callback returns. */
  send<T>(to: Pid<T>, msg: NoInfer<T>): void;
  /**
   * Answers the message being handled (an `ask`, or any message with a sender), or, given a
   * token kept from an earlier message, answers that one (a deferred reply).
   */
  reply(msg: unknown, token?: ReplyToken): void;
  /** A token for answering the current message later with `reply(msg, token)`. */
  replyToken(): ReplyToken | undefined;
  /** Starts a process; its pid is known at once, the process starts after this callback. */
  spawn<T = unknown>(kind: string, args?: unknown, options?: SpawnOptions): Pid<T>;
  /** Links this process and `pid`: when one ends abnormally, the other gets an exit signal. */
  link(pid: Pid): void;
  /** Removes the link with `pid`, on both sides; no link is no error. */
  unlink(pid: Pid): void;
  /** Watches `pid`; a `Down` message arrives when it ends. Returns the monitor's reference. */
  monitor(pid: Pid): number;
  /** Stops the monitor `ref`: a DOWN for it that arrives later is dropped. Unknown refs are ignored. */
  demonitor(ref: number): void;
  /** Ends this process with `reason` (default 'normal') once this callback returns. */
  exit(reason?: ExitReason): void;
  /** Sends `pid` an exit signal (default 'shutdown'); 'kill' cannot be trapped. */
  stop(pid: Pid, reason?: ExitReason): void;
  /** While on, exit signals from linked processes arrive as `Exit` messages instead of killing. */
  trapExits(on: boolean): void;
  /**
   * Delivers `msg` to this process after `ms` (every `ms` with `repeat`), ahead of its queued user
   * messages. Returns the timer's reference. Throws HORDE_INVALID_TIMER for a negative or
   * non-finite delay. The timer dies with the process.
   */
  startTimer(ms: number, msg: M, options?: TimerOptions): number;
  /** Stops a timer of this process; unknown, fired or foreign references are ignored. */
  cancelTimer(ref: number): void;
  /** Asks the file I/O worker; the answer arrives as an `IoResult` with the returned reference. */
  io(request: IoRequest): number;
  /** Runs `task` from the node's compute modules off the executors; answered like `io`. */
  compute(task: string, input: unknown): number;
}

/**
 * A process: a state machine that runs one callback at a time on its executor thread and never
 * waits or does I/O. `M` is the messages it accepts. A callback that throws crashes the process
 * with the error as its exit reason.
 */
export interface Process<M = unknown> {
  /** Runs once when the process starts, before its first message. */
  init?(ctx: Context<M>): void;
  /** Handles one message: a user message, or an `Exit` or `Down` when it traps exits or monitors. */
  receive(msg: M | SystemMessage, ctx: Context<M>): void;
  /** Runs once when the process ends, for any reason (`'kill'` too; not when its executor thread crashes); what it sends still goes out. */
  terminate?(reason: ExitReason, ctx: Context<M>): void;
}

/** A process kind: builds a fresh process from the spawn arguments. */
export type ProcessFactory = (args: never) => Process<never>;

/** A behaviour module's process kinds: kind name to factory (`horde.*` names are reserved). */
export type Behaviours = Readonly<Record<string, ProcessFactory>>;

/** Lists the process kinds of a behaviour module; export the result as `behaviours`. */
export function defineBehaviours<const B extends Behaviours>(behaviours: B): B {
  return behaviours;
}
