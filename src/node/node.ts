/**
 * The node: the public API on the main thread, over executor workers and the rings between them.
 *
 * The main thread is a participant like the executors (index `executors` in the topology): it has
 * its own endpoint pid (shard MAIN_SHARD), sends user messages and signals through the rings, and
 * gets replies to `ask`, DOWN notices for its monitors, and dead letters back through them. It
 * never blocks; see AsyncEndpoint.
 *
 * ask: a MONITOR signal and then the message go out on the same ring, so the target's shard sees
 * them in order; the answer (a USER envelope with the ask's ref) or a DOWN (target gone: 'noproc',
 * or ended first) settles the promise, and a timer rejects it with HORDE_TIMEOUT.
 *
 * Executor failure: a worker that dies while the node runs is replaced on the same shard number
 * with fresh rings and a fresh pid space; the other executors switch rings and fire links and
 * monitors on the lost processes with 'executor_crashed' (supervisors restart them); the main
 * thread settles its own asks and monitors on that shard the same way.
 *
 * Service threads (src/process/services.ts) are ServiceThreads (service-thread.ts), replaced when
 * they die within a restart intensity; past it the node reports 'nodeFailed' and stops.
 * Replacements (of executors and services) change the topology one at a time (`changeTopology`),
 * so a thread started by one always gets the rings the others switched to.
 *
 * Watchdog: every longReceiveMs/2 the main thread reads each executor's heartbeat; a turn whose
 * heartbeat has not moved for longReceiveMs is reported once (event `longReceive`, counted in
 * status()) with the pid and kind, at no cost to the executors' hot path.
 *
 * Cluster: with `cluster` options the main thread also runs the cluster server (src/cluster). Pids
 * then carry the node's number; an envelope for another node's pid reaches the main thread's
 * endpoint like any other, which hands its bytes to the cluster server undecoded, and envelopes
 * from peers go into the rings as they came (`deliverRaw`). `register` publishes the name in the
 * cluster's directory and `whereis` answers from it.
 *
 * Events (EventEmitter): 'processCrashed', 'longReceive', 'executorCrashed', 'serviceCrashed',
 * 'nodeFailed', 'malformed', 'messageRefused' (a process's message over maxMessageBytes:
 * `{from, to, error}`), 'clusterConnection', 'clusterMember'. With no listener, each is written to stderr (cluster
 * member state changes only when `HORDE_DEBUG` is set), so nothing is silent.
 */

import { EventEmitter } from 'node:events';
import { ErrorCode, HordeError, errorFromWire, isWireError } from '../errors.js';
import { Signal, decodeEnvelope } from '../codec/envelope.js';
import { MAIN_SHARD, MAIN_SPAWNER, SerialAllocator, formatPid, isPid, pid as makePid, type Pid } from '../process/pid.js';
import { SERVICES, TIMER_SERVICE, servicePid } from '../process/services.js';
import type { ExitReason, SpawnOptions } from '../process/types.js';
import type { ControlResult, ExecutorApi, ExecutorStatus } from '../executor/protocol.js';
import type { Remote } from 'comlink';
import type { RingHandle } from '../ring/ring.js';
import type { Envelope } from '../codec/envelope.js';
import { heartbeat, spawnerProgress, startExecutor, type ExecutorHandle } from './executor-handle.js';
import type { SpawnFloors } from '../executor/spawn-wait.js';
import { ServiceThread, type ServiceCrash, type ServiceStatus, type ServiceThreadHost } from './service-thread.js';
import { WorkerHandle } from './worker-handle.js';
import { mainIndex, participantCount, participantOf, participantOfShard, serviceAt } from '../participant/participants.js';
import { mkdir } from 'node:fs/promises';
import { clockOffset, nowMs } from '../internal/clock.js';
import { advanceRepeat, type TimerRequest } from '../process/io.js';
import { AsyncEndpoint } from '../participant/async-endpoint.js';
import { resolveOptions, type NodeOptions, type ResolvedOptions } from './options.js';
import { Topology, ringData } from './topology.js';
import { ClusterServer, type ClusterStatus, type MemberStatus } from '../cluster/cluster.js';
import { encodeEnvelopeToBytes } from '../codec/envelope.js';
import { answerToMissing, answerToMissingAt, countEnvelopes, forEachEnvelope, isDeadLetterWhenMissing, isDeadLetterWhenMissingAt, shardAt } from '../codec/envelope-header.js';
import { NodePressure } from '../internal/node-pressure.js';
import type { JsonValue } from '../cluster/wire-check.js';

/** Options of `node.ask`. */
export interface AskOptions {
  /** Reject with HORDE_TIMEOUT after this long. Default: the node's askTimeoutMs. */
  timeoutMs?: number;
}

/** What `node.monitor` hands its callback when the monitored process ends. */
export interface DownNotice {
  /** The process that ended. */
  pid: Pid;
  /** Its exit reason: 'noproc' if it did not exist, 'noconnection' if its node went down or is unreachable. */
  reason: ExitReason;
}

