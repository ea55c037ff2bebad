/**
 * Shard: one executor's processes, mailboxes and run queue. Pure and single-threaded: it never
 * touches a ring, a clock or a thread. Its host (shard-host.ts: the executor worker, or the
 * testkit) gives it the time, carries what leaves the shard, and hears about crashes and dead
 * letters. The same code runs in production and in deterministic tests.
 *
 * The shard is the composition of:
 *   - scheduler.ts: the run queue, parked processes, and slices cut by the host's CPU clock;
 *   - outbox.ts: the effects a callback records (Shard extends Outbox), carried out by `flush`;
 *   - process-context.ts: the `ctx` a callback records them through;
 *   - signals.ts: what links, monitors and exits do, and what a process's end sends;
 *   - slot.ts, mailbox.ts, process-table.ts: a process's record, its mailbox, the table of them;
 *   - signal-queue.ts, spawn-wait.ts: signals waiting to be handled, envelopes that overtook a SPAWN.
 * What stays here: the host's entry points, a turn (a callback's messages, its budget, its
 * outbox), spawning, and the order in which signals are handled.
 *
 * Turns: signals (exit, down, link, monitor, spawn) wait in one shard-wide queue that is drained
 * before every turn, and a process's system messages (`Exit`, `Down`) are handled before its user
 * messages, so no flood of user messages delays them by more than one turn. A turn spends at most
 * `budget` units: one per message handled and one per effect it recorded.
 *
 * Effects: after a callback returns its outbox is carried out in order (same-shard sends go
 * straight into the target's mailbox by reference; everything else goes to `host.route`). A
 * callback that throws ends its process with the error as the exit reason and its recorded effects
 * are discarded. A message for a pid not (yet) in the table while signals wait goes into the signal
 * queue behind them, so a message sent right after a spawn reaches the child instead of
 * overtaking its queued SPAWN.
 *
 * Processes that nothing has reached since their spawn (no init, no link, no message or signal
 * yet) are dormant: the table keeps their kind and process object, and their Slot is made on the
 * first lookup (a million idle processes cost their own objects and two table entries each).
 *
 * Bounds: a mailbox holds at most `mailboxLimit` messages; the message that finds it full is a dead
 * letter and the process is ended with 'mailbox_overflow' (a supervisor restarts it).
 *
 * Back pressure: `host.route` names a congested destination instead of ROUTE_ACCEPTED; the
 * sending process is then parked by the scheduler until the host calls `resume(destination)`.
 */

import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import { SerialAllocator, pid as makePid, pidKey, type Pid } from '../process/pid.js';
import { DEFAULT_RUNNING_SERVICES, SERVICES, TIMER_SERVICE, absentCode, serviceForOp, serviceOfShard, servicePid } from '../process/services.js';
import { IoResult, type TimerRequest } from '../process/io.js';
import type { Behaviours, ExitReason, Process } from '../process/types.js';
import { mailboxBase, mailboxClear, mailboxDrop, mailboxFrom, mailboxMessage, mailboxPush, mailboxRef } from './mailbox.js';
import { ProcessTable } from './process-table.js';
import { SignalQueue } from './signal-queue.js';
import { SpawnWait, type HeldEnvelope, type SpawnFloors } from './spawn-wait.js';
import { Signal } from '../codec/envelope.js';
import { answerToMissing, isDeadLetterWhenMissing } from '../codec/envelope-header.js';
import { ROUTE_ACCEPTED, spawnRequest, type ShardHost, type SpawnRequest } from './shard-host.js';
import { SlotState, extrasOf, newSlot, type Slot } from './slot.js';
import { ClockChecks, Scheduler, type TurnRunner } from './scheduler.js';
import { Op, Outbox } from './outbox.js';
import { ShardContext, type ContextOwner } from './process-context.js';
import { addLink, applySignal, endSignals, lostShardSignals, type SignalEffects } from './signals.js';
import { CounterSlot } from './protocol.js';

export { ROUTE_ACCEPTED, type ShardHost, type SpawnRequest } from './shard-host.js';
export { ClockChecks } from './scheduler.js';

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
  /** How often turns read the clock (see "Slices" in scheduler.ts). Default ADAPTIVE. */
  clockChecks?: ClockChecks;
  /** Which services run on this node, by index in SERVICES (runningServices). Default: all but the optional ones. */
  runningServices?: readonly boolean[];
}

export const DEFAULT_TURN_BUDGET = 64;
export const DEFAULT_MAILBOX_LIMIT = 1_000_000;

/** The signal queue's code of a spawn on this shard by this shard (never on a wire: see flush). */
const LOCAL_SPAWN = 0;

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

