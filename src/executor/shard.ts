/**
 * Shard: one executor's processes, mailboxes and run queue, and the rules of links, monitors and
 * exits. Pure and single-threaded: it never touches a ring, a clock or a thread. Its host (the
 * executor worker, or the testkit) gives it the time, carries what leaves the shard, and hears
 * about crashes and dead letters. The same code runs in production and in deterministic tests.
 *
 * Scheduling (fair, like the BEAM's reductions): a process with messages sits once in the run
 * queue; a turn spends at most `budget` units (one per message handled and one per effect it
 * recorded: sends, spawns, signals), then the process goes to the back. Signals
 * (exit, down, link, monitor, spawn) wait in one shard-wide queue that is drained before every
 * turn, and a process's system messages (`Exit`, `Down`) are handled before its user messages, so
 * no flood of user messages delays them by more than one turn.
 *
 * Slices (elapsed time): a `receive` cannot be preempted, but between messages a process can.
 * `runTurns(maxTurns, sliceMs)` (a pass) returns at the first clock read at least `sliceMs` after
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
 * shard reads the clock every `clockInterval` messages, counted across turns and passes and
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
 * Effects: `ctx` records into an outbox; after a callback returns the outbox is carried out in
 * order (same-shard sends go straight into the target's mailbox by reference; everything else goes
 * to `host.route`). A callback that throws ends its process with the error as the exit reason and
 * its recorded effects are discarded: nothing leaves a `receive` that did not return. A message for
 * a pid not (yet) in the table while signals wait goes into the signal queue behind them, so a
 * message sent right after a spawn reaches the child instead of overtaking its queued SPAWN.
 *
 * Processes that nothing has reached since their spawn (no init, no link, no message or signal
 * yet) are dormant: the table keeps their kind and process object, and their Slot is made on the
 * first lookup (a million idle processes cost their own objects and two table entries each).
 *
 * Bounds: a mailbox holds at most `mailboxLimit` messages; the message that finds it full is a dead
 * letter and the process is ended with 'mailbox_overflow' (a supervisor restarts it).
 *
 * Back pressure: `host.route` names a congested destination instead of ROUTE_ACCEPTED; the
 * sending process is then parked (not run) until the host calls `resume(destination)`. A parked
 * process sits in `blocked`, not in the run queue, and stays marked scheduled so that messages
 * arriving meanwhile do not queue it again; only `resume` puts it back in the run queue.
 *
 * Exits never recurse: ending a process queues signals to its links and monitors, and the signal
 * queue is drained iteratively, so a chain of 100k linked processes cannot overflow the stack.
 */

import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import { SerialAllocator, pid as makePid, pidKey, type Pid } from '../process/pid.js';
import { SERVICES, TIMER_SERVICE, serviceForOp, serviceOfShard, servicePid } from '../process/services.js';
import { IoResult, advanceRepeat, type IoReply, type IoRequest, type TimerOptions, type TimerRequest } from '../process/io.js';
import { Down, Exit, type Behaviours, type Context, type ExitReason, type Process, type ReplyToken, type SpawnOptions } from '../process/types.js';
import { NO_SLOTS, mailboxBase, mailboxClear, mailboxDrop, mailboxFrom, mailboxMessage, mailboxPush, mailboxRef, type Mailbox } from './mailbox.js';
import { ProcessTable } from './process-table.js';
import { Queue } from '../internal/queue.js';
import { SignalQueue } from './signal-queue.js';
import { SpawnWait, type HeldEnvelope, type SpawnFloors } from './spawn-wait.js';
import { Signal } from '../codec/envelope.js';
import { answerToMissing, isDeadLetterWhenMissing } from '../codec/envelope-header.js';