/** A snapshot of a node, as `node.status()` resolves it. Counters run from the node's start. */
export interface NodeStatus {
  /** Each executor's status, by shard number. */
  executors: ExecutorStatus[];
  /** Messages for pids that did not exist, counted on every thread. */
  deadLetters: number;
  /** `node.ask` calls still waiting for their reply. */
  pendingAsks: number;
  /** Monitors the main thread holds: `node.monitor` calls not cancelled, and one per registered name. */
  monitors: number;
  /** Names registered on this node with `node.register`. */
  registeredNames: number;
  /** Receives that ran longer than `longReceiveMs` (each also reported as a `longReceive` event). */
  longReceives: number;
  /** Processes that ended with a reason other than 'normal' or 'shutdown' (each also reported as a `processCrashed` event). */
  processCrashes: number;
  /** Executor threads that died and were replaced. */
  executorRestarts: number;
  /** Envelopes the main thread holds per participant while that ring is full. */
  mainOverflow: number[];
  /** Each service thread by name (`poller`, `fileio`): its own figures and its restarts. */
  services: Record<string, ServiceStatus>;
  /** The cluster server's view (undefined for a standalone node). */
  cluster: ClusterStatus | undefined;
}

interface PendingAsk {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  target: Pid;
}

interface MainMonitor {
  target: Pid;
  onDown(notice: DownNotice): void;
}

/** A `node.every` tick: its callback, and its timer request (kept due at its next tick, for a replacement poller). */
interface Tick {
  tick: () => void;
  request: TimerRequest;
}

const STOP_GRACE_MS = 10_000;
/** `post`'s last argument for node.send and node.ask. */
const REFUSE_IF_CONGESTED = true;

/**
 * A running node, on the main thread: spawns processes on its executors, sends and asks from
 * outside them, names, monitors, the cluster and status. Start one with `startNode`; it reports
 * crashes and refusals as events (`processCrashed`, `longReceive`, `executorCrashed`,
 * `serviceCrashed`, `nodeFailed`, `malformed`, `messageRefused`, `clusterConnection`,
 * `clusterMember`), each written to stderr when it has no listener.
 */
export class HordeNode extends EventEmitter {
  /** The main thread's own pid (shard MAIN_SHARD): the sender of `node.send` and `node.ask`. */
  readonly self: Pid;
  private readonly options: ResolvedOptions;
  private readonly topology: Topology;
  private readonly executors: ExecutorHandle[] = [];
  /** One per entry of SERVICES, in that order. */
  private readonly services: ServiceThread[];
  /** The last topology change (a replacement); the next one starts after it. */
  private topologyChange: Promise<unknown> = Promise.resolve();
  /** Why the node stopped itself, if it did ('nodeFailed'). */
  private failure: HordeError | undefined;
  private readonly endpoint: AsyncEndpoint;
  private readonly serials = new SerialAllocator(MAIN_SPAWNER);
  private readonly asks = new Map<number, PendingAsk>();
  /** Which peers are congested, shared with the executors (their senders to them wait). */
  private readonly nodePressure = new NodePressure();
  private readonly monitors = new Map<number, MainMonitor>();
  private readonly ticks = new Map<number, Tick>();
  private readonly names = new Map<string, { pid: Pid; cancel: () => void }>();
  private readonly watchdog: NodeJS.Timeout;
  private readonly stalls = new Map<number, { turns: number; serial: number; since: number; reported: boolean }>();
  private nextShard = 0;
  private nextSpawnerId = 1;
  /** Executor replacements under way, by shard (status() waits for them). */
  private readonly replacing = new Map<number, Promise<void>>();
  /** The spawnerId of each shard's current executor, set when it starts (before it is ready). */
  private readonly spawnerOfShard: number[] = [];
  private deadLetters = 0;
  private longReceives = 0;
  private processCrashes = 0;
  private executorRestarts = 0;
  private state: 'running' | 'stopping' | 'stopped' = 'running';
  private cluster: ClusterServer | undefined;

  /** Use `startNode`. */
  private constructor(options: ResolvedOptions) {
    super();
    this.options = options;
    this.topology = new Topology(participantCount(options.executors), options.ringCapacity);
    this.self = makePid(options.nodeId, MAIN_SHARD, this.serials.next());
    const main = mainIndex(options.executors);
    this.endpoint = new AsyncEndpoint(
      this.topology.bells[main]!,
      this.topology.inboundOf(main),
      this.topology.outboundOf(main),
      options,
      {
        envelope: (envelope) => this.onEnvelope(envelope),
        malformed: (error) => this.report('malformed', error),
        dropped: (count) => {
          this.deadLetters += count;
        },
        remote: (bytes, offset, length, run) => this.forwardRemote(bytes, offset, length, run),
        drained: () => this.cluster?.ringsDrained(),
      },
      options.nodeId,
    );
    this.watchdog = setInterval(() => this.checkHeartbeats(), Math.max(5, Math.floor(options.longReceiveMs / 2)));
    this.watchdog.unref();
    this.services = SERVICES.map((_, service) => new ServiceThread(service, this.serviceHost()));
  }