export class Shard extends Outbox implements TurnRunner, ContextOwner, SignalEffects {
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
  private readonly scheduler: Scheduler;
  private readonly signals = new SignalQueue();
  private readonly spawnWait: SpawnWait;
  private readonly context: ShardContext;
  /** This node's service endpoints, in SERVICES order (src/process/services.ts). */
  private readonly services: Pid[];
  /** Io requests sent and not answered yet, per service: ref → requester. */
  private readonly ioPending: Map<number, Pid>[];
  /** Which services run (an optional one may not: its ops are answered here at once). */
  private readonly running: readonly boolean[];

  /** The slot whose callback is running (effects are recorded for it). */
  private current: Slot | undefined;
  private currentFrom: Pid | undefined;
  private currentRef = 0;
  /** Set by ctx.exit while a callback's outbox is carried out: end after it. */
  private exitRequest: ExitReason | undefined;

  private messagesHandled = 0;
  private spawned = 0;
  private crashedCount = 0;

  constructor(host: ShardHost, behaviours: Behaviours, options: ShardOptions) {
    super();
    this.host = host;
    this.kinds = new Map(Object.entries(behaviours).map(([kind, factory]) => [kind, { kind, factory: factory as (args: unknown) => Process<unknown> }]));
    this.node = options.node;
    this.shard = options.shard;
    this.spawnerId = options.spawnerId;
    this.budget = options.budget ?? DEFAULT_TURN_BUDGET;
    this.mailboxLimit = options.mailboxLimit ?? DEFAULT_MAILBOX_LIMIT;
    this.scheduler = new Scheduler(host, options.clockChecks ?? ClockChecks.ADAPTIVE);
    this.serials = new SerialAllocator(options.spawnerId);
    this.refs = new SerialAllocator(options.spawnerId);
    this.spawnWait = new SpawnWait(options.spawnerId, options.spawnFloors);
    this.context = new ShardContext(this, this);
    this.services = SERVICES.map((_, service) => servicePid(this.node, service));
    this.ioPending = SERVICES.map(() => new Map<number, Pid>());
    this.running = options.runningServices ?? DEFAULT_RUNNING_SERVICES;
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
    this.scheduler.runPass(maxTurns, sliceMs, this);
    return this.messagesHandled - before;
  }

  /** When the oldest envelope waiting for a spawn gives up (host.now() time), or Infinity. */
  nextSpawnWaitDeadline(): number {
    return this.spawnWait.size > 0 ? this.spawnWait.nextDeadline() : Number.POSITIVE_INFINITY;
  }

  /** True when a process is ready to run or a signal waits. */
  hasWork(): boolean {
    return this.scheduler.hasWork() || this.signals.size > 0;
  }

  /** The host's congested `destination` has room again: run the processes that waited on it. */
  resume(destination: number): void {
    this.scheduler.resume(destination);
  }

