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
 * Effects: `ctx` records into an outbox; after a callback returns the outbox is carried out in
 * order (same-shard sends go straight into the target's mailbox by reference; everything else goes
 * to `host.route`). A callback that throws ends its process with the error as the exit reason and
 * its recorded effects are discarded: nothing leaves a `receive` that did not return. A message for
 * a pid not (yet) in the table while signals wait goes into the signal queue behind them, so a
 * message sent right after a spawn reaches the child instead of overtaking its queued SPAWN.
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
import { FILEIO_SHARD, POLLER_SHARD, SerialAllocator, pid as makePid, pidKey, type Pid } from '../process/pid.js';
import { IoResult, type IoReply, type IoRequest, type TimerOptions, type TimerRequest } from '../process/io.js';
import { Down, Exit, type Behaviours, type Context, type ExitReason, type Process, type ReplyToken, type SpawnOptions } from '../process/types.js';
import { Mailbox } from './mailbox.js';
import { ProcessTable } from './process-table.js';
import { Queue } from './queue.js';
import { Signal } from '../codec/envelope.js';

export interface ShardHost {
  /** Milliseconds, from the runtime's clock (simulated in the testkit). */
  now(): number;
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
  /** Messages a process may handle per turn before the next process runs. Default 64. */
  budget?: number;
  /** Messages a mailbox may hold; past it the process ends with 'mailbox_overflow'. Default 1,000,000. */
  mailboxLimit?: number;
}

/** A spawn request as it travels to the shard that will run the process. */
export interface SpawnRequest {
  kind: string;
  args: unknown;
  /** The parent to link to at creation, if any. */
  link?: Pid;
}

export const DEFAULT_TURN_BUDGET = 64;
/**
 * runTurns looks at the clock after about this many messages (performance.now() costs ~40 ns on
 * the 2-core VM: checking every 4 turns cost a third of the in-shard ping-pong rate).
 */
const DEADLINE_CHECK_MESSAGES = 64;
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
 * One process: its mailbox (a Slot is its own Mailbox, one object less per process: spawning is
 * bound by allocation), its links, monitors, timers and scheduling state.
 */
class Slot extends Mailbox {
  /** Messages ahead of the mailbox: Exit, Down and timer messages. */
  system: unknown[] | undefined;
  /** Pending timers: ref → whether it repeats. */
  timers: Map<number, boolean> | undefined;
  links: Map<string, Pid> | undefined;
  /** Monitors this process holds: ref → watched pid. */
  monitors: Map<number, Pid> | undefined;
  /** Monitors on this process: ref → watcher. */
  watchers: Map<number, Pid> | undefined;
  trapExits = false;
  scheduled = false;
  dead = false;
  /** Congested destination this process waits on (back pressure), or ROUTE_ACCEPTED. */
  blockedOn: number = ROUTE_ACCEPTED;
  /** Its mailbox hit the limit; it is being ended with 'mailbox_overflow'. */
  overflowed = false;
  /** Set by ctx.exit: end after the current callback. */
  exitReason: ExitReason | undefined;

  constructor(
    readonly pid: Pid,
    readonly kind: string,
    readonly process: Process<unknown>,
  ) {
    super();
  }

  hasWork(): boolean {
    return (this.system !== undefined && this.system.length > 0) || this.size > 0;
  }
}

interface QueuedSignal {
  signal: Signal;
  to: Pid;
  from: Pid | undefined;
  ref: number;
  payload: unknown;
}

export interface ShardStats {
  processes: number;
  runQueue: number;
  queuedMessages: number;
  blockedProcesses: number;
  messagesHandled: number;
  spawned: number;
  crashed: number;
}

export class Shard {
  readonly node: number;
  readonly shard: number;
  private readonly host: ShardHost;
  private readonly behaviours: Behaviours;
  private readonly budget: number;
  private readonly mailboxLimit: number;
  private readonly serials: SerialAllocator;
  private readonly refs: SerialAllocator;
  private readonly table = new ProcessTable<Slot>();
  private readonly runQueue = new Queue<Slot>();
  private readonly signals = new Queue<QueuedSignal>();
  private readonly blocked: Slot[] = [];
  private readonly context: ShardContext;
  /** This node's poller and file worker endpoints. */
  private readonly poller: Pid;
  private readonly fileio: Pid;

