/**
 * TestKit: the same process code, on one thread, deterministically.
 *
 * It runs real `Shard`s (the executor's own scheduling, link, monitor and exit code) of one node
 * (`nodeId`, default 0) with a simulated clock and a simulated channel between every pair of
 * (node, shard) endpoints. Each step a seeded generator chooses what happens next: one process
 * turn on some shard with work, the delivery of the oldest envelope on some channel (channels stay
 * FIFO per pair, as rings are), or moving a channel's overflow back into it. Same seed, same
 * behaviours, same calls: same run, envelope for envelope; `traceHash()` sums it up.
 *
 * Channels are rings with a capacity (`channelCapacity` envelopes) and production's overflow
 * (src/participant/outbound.ts): an envelope that finds its channel full waits in the channel's
 * overflow (at most `overflowLimit`; past it, a dead letter), and `route` names the channel as
 * congested, so the sending process is parked, exactly as an executor parks it on a full ring. The
 * overflow moves back once the channel has room for it plus headroom (RESUME_HEADROOM of the
 * capacity, at most RESUME_MAX of it), and then the senders parked on it resume. A probe's send
 * into a full channel and full overflow throws HORDE_OVERLOADED, as node.send does.
 *
 * Tests talk to processes through probes: pids on the main-thread shard whose messages collect in
 * `probe.messages`; `ask` sends from a fresh probe and runs until the answer arrives.
 *
 * Service threads are simulated too: the poller is the production TimerWheel driven by `advance`,
 * and every io request is answered by `options.io`. `crashService(name)` loses one as a node does
 * when the thread dies: what is on its channels is gone, and each shard is told (Shard.serviceLost).
 */

import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import type { IoReply, IoRequest, TimerRequest } from '../process/io.js';
import { TimerWheel, type TimerId } from '../poller/wheel.js';
import { MAIN_SHARD, MAIN_SPAWNER, SerialAllocator, pid as makePid, type Pid } from '../process/pid.js';
import { TIMER_SERVICE, serviceNamed, serviceOfShard, servicePid, serviceShard, type ServiceName } from '../process/services.js';
import { withBuiltins } from '../process/builtins.js';
import type { Behaviours, ExitReason, SpawnOptions } from '../process/types.js';
import { ROUTE_ACCEPTED, Shard, type ShardHost } from '../executor/shard.js';
import type { SpawnFloors } from '../executor/spawn-wait.js';
import { NODE_BLOCK_BASE } from '../executor/shard-host.js';
import { Signal } from '../codec/envelope.js';
import { answerToMissing, isDeadLetterWhenMissing } from '../codec/envelope-header.js';
import { Queue } from '../internal/queue.js';
import { TraceHash } from './sim/trace.js';

/**
 * Envelopes a channel holds by default: production's default ring (1 MiB) holds about this many
 * small envelopes (64 bytes each, header and a short payload).
 */
export const DEFAULT_CHANNEL_CAPACITY = 16_384;
/** Envelopes a channel's overflow holds by default: production's default `overflowLimit`. */
export const DEFAULT_OVERFLOW_LIMIT = 65_536;
/** Entries each of a kit's records (envelopes, crashes, dead letters) keeps by default. */
export const DEFAULT_RECORD_LIMIT = 1_000_000;
/** Free room (a share of the capacity) a congested channel needs beyond its overflow to resume (as outbound.ts). */
const RESUME_HEADROOM = 1 / 8;
/** The most room resumption waits for (as outbound.ts). */
const RESUME_MAX = 1 / 4;

