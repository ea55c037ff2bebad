/**
 * Scheduler: a shard's run queue, its parked processes and its slices. Single-threaded, like its
 * shard; its only clock is the host's `elapsedMs` (the CPU clock turns are cut by).
 *
 * Scheduling (fair, like the BEAM's reductions): a process with messages sits once in the run
 * queue; a turn spends at most `budget` units (one per message handled and one per effect it
 * recorded: sends, spawns, signals; the shard counts them), then the process goes to the back.
 *
 * Slices (elapsed time): a `receive` cannot be preempted, but between messages a process can.
 * A pass (`runPass`, one Shard.runTurns) returns at the first clock read at least `sliceMs` after
 * it began, cutting the turn that was running, so the host gets back to its rings within the
 * slice plus the message that was running. The process whose turn that cut is held and queued
 * behind whatever the host delivers before the next pass: an ask that waited in a ring runs
 * before the neighbour's next slice. A process cut after it had run half a slice or more is
 * *timed*: its turns read the clock after every message, and each begins a pass of its own, so
 * what the turns before it sent is published before it holds the thread again. A turn of it that
 * ends otherwise (mailbox empty, budget spent, parked) makes it untimed again.
 *
 * The clock is the host's (`elapsedMs`: performance.now() in an executor, the simulated clock in
 * the testkit). A read costs 40-100 ns on the 2-core VM and a cheap message 40-80 ns, so cheap
 * messages must not pay a read each: with a read after every message (`clockChecks: 'every'`,
 * HORDE_CLOCK_CHECKS=every in an executor) a bare shard on one thread lost about half its rate
 * (CPU time, the two alternated in one process: ping-pong 8.5M against 16.2M msgs/s, thread ring
 * 9.1M against 16.0M, counting 10.9M against 23.8M, Savina's big 8.1M against 13.2M). So the
 * scheduler reads the clock every `clockInterval` messages, counted across turns and passes and
 * adapted to what the reads see: a read more than CLOCK_GAP_MS (0.05 ms) after the last one sets
 * the interval to one message; a whole interval that took under half of that doubles it, up to
 * 64 (the count the scheduler used before; from one back to 64 takes six reads). Cheap work thus
 * costs a read per 64 messages and one per pass, as before; messages of 25 us or more are read
 * after each (under 0.4% of their cost); in between, reads come every 0.025-0.05 ms, so a pass
 * ends within about 0.05 ms of its slice (0.25 ms in an executor) even when no turn is long
 * enough to be timed. Against the scheduler before (a count checked between turns only), the
 * count and tests cost the same bare shard 7% on ping-pong, 4% on thread ring, 5% on big and
 * nothing on counting; keeping the count per turn instead of per message saved nothing measurable.
 *
 * What it does not catch: a process whose messages were cheap and turn expensive runs up to the
 * current interval (at most 64 messages) before a read sees the time; from that read on it is
 * timed. The turn that read ends is charged with everything since the last read, which may include
 * other processes' turns before it, so a cheap process can be timed by mistake for one turn.
 *
 * Back pressure: a process whose send found its destination congested (`blockedOn`) is parked in
 * `blocked`, not in the run queue, and stays marked scheduled so that messages arriving meanwhile
 * do not queue it again; only `resume(destination)` puts it back in the run queue.
 */

import { ErrorCode, HordeError } from '../errors.js';
import { Queue } from '../internal/queue.js';
import { ROUTE_ACCEPTED, type ShardHost } from './shard-host.js';
import { SlotState, extrasOf, hasWork, type Slot } from './slot.js';

/**
 * ADAPTIVE: every 1 to 64 messages, fewer the cheaper messages have been, and after every message
 * of a process whose last turn ran out of time. EVERY_MESSAGE: after every message (the same
 * fairness, for comparison: it costs cheap messages a clock read each).
 */
export const ClockChecks = { ADAPTIVE: 'adaptive', EVERY_MESSAGE: 'every' } as const;
export type ClockChecks = (typeof ClockChecks)[keyof typeof ClockChecks];

/** Most messages between two clock reads (ADAPTIVE), and where the interval starts. */
const MAX_CLOCK_INTERVAL = 64;
/**
 * The adaptive interval keeps the time between two clock reads under about this: a read that comes
 * later than this sets the interval to one message; one that comes within half of it doubles the
 * interval (up to MAX_CLOCK_INTERVAL).
 */
const CLOCK_GAP_MS = 0.05;

/** What runs the turns a pass chooses: the shard. */
export interface TurnRunner {
  /** One turn of `slot` (it ends with `Scheduler.turnEnded`); true when the pass's slice is over. */
  runTurn(slot: Slot): boolean;
  /** After every turn of a pass: the signals it queued are handled. */
  afterTurn(): void;
}

export class Scheduler {
  private readonly host: Pick<ShardHost, 'elapsedMs'>;
  private readonly runQueue = new Queue<Slot>();
  private readonly blocked: Slot[] = [];
  /** The process whose turn the end of the last pass cut: queued behind what arrived since. */
  private preempted: Slot | undefined;
  private readonly maxClockInterval: number;
  private clockInterval: number;
  private untilClockRead: number;
  /** The clock as last read (a turn's start is charged from here). */
  lastReadMs = 0;
  private passEndMs = Number.POSITIVE_INFINITY;
  private sliceMs = Number.POSITIVE_INFINITY;