export interface ShardHost {
  /** Milliseconds, from the runtime's clock (simulated in the testkit). */
  now(): number;
  /**
   * Milliseconds from any fixed origin, monotonic and finer than a millisecond: the scheduler's
   * clock for slices (performance.now() in an executor, the simulated clock in the testkit). Read
   * once a runTurns and then every 1 to 64 messages (see "Slices" in the design note).
   */
  elapsedMs(): number;
  /**
   * Carries a signal to a pid outside this shard (another shard, the main thread, another node).
   * Returns ROUTE_ACCEPTED, or the id of a congested destination: the sender is then parked until
   * the host calls `resume` with that id.
   */
  route(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): number;
  /** A user message or signal for a pid that does not exist here. */
  deadLetter(signal: Signal, to: Pid, from: Pid | undefined, payload: unknown): void;
  /** A process ended with a reason other than 'normal' or 'shutdown' (for logs and metrics). */
  crashed(pid: Pid, kind: string, reason: ExitReason): void;
  /** Optional: a process turn begins (the executor's watchdog heartbeat). */
  turnStarted?(pid: Pid, kind: string): void;
  /** Optional: every envelope leaving a process (testkit inspection). */
  trace?(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void;
}

export interface ShardOptions {
  node: number;
  shard: number;
  /** Unique among every allocator of pids and refs on this node (see pid.ts). */
  spawnerId: number;
  /** A replacement executor's shard: the allocators alive when it started (see spawn-wait.ts). */
  spawnFloors?: SpawnFloors;
  /** Messages a process may handle per turn before the next process runs. Default 64. */
  budget?: number;
  /** Messages a mailbox may hold; past it the process ends with 'mailbox_overflow'. Default 1,000,000. */
  mailboxLimit?: number;
  /** How often turns read the clock (see "Slices" in the design note). Default ADAPTIVE. */
  clockChecks?: ClockChecks;
}

/**
 * ADAPTIVE: every 1 to 64 messages, fewer the cheaper messages have been, and after every message
 * of a process whose last turn ran out of time. EVERY_MESSAGE: after every message (the same
 * fairness, for comparison: it costs cheap messages a clock read each).
 */
export const ClockChecks = { ADAPTIVE: 'adaptive', EVERY_MESSAGE: 'every' } as const;
export type ClockChecks = (typeof ClockChecks)[keyof typeof ClockChecks];

/** A spawn request as it travels to the shard that will run the process. */
export interface SpawnRequest {
  kind: string;
  args: unknown;
  /** The parent to link to at creation, if any. */
  link?: Pid;
}

export const DEFAULT_TURN_BUDGET = 64;
/** Most messages between two clock reads (ADAPTIVE), and where the interval starts. */
const MAX_CLOCK_INTERVAL = 64;
/**
 * The adaptive interval keeps the time between two clock reads under about this: a read that comes
 * later than this sets the interval to one message; one that comes within half of it doubles the
 * interval (up to MAX_CLOCK_INTERVAL).
 */
const CLOCK_GAP_MS = 0.05;
export const DEFAULT_MAILBOX_LIMIT = 1_000_000;

/** What `ShardHost.route` returns when the destination took the envelope without congestion. */
export const ROUTE_ACCEPTED = -1;

const Op = {
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

/**
 * One process that something has reached: its mailbox (a Slot carries the Mailbox fields itself)
 * and scheduling state. A process nothing has reached yet has no Slot at all (it is dormant in
 * the table, see process-table.ts). Spawning is bound by allocation, so a Slot holds only what
 * every running process needs: its pid is made on first use (`Shard.pidOf`), and links, monitors,
 * timers and system messages live in `extras`, made on first use. Slots are made by one object
 * literal (`newSlot`), not a class: V8 can allocate objects of a literal whose objects survive
 * straight in the old generation (allocation-site pretenuring; never class instances), though in
 * an executor's smaller heap it seldom decides to (bench/README.md, savina).
 */
interface Slot extends Mailbox {
  readonly serial: number;
  readonly kind: string;
  readonly process: Process<unknown>;
  /** The pid, once made (see Shard.pidOf). */
  self: Pid | undefined;
  state: SlotState;
  /** Congested destination this process waits on (back pressure), or ROUTE_ACCEPTED. */
  blockedOn: number;
  extras: SlotExtras | undefined;
}

function newSlot(serial: number, kind: string, process: unknown): Slot {
  return {
    slots: NO_SLOTS,
    head: 0,
    count: 0,
    mask: -1,
    serial,
    kind,
    process: process as Process<unknown>,
    self: undefined,
    state: SlotState.IDLE,
    blockedOn: ROUTE_ACCEPTED,
    extras: undefined,
  };
}

function hasWork(slot: Slot): boolean {
  return slot.count > 0 || (slot.extras !== undefined && slot.extras.hasSystem());
}

function extrasOf(slot: Slot): SlotExtras {
  return (slot.extras ??= new SlotExtras());
}

const SlotState = {
  /** Neither in the run queue nor blocked: a message schedules it. */
  IDLE: 0,
  /** In the run queue or in `blocked`. */
  SCHEDULED: 1,
  /** Ended (it may still sit in the run queue; it is skipped there). */
  DEAD: 2,
} as const;
type SlotState = (typeof SlotState)[keyof typeof SlotState];

/** What only some processes use. */
class SlotExtras {
  /** Messages ahead of the mailbox: Exit, Down and timer messages. */
  system: unknown[] | undefined = undefined;
  /**
   * Pending timers: ref → its request, whose `dueMs` is kept at the next fire not yet delivered
   * (so a replacement poller gets them due when they were due; see serviceLost).
   */
  timers: Map<number, TimerRequest> | undefined = undefined;
  links: Map<string, Pid> | undefined = undefined;
  /** Monitors this process holds: ref → watched pid. */
  monitors: Map<number, Pid> | undefined = undefined;
  /** Monitors on this process: ref → watcher. */
  watchers: Map<number, Pid> | undefined = undefined;
  trapExits = false;
  /** Its mailbox hit the limit; it is being ended with 'mailbox_overflow'. */
  overflowed = false;
  /**
   * Its last turn ran out of time after using at least half a slice: its turns read the clock
   * after every message and begin a pass of their own (see "Slices" in the design note).
   */
  timed = false;

  hasSystem(): boolean {
    return this.system !== undefined && this.system.length > 0;
  }
}

/** The signal queue's code of a spawn on this shard by this shard (never on a wire: see flush). */
const LOCAL_SPAWN = 0;

function spawnRequest(kind: string, args: unknown, link: Pid | undefined): SpawnRequest {
  return link === undefined ? { kind, args } : { kind, args, link };
}

/** One shard's figures, part of ExecutorStatus. Counters run from the executor's start: a replacement starts from zero. */
export interface ShardStats {
  /** Processes alive on the shard. */
  processes: number;
  /** Processes waiting for a turn. */
  runQueue: number;
  /** Messages waiting in the mailboxes of all its processes. */
  queuedMessages: number;
  /** Processes parked because the way to a destination is full (a full ring and overflow, or a congested node). */
  blockedProcesses: number;
  /** Envelopes for processes whose spawn is still on its way here (see spawn-wait.ts). */
  awaitingSpawn: number;
  /** Io and compute requests of this shard's processes not answered yet. */
  pendingIo: number;
  /** Messages handed to `receive` so far. */
  messagesHandled: number;
  /** Processes started on the shard so far. */
  spawned: number;
  /** Processes that ended with a reason other than 'normal' or 'shutdown'. */
  crashed: number;
}

export class Shard {
  readonly node: number;
  readonly shard: number;
  /** Its allocator's id (see pid.ts). */
  readonly spawnerId: number;
  private readonly host: ShardHost;
  /**
   * Factories by kind, with the kind's own string: a kind decoded from a remote spawn is a fresh
   * string each time, and the process record keeps the shared one. A Map, so that a kind such as
   * "toString" is unknown rather than found on Object.prototype.
   */
  private readonly kinds: Map<string, { readonly kind: string; readonly factory: (args: unknown) => Process<unknown> }>;
  private readonly budget: number;
  private readonly mailboxLimit: number;
  private readonly serials: SerialAllocator;
  private readonly refs: SerialAllocator;
  private readonly table = new ProcessTable<Slot>(newSlot);
  private readonly runQueue = new Queue<Slot>();
  private readonly signals = new SignalQueue();
  private readonly spawnWait: SpawnWait;
  private readonly blocked: Slot[] = [];
  private readonly context: ShardContext;
  /** This node's service endpoints, in SERVICES order (src/process/services.ts). */
  private readonly services: Pid[];
  /** Io requests sent and not answered yet, per service: ref → requester. */
  private readonly ioPending: Map<number, Pid>[];

  /** The slot whose callback is running (effects are recorded for it). */
  private current: Slot | undefined;
  private currentFrom: Pid | undefined;
  private currentRef = 0;
  /** Set by ctx.exit while a callback's outbox is carried out: end after it. */
  private exitRequest: ExitReason | undefined;
  // The outbox of the running callback, as parallel arrays reused for every callback (no object
  // per effect; `outCount` entries are live). Truncating arrays with `length = 0` per callback
  // cost a third of the in-shard ping-pong time (V8 frees and regrows the backing store).
  private readonly outOps: number[] = [];
  private readonly outPid: (Pid | undefined)[] = [];
  private readonly outValue: unknown[] = [];
  private readonly outRef: number[] = [];
  /** A spawn's kind (its args are in outValue). */
  private readonly outKind: (string | undefined)[] = [];
  private outCount = 0;

  private messagesHandled = 0;
  private spawned = 0;
  private crashedCount = 0;

  // Slices (see the design note): the clock as last read, the messages until the next read and
  // the interval between reads, and when the running pass (a runTurns call) ends.
  private readonly maxClockInterval: number;
  private clockInterval: number;
  private untilClockRead: number;
  private lastReadMs = 0;
  private passEndMs = Number.POSITIVE_INFINITY;
  private sliceMs = Number.POSITIVE_INFINITY;
  /** The process whose turn the end of the last pass cut: queued behind what arrived since. */
  private preempted: Slot | undefined;

  constructor(host: ShardHost, behaviours: Behaviours, options: ShardOptions) {
    this.host = host;
    this.kinds = new Map(Object.entries(behaviours).map(([kind, factory]) => [kind, { kind, factory: factory as (args: unknown) => Process<unknown> }]));
    this.node = options.node;
    this.shard = options.shard;
    this.spawnerId = options.spawnerId;
    this.budget = options.budget ?? DEFAULT_TURN_BUDGET;
    this.mailboxLimit = options.mailboxLimit ?? DEFAULT_MAILBOX_LIMIT;
    const clockChecks: unknown = options.clockChecks ?? ClockChecks.ADAPTIVE;
    if (clockChecks !== ClockChecks.ADAPTIVE && clockChecks !== ClockChecks.EVERY_MESSAGE) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `clockChecks must be '${ClockChecks.ADAPTIVE}' or '${ClockChecks.EVERY_MESSAGE}'; got ${String(clockChecks)}`);
    }
    this.maxClockInterval = clockChecks === ClockChecks.ADAPTIVE ? MAX_CLOCK_INTERVAL : 1;
    this.clockInterval = this.maxClockInterval;
    this.untilClockRead = this.clockInterval;
    this.serials = new SerialAllocator(options.spawnerId);
    this.refs = new SerialAllocator(options.spawnerId);
    this.spawnWait = new SpawnWait(options.spawnerId, options.spawnFloors);
    this.context = new ShardContext(this);
    this.services = SERVICES.map((_, service) => servicePid(this.node, service));
    this.ioPending = SERVICES.map(() => new Map<number, Pid>());
  }