/** Options of `new TestKit`; only `behaviours` is required. */
export interface TestKitOptions {
  /** The process kinds the kit can spawn: a `defineBehaviours` result, as a behaviour module exports it. */
  behaviours: Behaviours;
  /** Number of simulated executors. Default 2. */
  shards?: number;
  /** Seed of the scheduling choices. Default 1. */
  seed?: number;
  /** Units a process turn may spend (the shard budget, as the node option `budget`). Default as in production. */
  budget?: number;
  /** Messages a mailbox may hold. Default as in production. */
  mailboxLimit?: number;
  /**
   * Answers `ctx.io` / `ctx.compute` requests, deterministically: at once, or with a promise (the
   * answer joins the channel back when it settles; a SimCluster serves a node's requests so, with
   * the real file worker code over a SimDisk). Default: every request fails with
   * HORDE_NO_DATA_DIR, as on a node without a data directory.
   */
  io?: (request: IoRequest) => IoReply | Promise<IoReply>;
  /** Simulated start time in ms. Default 0. */
  startMs?: number;
  /** The node the kit's shards and probes belong to (the `node` of their pids). Default 0. */
  nodeId?: number;
  /**
   * Envelopes a channel (the ring from one shard to another) holds before it is congested. Default
   * DEFAULT_CHANNEL_CAPACITY, about what production's default ring holds.
   */
  channelCapacity?: number;
  /** Envelopes a congested channel's overflow holds before it refuses more (dead letters). Default as production's `overflowLimit`. */
  overflowLimit?: number;
  /**
   * Entries each of `envelopes`, `crashes` and `deadLetters` keeps (at least 2). Past it the
   * oldest half is dropped (counted in `recordsDropped`), so a long run's memory stays bounded.
   * Default 1,000,000.
   */
  recordLimit?: number;
  /**
   * The generator of the scheduling choices, instead of one seeded with `seed` (a SimCluster
   * passes its run's, so one generator decides everything).
   */
  random?: () => number;
  /**
   * Takes the envelopes for pids of other nodes once they leave their channel (a SimCluster hands
   * them to the node's cluster server). Default: none, and links and monitors to other nodes
   * learn 'noconnection', as on a standalone node.
   */
  remote?: (envelope: RemoteEnvelope) => void;
  /** Called when an answer of an asynchronous `io` has joined its channel (a SimCluster wakes the node). */
  ioAnswered?: () => void;
  /**
   * Called when the channels from the main thread to the shards drained after one of them was
   * congested (`mainCongested()`): the moment production's endpoint reports its rings drained
   * to the cluster server, which then reads its peers' streams again.
   */
  mainDrained?: () => void;
  /**
   * Takes the envelopes for main-thread pids that are not probes (a SimCluster's main-thread
   * participant, the one HordeNode runs). Default: they are dead letters.
   */
  main?: (envelope: RemoteEnvelope) => void;
}

/** An envelope for a pid of another node, as `TestKitOptions.remote` receives it. */
export interface RemoteEnvelope {
  /** Signal.USER for a message, else the signal. */
  signal: Signal;
  /** The destination, on another node. */
  to: Pid;
  /** The sender; undefined for a message sent from nobody. */
  from: Pid | undefined;
  /** The reference that pairs it with its answer; 0 when none. */
  ref: number;
  /** The message, or the signal's data. */
  payload: unknown;
}

/** An envelope that left a process or a probe: an entry of `kit.envelopes`. */
export interface TracedEnvelope {
  /** Steps the kit had taken when it was sent. */
  step: number;
  /** What it carries: Signal.USER for a message, else a link, monitor, exit, timer or io signal. */
  signal: Signal;
  /** The destination. */
  to: Pid;
  /** The sender; undefined for a message sent from nobody. */
  from: Pid | undefined;
  /** The reference that pairs it with its answer (an ask, a monitor, a timer, an io request); 0 when none. */
  ref: number;
  /** The message, or the signal's data (an exit reason, a timer request, ...). */
  payload: unknown;
}

/** What one channel holds: an entry of `kit.channelSizes()`. */
export interface ChannelSize {
  /** Envelopes in the channel (at most `channelCapacity`), waiting for delivery. */
  ring: number;
  /** Envelopes in its overflow (the channel was full), waiting to move back into it. */
  overflow: number;
}

/** A message or signal that reached a probe. */
export interface ProbeMessage {
  /** Signal.USER for a message (a reply, too), Signal.DOWN for a monitor's notice, ... */
  signal: Signal;
  /** The sender; undefined for a message sent from nobody. */
  from: Pid | undefined;
  /** The reference it answers (an ask's, a monitor's); 0 when none. */
  ref: number;
  /** The message, or the signal's data (a DOWN's exit reason, ...). */
  payload: unknown;
}

/** A test endpoint made by `kit.probe()`: a pid processes can send to, and what arrived there. */
export interface Probe {
  /** The probe's address, on the main-thread shard. */
  readonly pid: Pid;
  /** Everything delivered to it, in arrival order. */
  readonly messages: ProbeMessage[];
}