  /** @internal */
  static async start(options: NodeOptions): Promise<HordeNode> {
    const resolved = resolveOptions(options);
    if (resolved.dataDir !== undefined) await mkdir(resolved.dataDir, { recursive: true });
    const node = new HordeNode(resolved);
    try {
      for (const service of node.services) await service.start();
      for (let shard = 0; shard < node.options.executors; shard++) node.executors.push(await node.startExecutor(shard));
    } catch (error) {
      await node.stop();
      throw error;
    }
    node.endpoint.start();
    if (resolved.cluster !== undefined) {
      try {
        node.cluster = await ClusterServer.start(resolved.cluster, node.clusterHost());
      } catch (error) {
        await node.stop();
        throw error;
      }
    }
    return node;
  }

  /** Executor threads (shards) of this node, the `executors` option after defaults. */
  get executorCount(): number {
    return this.options.executors;
  }

  /** Starts a process of `kind`; resolves with its pid once it is running (init done). */
  async spawn<M = unknown>(kind: string, args?: unknown, options: Pick<SpawnOptions, 'shard'> = {}): Promise<Pid<M>> {
    this.assertRunning();
    if (typeof kind !== 'string' || kind.length === 0) throw new HordeError(ErrorCode.INVALID_OPTION, 'spawn: "kind" must be a non-empty string');
    const shard = options.shard ?? this.nextShard++ % this.options.executors;
    const executor = this.executors[shard];
    if (!Number.isInteger(shard) || executor === undefined) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `spawn: option "shard" must be an integer from 0 to ${this.options.executors - 1}; got ${String(shard)}`);
    }
    const child = makePid<M>(this.options.nodeId, shard, this.serials.next());
    await WorkerHandle.unwrap(executor.call<ControlResult<null>>((api) => api.spawn(child, kind, args)));
    return child;
  }

  /**
   * Sends `msg` to `to`. Throws HORDE_OVERLOADED when the way there is full (retry later): the
   * ring and overflow to a local executor, or the queue to another node over `maxPendingBytes`;
   * HORDE_MESSAGE_TOO_LARGE for a message over `maxMessageBytes` (nothing is sent).
   */
  send<T>(to: Pid<T>, msg: NoInfer<T>): void {
    this.assertRunning();
    this.post(Signal.USER, to, 0, msg, REFUSE_IF_CONGESTED);
  }

  /** Sends `msg` and resolves with the process's `ctx.reply`. */
  ask<R = unknown>(to: Pid, msg: unknown, options: AskOptions = {}): Promise<R> {
    this.assertRunning();
    const timeoutMs = options.timeoutMs ?? this.options.askTimeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new HordeError(ErrorCode.INVALID_OPTION, `ask: option "timeoutMs" must be a positive number; got ${String(timeoutMs)}`);
    // One ref names the message (the reply carries it) and the monitor on the target (its DOWN
    // carries it): main's serials never repeat, so it cannot be mistaken for a node.monitor's.
    const ref = this.serials.next();
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settleAsk(ref, new HordeError(ErrorCode.TIMEOUT, `ask to ${formatPid(to)} got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.asks.set(ref, { resolve: resolve, reject, timer, target: to });
      let monitored = false;
      try {
        this.post(Signal.MONITOR, to, ref, undefined, REFUSE_IF_CONGESTED);
        monitored = true;
        this.post(Signal.USER, to, ref, msg);
      } catch (error) {
        if (monitored) this.postQuietly(Signal.DEMONITOR, to, ref, undefined);
        this.settleAsk(ref, error as Error);
      }
    });
  }

  /** Calls `onDown` once when `pid` ends (or at once, with 'noproc', if it does not exist). */
  monitor(target: Pid, onDown: (notice: DownNotice) => void): () => void {
    this.assertRunning();
    const ref = this.serials.next();
    this.monitors.set(ref, { target, onDown });
    this.post(Signal.MONITOR, target, ref, undefined);
    return () => {
      if (this.monitors.delete(ref) && this.state === 'running') this.postQuietly(Signal.DEMONITOR, target, ref, undefined);
    };
  }

  /**
   * Calls `tick` every `ms` from the poller's timer wheel (the node's periodic work: heartbeats,
   * canaries). Returns a function that stops it. Throws HORDE_INVALID_TIMER for a bad period.
   */
  every(ms: number, tick: () => void): () => void {
    this.assertRunning();
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) {
      throw new HordeError(ErrorCode.INVALID_TIMER, `every: period must be a finite number of ms > 0; got ${String(ms)}`);
    }
    const ref = this.serials.next();
    const poller = servicePid(this.options.nodeId, TIMER_SERVICE);
    const request: TimerRequest = { dueMs: nowMs() + ms, delayMs: ms, repeat: true, message: null };
    this.ticks.set(ref, { tick, request });
    this.post(Signal.TIMER, poller, ref, request);
    return () => {
      if (this.ticks.delete(ref) && this.state === 'running') this.postQuietly(Signal.TIMER_CANCEL, poller, ref, undefined);
    };
  }

  /** Ends `pid` with an exit signal (default 'shutdown'; 'kill' cannot be trapped). */
  exit(target: Pid, reason: ExitReason = 'shutdown'): void {
    this.assertRunning();
    this.post(Signal.EXIT, target, 0, reason);
  }

  /** Names `pid`; the name is freed when the process ends. */
  register(name: string, target: Pid): void {
    this.assertRunning();
    if (typeof name !== 'string' || name.length === 0) throw new HordeError(ErrorCode.INVALID_OPTION, 'register: "name" must be a non-empty string');
    if (!isPid(target)) throw new HordeError(ErrorCode.INVALID_OPTION, 'register: "pid" must be a Pid');
    const existing = this.names.get(name);
    if (existing !== undefined) throw new HordeError(ErrorCode.NAME_TAKEN, `name "${name}" is registered to ${formatPid(existing.pid)}`);
    const entry = { pid: target, cancel: (): void => undefined };
    this.names.set(name, entry);
    this.cluster?.setName(name, target);
    entry.cancel = this.monitor(target, () => {
      if (this.names.get(name) !== entry) return;
      this.names.delete(name);
      if (this.state === 'running') this.cluster?.setName(name, undefined);
    });
  }

  /** Frees `name`. Returns whether it was registered. */
  unregister(name: string): boolean {
    const entry = this.names.get(name);
    if (entry === undefined) return false;
    this.names.delete(name);
    entry.cancel();
    this.cluster?.setName(name, undefined);
    return true;
  }

  /** The pid registered under `name` on this node, or (clustered) on any member. */
  whereis<M = unknown>(name: string): Pid<M> | undefined {
    return (this.names.get(name)?.pid ?? this.cluster?.whereis(name)) as Pid<M> | undefined;
  }

  /** This node's cluster name and the address peers dial (`advertise`, or where it listens; HORDE_NOT_CLUSTERED when standalone). */
  get clusterAddress(): {
    /** This node's cluster name. */
    name: string;
    /** The host peers dial. */
    host: string;
    /** The port peers dial. */
    port: number;
  } {
    const cluster = this.clustered();
    return { name: cluster.name, ...cluster.address };
  }

  /** Dials `address` ("host:port") and resolves once connected to the member there. */
  join(address: string, options: { timeoutMs?: number } = {}): Promise<void> {
    this.assertRunning();
    return this.clustered().join(address, options.timeoutMs);
  }

  /** Leaves the cluster: peers are told, connections close, the node runs on alone. */
  leave(): void {
    this.assertRunning();
    this.clustered().leave();
  }

  /** Every other member this node knows, with its state (up, suspect, down, left) and connection. */
  members(): MemberStatus[] {
    return this.clustered().members();
  }

  /** Sets a key of the cluster's replicated metadata (last writer wins). */
  setMetadata(key: string, value: JsonValue): void {
    this.assertRunning();
    if (typeof key !== 'string' || key.length === 0) throw new HordeError(ErrorCode.INVALID_OPTION, 'setMetadata: "key" must be a non-empty string');
    this.clustered().setMetadata(key, value);
  }

  /** The value of `key` in the cluster's replicated metadata, as this node knows it (undefined: unset). Throws HORDE_NOT_CLUSTERED when standalone. */
  getMetadata(key: string): JsonValue | undefined {
    return this.clustered().getMetadata(key);
  }

  /** Test hook: destroys every cluster connection's socket (they reconnect and resume). */
  dropClusterConnections(): void {
    this.clustered().dropConnections();
  }

  private clustered(): ClusterServer {
    if (this.cluster === undefined) throw new HordeError(ErrorCode.NOT_CLUSTERED, 'this node was started without cluster options');
    return this.cluster;
  }

  /**
   * Asks every executor and service thread for its figures. One that crashes meanwhile is asked
   * again once its replacement runs. Rejects with HORDE_NODE_STOPPED after `stop()`.
   */
  async status(): Promise<NodeStatus> {
    this.assertRunning();
    const [executors, services] = await Promise.all([
      Promise.all(this.executors.map((_, shard) => this.executorStatus(shard))),
      Promise.all(this.services.map((service) => service.status())),
    ]);
    return {
      services: Object.fromEntries(this.services.map((service, i) => [service.name, services[i]!])),
      executors,
      deadLetters: this.deadLetters + executors.reduce((sum, e) => sum + e.deadLetters, 0),
      pendingAsks: this.asks.size,
      monitors: this.monitors.size,
      registeredNames: this.names.size,
      longReceives: this.longReceives,
      processCrashes: this.processCrashes,
      executorRestarts: this.executorRestarts,
      mainOverflow: this.endpoint.overflowSizes(),
      cluster: this.cluster?.status(),
    };
  }

  /** One executor's status; one that exits meanwhile is asked again once its replacement runs. */
  private async executorStatus(shard: number): Promise<ExecutorStatus> {
    const executor = this.executors[shard]!;
    try {
      return await executor.call((api) => api.status());
    } catch (error) {
      const replacing = this.replacing.get(shard);
      if (!(error instanceof HordeError) || error.code !== ErrorCode.WORKER_EXITED || replacing === undefined) throw error;
      await replacing.catch(() => undefined);
      if (this.executors[shard] === executor) throw error;
      return this.executors[shard]!.call((api) => api.status());
    }
  }

  /** Runs a full GC on every executor (needs --expose-gc); resolves with whether all could. */
  async collectGarbage(): Promise<boolean> {
    this.assertRunning();
    const done = await Promise.all(this.executors.map((executor) => executor.call((api) => api.collectGarbage())));
    return done.every(Boolean);
  }

  /**
   * Graceful stop: every process gets `terminate('shutdown')`, executors finish and exit, pending
   * asks reject with HORDE_NODE_STOPPED. Resolves when no worker is left.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    clearInterval(this.watchdog);
    for (const ref of [...this.asks.keys()]) this.settleAsk(ref, new HordeError(ErrorCode.NODE_STOPPED, 'the node stopped before the reply arrived'));
    await this.cluster?.stop();
    // Executors first (their processes' terminate may still start timers or file requests), then
    // the service threads. A worker exits right after answering stop, and its answer may be lost
    // with the closing port, so the exit itself is what we wait for.
    const failed = (error: unknown): void => this.report('serviceCrashed', error);
    await Promise.all(this.executors.map((executor) => executor.shutDown((api) => WorkerHandle.unwrap(api.stop()), STOP_GRACE_MS, failed)));
    await Promise.all(this.services.map((service) => service.stop(failed)));
    await this.endpoint.close();
    this.state = 'stopped';
  }

  /** Test hook: service thread `name` stops serving for `stallMs` (its rings fill), then exits with `code`, as a crash would. */
  failServiceThread(name: string, stallMs = 0, code = 70): void {
    this.assertRunning();
    const service = this.services.find((each) => each.name === name);
    if (service === undefined) throw new HordeError(ErrorCode.INVALID_OPTION, `failServiceThread: no service thread "${name}" (${SERVICES.map((each) => each.name).join(', ')})`);
    service.fail(stallMs, code);
  }

  /**
   * Sends from the main thread. Throws HORDE_OVERLOADED when the ring to a local executor and its
   * overflow are full and, with `refuseIfCongested` (node.send, an ask's first envelope), when
   * the pid's node is congested (its queue is over `maxPendingBytes`).
   */
  private post(signal: Signal, to: Pid, ref: number, payload: unknown, refuseIfCongested = false): void {
    if (!isPid(to)) throw new HordeError(ErrorCode.INVALID_OPTION, `not a pid: ${JSON.stringify(to)}`);
    if (to.node !== this.options.nodeId && this.cluster !== undefined) {
      if (refuseIfCongested && this.nodePressure.isCongested(to.node)) {
        throw new HordeError(ErrorCode.OVERLOADED, `the queue to node ${to.node} is over maxPendingBytes (the peer reads too slowly); retry later`);
      }
      const bytes = encodeEnvelopeToBytes({ signal, to, from: this.self, ref, payload }, this.options.maxMessageBytes);
      this.cluster.forward(bytes, 0, bytes.length);
      return;
    }
    const index = to.node === this.options.nodeId ? participantOf(to, this.options.nodeId, this.options.executors) : undefined;
    if (index === undefined || index === mainIndex(this.options.executors)) {
      this.answerMissing(signal, to, this.self, ref);
      return;
    }
    if (!this.endpoint.send(index, { signal, to, from: this.self, ref, payload })) {
      throw new HordeError(ErrorCode.OVERLOADED, `the ring to participant ${index} and its overflow are full`);
    }
  }

  /**
   * Housekeeping that follows something already accepted (a DEMONITOR after a reply, a timer's
   * cancel, a 'noproc' answer): never throws into the code that reads the rings; refused (the
   * ring's overflow is full), it is counted as a dead letter.
   */
  private postQuietly(signal: Signal, to: Pid, ref: number, payload: unknown): void {
    try {
      this.post(signal, to, ref, payload);
    } catch (error) {
      if (!(error instanceof HordeError) || error.code !== ErrorCode.OVERLOADED) throw error;
      this.deadLetters++;
    }
  }

  private forwardRemote(bytes: Uint8Array, offset: number, length: number, run: boolean): void {
    if (this.cluster !== undefined) {
      this.cluster.forward(bytes, offset, length, run);
      return;
    }
    // Not clustered: nothing can reach another node.
    if (run) this.deadLetters += countEnvelopes(bytes.subarray(offset, offset + length));
    else this.answerMissingAt(bytes, offset, 'noconnection');
  }

  /**
   * Delivers an envelope made on this thread (an answer for a sender), whatever the overflow
   * holds: to a local participant, or through the cluster to a peer's process.
   */
  private deliverAnswer(envelope: Envelope): void {
    if (envelope.to.node !== this.options.nodeId && this.cluster !== undefined) {
      const bytes = encodeEnvelopeToBytes(envelope);
      this.cluster.forward(bytes, 0, bytes.length);
      return;
    }
    const shards = this.options.executors;
    const index = participantOf(envelope.to, this.options.nodeId, shards);
    if (index === mainIndex(shards)) {
      queueMicrotask(() => this.onEnvelope(envelope));
      return;
    }
    if (index === undefined || !this.endpoint.send(index, envelope)) this.deadLetters++;
  }

  /**
   * Envelope bytes from a cluster peer (one envelope, or with `run` several for one shard): into
   * the executor's ring as they are; decoded here when they are for the main thread; answered as
   * missing ('noproc', see answerToMissing) for a shard this node does not have. A run only goes
   * to an executor whole: returns false, having done nothing, for a run that is not for an executor.
   */
  private deliverFromPeer(bytes: Uint8Array, offset: number, length: number, run: boolean): boolean {
    const shards = this.options.executors;
    const main = mainIndex(shards);
    const index = participantOfShard(shardAt(bytes, offset), shards);
    if (run) {
      // Only executors read runs.
      if (index === undefined || index >= shards) return false;
      this.endpoint.sendBytes(index, bytes, offset, length, true);
      return true;
    }
    if (index !== undefined && index !== main) {
      this.endpoint.sendBytes(index, bytes, offset, length);
      return true;
    }
    if (index !== main) {
      this.answerMissingAt(bytes, offset, 'noproc');
      return true;
    }
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(bytes, offset, length);
    } catch (error) {
      this.report('malformed', error);
      return true;
    }
    this.onEnvelope(envelope);
    return true;
  }

  private clusterHost() {
    return {
      nodeId: this.options.nodeId,
      executors: this.options.executors,
      maxEnvelopeBytes: this.options.maxMessageBytes,
      deliverRaw: (bytes: Uint8Array, offset: number, length: number, run: boolean): void => {
        if (this.deliverFromPeer(bytes, offset, length, run)) return;
        forEachEnvelope(bytes.subarray(offset, offset + length), (at, envelopeLength) => this.deliverFromPeer(bytes, offset + at, envelopeLength, false));
      },
      deliverEnvelope: (envelope: Envelope): void => this.deliverAnswer(envelope),
      ringsCongested: (): boolean => this.endpoint.congested,
      pauseRings: (): void => this.endpoint.pause(),
      nodeCongested: (nodeId: number, congested: boolean): void => {
        if (!this.nodePressure.set(nodeId, congested) || congested) return;
        // Parked executors look at the pressure when they wake.
        for (let shard = 0; shard < this.options.executors; shard++) this.topology.bells[shard]!.ring();
      },
      resumeRings: (): void => this.endpoint.resume(),
      deadLetters: (count: number): void => {
        this.deadLetters += count;
      },
      report: (event: 'clusterConnection' | 'clusterMember', detail: unknown): void => this.report(event, detail),
    };
  }

  /** A signal from this thread for a pid no participant holds: answered as missing (answerToMissing). */
  private answerMissing(signal: Signal, to: Pid, from: Pid, ref: number): void {
    if (isDeadLetterWhenMissing(signal, from)) this.deadLetters++;
    const answer = answerToMissing(signal, to, from, ref, 'noproc');
    if (answer !== undefined) this.deliverAnswer(answer);
  }

  /** The envelope at `offset` cannot reach its process: a dead letter, or its answer to the sender. */
  private answerMissingAt(bytes: Uint8Array, offset: number, reason: 'noproc' | 'noconnection'): void {
    if (isDeadLetterWhenMissingAt(bytes, offset)) this.deadLetters++;
    const answer = answerToMissingAt(bytes, offset, reason);
    if (answer !== undefined) this.deliverAnswer(answer);
  }

  private onEnvelope(envelope: Envelope): void {
    const { signal, ref } = envelope;
    if (signal === Signal.USER) {
      const ask = this.asks.get(ref);
      if (ask === undefined) {
        this.deadLetters++;
        return;
      }
      this.asks.delete(ref);
      clearTimeout(ask.timer);
      this.postQuietly(Signal.DEMONITOR, ask.target, ref, undefined);
      ask.resolve(envelope.payload);
      return;
    }
    if (signal === Signal.DOWN && envelope.from !== undefined) {
      this.fireDown(ref, envelope.from, envelope.payload as ExitReason);
      return;
    }
    if (signal === Signal.TIMER_FIRE) {
      const tick = this.ticks.get(ref);
      if (tick === undefined) return;
      advanceRepeat(tick.request, nowMs());
      tick.tick();
      return;
    }
    if (signal === Signal.EXIT || signal === Signal.SPAWN) return;
    this.deadLetters++;
  }

  private fireDown(ref: number, from: Pid, reason: ExitReason): void {
    const monitor = this.monitors.get(ref);
    if (monitor !== undefined) {
      this.monitors.delete(ref);
      monitor.onDown({ pid: from, reason });
      return;
    }
    if (this.asks.has(ref)) {
      this.settleAsk(ref, new HordeError(ErrorCode.NOPROC, `${formatPid(from)} ended before it replied (${describeReason(reason)})`, {
        cause: isWireError(reason) ? errorFromWire(reason) : undefined,
      }));
    }
  }

  private settleAsk(ref: number, error: Error): void {
    const ask = this.asks.get(ref);
    if (ask === undefined) return;
    this.asks.delete(ref);
    clearTimeout(ask.timer);
    ask.reject(error);
  }

  private async startExecutor(shard: number, spawnFloors?: SpawnFloors): Promise<ExecutorHandle> {
    const options = this.options;
    const topology = this.topology;
    const spawnerId = this.nextSpawnerId++;
    this.spawnerOfShard[shard] = spawnerId;
    return startExecutor(
      {
        ...ringData(topology, options, shard),
        shard,
        spawnerId,
        behaviourModules: options.behaviours,
        preloadModules: options.preload,
        budget: options.budget,
        mailboxLimit: options.mailboxLimit,
        spin: options.spin,
        clockOffset: clockOffset(),
        nodePressure: this.nodePressure.buffer,
        ...(spawnFloors === undefined ? {} : { spawnFloors }),
      },
      topology.bells[shard]!,
      options.resourceLimits,
      {
        crashed: (pid, kind, reason) => {
          this.processCrashes++;
          this.report('processCrashed', { pid, kind, reason });
        },
        malformed: (error) => this.report('malformed', error),
        refused: (refusal) => this.report('messageRefused', refusal),
        exited: (code, error) => {
          if (this.state !== 'running') return;
          this.report('executorCrashed', { shard, code, error });
          if (!this.options.restartExecutors) return;
          const replacing = this.changeTopology(() => this.replaceExecutor(shard));
          this.replacing.set(shard, replacing);
          const settled = (): void => {
            if (this.replacing.get(shard) === replacing) this.replacing.delete(shard);
          };
          replacing.then(settled, (error: unknown) => {
            settled();
            this.report('executorCrashed', { shard, code: -1, error });
          });
        },
      },
    );
  }

  private async replaceExecutor(shard: number): Promise<void> {
    const topology = this.topology;
    topology.renew(shard);
    try {
      const replacement = await this.startExecutor(shard, this.spawnFloors(shard));
      if (this.state !== 'running') {
        await replacement.worker.terminate();
        return;
      }
      this.executors[shard] = replacement;
      this.executorRestarts++;
    } catch (error) {
      this.report('executorCrashed', { shard, code: -1, error });
      return;
    }
    await this.switchRings(shard);
    await Promise.all(
      this.executors.filter((_, index) => index !== shard).map((executor) => this.callExecutor(executor, (api) => api.shardLost(shard, 'executor_crashed'))),
    );
    // Only this node's pids on that shard: a remote node's shard of the same number is unaffected.
    const lost = (target: Pid): boolean => target.shard === shard && target.node === this.options.nodeId;
    for (const [ref, monitor] of [...this.monitors]) {
      if (lost(monitor.target)) this.fireDown(ref, monitor.target, 'executor_crashed');
    }
    for (const [ref, ask] of [...this.asks]) {
      if (lost(ask.target)) this.fireDown(ref, ask.target, 'executor_crashed');
    }
  }

  /** Runs `change` (a replacement) once the topology changes queued before it have finished. */
  private changeTopology<T>(change: () => Promise<T>): Promise<T> {
    const next = this.topologyChange.then(change, change);
    this.topologyChange = next.catch(() => undefined);
    return next;
  }

  /**
   * Participant `index` has new rings (its thread was replaced): every other participant switches
   * to them. A replaced service's requests are answered by the executors that sent them (see
   * Executor.replaceRings); a replaced poller gets the main thread's ticks again.
   */
  private async switchRings(index: number): Promise<void> {
    const topology = this.topology;
    const shards = this.options.executors;
    const rings = (other: number): [RingHandle, RingHandle] => [topology.rings[index]![other]!, topology.rings[other]![index]!];
    this.endpoint.replace(index, ...rings(mainIndex(shards)));
    if (serviceAt(shards, index) === TIMER_SERVICE) this.restartTicks();
    await Promise.all([
      ...this.executors.map((executor, shard) => (shard === index ? undefined : this.callExecutor(executor, (api) => api.replaceRings(index, ...rings(shard))))),
      ...this.services.map((service) => (service.index === index ? undefined : service.replaceRings(index, ...rings(service.index)))),
    ]);
  }

  /** A control call to an executor inside a topology change: one that died meanwhile is replaced by a later change. */
  private async callExecutor(executor: ExecutorHandle, invoke: (api: Remote<ExecutorApi>) => Promise<ControlResult<null>>): Promise<void> {
    try {
      await WorkerHandle.unwrap(executor.call(invoke));
    } catch (error) {
      if (!WorkerHandle.exitedFirst(error)) throw error;
    }
  }

  /** The timer service was replaced: every `node.every` tick starts again on it, due at its next tick. */
  private restartTicks(): void {
    const poller = servicePid(this.options.nodeId, TIMER_SERVICE);
    for (const [ref, { request }] of this.ticks) this.postQuietly(Signal.TIMER, poller, ref, request);
  }

  private serviceHost(): ServiceThreadHost {
    return {
      topology: this.topology,
      options: this.options,
      running: () => this.state === 'running',
      now: nowMs,
      change: (change) => this.changeTopology(change),
      switchRings: (index) => this.switchRings(index),
      crashed: (crash: ServiceCrash) => this.report('serviceCrashed', crash),
      gaveUp: (error) => this.fail(error),
      malformed: (error) => this.report('malformed', error),
    };
  }

  /** The node cannot go on (a service thread keeps dying): reported as 'nodeFailed', then stopped. */
  private fail(error: HordeError): void {
    if (this.state !== 'running') return;
    this.failure = error;
    this.report('nodeFailed', error);
    this.stop().catch((stopError: unknown) => this.report('nodeFailed', stopError));
  }

  /**
   * How far the other executors' allocators had got when `shard`'s replacement starts: their pids
   * on `shard` up to there were its predecessor's (lost), later ones may still be on their way.
   */
  private spawnFloors(shard: number): SpawnFloors {
    const floors: [number, number][] = [];
    this.spawnerOfShard.forEach((spawnerId, index) => {
      if (index === shard) return;
      // An executor still starting (replaced at the same time) has allocated nothing yet.
      const progress = spawnerProgress(this.executors[index]!);
      floors.push([spawnerId, progress[0] === spawnerId ? progress[1] : 0]);
    });
    return { floorsBelow: this.nextSpawnerId, floors };
  }

  private checkHeartbeats(): void {
    const now = Date.now();
    this.executors.forEach((executor, shard) => {
      const beat = heartbeat(executor);
      const last = this.stalls.get(shard);
      if (beat.serial < 0 || last === undefined || last.turns !== beat.turns || last.serial !== beat.serial) {
        this.stalls.set(shard, { turns: beat.turns, serial: beat.serial, since: now, reported: false });
        return;
      }
      if (!last.reported && now - last.since >= this.options.longReceiveMs) {
        last.reported = true;
        this.longReceives++;
        this.report('longReceive', { pid: makePid(this.options.nodeId, shard, beat.serial), kind: beat.kind, runningMs: now - last.since });
      }
    });
  }

  private report(
    event: 'processCrashed' | 'longReceive' | 'executorCrashed' | 'serviceCrashed' | 'nodeFailed' | 'malformed' | 'messageRefused' | 'clusterConnection' | 'clusterMember',
    detail: unknown,
  ): void {
    if (this.listenerCount(event) > 0) {
      this.emit(event, detail);
      return;
    }
    if (event === 'clusterMember' && process.env.HORDE_DEBUG === undefined) return;
    process.stderr.write(`[horde] ${event}: ${describeDetail(detail)}\n`);
  }

  private assertRunning(): void {
    if (this.state === 'running') return;
    const failure = this.failure;
    if (failure === undefined) throw new HordeError(ErrorCode.NODE_STOPPED, 'the node is stopping or stopped');
    throw new HordeError(ErrorCode.NODE_STOPPED, `the node stopped itself: ${failure.message}`, { cause: failure });
  }
}

function describeReason(reason: ExitReason): string {
  return typeof reason === 'string' ? reason : `${reason.code}: ${reason.message}`;
}

function describeDetail(detail: unknown): string {
  if (detail instanceof Error) return detail.stack ?? detail.message;
  if (isWireError(detail)) return `${detail.code}: ${detail.message}`;
  try {
    return JSON.stringify(detail, (_key, value: unknown) => (value instanceof Error ? value.message : value));
  } catch (error) {
    return `${String(detail)} (${String(error)})`;
  }
}

/** Starts a node: its executor workers, rings and main-thread endpoint. */
export function startNode(options: NodeOptions): Promise<HordeNode> {
  return HordeNode.start(options);
}