  // ---- entry points for the host -------------------------------------------------------------

  /** A new pid on `shard` (default: this one), allocated here without coordination. */
  allocatePid(shard = this.shard): Pid {
    return makePid(this.node, shard, this.serials.next());
  }

  /** Pids allocated here so far (published for a replacement executor's SpawnFloors). */
  get pidsAllocated(): number {
    return this.serials.allocated;
  }

  allocateRef(): number {
    return this.refs.next();
  }

  /**
   * Starts a process here. Throws for an unknown kind or a factory/init that throws (the caller,
   * such as a node.spawn request, reports it); linked parents are told through an exit signal.
   */
  spawn(pid: Pid, request: SpawnRequest): void {
    try {
      this.spawnOrReport(pid, request.kind, request.args, request.link, true);
    } finally {
      this.drainSignals();
    }
  }

  /** Delivers a user message or signal addressed to a process of this shard. */
  deliver(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    if (signal === Signal.USER) {
      const slot = this.table.get(to.serial);
      if (slot === undefined || slot.state === SlotState.DEAD || to.shard !== this.shard || to.node !== this.node) {
        if (slot === undefined && this.isLocal(to)) this.messageToUnknown(to, from, ref, payload);
        else this.host.deadLetter(signal, to, from, payload);
        return;
      }
      this.enqueue(slot, payload, from, ref);
      return;
    }
    this.signals.push(signal, to, from, ref, payload);
  }