/** A process that ended with a reason other than 'normal' or 'shutdown'. */
export interface Crash {
  /** The process. */
  pid: Pid;
  /** Its kind, as spawned. */
  kind: string;
  /** Its exit reason (an error record when `receive` threw). */
  reason: ExitReason;
}

interface InFlight {
  signal: Signal;
  to: Pid;
  from: Pid | undefined;
  ref: number;
  payload: unknown;
}

/** The ring from one (node, shard) to another, and its overflow. */
interface Channel {
  /** What a sender parked on it waits for (Shard.resume). */
  readonly id: number;
  readonly fromNode: number;
  readonly fromShard: number;
  readonly toNode: number;
  readonly toShard: number;
  readonly ring: Queue<InFlight>;
  readonly overflow: Queue<InFlight>;
}

/** What sending into a channel did (as outbound.ts's SendResult). */
const Sent = { WRITTEN: 0, QUEUED: 1, REFUSED: 2 } as const;
type Sent = (typeof Sent)[keyof typeof Sent];

/**
 * Runs process code on one thread, deterministically: real shards (the executors' scheduling,
 * links, monitors, exits), a simulated clock, and channels between shards whose interleaving a
 * seeded generator chooses. Same seed, same behaviours, same calls: same run, envelope for envelope.
 */
export class TestKit {
  /**
   * The simulated executors' shards, by shard number: internals, for horde's own white-box tests.
   * @internal
   */
  readonly shards: Shard[];
  /** The envelopes that left a process or a probe, in the order they were sent (the latest `recordLimit`, see `recordsDropped`). */
  readonly envelopes: TracedEnvelope[] = [];
  /** The process crashes, in order (the latest `recordLimit`). */
  readonly crashes: Crash[] = [];
  /** Envelopes that reached no one (no such process or probe), in order (the latest `recordLimit`). */
  readonly deadLetters: Omit<TracedEnvelope, 'step'>[] = [];
  /** Entries dropped from `envelopes`, `crashes` and `deadLetters` to keep each within `recordLimit` (oldest first). */
  recordsDropped = 0;
  private readonly recordLimit: number;
  /** The node of the kit's pids (option `nodeId`). */
  readonly nodeId: number;
  private readonly random: () => number;
  private readonly channels = new Map<string, Channel>();
  /** The channels in the order they were made (the order `step` offers them in). */
  private readonly channelList: Channel[] = [];
  /** Scratch of `step`: the choices it draws from. */
  private readonly choices: number[] = [];
  /** The channels by route number (see `channel`). */
  private readonly routes = new Map<number, Channel>();
  private readonly channelCapacity: number;
  private readonly overflowLimit: number;
  private readonly probes = new Map<number, Probe>();
  private readonly mainSerials = new SerialAllocator(MAIN_SPAWNER);
  /** The kit's own main-thread pid: exit signals from `stop` come from it, as node.exit's come from the node's. */
  readonly self: Pid;
  /** The running hash of what happened (see traceHash). */
  private readonly trace = new TraceHash();
  private readonly behaviours: Behaviours;
  private readonly limits: { budget?: number; mailboxLimit?: number };
  private clockMs: number;
  private wheel: TimerWheel<{ owner: Pid; ref: number; message: unknown; repeat: boolean }>;
  private readonly timerIds = new Map<number, TimerId>();
  private readonly io: (request: IoRequest) => IoReply | Promise<IoReply>;
  private readonly remote: ((envelope: RemoteEnvelope) => void) | undefined;
  private readonly ioAnswered: (() => void) | undefined;
  private readonly mainDrained: (() => void) | undefined;
  private readonly main: ((envelope: RemoteEnvelope) => void) | undefined;
  /** Other nodes the cluster server reports congested: their senders are parked (node-pressure.ts). */
  private readonly congestedNodes = new Set<number>();
  /** The cluster server stopped reading the channels to other nodes (its pauseRings). */
  private remotePaused = false;
  private steps = 0;
  private nextShard = 0;
  private nextSpawnerId = 1;