  /**
   * Every process of `shard` (on this node) is gone, such as after an executor crash: links and
   * monitors held here on them fire with `reason`.
   */
  shardLost(shard: number, reason: ExitReason): void {
    for (const slot of this.table.values()) lostShardSignals(this.signals, slot, this.pidOfSlot, this.node, shard, reason);
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

  /** The O(1) figures of stats() (not queuedMessages nor pendingIo), stored into `slots` for the executor's SharedCounters. */
  publishCounters(slots: Float64Array): void {
    slots[CounterSlot.MESSAGES_HANDLED] = this.messagesHandled;
    slots[CounterSlot.SPAWNED] = this.spawned;
    slots[CounterSlot.CRASHED] = this.crashedCount;
    slots[CounterSlot.PROCESSES] = this.table.size;
    slots[CounterSlot.RUN_QUEUE] = this.scheduler.ready;
    slots[CounterSlot.BLOCKED] = this.scheduler.parked;
    slots[CounterSlot.AWAITING_SPAWN] = this.spawnWait.size;
  }

  stats(): ShardStats {
    let queuedMessages = 0;
    for (const slot of this.table.values()) queuedMessages += slot.count;
    return {
      processes: this.table.size,
      runQueue: this.scheduler.ready,
      queuedMessages,
      blockedProcesses: this.scheduler.parked,
      awaitingSpawn: this.spawnWait.size,
      pendingIo: this.ioPending.reduce((sum, pending) => sum + pending.size, 0),
      messagesHandled: this.messagesHandled,
      spawned: this.spawned,
      crashed: this.crashedCount,
    };
  }

  // ---- what the context reads (ContextOwner) ---------------------------------------------------

  /** @internal The running callback's pid. */
  get currentPid(): Pid {
    return this.pidOf(this.current!);
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

  // ---- turns (TurnRunner, called by the scheduler) ----------------------------------------------

  /**
   * @internal One turn of `slot`: its messages until its budget is spent, its mailbox is empty, it
   * is parked or ended, or a clock read finds the pass's slice over. Returns whether it is over.
   */
  runTurn(slot: Slot): boolean {
    const process = slot.process;
    const context = this.context;
    const scheduler = this.scheduler;
    let budget = this.budget;
    const timed = slot.extras !== undefined && slot.extras.timed;
    // The last read was at most a clock interval ago (a few microseconds when messages are cheap).
    const turnStart = scheduler.lastReadMs;
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
      if (scheduler.sliceOver(timed)) {
        outOfTime = true;
        break;
      }
    }
    this.current = undefined;
    if (slot.state === SlotState.DEAD) return false;
    scheduler.turnEnded(slot, timed, turnStart, outOfTime);
    return outOfTime;
  }

  /** @internal After every turn: the signals it queued are handled. */
  afterTurn(): void {
    if (this.signals.size > 0) this.drainSignals();
  }

  // ---- what the signal rules act through (SignalEffects) ----------------------------------------

  /**
   * @internal A user message into `slot`'s mailbox. A mailbox at its limit takes no more: the
   * message is a dead letter and the process is ended with 'mailbox_overflow' (once, from the
   * signal queue, so its terminate never runs inside another process's outbox); links, monitors
   * and supervisors take it from there.
   */
  enqueue(slot: Slot, message: unknown, from: Pid | undefined, ref: number): void {
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
    if (slot.state === SlotState.IDLE) this.scheduler.schedule(slot);
  }

  /** @internal */
  deliverSystem(slot: Slot, message: unknown): void {
    (extrasOf(slot).system ??= []).push(message);
    if (slot.state === SlotState.IDLE) this.scheduler.schedule(slot);
  }

  /**
   * @internal A signal from this shard: queued if local, routed otherwise. A congested destination
   * parks the process that emitted it (spawns and stops are back-pressured like user messages).
   */
  emit(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    if (this.host.trace !== undefined) this.host.trace(signal, to, from, ref, payload);
    if (this.isLocal(to)) {
      this.signals.push(signal, to, from, ref, payload);
      return;
    }
    const congested = this.host.route(signal, to, from, ref, payload);
    const sender = this.current;
    if (congested !== ROUTE_ACCEPTED && sender !== undefined && sender.state !== SlotState.DEAD) sender.blockedOn = congested;
  }

  /** @internal */
  deadLetter(signal: Signal, to: Pid, from: Pid | undefined, payload: unknown): void {
    this.host.deadLetter(signal, to, from, payload);
  }

  /** @internal Ends a process: terminate, then exit signals to links and DOWN to monitors (endSignals). */
  end(slot: Slot, reason: ExitReason): void {
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
    if (slot.extras !== undefined) endSignals(this, slot, this.pidOf(slot), reason, this.services[TIMER_SERVICE]!);
    this.table.delete(slot.serial);
    mailboxClear(slot);
    if (reason !== 'normal' && reason !== 'shutdown') {
      this.crashedCount++;
      this.host.crashed(this.pidOf(slot), slot.kind, reason);
    }
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** A slot's pid, made on first use (an idle process may never need one). */
  private pidOf(slot: Slot): Pid {
    return (slot.self ??= makePid(this.node, this.shard, slot.serial));
  }

  private readonly pidOfSlot = (slot: Slot): Pid => this.pidOf(slot);

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
        if (slot.blockedOn !== ROUTE_ACCEPTED && slot.state !== SlotState.DEAD) this.scheduler.park(slot);
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
    const pids = this.outPids;
    const values = this.outValues;
    const refs = this.outRefs;
    const count = this.outCount;
    for (let i = 0; i < count; i++) {
      const target = pids[i]!;
      switch (ops[i]) {
        case Op.SEND:
          this.send(slot, target, values[i], refs[i]!);
          break;
        case Op.SPAWN: {
          const kind = this.outKinds[i]!;
          this.outKinds[i] = undefined;
          const self = this.pidOf(slot);
          const link = refs[i] === 1;
          if (link) addLink(slot, target);
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
          addLink(slot, target);
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
   * serviceLost); one whose op no service serves, or whose service does not run on this node (an
   * optional one), is answered here at once.
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
    if (this.running[service] !== true) {
      const error = new HordeError(absentCode(service), `io request ${JSON.stringify(op)}: this node runs no ${SERVICES[service]!.name} thread`);
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

  /** Forgets an answered io request; false when none waits for this answer. */
  private ioAnswered(from: Pid | undefined, ref: number): boolean {
    const service = from === undefined ? undefined : serviceOfShard(from.shard);
    return service !== undefined && this.ioPending[service]!.delete(ref);
  }

  private isLocal(target: Pid): boolean {
    return target.shard === this.shard && target.node === this.node;
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

  /** A signal from the queue: a SPAWN, one held for a SPAWN on its way, an answer for a missing process, or the signal rules. */
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
    applySignal(this, slot, signal, to, from, ref, payload);
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
}