  /**
   * Runs up to `maxTurns` process turns, and returns once `sliceMs` (of host.elapsedMs) has passed
   * since the call, after the message that was running then, so the caller gets back to its rings.
   * A process whose turn that cut runs again after whatever the caller delivers before the next
   * call. Returns the messages handled.
   */
  runTurns(maxTurns: number, sliceMs = Number.POSITIVE_INFINITY): number {
    const before = this.messagesHandled;
    if (this.spawnWait.size > 0) this.expireSpawnWaits();
    this.drainSignals();
    const queue = this.runQueue;
    const preempted = this.preempted;
    if (preempted !== undefined) {
      this.preempted = undefined;
      if (preempted.state !== SlotState.DEAD) queue.push(preempted);
    }
    if (queue.size === 0) return 0;
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
      const passOver = this.runTurn(slot);
      if (this.signals.size > 0) this.drainSignals();
      if (passOver) break;
    }
    return this.messagesHandled - before;
  }

  /** When the oldest envelope waiting for a spawn gives up (host.now() time), or Infinity. */
  nextSpawnWaitDeadline(): number {
    return this.spawnWait.size > 0 ? this.spawnWait.nextDeadline() : Number.POSITIVE_INFINITY;
  }

  /** True when a process is ready to run or a signal waits. */
  hasWork(): boolean {
    return this.runQueue.size > 0 || this.signals.size > 0 || this.preempted !== undefined;
  }

  /** The host's congested `destination` has room again: run the processes that waited on it. */
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

  /**
   * Every process of `shard` (on this node) is gone, such as after an executor crash: links and
   * monitors held here on them fire with `reason`.
   */
  shardLost(shard: number, reason: ExitReason): void {
    for (const slot of this.table.values()) {
      const extras = slot.extras;
      if (extras === undefined) continue;
      if (extras.links !== undefined) {
        for (const linked of extras.links.values()) {
          if (linked.node === this.node && linked.shard === shard) this.signals.push(Signal.EXIT, this.pidOf(slot), linked, 0, reason);
        }
      }
      if (extras.monitors !== undefined) {
        for (const [ref, watched] of extras.monitors) {
          if (watched.node === this.node && watched.shard === shard) this.signals.push(Signal.DOWN, this.pidOf(slot), watched, ref, reason);
        }
      }
    }
    this.drainSignals();
  }

  /**
   * Service `service` (its index in SERVICES) was replaced: its thread died. The io requests it had
   * not answered get an IoResult with HORDE_WORKER_EXITED, and if it held the timers every timer
   * of this shard's processes is started again on the replacement, due when it was due (a
   * repeating one at its next fire not yet delivered; one that came due meanwhile fires at once).
   */
  serviceLost(service: number): void {
    const endpoint = this.services[service]!;
    const pending = this.ioPending[service]!;
    const message = `the ${SERVICES[service]!.name} thread exited before it answered`;
    for (const [ref, requester] of pending) {
      const slot = this.table.get(requester.serial);
      if (slot === undefined || slot.state === SlotState.DEAD) continue;
      this.enqueue(slot, new IoResult(ref, false, undefined, errorToWire(new HordeError(ErrorCode.WORKER_EXITED, message))), endpoint, 0);
    }
    pending.clear();
    if (service !== TIMER_SERVICE) return;
    for (const slot of this.table.values()) {
      const timers = slot.extras?.timers;
      if (timers === undefined || slot.state === SlotState.DEAD) continue;
      for (const [ref, request] of timers) this.emit(Signal.TIMER, endpoint, this.pidOf(slot), ref, request);
    }
  }

  /** Ends every process (terminate runs, links and monitors fire) with `reason`. */
  stopAll(reason: ExitReason): void {
    for (const slot of this.table.all()) this.end(slot, reason);
    this.drainSignals();
  }

  has(target: Pid): boolean {
    if (!this.isLocal(target) || !this.table.has(target.serial)) return false;
    return this.table.peek(target.serial)?.state !== SlotState.DEAD;
  }

  kindOf(target: Pid): string | undefined {
    return this.isLocal(target) ? this.table.get(target.serial)?.kind : undefined;
  }

  stats(): ShardStats {
    let queuedMessages = 0;
    for (const slot of this.table.values()) queuedMessages += slot.count;
    return {
      processes: this.table.size,
      runQueue: this.runQueue.size + (this.preempted === undefined ? 0 : 1),
      queuedMessages,
      blockedProcesses: this.blocked.length,
      awaitingSpawn: this.spawnWait.size,
      pendingIo: this.ioPending.reduce((sum, pending) => sum + pending.size, 0),
      messagesHandled: this.messagesHandled,
      spawned: this.spawned,
      crashed: this.crashedCount,
    };
  }


  // ---- ctx, called by ShardContext during a callback --------------------------------------------

  /** @internal */
  record(op: number, target: Pid | undefined, value: unknown, ref: number): void {
    const index = this.outCount++;
    this.outOps[index] = op;
    this.outPid[index] = target;
    this.outValue[index] = value;
    this.outRef[index] = ref;
  }

  /** @internal A spawn: its kind goes beside the outbox (no request object per local spawn). */
  recordSpawn(child: Pid, kind: string, args: unknown, link: boolean): void {
    const index = this.outCount;
    this.record(Op.SPAWN, child, args, link ? 1 : 0);
    this.outKind[index] = kind;
  }

  /** @internal The running callback's pid. */
  get currentPid(): Pid {
    return this.pidOf(this.current!);
  }

  /** A slot's pid, made on first use (an idle process may never need one). */
  private pidOf(slot: Slot): Pid {
    return (slot.self ??= makePid(this.node, this.shard, slot.serial));
  }

  /** @internal */
  get sender(): Pid | undefined {
    return this.currentFrom;
  }

  /** @internal */
  get senderRef(): number {
    return this.currentRef;
  }

  /** @internal */
  clock(): number {
    return this.host.now();
  }

  // ---- internals ---------------------------------------------------------------------------------

  /**
   * A user message into `slot`'s mailbox. A mailbox at its limit takes no more: the message is a
   * dead letter and the process is ended with 'mailbox_overflow' (once, from the signal queue, so
   * its terminate never runs inside another process's outbox); links, monitors and supervisors
   * take it from there.
   */
  private enqueue(slot: Slot, message: unknown, from: Pid | undefined, ref: number): void {
    if (slot.count >= this.mailboxLimit) {
      const self = this.pidOf(slot);
      this.host.deadLetter(Signal.USER, self, from, message);
      const extras = extrasOf(slot);
      if (!extras.overflowed) {
        extras.overflowed = true;
        this.signals.push(Signal.KILL, self, undefined, 0, 'mailbox_overflow');
      }
      return;
    }
    mailboxPush(slot, message, from, ref);
    if (slot.state === SlotState.IDLE) this.schedule(slot);
  }

  private schedule(slot: Slot): void {
    slot.state = SlotState.SCHEDULED;
    this.runQueue.push(slot);
  }

  /**
   * One turn of `slot`: its messages until its budget is spent, its mailbox is empty, it is parked
   * or ended, or a clock read finds the pass's slice over. Returns whether it is over.
   */
  private runTurn(slot: Slot): boolean {
    const process = slot.process;
    const context = this.context;
    let budget = this.budget;
    const timed = slot.extras !== undefined && slot.extras.timed;
    // The last read was at most a clock interval ago (a few microseconds when messages are cheap).
    const turnStart = this.lastReadMs;
    let outOfTime = false;
    this.current = slot;
    if (this.host.turnStarted !== undefined) this.host.turnStarted(this.pidOf(slot), slot.kind);
    while (budget > 0 && slot.state !== SlotState.DEAD) {
      let message: unknown;
      const extras = slot.extras;
      if (extras !== undefined && extras.hasSystem()) {
        message = extras.system!.shift();
        this.currentFrom = undefined;
        this.currentRef = 0;
      } else if (slot.count > 0) {
        const base = mailboxBase(slot);
        message = mailboxMessage(slot, base);
        this.currentFrom = mailboxFrom(slot, base);
        this.currentRef = mailboxRef(slot, base);
        mailboxDrop(slot);
      } else {
        break;
      }
      budget--;
      this.messagesHandled++;
      try {
        process.receive(message, context);
      } catch (error) {
        this.discardOutbox();
        this.current = undefined;
        this.end(slot, errorToWire(error));
        return false;
      }
      // Every effect (a send, a spawn, a signal) costs one unit of the turn's budget too, like the
      // BEAM's reductions: a process that sends a lot, or sends itself a message to continue,
      // yields to the others instead of keeping the turn.
      if (this.outCount > 0) {
        budget -= this.outCount;
        if (!this.flushOrEnd(slot)) {
          this.current = undefined;
          return false;
        }
        const exit = this.exitRequest;
        if (exit !== undefined) {
          this.exitRequest = undefined;
          this.current = undefined;
          this.end(slot, exit);
          return false;
        }
      }
      if (slot.blockedOn !== ROUTE_ACCEPTED) break;
      if (--this.untilClockRead === 0 || timed) {
        const now = this.readClock();
        if (now >= this.passEndMs) {
          outOfTime = true;
          break;
        }
      }
    }
    this.current = undefined;
    if (slot.state === SlotState.DEAD) return false;
    // Timed from its next turn on if the end of the pass cut it after it had run half a slice or
    // more (not a cheap turn that happened to be running then); untimed once a turn ends early.
    if (outOfTime) {
      if (!timed && this.lastReadMs - turnStart >= this.sliceMs / 2) extrasOf(slot).timed = true;
    } else if (timed) {
      slot.extras!.timed = false;
    }
    if (slot.blockedOn !== ROUTE_ACCEPTED) this.blocked.push(slot);
    else if (!hasWork(slot)) slot.state = SlotState.IDLE;
    else if (outOfTime) this.preempted = slot;
    else this.runQueue.push(slot);
    return outOfTime;
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

  /**
   * Creates a process (`link`: its parent, linked at creation) and runs its init. A kind that does
   * not exist or a factory or init that throws tells the parent with an exit signal, and throws
   * (`throwOnFailure`) or reports a crash.
   */
  private spawnOrReport(pid: Pid, requested: string, args: unknown, link: Pid | undefined, throwOnFailure: boolean): void {
    const known = this.kinds.get(requested);
    const kind = known === undefined ? requested : known.kind;
    let process: Process<unknown>;
    try {
      if (known === undefined) {
        throw new HordeError(ErrorCode.UNKNOWN_KIND, `unknown process kind "${requested}"`);
      }
      process = known.factory(args);
    } catch (error) {
      const reason = errorToWire(error);
      if (link !== undefined) this.emit(Signal.EXIT, link, pid, 0, reason);
      if (throwOnFailure) throw error;
      this.host.crashed(pid, kind, reason);
      return;
    }
    this.spawned++;
    if (process.init === undefined && link === undefined) {
      // Nothing to run and nothing to remember yet: the process stays dormant (see ProcessTable).
      this.table.setDormant(pid.serial, kind, process);
      return;
    }
    const slot = newSlot(pid.serial, kind, process);
    this.table.set(pid.serial, slot);
    if (link !== undefined) extrasOf(slot).links = new Map([[pidKey(link), link]]);
    if (process.init !== undefined) {
      this.current = slot;
      this.currentFrom = undefined;
      this.currentRef = 0;
      try {
        process.init(this.context);
      } catch (error) {
        this.discardOutbox();
        this.current = undefined;
        this.end(slot, errorToWire(error));
        if (throwOnFailure) throw error;
        return;
      }
      this.current = undefined;
      if (this.outCount > 0) {
        if (!this.flushOrEnd(slot)) return;
        const exit = this.exitRequest;
        if (exit !== undefined) {
          this.exitRequest = undefined;
          this.end(slot, exit);
          return;
        }
        // Init sent to a congested destination: park it like a turn would (resume runs it).
        if (slot.blockedOn !== ROUTE_ACCEPTED && slot.state !== SlotState.DEAD) {
          slot.state = SlotState.SCHEDULED;
          this.blocked.push(slot);
        }
      }
    }
  }

  /**
   * Flushes, and ends the process if carrying out an effect throws (a message no codec can encode
   * or larger than a ring can hold fails at the sender, as that process's crash; the effects
   * before it were already carried out). Returns false when the process ended.
   */
  private flushOrEnd(slot: Slot): boolean {
    try {
      this.flush(slot);
      return true;
    } catch (error) {
      this.discardOutbox();
      this.exitRequest = undefined;
      this.current = undefined;
      this.end(slot, errorToWire(error));
      return false;
    }
  }

  /** Carries out the outbox of `slot`'s callback, in order. */
  private flush(slot: Slot): void {
    const ops = this.outOps;
    const pids = this.outPid;
    const values = this.outValue;
    const refs = this.outRef;
    const count = this.outCount;
    for (let i = 0; i < count; i++) {
      const target = pids[i]!;
      switch (ops[i]) {
        case Op.SEND:
          this.send(slot, target, values[i], refs[i]!);
          break;
        case Op.SPAWN: {
          const kind = this.outKind[i]!;
          this.outKind[i] = undefined;
          const self = this.pidOf(slot);
          const link = refs[i] === 1;
          if (link) this.addLink(slot, target);
          if (this.isLocal(target)) {
            // Even a local child starts from the signal queue, after this flush: its init must not
            // run inside another process's outbox. Its record carries kind and args (ref 1: link
            // to the parent), so a local spawn allocates no request.
            if (this.host.trace !== undefined) this.host.trace(Signal.SPAWN, target, self, 0, spawnRequest(kind, values[i], link ? self : undefined));
            this.signals.push(LOCAL_SPAWN, target, self, link ? 1 : 0, values[i], kind);
          } else {
            this.emit(Signal.SPAWN, target, self, 0, spawnRequest(kind, values[i], link ? self : undefined));
          }
          break;
        }
        case Op.LINK:
          this.addLink(slot, target);
          this.emit(Signal.LINK, target, this.pidOf(slot), 0, undefined);
          break;
        case Op.UNLINK:
          slot.extras?.links?.delete(pidKey(target));
          this.emit(Signal.UNLINK, target, this.pidOf(slot), 0, undefined);
          break;
        case Op.MONITOR:
          (extrasOf(slot).monitors ??= new Map()).set(refs[i]!, target);
          this.emit(Signal.MONITOR, target, this.pidOf(slot), refs[i]!, undefined);
          break;
        case Op.DEMONITOR: {
          const monitors = slot.extras?.monitors;
          const watched = monitors?.get(refs[i]!);
          if (watched !== undefined) {
            monitors!.delete(refs[i]!);
            this.emit(Signal.DEMONITOR, watched, this.pidOf(slot), refs[i]!, undefined);
          }
          break;
        }
        case Op.EXIT_SELF:
          this.exitRequest = values[i] as ExitReason;
          break;
        case Op.STOP:
          this.emit(Signal.EXIT, target, this.pidOf(slot), 0, values[i]);
          break;
        case Op.TRAP:
          if (values[i] === true || slot.extras !== undefined) extrasOf(slot).trapExits = values[i] === true;
          break;
        case Op.TIMER_START: {
          const request = values[i] as TimerRequest;
          (extrasOf(slot).timers ??= new Map()).set(refs[i]!, request);
          this.emit(Signal.TIMER, this.services[TIMER_SERVICE]!, this.pidOf(slot), refs[i]!, request);
          break;
        }
        case Op.TIMER_CANCEL:
          if (slot.extras?.timers?.delete(refs[i]!) === true) this.emit(Signal.TIMER_CANCEL, this.services[TIMER_SERVICE]!, this.pidOf(slot), refs[i]!, undefined);
          break;
        case Op.IO:
          this.request(slot, refs[i]!, values[i]);
          break;
      }
    }
    this.discardOutbox();
  }

  /**
   * An io request goes to the service that serves its op, and is remembered until answered (see
   * serviceLost); one whose op no service serves is answered here at once.
   */
  private request(slot: Slot, ref: number, request: unknown): void {
    const self = this.pidOf(slot);
    const op = (request as { op?: unknown } | null | undefined)?.op;
    const service = serviceForOp(op);
    if (service === undefined) {
      const error = new HordeError(ErrorCode.INVALID_IO_REQUEST, `io request: unknown op ${typeof op === 'string' ? JSON.stringify(op) : typeof op}`);
      this.enqueue(slot, new IoResult(ref, false, undefined, errorToWire(error)), undefined, 0);
      return;
    }
    this.emit(Signal.IO, this.services[service]!, self, ref, request);
    this.ioPending[service]!.set(ref, self);
  }

  private send(slot: Slot, to: Pid, message: unknown, ref: number): void {
    const host = this.host;
    const self = this.pidOf(slot);
    if (host.trace !== undefined) host.trace(Signal.USER, to, self, ref, message);
    if (to.shard === this.shard && to.node === this.node) {
      const target = this.table.get(to.serial);
      if (target === undefined || target.state === SlotState.DEAD) {
        if (target === undefined) this.messageToUnknown(to, self, ref, message);
        else host.deadLetter(Signal.USER, to, self, message);
        return;
      }
      this.enqueue(target, message, self, ref);
      return;
    }
    const congested = host.route(Signal.USER, to, self, ref, message);
    if (congested !== ROUTE_ACCEPTED) slot.blockedOn = congested;
  }

  /**
   * A signal from this shard: queued if local, routed otherwise. A congested destination parks
   * the process that emitted it (spawns and stops are back-pressured like user messages).
   */
  private emit(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    if (this.host.trace !== undefined) this.host.trace(signal, to, from, ref, payload);
    if (this.isLocal(to)) {
      this.signals.push(signal, to, from, ref, payload);
      return;
    }
    const congested = this.host.route(signal, to, from, ref, payload);
    const sender = this.current;
    if (congested !== ROUTE_ACCEPTED && sender !== undefined && sender.state !== SlotState.DEAD) sender.blockedOn = congested;
  }

  /** Forgets an answered io request; false when none waits for this answer. */
  private ioAnswered(from: Pid | undefined, ref: number): boolean {
    const service = from === undefined ? undefined : serviceOfShard(from.shard);
    return service !== undefined && this.ioPending[service]!.delete(ref);
  }

  private isLocal(target: Pid): boolean {
    return target.shard === this.shard && target.node === this.node;
  }

  private addLink(slot: Slot, other: Pid): void {
    (extrasOf(slot).links ??= new Map()).set(pidKey(other), other);
  }

  /** Forgets the outbox, dropping its references so messages can be collected. */
  private discardOutbox(): void {
    const count = this.outCount;
    this.outCount = 0;
    for (let i = 0; i < count; i++) {
      this.outPid[i] = undefined;
      this.outValue[i] = undefined;
      this.outKind[i] = undefined;
    }
  }

  private drainSignals(): void {
    const queue = this.signals;
    while (queue.size > 0) {
      const base = queue.peekBase();
      const signal = queue.signal(base);
      const to = queue.to(base);
      const from = queue.from(base);
      const ref = queue.ref(base);
      const payload = queue.payload(base);
      const kind = queue.kind(base);
      queue.drop();
      if (signal === LOCAL_SPAWN) this.localSpawn(to, kind!, payload, ref === 1 ? from : undefined, from);
      else this.handleSignal(signal as Signal, to, from, ref, payload);
    }
  }

  private localSpawn(pid: Pid, kind: string, args: unknown, link: Pid | undefined, parent: Pid | undefined): void {
    if (this.table.has(pid.serial)) {
      this.host.deadLetter(Signal.SPAWN, pid, parent, spawnRequest(kind, args, link));
      return;
    }
    this.spawnOrReport(pid, kind, args, link, false);
  }

  private handleSignal(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    if (signal === Signal.IO_REPLY && !this.ioAnswered(from, ref)) {
      // Already answered here: its service was replaced (serviceLost).
      this.host.deadLetter(signal, to, from, payload);
      return;
    }
    if (signal === Signal.SPAWN) {
      const request = payload as SpawnRequest;
      if (this.table.has(to.serial)) {
        this.host.deadLetter(signal, to, from, payload);
        return;
      }
      this.spawnOrReport(to, request.kind, request.args, request.link, false);
      const waited = this.spawnWait.arrived(to.serial);
      if (waited !== undefined) for (const held of waited) this.handleSignal(held.signal, held.to, held.from, held.ref, held.payload);
      return;
    }
    const slot = this.table.get(to.serial);
    if (slot === undefined || slot.state === SlotState.DEAD || !this.isLocal(to)) {
      if (slot === undefined && this.isLocal(to) && this.spawnWait.mayArrive(to.serial)) this.holdForSpawn(signal, to, from, ref, payload);
      else this.answerMissing(signal, to, from, ref, payload);
      return;
    }
    switch (signal) {
      case Signal.USER:
        this.enqueue(slot, payload, from, ref);
        break;
      case Signal.EXIT:
        this.exitSignal(slot, from!, payload as ExitReason);
        break;
      case Signal.DOWN:
        if (slot.extras?.monitors?.delete(ref) === true) this.deliverSystem(slot, new Down(ref, from!, payload as ExitReason));
        break;
      case Signal.LINK:
        this.addLink(slot, from!);
        break;
      case Signal.UNLINK:
        slot.extras?.links?.delete(pidKey(from!));
        break;
      case Signal.MONITOR:
        (extrasOf(slot).watchers ??= new Map()).set(ref, from!);
        break;
      case Signal.DEMONITOR:
        slot.extras?.watchers?.delete(ref);
        break;
      case Signal.KILL:
        this.end(slot, payload as ExitReason);
        break;
      case Signal.TIMER_FIRE: {
        // Only timers the process still holds: a cancel that crossed the fire in flight wins.
        const timers = slot.extras?.timers;
        const request = timers?.get(ref);
        if (request === undefined) break;
        if (!request.repeat) timers!.delete(ref);
        else advanceRepeat(request, this.host.now());
        this.deliverSystem(slot, payload);
        break;
      }
      case Signal.IO_REPLY: {
        const reply = payload as IoReply;
        this.enqueue(slot, new IoResult(ref, reply.ok, reply.ok ? reply.value : undefined, reply.ok ? undefined : reply.error), from, 0);
        break;
      }
      default:
        this.host.deadLetter(signal, to, from, payload);
    }
  }

  /**
   * A user message for a pid of this shard not in the table: it waits behind a SPAWN still in the
   * signal queue (a child spawned earlier in the same outbox), or for one on its way from another
   * shard; otherwise it is a dead letter.
   */
  private messageToUnknown(to: Pid, from: Pid | undefined, ref: number, message: unknown): void {
    if (this.signals.size > 0) this.signals.push(Signal.USER, to, from, ref, message);
    else if (this.spawnWait.mayArrive(to.serial)) this.holdForSpawn(Signal.USER, to, from, ref, message);
    else this.host.deadLetter(Signal.USER, to, from, message);
  }

  /** Keeps an envelope until its pid's SPAWN arrives; past the limit it is answered as missing. */
  private holdForSpawn(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    if (this.spawnWait.hold({ signal, to, from, ref, payload }, this.host.now())) return;
    // Full: what already waits for this pid is answered as missing with it (a LINK held while
    // its UNLINK is refused would otherwise link for good), so the pid's envelopes keep their order.
    this.answerAllMissing(this.spawnWait.giveUp(to.serial) ?? []);
    this.answerMissing(signal, to, from, ref, payload);
  }

  /** Envelopes whose SPAWN did not come in time: answered as missing after all. */
  private expireSpawnWaits(): void {
    this.answerAllMissing(this.spawnWait.expire(this.host.now()));
  }

  private answerAllMissing(envelopes: readonly HeldEnvelope[]): void {
    for (const held of envelopes) this.answerMissing(held.signal, held.to, held.from, held.ref, held.payload);
  }

  /** A signal for a process that does not exist: links and monitors learn 'noproc' (answerToMissing). */
  private answerMissing(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    const answer = answerToMissing(signal, to, from, ref, 'noproc');
    if (answer !== undefined) this.emit(answer.signal, answer.to, answer.from, answer.ref, answer.payload);
    else if (isDeadLetterWhenMissing(signal, from)) this.host.deadLetter(signal, to, from, payload);
  }

  private exitSignal(slot: Slot, from: Pid, reason: ExitReason): void {
    const extras = slot.extras;
    extras?.links?.delete(pidKey(from));
    if (reason === 'kill') {
      this.end(slot, 'killed');
      return;
    }
    if (extras !== undefined && extras.trapExits) {
      this.deliverSystem(slot, new Exit(from, reason));
      return;
    }
    // 'normal' from a linked process, or a 'normal' stop request, is ignored; any other reason
    // ends the process, whether it came from a link or from ctx.stop.
    if (reason === 'normal') return;
    this.end(slot, reason);
  }

  private deliverSystem(slot: Slot, message: unknown): void {
    (extrasOf(slot).system ??= []).push(message);
    if (slot.state === SlotState.IDLE) this.schedule(slot);
  }

  /** Ends a process: terminate, then exit signals to links and DOWN to monitors. */
  private end(slot: Slot, reason: ExitReason): void {
    if (slot.state === SlotState.DEAD) return;
    slot.state = SlotState.DEAD;
    const process = slot.process;
    if (process.terminate !== undefined) {
      const previous = this.current;
      this.current = slot;
      this.currentFrom = undefined;
      this.currentRef = 0;
      try {
        process.terminate(reason, this.context);
        if (this.outCount > 0) this.flush(slot);
      } catch (error) {
        this.discardOutbox();
        this.host.crashed(this.pidOf(slot), slot.kind, errorToWire(error));
      }
      // A ctx.exit in terminate changes nothing: the process is ending.
      this.exitRequest = undefined;
      this.current = previous;
    }
    const extras = slot.extras;
    if (extras !== undefined) {
      const self = this.pidOf(slot);
      if (extras.links !== undefined) {
        for (const linked of extras.links.values()) this.emit(Signal.EXIT, linked, self, 0, reason);
      }
      if (extras.watchers !== undefined) {
        for (const [ref, watcher] of extras.watchers) this.emit(Signal.DOWN, watcher, self, ref, reason);
      }
      if (extras.monitors !== undefined) {
        for (const [ref, watched] of extras.monitors) this.emit(Signal.DEMONITOR, watched, self, ref, undefined);
      }
      if (extras.timers !== undefined && extras.timers.size > 0) {
        // Timers die with their process: one cancel for all of them.
        this.emit(Signal.TIMER_CANCEL, this.services[TIMER_SERVICE]!, self, 0, [...extras.timers.keys()]);
        extras.timers = undefined;
      }
      extras.system = undefined;
    }
    this.table.delete(slot.serial);
    mailboxClear(slot);
    if (reason !== 'normal' && reason !== 'shutdown') {
      this.crashedCount++;
      this.host.crashed(this.pidOf(slot), slot.kind, reason);
    }
  }
}