  /** Throws HORDE_INVALID_OPTION when `shards`, `nodeId`, `channelCapacity`, `overflowLimit` or `recordLimit` is not a valid integer. */
  constructor(options: TestKitOptions) {
    const count = options.shards ?? 2;
    if (!Number.isInteger(count) || count < 1) throw new HordeError(ErrorCode.INVALID_OPTION, 'option "shards" must be a positive integer');
    this.nodeId = positiveInteger('nodeId', options.nodeId ?? 0, 0);
    this.channelCapacity = positiveInteger('channelCapacity', options.channelCapacity ?? DEFAULT_CHANNEL_CAPACITY, 1);
    this.overflowLimit = positiveInteger('overflowLimit', options.overflowLimit ?? DEFAULT_OVERFLOW_LIMIT, 1);
    this.recordLimit = positiveInteger('recordLimit', options.recordLimit ?? DEFAULT_RECORD_LIMIT, 2);
    this.self = makePid(this.nodeId, MAIN_SHARD, this.mainSerials.next());
    this.random = options.random ?? mulberry32(options.seed ?? 1);
    this.remote = options.remote;
    this.ioAnswered = options.ioAnswered;
    this.mainDrained = options.mainDrained;
    this.main = options.main;
    this.clockMs = options.startMs ?? 0;
    this.wheel = new TimerWheel({ startMs: this.clockMs });
    this.io = options.io ?? noDataDir;
    this.behaviours = withBuiltins(options.behaviours);
    this.limits = {};
    if (options.budget !== undefined) this.limits.budget = options.budget;
    if (options.mailboxLimit !== undefined) this.limits.mailboxLimit = options.mailboxLimit;
    this.shards = Array.from({ length: count }, (_, shard) => this.newShard(shard));
  }

  /** Simulated time in ms. */
  get now(): number {
    return this.clockMs;
  }

  /**
   * Moves the simulated clock forward (it never goes back) and fires the timers that came due, in
   * order, as the poller would: each becomes a TIMER_FIRE on the channel to its owner's shard.
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new HordeError(ErrorCode.INVALID_OPTION, 'advance(ms) needs ms >= 0');
    this.clockMs += ms;
    this.wheel.advance(this.clockMs, (timer) => {
      if (!timer.repeat) this.timerIds.delete(timer.ref);
      this.fromService(serviceShard(TIMER_SERVICE), { signal: Signal.TIMER_FIRE, to: timer.owner, from: servicePid(this.nodeId, TIMER_SERVICE), ref: timer.ref, payload: timer.message });
    });
  }

  /** When the next pending timer is due (simulated ms), or undefined when none is pending. */
  nextTimerDueMs(): number | undefined {
    return this.wheel.nextDue();
  }

  /**
   * Hands the kit an envelope that came from another node (its cluster server): it joins the
   * channel from the main thread to its shard, as the main thread writes it into an executor's
   * ring. False when that channel and its overflow are full (the envelope is a dead letter).
   * @internal
   */
  fromCluster(envelope: RemoteEnvelope): boolean {
    if (this.write(this.channel(MAIN_SHARD, envelope.to), envelope) !== Sent.REFUSED) return true;
    this.record(this.deadLetters, envelope);
    return false;
  }

  /**
   * Whether a channel from the main thread to a shard of this node is congested (its overflow
   * holds envelopes): what a cluster server asks before reading more from its peers.
   * @internal
   */
  mainCongested(): boolean {
    for (const channel of this.channels.values()) {
      if (channel.fromShard === MAIN_SHARD && channel.toNode === this.nodeId && channel.overflow.size > 0) return true;
    }
    return false;
  }

  /**
   * An envelope the main thread's own participant sends: it joins the channel from the main
   * thread to its shard. False when that channel and its overflow are full.
   * @internal
   */
  fromMain(envelope: RemoteEnvelope): boolean {
    if (this.write(this.channel(MAIN_SHARD, envelope.to), envelope) === Sent.REFUSED) return false;
    this.record(this.envelopes, { step: this.steps, ...envelope });
    return true;
  }

  /** Whether the cluster server holds back the senders to `node` (see setNodeCongested). @internal */
  isNodeCongested(node: number): boolean {
    return this.congestedNodes.has(node);
  }

  /**
   * The cluster server's back pressure on the senders to `node` (production's NodePressure bit):
   * while set, a process whose envelope for that node was accepted is parked after its send, as
   * an executor parks it; clearing it resumes them.
   * @internal
   */
  setNodeCongested(node: number, congested: boolean): void {
    if (congested === this.congestedNodes.has(node)) return;
    this.trace.code(0x6e);
    this.trace.code(node);
    this.trace.code(congested ? 1 : 0);
    this.trace.end();
    if (congested) {
      this.congestedNodes.add(node);
      return;
    }
    this.congestedNodes.delete(node);
    for (const shard of this.shards) shard.resume(NODE_BLOCK_BASE + node);
  }