  /** The slot whose callback is running (effects are recorded for it). */
  private current: Slot | undefined;
  private currentFrom: Pid | undefined;
  private currentRef = 0;
  // The outbox of the running callback, as parallel arrays reused for every callback (no object
  // per effect; `outCount` entries are live). Truncating arrays with `length = 0` per callback
  // cost a third of the in-shard ping-pong time (V8 frees and regrows the backing store).
  private readonly outOps: number[] = [];
  private readonly outPid: (Pid | undefined)[] = [];
  private readonly outValue: unknown[] = [];
  private readonly outRef: number[] = [];
  private outCount = 0;

  private messagesHandled = 0;
  private spawned = 0;
  private crashedCount = 0;

  constructor(host: ShardHost, behaviours: Behaviours, options: ShardOptions) {
    this.host = host;
    this.behaviours = behaviours;
    this.node = options.node;
    this.shard = options.shard;
    this.budget = options.budget ?? DEFAULT_TURN_BUDGET;
    this.mailboxLimit = options.mailboxLimit ?? DEFAULT_MAILBOX_LIMIT;
    this.serials = new SerialAllocator(options.spawnerId);
    this.refs = new SerialAllocator(options.spawnerId);
    this.context = new ShardContext(this);
    this.poller = makePid(this.node, POLLER_SHARD, 0);
    this.fileio = makePid(this.node, FILEIO_SHARD, 0);
  }

  // ---- entry points for the host -------------------------------------------------------------