  /** Throws HORDE_INVALID_OPTION for a `clockChecks` that is not a ClockChecks. */
  constructor(host: Pick<ShardHost, 'elapsedMs'>, clockChecks: unknown = ClockChecks.ADAPTIVE) {
    if (clockChecks !== ClockChecks.ADAPTIVE && clockChecks !== ClockChecks.EVERY_MESSAGE) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `clockChecks must be '${ClockChecks.ADAPTIVE}' or '${ClockChecks.EVERY_MESSAGE}'; got ${String(clockChecks)}`);
    }
    this.host = host;
    this.maxClockInterval = clockChecks === ClockChecks.ADAPTIVE ? MAX_CLOCK_INTERVAL : 1;
    this.clockInterval = this.maxClockInterval;
    this.untilClockRead = this.clockInterval;
  }

  /** An idle process got work: to the back of the run queue. */
  schedule(slot: Slot): void {
    slot.state = SlotState.SCHEDULED;
    this.runQueue.push(slot);
  }

  /** A process parked outside a turn (its init sent to a congested destination). */
  park(slot: Slot): void {
    slot.state = SlotState.SCHEDULED;
    this.blocked.push(slot);
  }

  /**
   * Runs up to `maxTurns` turns through `runner`, until the run queue is empty, a clock read finds
   * `sliceMs` spent, or a timed process is next after another's turn (it begins a pass of its own).
   */
  runPass(maxTurns: number, sliceMs: number, runner: TurnRunner): void {
    const queue = this.runQueue;
    const preempted = this.preempted;
    if (preempted !== undefined) {
      this.preempted = undefined;
      if (preempted.state !== SlotState.DEAD) queue.push(preempted);
    }
    if (queue.size === 0) return;
    // The time since the last read was spent outside (rings, parking): it says nothing of messages.
    // The count to the next read goes on, so a process whose turns are short still meets one.
    this.lastReadMs = this.host.elapsedMs();
    this.passEndMs = this.lastReadMs + sliceMs;
    this.sliceMs = sliceMs;
    let ran = 0;
    for (let turn = 0; turn < maxTurns; turn++) {
      const slot = queue.peek();
      if (slot === undefined) break;
      // A process whose last turn ran out of time begins a pass of its own: what the turns before
      // it sent is published, and the rings read, before it holds the thread for a slice again.
      if (ran > 0 && slot.extras !== undefined && slot.extras.timed) break;
      queue.shift();
      if (slot.state === SlotState.DEAD) continue;
      if (slot.blockedOn !== ROUTE_ACCEPTED) {
        this.blocked.push(slot);
        continue;
      }
      ran++;
      const passOver = runner.runTurn(slot);
      runner.afterTurn();
      if (passOver) break;
    }
  }

  /**
   * Counts one message handled; reads the clock when the interval is up (after every message of a
   * `timed` process). True when that read finds the pass's slice spent.
   */
  sliceOver(timed: boolean): boolean {
    if (--this.untilClockRead === 0 || timed) return this.readClock() >= this.passEndMs;
    return false;
  }

  /**
   * A turn of live `slot` ended (`outOfTime`: cut by the end of the pass; `turnStart`: lastReadMs
   * when it began): timed from its next turn on if the end of the pass cut it after it had run half
   * a slice or more (not a cheap turn that happened to be running then), untimed once a turn ends
   * early; then parked, idle, held for the next pass, or to the back of the run queue.
   */
  turnEnded(slot: Slot, timed: boolean, turnStart: number, outOfTime: boolean): void {
    if (outOfTime) {
      if (!timed && this.lastReadMs - turnStart >= this.sliceMs / 2) extrasOf(slot).timed = true;
    } else if (timed) {
      slot.extras!.timed = false;
    }
    if (slot.blockedOn !== ROUTE_ACCEPTED) this.blocked.push(slot);
    else if (!hasWork(slot)) slot.state = SlotState.IDLE;
    else if (outOfTime) this.preempted = slot;
    else this.runQueue.push(slot);
  }

  /** The host's congested `destination` has room again: the processes that waited on it run. */
  resume(destination: number): void {
    let kept = 0;
    for (const slot of this.blocked) {
      if (slot.blockedOn === destination) {
        slot.blockedOn = ROUTE_ACCEPTED;
        if (slot.state !== SlotState.DEAD) this.runQueue.push(slot);
      } else {
        this.blocked[kept++] = slot;
      }
    }
    this.blocked.length = kept;
  }

  /** True when a process is ready to run. */
  hasWork(): boolean {
    return this.runQueue.size > 0 || this.preempted !== undefined;
  }

  /** Processes waiting for a turn. */
  get ready(): number {
    return this.runQueue.size + (this.preempted === undefined ? 0 : 1);
  }

  /** Processes parked on a congested destination. */
  get parked(): number {
    return this.blocked.length;
  }

  /**
   * Reads the host's clock and adapts the interval to the time since the last read: one message
   * after a gap over CLOCK_GAP_MS; twice as many after a whole interval's messages took under half
   * of it (a timed process's read after one message says nothing of a longer interval).
   */
  private readClock(): number {
    const now = this.host.elapsedMs();
    const gap = now - this.lastReadMs;
    this.lastReadMs = now;
    let interval = this.clockInterval;
    if (gap > CLOCK_GAP_MS) interval = 1;
    else if (gap < CLOCK_GAP_MS / 2 && this.untilClockRead <= 0 && interval < this.maxClockInterval) interval *= 2;
    this.clockInterval = interval;
    this.untilClockRead = interval;
    return now;
  }
}