  /**
   * Stops (or starts again) the delivery of the channels to other nodes: the cluster server no
   * longer reads the rings that feed it (its pauseRings and resumeRings).
   * @internal
   */
  pauseRemote(paused: boolean): void {
    if (paused === this.remotePaused) return;
    this.trace.code(0x70);
    this.trace.code(paused ? 1 : 0);
    this.trace.end();
    this.remotePaused = paused;
  }

  /** Timers pending in the simulated poller. */
  get pendingTimers(): number {
    return this.wheel.size;
  }

  /** Starts a process at once (round-robin over shards unless `options.shard`); throws like node.spawn. */
  spawn<T = unknown>(kind: string, args?: unknown, options: SpawnOptions = {}): Pid<T> {
    const shard = options.shard ?? this.nextShard++ % this.shards.length;
    const target = this.shardAt(shard);
    const child = target.allocatePid();
    target.spawn(child, { kind, args });
    return child as Pid<T>;
  }

  /** A test endpoint that collects whatever is sent to it. */
  probe(): Probe {
    const probe: Probe = { pid: makePid(this.nodeId, MAIN_SHARD, this.mainSerials.next()), messages: [] };
    this.probes.set(probe.pid.serial, probe);
    return probe;
  }

  /**
   * Sends `msg` to `to` from `from` (a probe, or nobody). Delivered as the run proceeds. Throws
   * HORDE_OVERLOADED when the channel and its overflow are full, as node.send does.
   */
  send<T>(to: Pid<T>, msg: NoInfer<T>, from?: Probe, ref = 0): void {
    this.post(Signal.USER, to, from?.pid, ref, msg);
  }

  /** Watches `target` from `probe`: a DOWN arrives in `probe.messages` when it ends. */
  monitor(probe: Probe, target: Pid): number {
    const ref = this.mainSerials.next();
    this.post(Signal.MONITOR, target, probe.pid, ref, undefined);
    return ref;
  }

  /** Sends an exit signal from `self`, as ctx.stop does ('kill' cannot be trapped). */
  stop(target: Pid, reason: ExitReason = 'shutdown'): void {
    this.post(Signal.EXIT, target, this.self, 0, reason);
  }

  /** Sends `msg` from a fresh probe and runs until the reply arrives. */
  ask<R = unknown>(to: Pid, msg: unknown, maxSteps = 1_000_000): R {
    const probe = this.probe();
    const ref = this.mainSerials.next();
    this.post(Signal.USER, to, probe.pid, ref, msg);
    this.runUntil(() => probe.messages.some((m) => m.ref === ref), maxSteps);
    const answer = probe.messages.find((m) => m.ref === ref);
    if (answer === undefined) throw new HordeError(ErrorCode.TIMEOUT, `no reply within ${maxSteps} steps`);
    return answer.payload as R;
  }

  /** Runs until nothing is left to do. Returns the steps taken. */
  run(maxSteps = 1_000_000): number {
    return this.runUntil(() => false, maxSteps);
  }

  /** Runs until `done()` holds or nothing is left; throws if `maxSteps` pass first. */
  runUntil(done: () => boolean, maxSteps = 1_000_000): number {
    let taken = 0;
    while (!done()) {
      if (taken >= maxSteps) throw new HordeError(ErrorCode.TIMEOUT, `still running after ${maxSteps} steps`);
      if (!this.step()) break;
      taken++;
    }
    return taken;
  }

  /**
   * One seeded step: a process turn, a channel delivery, or a congested channel's overflow moving
   * back into it (its sender's next pass, in production). Returns false when all is idle.
   */
  step(): boolean {
    // The choices as numbers in a reused array (a shard's index, or a channel's index times two
    // plus the shards' count, plus one for its overflow): the same choices in the same order each
    // time, without a closure each.
    const choices = this.choices;
    const shards = this.shards.length;
    let count = 0;
    for (let i = 0; i < shards; i++) if (this.shardReady(this.shards[i]!)) choices[count++] = i;
    const channels = this.channelList;
    for (let i = 0; i < channels.length; i++) {
      const channel = channels[i]!;
      // While the cluster server stopped reading them (pauseRings), channels to other nodes wait.
      if (channel.ring.size > 0 && !(this.remotePaused && channel.toNode !== this.nodeId)) choices[count++] = shards + 2 * i;
      if (channel.overflow.size > 0 && this.hasRoomToResume(channel)) choices[count++] = shards + 2 * i + 1;
    }
    if (count === 0) return false;
    this.steps++;
    const choice = choices[Math.floor(this.random() * count)]!;
    if (choice < shards) {
      const shard = this.shards[choice]!;
      const handled = shard.runTurns(1);
      this.trace.code(0x74);
      this.trace.code(shard.shard);
      this.trace.code(handled);
      this.trace.end();
    } else {
      const channel = channels[(choice - shards) >> 1]!;
      if ((choice - shards) % 2 === 0) this.deliver(channel.ring.shift()!);
      else this.flushOverflow(channel);
    }
    return true;
  }