/** The `ctx` given to callbacks: records effects into the shard's outbox for the running slot. */
class ShardContext implements Context {
  constructor(private readonly shard: Shard) {}

  get self(): Pid {
    return this.shard.currentPid;
  }

  get from(): Pid | undefined {
    return this.shard.sender;
  }

  get now(): number {
    return this.shard.clock();
  }

  send<T>(to: Pid<T>, msg: NoInfer<T>): void {
    this.shard.record(Op.SEND, to, msg, 0);
  }

  reply(msg: unknown, token?: ReplyToken): void {
    if (token !== undefined) {
      this.shard.record(Op.SEND, token.to, msg, token.ref);
      return;
    }
    const to = this.shard.sender;
    if (to !== undefined) this.shard.record(Op.SEND, to, msg, this.shard.senderRef);
  }

  replyToken(): ReplyToken | undefined {
    const to = this.shard.sender;
    return to === undefined ? undefined : { to, ref: this.shard.senderRef };
  }

  spawn<T = unknown>(kind: string, args?: unknown, options?: SpawnOptions): Pid<T> {
    const child = this.shard.allocatePid(options?.shard ?? this.shard.shard);
    this.shard.recordSpawn(child, kind, args, options?.link === true);
    return child as Pid<T>;
  }

  link(target: Pid): void {
    this.shard.record(Op.LINK, target, undefined, 0);
  }