  /** A new pid on `shard` (default: this one), allocated here without coordination. */
  allocatePid(shard = this.shard): Pid {
    return makePid(this.node, shard, this.serials.next());
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
      this.spawnOrReport(pid, request, true);
    } finally {
      this.drainSignals();
    }
  }

  /** Delivers a user message or signal addressed to a process of this shard. */
  deliver(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    if (signal === Signal.USER) {
      const slot = this.table.get(to.serial);
      if (slot === undefined || slot.dead || to.shard !== this.shard || to.node !== this.node) {
        // Right behind the SPAWN that creates it (still queued)? Then wait behind it.
        if (slot === undefined && this.signals.size > 0 && this.isLocal(to)) this.signals.push({ signal, to, from, ref, payload });
        else this.host.deadLetter(signal, to, from, payload);
        return;
      }
      this.enqueue(slot, payload, from, ref);
      return;
    }
    this.signals.push({ signal, to, from, ref, payload });
  }

  /**
   * Runs up to `maxTurns` process turns, stopping early once `deadline` (performance.now() ms,
   * checked every DEADLINE_CHECK_MESSAGES messages) has passed, so the caller gets back to its rings
   * even when turns are long. Returns the messages handled.
   */
  runTurns(maxTurns: number, deadline = Number.POSITIVE_INFINITY): number {
    const before = this.messagesHandled;
    let nextCheck = before + DEADLINE_CHECK_MESSAGES;
    this.drainSignals();
    for (let turn = 0; turn < maxTurns; turn++) {
      if (this.messagesHandled >= nextCheck) {
        if (performance.now() > deadline) break;
        nextCheck = this.messagesHandled + DEADLINE_CHECK_MESSAGES;
      }
      const slot = this.runQueue.shift();
      if (slot === undefined) break;
      if (slot.dead) continue;
      if (slot.blockedOn !== ROUTE_ACCEPTED) {
        this.blocked.push(slot);
        continue;
      }
      this.runTurn(slot);
      if (this.signals.size > 0) this.drainSignals();
    }
    return this.messagesHandled - before;
  }

  /** True when a process is ready to run or a signal waits. */
  hasWork(): boolean {
    return this.runQueue.size > 0 || this.signals.size > 0;
  }

  /** The host's congested `destination` has room again: run the processes that waited on it. */
  resume(destination: number): void {
    let kept = 0;
    for (const slot of this.blocked) {
      if (slot.blockedOn === destination) {
        slot.blockedOn = ROUTE_ACCEPTED;
        if (!slot.dead) this.runQueue.push(slot);
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
      if (slot.links !== undefined) {
        for (const linked of slot.links.values()) {
          if (linked.node === this.node && linked.shard === shard) {
            this.signals.push({ signal: Signal.EXIT, to: slot.pid, from: linked, ref: 0, payload: reason });
          }
        }
      }
      if (slot.monitors !== undefined) {
        for (const [ref, watched] of slot.monitors) {
          if (watched.node === this.node && watched.shard === shard) {
            this.signals.push({ signal: Signal.DOWN, to: slot.pid, from: watched, ref, payload: reason });
          }
        }
      }
    }
    this.drainSignals();
  }

  /** Ends every process (terminate runs, links and monitors fire) with `reason`. */
  stopAll(reason: ExitReason): void {
    for (const slot of [...this.table.values()]) this.end(slot, reason);
    this.drainSignals();
  }

  has(target: Pid): boolean {
    const slot = this.table.get(target.serial);
    return slot !== undefined && !slot.dead;
  }

  kindOf(target: Pid): string | undefined {
    return this.table.get(target.serial)?.kind;
  }

  stats(): ShardStats {
    let queuedMessages = 0;
    for (const slot of this.table.values()) queuedMessages += slot.size;
    return {
      processes: this.table.size,
      runQueue: this.runQueue.size,
      queuedMessages,
      blockedProcesses: this.blocked.length,
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

  /** @internal */
  get currentSlot(): Slot | undefined {
    return this.current;
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
    if (slot.size >= this.mailboxLimit) {
      this.host.deadLetter(Signal.USER, slot.pid, from, message);
      if (!slot.overflowed) {
        slot.overflowed = true;
        this.signals.push({ signal: Signal.KILL, to: slot.pid, from: undefined, ref: 0, payload: 'mailbox_overflow' });
      }
      return;
    }
    slot.push(message, from, ref);
    if (!slot.scheduled) this.schedule(slot);
  }

  private schedule(slot: Slot): void {
    slot.scheduled = true;
    this.runQueue.push(slot);
  }

  private runTurn(slot: Slot): void {
    const process = slot.process;
    const context = this.context;
    const mailbox: Mailbox = slot;
    let budget = this.budget;
    this.current = slot;
    if (this.host.turnStarted !== undefined) this.host.turnStarted(slot.pid, slot.kind);
    while (budget > 0 && !slot.dead) {
      let message: unknown;
      if (slot.system !== undefined && slot.system.length > 0) {
        message = slot.system.shift();
        this.currentFrom = undefined;
        this.currentRef = 0;
      } else if (mailbox.size > 0) {
        const base = mailbox.peekBase();
        message = mailbox.message(base);
        this.currentFrom = mailbox.from(base);
        this.currentRef = mailbox.ref(base);
        mailbox.drop();
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
        return;
      }
      // Every effect (a send, a spawn, a signal) costs one unit of the turn's budget too, like the
      // BEAM's reductions: a process that sends a lot, or sends itself a message to continue,
      // yields to the others instead of keeping the turn.
      budget -= this.outCount;
      if (this.outCount > 0 && !this.flushOrEnd(slot)) {
        this.current = undefined;
        return;
      }
      if (slot.exitReason !== undefined) {
        this.current = undefined;
        this.end(slot, slot.exitReason);
        return;
      }
      if (slot.blockedOn !== ROUTE_ACCEPTED) break;
    }
    this.current = undefined;
    if (slot.dead) return;
    if (slot.blockedOn !== ROUTE_ACCEPTED) this.blocked.push(slot);
    else if (slot.hasWork()) this.runQueue.push(slot);
    else slot.scheduled = false;
  }

  private spawnOrReport(pid: Pid, request: SpawnRequest, throwOnFailure: boolean): void {
    const factory = this.behaviours[request.kind] as ((args: unknown) => Process<unknown>) | undefined;
    let process: Process<unknown>;
    try {
      if (factory === undefined) {
        throw new HordeError(ErrorCode.UNKNOWN_KIND, `unknown process kind "${request.kind}"`);
      }
      process = factory(request.args);
    } catch (error) {
      const reason = errorToWire(error);
      if (request.link !== undefined) this.emit(Signal.EXIT, request.link, pid, 0, reason);
      if (throwOnFailure) throw error;
      this.host.crashed(pid, request.kind, reason);
      return;
    }
    const slot = new Slot(pid, request.kind, process);
    this.table.set(pid.serial, slot);
    this.spawned++;
    if (request.link !== undefined) {
      slot.links = new Map([[pidKey(request.link), request.link]]);
    }
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
      if (this.outCount > 0 && !this.flushOrEnd(slot)) return;
      if (slot.exitReason !== undefined) this.end(slot, slot.exitReason);
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
    const self = slot.pid;
    for (let i = 0; i < count; i++) {
      const target = pids[i]!;
      switch (ops[i]) {
        case Op.SEND:
          this.send(slot, target, values[i], refs[i]!);
          break;
        case Op.SPAWN: {
          const request = values[i] as SpawnRequest;
          if (request.link !== undefined) this.addLink(slot, target);
          // Even a local child starts from the signal queue, after this flush: its init must not
          // run inside another process's outbox.
          this.emit(Signal.SPAWN, target, self, 0, request);
          break;
        }
        case Op.LINK:
          this.addLink(slot, target);
          this.emit(Signal.LINK, target, self, 0, undefined);
          break;
        case Op.UNLINK:
          slot.links?.delete(pidKey(target));
          this.emit(Signal.UNLINK, target, self, 0, undefined);
          break;
        case Op.MONITOR:
          (slot.monitors ??= new Map()).set(refs[i]!, target);
          this.emit(Signal.MONITOR, target, self, refs[i]!, undefined);
          break;
        case Op.DEMONITOR: {
          const watched = slot.monitors?.get(refs[i]!);
          if (watched !== undefined) {
            slot.monitors!.delete(refs[i]!);
            this.emit(Signal.DEMONITOR, watched, self, refs[i]!, undefined);
          }
          break;
        }
        case Op.EXIT_SELF:
          slot.exitReason = values[i] as ExitReason;
          break;
        case Op.STOP:
          this.emit(Signal.EXIT, target, self, 0, values[i]);
          break;
        case Op.TRAP:
          slot.trapExits = values[i] === true;
          break;
        case Op.TIMER_START: {
          const request = values[i] as TimerRequest;
          (slot.timers ??= new Map()).set(refs[i]!, request.repeat);
          this.emit(Signal.TIMER, this.poller, self, refs[i]!, request);
          break;
        }
        case Op.TIMER_CANCEL:
          if (slot.timers?.delete(refs[i]!) === true) this.emit(Signal.TIMER_CANCEL, this.poller, self, refs[i]!, undefined);
          break;
        case Op.IO:
          this.emit(Signal.IO, this.fileio, self, refs[i]!, values[i]);
          break;
      }
    }
    this.discardOutbox();
  }

  private send(slot: Slot, to: Pid, message: unknown, ref: number): void {
    const host = this.host;
    if (host.trace !== undefined) host.trace(Signal.USER, to, slot.pid, ref, message);
    if (to.shard === this.shard && to.node === this.node) {
      const target = this.table.get(to.serial);
      if (target === undefined || target.dead) {
        // A child spawned earlier in this outbox starts from the signal queue: wait behind it.
        if (target === undefined && this.signals.size > 0) this.signals.push({ signal: Signal.USER, to, from: slot.pid, ref, payload: message });
        else host.deadLetter(Signal.USER, to, slot.pid, message);
        return;
      }
      this.enqueue(target, message, slot.pid, ref);
      return;
    }
    const congested = host.route(Signal.USER, to, slot.pid, ref, message);
    if (congested !== ROUTE_ACCEPTED) slot.blockedOn = congested;
  }

  /**
   * A signal from this shard: queued if local, routed otherwise. A congested destination parks
   * the process that emitted it (spawns and stops are back-pressured like user messages).
   */
  private emit(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    if (this.host.trace !== undefined) this.host.trace(signal, to, from, ref, payload);
    if (this.isLocal(to)) {
      this.signals.push({ signal, to, from, ref, payload });
      return;
    }
    const congested = this.host.route(signal, to, from, ref, payload);
    const sender = this.current;
    if (congested !== ROUTE_ACCEPTED && sender !== undefined && !sender.dead) sender.blockedOn = congested;
  }

  private isLocal(target: Pid): boolean {
    return target.shard === this.shard && target.node === this.node;
  }

  private addLink(slot: Slot, other: Pid): void {
    (slot.links ??= new Map()).set(pidKey(other), other);
  }

  /** Forgets the outbox, dropping its references so messages can be collected. */
  private discardOutbox(): void {
    const count = this.outCount;
    this.outCount = 0;
    for (let i = 0; i < count; i++) {
      this.outPid[i] = undefined;
      this.outValue[i] = undefined;
    }
  }

  private drainSignals(): void {
    const queue = this.signals;
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) this.handleSignal(item);
  }

  private handleSignal({ signal, to, from, ref, payload }: QueuedSignal): void {
    if (signal === Signal.SPAWN) {
      const request = payload as SpawnRequest;
      if (this.table.has(to.serial)) {
        this.host.deadLetter(signal, to, from, payload);
        return;
      }
      this.spawnOrReport(to, request, false);
      return;
    }
    const slot = this.table.get(to.serial);
    if (slot === undefined || slot.dead || !this.isLocal(to)) {
      this.answerMissing(signal, to, from, ref, payload);
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
        if (slot.monitors?.delete(ref) === true) this.deliverSystem(slot, new Down(ref, from!, payload as ExitReason));
        break;
      case Signal.LINK:
        this.addLink(slot, from!);
        break;
      case Signal.UNLINK:
        slot.links?.delete(pidKey(from!));
        break;
      case Signal.MONITOR:
        (slot.watchers ??= new Map()).set(ref, from!);
        break;
      case Signal.DEMONITOR:
        slot.watchers?.delete(ref);
        break;
      case Signal.KILL:
        this.end(slot, payload as ExitReason);
        break;
      case Signal.TIMER_FIRE: {
        // Only timers the process still holds: a cancel that crossed the fire in flight wins.
        const repeat = slot.timers?.get(ref);
        if (repeat === undefined) break;
        if (!repeat) slot.timers!.delete(ref);
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

  /** A signal for a process that does not exist: links and monitors learn 'noproc'. */
  private answerMissing(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    if (from !== undefined && signal === Signal.LINK) this.emit(Signal.EXIT, from, to, 0, 'noproc');
    else if (from !== undefined && signal === Signal.MONITOR) this.emit(Signal.DOWN, from, to, ref, 'noproc');
    else if (signal !== Signal.EXIT && signal !== Signal.DOWN && signal !== Signal.UNLINK && signal !== Signal.DEMONITOR) {
      this.host.deadLetter(signal, to, from, payload);
    }
  }

  private exitSignal(slot: Slot, from: Pid, reason: ExitReason): void {
    slot.links?.delete(pidKey(from));
    if (reason === 'kill') {
      this.end(slot, 'killed');
      return;
    }
    if (slot.trapExits) {
      this.deliverSystem(slot, new Exit(from, reason));
      return;
    }
    // 'normal' from a linked process, or a 'normal' stop request, is ignored; any other reason
    // ends the process, whether it came from a link or from ctx.stop.
    if (reason === 'normal') return;
    this.end(slot, reason);
  }

  private deliverSystem(slot: Slot, message: unknown): void {
    (slot.system ??= []).push(message);
    if (!slot.scheduled) this.schedule(slot);
  }

  /** Ends a process: terminate, then exit signals to links and DOWN to monitors. */
  private end(slot: Slot, reason: ExitReason): void {
    if (slot.dead) return;
    slot.dead = true;
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
        this.host.crashed(slot.pid, slot.kind, errorToWire(error));
      }
      this.current = previous;
    }
    const self = slot.pid;
    if (slot.links !== undefined) {
      for (const linked of slot.links.values()) this.emit(Signal.EXIT, linked, self, 0, reason);
    }
    if (slot.watchers !== undefined) {
      for (const [ref, watcher] of slot.watchers) this.emit(Signal.DOWN, watcher, self, ref, reason);
    }
    if (slot.monitors !== undefined) {
      for (const [ref, watched] of slot.monitors) this.emit(Signal.DEMONITOR, watched, self, ref, undefined);
    }
    if (slot.timers !== undefined && slot.timers.size > 0) {
      // Timers die with their process: one cancel for all of them.
      this.emit(Signal.TIMER_CANCEL, this.poller, self, 0, [...slot.timers.keys()]);
      slot.timers = undefined;
    }
    this.table.delete(self.serial);
    slot.clear();
    slot.system = undefined;
    if (reason !== 'normal' && reason !== 'shutdown') {
      this.crashedCount++;
      this.host.crashed(self, slot.kind, reason);
    }
  }
}

/** The `ctx` given to callbacks: records effects into the shard's outbox for the running slot. */
class ShardContext implements Context {
  constructor(private readonly shard: Shard) {}

  get self(): Pid {
    return this.shard.currentSlot!.pid;
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
    const request: SpawnRequest = { kind, args };
    if (options?.link === true) request.link = this.self;
    this.shard.record(Op.SPAWN, child, request, 0);
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