  /** A shard has a turn to take: work, or envelopes whose SPAWN did not come in time (answered by a turn, too). */
  private shardReady(shard: Shard): boolean {
    return shard.hasWork() || shard.nextSpawnWaitDeadline() <= this.clockMs;
  }

  /**
   * A hash of everything the run did so far (each turn's shard and messages handled, each
   * envelope delivered: signal, pids, ref and payload), as 16 hex digits. Same seed, same
   * behaviours, same calls: same hash; a run that differs in one event differs in it (but for
   * collisions of a 64-bit hash).
   */
  traceHash(): string {
    return this.trace.hex();
  }

  /** Envelopes each channel holds, and each channel's overflow, keyed "node.shard>node.shard" (from, to). */
  channelSizes(): Record<string, ChannelSize> {
    const sizes: Record<string, ChannelSize> = {};
    for (const [key, channel] of this.channels) sizes[key] = { ring: channel.ring.size, overflow: channel.overflow.size };
    return sizes;
  }

  /** Simulates an executor crash: shard `index` loses every process; others see 'executor_crashed'. */
  crashShard(index: number): void {
    this.shardAt(index);
    // Like a node's replacement executor: the other allocators' pids up to now were not for it.
    const floors = this.shards.filter((_, other) => other !== index).map((shard): [number, number] => [shard.spawnerId, shard.pidsAllocated]);
    const replacement = this.newShard(index, { floorsBelow: this.nextSpawnerId, floors });
    this.shards[index] = replacement;
    for (const channel of this.channels.values()) {
      if (channel.fromNode !== this.nodeId) continue;
      // Its inbound rings are new: what was on them is gone, and their senders run again (as
      // Executor.replaceRings resumes them); its own overflow died with it.
      if (channel.toNode === this.nodeId && channel.toShard === index) this.clearChannel(channel);
      else if (channel.fromShard === index) clearQueue(channel.overflow);
    }
    for (const shard of this.shards) if (shard !== replacement) shard.shardLost(index, 'executor_crashed');
  }

  /**
   * Simulates the death of service thread `name` and its replacement: envelopes on the way to or
   * from it are lost (for the poller, every timer it held), and every shard is told, as the node
   * tells its executors: unanswered io requests get HORDE_WORKER_EXITED, timers are started again.
   */
  crashService(name: ServiceName): void {
    const service = serviceNamed(name);
    const shard = serviceShard(service);
    for (const channel of this.channels.values()) {
      const to = channel.toNode === this.nodeId && channel.toShard === shard;
      if (channel.fromNode === this.nodeId && (channel.fromShard === shard || to)) this.clearChannel(channel);
    }
    if (service === TIMER_SERVICE) {
      this.wheel = new TimerWheel({ startMs: this.clockMs });
      this.timerIds.clear();
    }
    for (const each of this.shards) each.serviceLost(service);
  }

  private newShard(index: number, spawnFloors?: SpawnFloors): Shard {
    const options = { node: this.nodeId, shard: index, spawnerId: this.nextSpawnerId++, ...(spawnFloors === undefined ? {} : { spawnFloors }) };
    return new Shard(this.hostFor(index), this.behaviours, { ...options, ...this.limits });
  }

  private shardAt(index: number): Shard {
    const shard = this.shards[index];
    if (shard === undefined) throw new HordeError(ErrorCode.INVALID_OPTION, `no shard ${index} (the kit has ${this.shards.length})`);
    return shard;
  }