  unlink(target: Pid): void {
    this.shard.record(Op.UNLINK, target, undefined, 0);
  }

  monitor(target: Pid): number {
    const ref = this.shard.allocateRef();
    this.shard.record(Op.MONITOR, target, undefined, ref);
    return ref;
  }

  demonitor(ref: number): void {
    this.shard.record(Op.DEMONITOR, undefined, undefined, ref);
  }

  exit(reason: ExitReason = 'normal'): void {
    this.shard.record(Op.EXIT_SELF, undefined, reason, 0);
  }

  stop(target: Pid, reason: ExitReason = 'shutdown'): void {
    this.shard.record(Op.STOP, target, reason, 0);
  }

  trapExits(on: boolean): void {
    this.shard.record(Op.TRAP, undefined, on, 0);
  }

  startTimer(ms: number, msg: unknown, options?: TimerOptions): number {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new HordeError(ErrorCode.INVALID_TIMER, `startTimer: delay must be a finite number of ms >= 0; got ${String(ms)}`);
    }
    const repeat = options?.repeat === true;
    if (repeat && ms === 0) throw new HordeError(ErrorCode.INVALID_TIMER, 'startTimer: a repeating timer needs a delay > 0');
    const ref = this.shard.allocateRef();
    const request: TimerRequest = { dueMs: this.shard.clock() + ms, delayMs: ms, repeat, message: msg };
    this.shard.record(Op.TIMER_START, undefined, request, ref);
    return ref;
  }

  cancelTimer(ref: number): void {
    this.shard.record(Op.TIMER_CANCEL, undefined, undefined, ref);
  }

  io(request: IoRequest): number {
    const ref = this.shard.allocateRef();
    this.shard.record(Op.IO, undefined, request, ref);
    return ref;
  }

  compute(task: string, input: unknown): number {
    return this.io({ op: 'compute', task, input });
  }
}