  private post(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
    const envelope = { signal, to, from, ref, payload };
    if (this.write(this.channel(MAIN_SHARD, to), envelope) === Sent.REFUSED) {
      throw new HordeError(ErrorCode.OVERLOADED, `the channel to ${to.node}.${to.shard} and its overflow are full`);
    }
    this.record(this.envelopes, { step: this.steps, ...envelope });
  }

  /** An envelope from a simulated service thread (nobody to park: a refused one is a dead letter). */
  private fromService(shard: number, envelope: InFlight): void {
    if (this.write(this.channel(shard, envelope.to), envelope) === Sent.REFUSED) this.record(this.deadLetters, envelope);
  }

  /** The channel from this node's `fromShard` to `to`'s node and shard, made on first use. */
  private channel(fromShard: number, to: Pid): Channel {
    // Node and shard numbers are u16: one number names the route (below 2^48, exact).
    const route = fromShard * 0x1_0000_0000 + to.node * 0x1_0000 + to.shard;
    let channel = this.routes.get(route);
    if (channel === undefined) {
      channel = { id: this.channels.size, fromNode: this.nodeId, fromShard, toNode: to.node, toShard: to.shard, ring: new Queue(), overflow: new Queue() };
      this.channels.set(`${this.nodeId}.${fromShard}>${to.node}.${to.shard}`, channel);
      this.channelList.push(channel);
      this.routes.set(route, channel);
    }
    return channel;
  }

  /** Into the channel, or its overflow once it is full or congested (as Outbound.send). */
  private write(channel: Channel, envelope: InFlight): Sent {
    if (channel.overflow.size === 0 && channel.ring.size < this.channelCapacity) {
      channel.ring.push(envelope);
      return Sent.WRITTEN;
    }
    if (channel.overflow.size >= this.overflowLimit) return Sent.REFUSED;
    channel.overflow.push(envelope);
    return Sent.QUEUED;
  }

  /** The room a congested channel needs before its overflow moves back (as Outbound.resumeWant). */
  private hasRoomToResume(channel: Channel): boolean {
    const capacity = this.channelCapacity;
    const want = Math.max(1, Math.min(channel.overflow.size + Math.floor(capacity * RESUME_HEADROOM), Math.floor(capacity * RESUME_MAX)));
    return capacity - channel.ring.size >= want;
  }

  /** Moves what fits of the overflow into the channel; once it is empty, its senders resume. */
  private flushOverflow(channel: Channel): void {
    const { ring, overflow } = channel;
    let moved = 0;
    while (overflow.size > 0 && ring.size < this.channelCapacity) {
      ring.push(overflow.shift()!);
      moved++;
    }
    this.trace.code(0x66);
    this.trace.code(channel.id);
    this.trace.code(moved);
    this.trace.end();
    if (overflow.size > 0) return;
    this.resumeSenders(channel);
    if (channel.fromShard === MAIN_SHARD && channel.toNode === this.nodeId && this.mainDrained !== undefined && !this.mainCongested()) this.mainDrained();
  }

  /** Empties a channel and its overflow (a thread at one end was replaced); parked senders run again. */
  private clearChannel(channel: Channel): void {
    clearQueue(channel.ring);
    const parked = channel.overflow.size > 0;
    clearQueue(channel.overflow);
    if (parked) this.resumeSenders(channel);
  }

  private resumeSenders(channel: Channel): void {
    if (channel.fromNode === this.nodeId) this.shards[channel.fromShard]?.resume(channel.id);
  }

  private deliver(envelope: InFlight): void {
    const { signal, to, from, ref, payload } = envelope;
    this.hashDelivery(envelope);
    if (to.node !== this.nodeId && this.remote !== undefined) {
      this.remote(envelope);
      return;
    }
    if (to.node !== this.nodeId) {
      // No other node in this kit: as a standalone node, links and monitors learn 'noconnection'.
      const answer = answerToMissing(signal, to, from, ref, 'noconnection');
      if (answer !== undefined) this.fromService(MAIN_SHARD, answer);
      else if (isDeadLetterWhenMissing(signal, from)) this.record(this.deadLetters, envelope);
      return;
    }
    const service = serviceOfShard(to.shard);
    if (service === TIMER_SERVICE) {
      this.pollerRequest(envelope);
      return;
    }
    if (service !== undefined && signal === Signal.IO && from !== undefined) {
      const answer = (reply: IoReply): void => this.fromService(to.shard, { signal: Signal.IO_REPLY, to: from, from: servicePid(this.nodeId, service), ref, payload: reply });
      const reply = this.io(payload as IoRequest);
      if (reply instanceof Promise) {
        void reply
          .then(answer, (error: unknown) => answer({ ok: false, error: errorToWire(error) }))
          .then(() => this.ioAnswered?.());
      }
      else answer(reply);
      return;
    }
    if (to.shard === MAIN_SHARD) {
      const probe = this.probes.get(to.serial);
      if (probe !== undefined) probe.messages.push({ signal, from, ref, payload });
      else if (this.main !== undefined) this.main(envelope);
      else this.record(this.deadLetters, envelope);
      return;
    }
    const shard = this.shards[to.shard];
    if (shard === undefined) {
      this.record(this.deadLetters, envelope);
      return;
    }
    shard.deliver(signal, to, from, ref, payload);
  }

  /** The simulated poller: the same TimerWheel as production, driven by `advance`. */
  private pollerRequest(envelope: InFlight): void {
    const { signal, from, ref, payload } = envelope;
    if (signal === Signal.TIMER && from !== undefined) {
      const request = payload as TimerRequest;
      const timer = { owner: from, ref, message: request.message, repeat: request.repeat };
      this.timerIds.set(ref, this.wheel.schedule(Math.max(0, request.dueMs - this.wheel.now), timer, request.repeat ? request.delayMs : undefined));
    } else if (signal === Signal.TIMER_CANCEL) {
      for (const each of ref !== 0 ? [ref] : (payload as number[])) {
        const id = this.timerIds.get(each);
        this.timerIds.delete(each);
        if (id !== undefined) this.wheel.cancel(id);
      }
    } else {
      this.record(this.deadLetters, envelope);
    }
  }

  /** Folds a delivery into the trace hash: signal, pids, ref and the payload's structure. */
  private hashDelivery({ signal, to, from, ref, payload }: InFlight): void {
    const trace = this.trace;
    trace.code(0x64);
    trace.code(signal);
    trace.code(to.node);
    trace.code(to.shard);
    trace.number(to.serial);
    if (from === undefined) trace.code(-1);
    else {
      trace.code(from.node);
      trace.code(from.shard);
      trace.number(from.serial);
    }
    trace.number(ref);
    trace.value(payload);
    trace.end();
  }

  /** Appends to one of the kit's records, dropping its oldest half once it passes `recordLimit`. */
  private record<T>(list: T[], entry: T): void {
    list.push(entry);
    if (list.length <= this.recordLimit) return;
    const drop = list.length >> 1;
    list.splice(0, drop);
    this.recordsDropped += drop;
  }

  private hostFor(index: number): ShardHost {
    return {
      now: () => this.clockMs,
      elapsedMs: () => this.clockMs,
      route: (signal, to, from, ref, payload) => {
        // As an executor's route: a full channel queues into its overflow and parks the sender; a
        // full overflow refuses (a dead letter) and parks it too.
        const channel = this.channel(index, to);
        const envelope = { signal, to, from, ref, payload };
        const sent = this.write(channel, envelope);
        if (sent === Sent.WRITTEN) {
          // Accepted; but if its node is congested, the sender waits (as Executor.route).
          return to.node === this.nodeId || !this.congestedNodes.has(to.node) ? ROUTE_ACCEPTED : NODE_BLOCK_BASE + to.node;
        }
        if (sent === Sent.REFUSED) this.record(this.deadLetters, envelope);
        return channel.id;
      },
      deadLetter: (signal, to, from, payload) => {
        this.record(this.deadLetters, { signal, to, from, ref: 0, payload });
      },
      crashed: (pid, kind, reason) => {
        this.record(this.crashes, { pid, kind, reason });
      },
      trace: (signal, to, from, ref, payload) => {
        this.record(this.envelopes, { step: this.steps, signal, to, from, ref, payload });
      },
    };
  }
}

function clearQueue(queue: Queue<InFlight>): void {
  while (queue.size > 0) queue.shift();
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new HordeError(ErrorCode.INVALID_OPTION, `option "${name}" must be an integer >= ${min}; got ${String(value)}`);
  return value;
}

function noDataDir(): IoReply {
  return { ok: false, error: errorToWire(new HordeError(ErrorCode.NO_DATA_DIR, 'the TestKit has no io handler (pass options.io)')) };
}

/** The seeded generator (mulberry32): small, fast, and the same on every platform. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

