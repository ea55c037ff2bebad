/**
 * The node: the public API on the main thread, over executor workers and the rings between them.
 * HordeNode is the composition of:
 *   - main-participant.ts: the main thread's own participant (its pid, asks, monitors, `every`
 *     ticks, what it sends and the answers it makes), behind a host interface HordeNode implements;
 *   - executor-pool.ts: the executor workers (start, replacement on crash, status);
 *   - service-thread.ts: the service threads (src/process/services.ts), replaced when they die
 *     within a restart intensity; past it the node reports 'nodeFailed' and stops;
 *   - watchdog.ts: long receive detection from the executors' heartbeats;
 *   - cluster-bridge.ts: the cluster server (with `cluster` options) and what the node does with it;
 *   - metrics-server.ts: `/metrics` (with `metrics` options), reading metricsSnapshot().
 * What stays here: the public API, names, the order of topology changes, start, stop and events.
 *
 * Replacements (of executors and services) change the topology one at a time (`changeTopology`),
 * so a thread started by one always gets the rings the others switched to.
 *
 * Events (EventEmitter): 'processCrashed', 'longReceive', 'executorCrashed', 'serviceCrashed',
 * 'nodeFailed', 'malformed', 'messageRefused' (a process's message over maxMessageBytes:
 * `{from, to, error}`), 'clusterConnection', 'clusterMember'. With no listener, each is written to stderr (cluster
 * member state changes only when `HORDE_DEBUG` is set), so nothing is silent.
 */

import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { ErrorCode, HordeError, isWireError } from '../errors.js';
import { Signal } from '../codec/envelope.js';
import { formatPid, isPid, type Pid } from '../process/pid.js';
import { SERVICES, TIMER_SERVICE, absentCode, runningServices, serviceForOp } from '../process/services.js';
import type { SqlAnswer, SqlParams, SqlRows, SqlStatement, StoreRequest } from '../process/sql.js';
import type { ExitReason, SpawnOptions } from '../process/types.js';
import type { ControlResult, ExecutorStatus } from '../executor/protocol.js';
import type { RingHandle } from '../ring/ring.js';
import { ServiceThread, type ServiceCrash, type ServiceStatus, type ServiceThreadHost } from './service-thread.js';
import { WorkerHandle } from './worker-handle.js';
import { mainIndex, participantCount, serviceAt } from '../participant/participants.js';
import { nowMs } from '../internal/clock.js';
import { AsyncEndpoint } from '../participant/async-endpoint.js';
import { resolveOptions, type NodeOptions, type ResolvedOptions } from './options.js';
import { Topology } from './topology.js';
import type { ClusterStatus, MemberStatus } from '../cluster/cluster.js';
import { NodePressure } from '../internal/node-pressure.js';
import type { JsonValue } from '../cluster/wire-check.js';
import { MainParticipant, type DownNotice, type MainHost } from './main-participant.js';
import { ExecutorPool } from './executor-pool.js';
import { Watchdog, type WatchdogClock } from './watchdog.js';
import { ClusterBridge } from './cluster-bridge.js';
import { MetricsServer, type MetricsAddress } from './metrics-server.js';
import type { MetricsSnapshot } from './metrics-snapshot.js';
import { gatewaysOf } from './metrics-gateways.js';

export type { DownNotice } from './main-participant.js';
export { isOutcomeUnknown } from './main-participant.js';

/** Options of `node.ask`. */
export interface AskOptions {
  /** Reject with HORDE_TIMEOUT after this long. Default: the node's askTimeoutMs. */
  timeoutMs?: number;
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
  /** Each service thread that runs, by name (`poller`, `fileio`, `store` with the `store` option): its own figures and its restarts. */
  services: Record<string, ServiceStatus>;
  /** The cluster server's view (undefined for a standalone node). */
  cluster: ClusterStatus | undefined;
}

type NodeEvent = 'processCrashed' | 'longReceive' | 'executorCrashed' | 'serviceCrashed' | 'nodeFailed' | 'malformed' | 'messageRefused' | 'clusterConnection' | 'clusterMember';

const STOP_GRACE_MS = 10_000;
/** How long a scrape waits for a service thread's status. */
const SERVICE_WAIT_MS = 1000;

/** The watchdog's clock on a node: the wall clock and an unref'd setInterval. */
const systemWatchdogClock: WatchdogClock = {
  now: () => Date.now(),
  every: (ms, check) => {
    const timer = setInterval(check, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};
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
  /** One per entry of SERVICES that runs on this node (runningServices), in that order. */
  private readonly services: ServiceThread[];
  /** Which entries of SERVICES run, by index. */
  private readonly running: boolean[];
  /** The last topology change (a replacement); the next one starts after it. */
  private topologyChange: Promise<unknown> = Promise.resolve();
  /** Why the node stopped itself, if it did ('nodeFailed'). */
  private failure: HordeError | undefined;
  private readonly endpoint: AsyncEndpoint;
  private readonly main: MainParticipant;
  private readonly executors: ExecutorPool;
  private readonly watchdog: Watchdog;
  private readonly cluster: ClusterBridge;
  /** Which peers are congested, shared with the executors (their senders to them wait). */
  private readonly nodePressure = new NodePressure();
  private readonly names = new Map<string, { pid: Pid; cancel: () => void }>();
  private nextShard = 0;
  private deadLetters = 0;
  private metrics: MetricsServer | undefined;
  private state: 'running' | 'stopping' | 'stopped' = 'running';

  /** Use `startNode`. */
  private constructor(options: ResolvedOptions) {
    super();
    this.options = options;
    this.topology = new Topology(participantCount(options.executors), options.ringCapacity);
    this.main = new MainParticipant(this.mainHost());
    this.self = this.main.self;
    const main = mainIndex(options.executors);
    this.endpoint = new AsyncEndpoint(
      this.topology.bells[main]!,
      this.topology.inboundOf(main),
      this.topology.outboundOf(main),
      options,
      {
        envelope: (envelope) => this.main.onEnvelope(envelope),
        malformed: (error) => this.report('malformed', error),
        dropped: (count) => {
          this.deadLetters += count;
        },
        remote: (bytes, offset, length, run) => this.cluster.forwardRemote(bytes, offset, length, run),
        drained: () => this.cluster.ringsDrained(),
      },
      options.nodeId,
    );
    this.executors = new ExecutorPool({
      options,
      topology: this.topology,
      nodePressure: this.nodePressure,
      running: () => this.state === 'running',
      change: (change) => this.changeTopology(change),
      switchRings: (index) => this.switchRings(index),
      lost: (shard) => this.main.shardLost(shard, 'executor_crashed'),
      processCrashed: (detail) => this.report('processCrashed', detail),
      executorCrashed: (detail) => this.report('executorCrashed', detail),
      malformed: (error) => this.report('malformed', error),
      messageRefused: (refusal) => this.report('messageRefused', refusal),
    });
    this.watchdog = new Watchdog(systemWatchdogClock, options.nodeId, options.longReceiveMs, () => this.executors.heartbeats(), (receive) => this.report('longReceive', receive));
    this.cluster = new ClusterBridge({
      options,
      topology: this.topology,
      endpoint: this.endpoint,
      main: this.main,
      nodePressure: this.nodePressure,
      deadLetters: (count) => {
        this.deadLetters += count;
      },
      malformed: (error) => this.report('malformed', error),
      report: (event, detail) => this.report(event, detail),
    });
    this.running = runningServices(options);
    this.services = SERVICES.flatMap((_, service) => (this.running[service] === true ? [new ServiceThread(service, this.serviceHost())] : []));
  }

  /** @internal */
  static async start(options: NodeOptions): Promise<HordeNode> {
    const resolved = resolveOptions(options);
    if (resolved.dataDir !== undefined) await mkdir(resolved.dataDir, { recursive: true });
    const node = new HordeNode(resolved);
    try {
      for (const service of node.services) await service.start();
      await node.executors.start();
    } catch (error) {
      await node.stop();
      throw error;
    }
    node.endpoint.start();
    try {
      await node.cluster.start();
      if (resolved.metrics !== undefined) node.metrics = await MetricsServer.start({ snapshot: () => node.metricsSnapshot() }, resolved.metrics.host, resolved.metrics.port);
    } catch (error) {
      await node.stop();
      throw error;
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
    const executor = this.executors.at(shard);
    if (!Number.isInteger(shard) || executor === undefined) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `spawn: option "shard" must be an integer from 0 to ${this.options.executors - 1}; got ${String(shard)}`);
    }
    const child = this.main.allocatePid<M>(shard);
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
    this.main.post(Signal.USER, to, 0, msg, REFUSE_IF_CONGESTED);
  }

  /** Sends `msg` and resolves with the process's `ctx.reply`. */
  ask<R = unknown>(to: Pid, msg: unknown, options: AskOptions = {}): Promise<R> {
    this.assertRunning();
    const timeoutMs = options.timeoutMs ?? this.options.askTimeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new HordeError(ErrorCode.INVALID_OPTION, `ask: option "timeoutMs" must be a positive number; got ${String(timeoutMs)}`);
    return this.main.ask<R>(to, msg, timeoutMs);
  }

  /** Calls `onDown` once when `pid` ends (or at once, with 'noproc', if it does not exist). */
  monitor(target: Pid, onDown: (notice: DownNotice) => void): () => void {
    this.assertRunning();
    return this.main.monitor(target, onDown);
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
    return this.main.every(ms, tick);
  }

  /** Ends `pid` with an exit signal (default 'shutdown'; 'kill' cannot be trapped). */
  exit(target: Pid, reason: ExitReason = 'shutdown'): void {
    this.assertRunning();
    this.main.post(Signal.EXIT, target, 0, reason);
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
    this.cluster.setName(name, target);
    entry.cancel = this.monitor(target, () => {
      if (this.names.get(name) !== entry) return;
      this.names.delete(name);
      if (this.state === 'running') this.cluster.setName(name, undefined);
    });
  }

  /** Frees `name`. Returns whether it was registered. */
  unregister(name: string): boolean {
    const entry = this.names.get(name);
    if (entry === undefined) return false;
    this.names.delete(name);
    entry.cancel();
    this.cluster.setName(name, undefined);
    return true;
  }

  /** The pid registered under `name` on this node, or (clustered) on any member. */
  whereis<M = unknown>(name: string): Pid<M> | undefined {
    return (this.names.get(name)?.pid ?? this.cluster.whereis(name)) as Pid<M> | undefined;
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
    const cluster = this.cluster.cluster();
    return { name: cluster.name, ...cluster.address };
  }

  /** Dials `address` ("host:port") and resolves once connected to the member there. */
  join(address: string, options: { timeoutMs?: number } = {}): Promise<void> {
    this.assertRunning();
    return this.cluster.cluster().join(address, options.timeoutMs);
  }

  /** Leaves the cluster: peers are told, connections close, the node runs on alone. */
  leave(): void {
    this.assertRunning();
    this.cluster.cluster().leave();
  }

  /** Every other member this node knows, with its state (up, suspect, down, left) and connection. */
  members(): MemberStatus[] {
    return this.cluster.cluster().members();
  }

  /** Sets a key of the cluster's replicated metadata (last writer wins). */
  setMetadata(key: string, value: JsonValue): void {
    this.assertRunning();
    if (typeof key !== 'string' || key.length === 0) throw new HordeError(ErrorCode.INVALID_OPTION, 'setMetadata: "key" must be a non-empty string');
    this.cluster.cluster().setMetadata(key, value);
  }

  /** The value of `key` in the cluster's replicated metadata, as this node knows it (undefined: unset). Throws HORDE_NOT_CLUSTERED when standalone. */
  getMetadata(key: string): JsonValue | undefined {
    return this.cluster.cluster().getMetadata(key);
  }

  /** Test hook: destroys every cluster connection's socket (they reconnect and resume). */
  dropClusterConnections(): void {
    this.cluster.cluster().dropConnections();
  }

  /**
   * Runs one SQL statement on database `db` (a file in `dataDir`) on the store thread: resolves
   * with the rows of a query (`{rows, cursor?}`: a cursor when more than `limit` rows wait, read on
   * with `sqlNext`) or `{changes, lastInsertRowid}` for a write. Rejects with HORDE_SQL_ERROR
   * (SQLite's code in `cause.code`; nothing applied), HORDE_NO_STORE without the `store` option,
   * HORDE_WORKER_EXITED if the store thread dies first. See SqlRequest for `limit` and `groupCommit`.
   */
  async sql(db: string, sql: string, params?: SqlParams, options: { limit?: number; groupCommit?: boolean } = {}): Promise<SqlAnswer> {
    return (await this.storeRequest({ op: 'sql', db, sql, ...(params === undefined ? {} : { params }), ...options })) as SqlAnswer;
  }

  /**
   * Runs `statements` on database `db` in one transaction on the store thread, rolled back whole on
   * any error (rejecting as `sql` does); resolves with each statement's answer, in order.
   */
  async sqlTransaction(db: string, statements: readonly SqlStatement[], options: { groupCommit?: boolean } = {}): Promise<SqlAnswer[]> {
    return (await this.storeRequest({ op: 'sqlTransaction', db, statements, ...options })) as SqlAnswer[];
  }

  /** The next page of a query's rows (`cursor` from the previous page); HORDE_CURSOR_EXPIRED for a cursor gone. */
  async sqlNext(cursor: string, limit?: number): Promise<SqlRows> {
    return (await this.storeRequest({ op: 'sqlNext', cursor, ...(limit === undefined ? {} : { limit }) })) as SqlRows;
  }

  /** Closes a cursor before its last page (frees its read snapshot). */
  async sqlClose(cursor: string): Promise<void> {
    await this.storeRequest({ op: 'sqlClose', cursor });
  }

  /**
   * Asks every executor and service thread for its figures. One that crashes meanwhile is asked
   * again once its replacement runs. Rejects with HORDE_NODE_STOPPED after `stop()`.
   */
  async status(): Promise<NodeStatus> {
    this.assertRunning();
    const [executors, services] = await Promise.all([this.executors.status(), Promise.all(this.services.map((service) => service.status()))]);
    return {
      services: Object.fromEntries(this.services.map((service, i) => [service.name, services[i]!])),
      executors,
      deadLetters: this.deadLetters + executors.reduce((sum, e) => sum + e.deadLetters, 0),
      pendingAsks: this.main.pendingAsks,
      monitors: this.main.monitorCount,
      registeredNames: this.names.size,
      longReceives: this.watchdog.longReceives,
      processCrashes: this.executors.processCrashes,
      executorRestarts: this.executors.restarts,
      mainOverflow: this.endpoint.overflowSizes(),
      cluster: this.cluster.status(),
    };
  }

  /** Where `/metrics` listens (the port chosen when `metrics.listen` gave port 0); undefined without the `metrics` option. */
  get metricsAddress(): MetricsAddress | undefined {
    return this.metrics?.address;
  }

  /**
   * What one scrape of `/metrics` reads: the executors' shared counters (no round trip, no shard
   * stops), this thread's figures, and one status round trip to each service thread, waited for
   * at most SERVICE_WAIT_MS (one that does not answer is reported with `horde_service_up` 0).
   */
  private async metricsSnapshot(): Promise<MetricsSnapshot> {
    const executors = this.options.executors;
    const participants = Array.from({ length: participantCount(executors) }, (_, index) => {
      if (index < executors) return String(index);
      if (index === mainIndex(executors)) return 'main';
      return SERVICES[serviceAt(executors, index)!]!.name;
    });
    const services = await Promise.all(this.services.map((service) => withinMs(service.status(), SERVICE_WAIT_MS)));
    return {
      executors: this.executors.counters(),
      participants,
      mainDeadLetters: this.deadLetters,
      mainOverflow: this.endpoint.overflowSizes(),
      executorRestarts: this.executors.restarts,
      longReceives: this.watchdog.longReceives,
      pendingAsks: this.main.pendingAsks,
      monitors: this.main.monitorCount,
      registeredNames: this.names.size,
      services: Object.fromEntries(this.services.map((service, i) => [service.name, services[i]])),
      cluster: this.cluster.status(),
      gateways: gatewaysOf(this).map((gateway) => [`${gateway.address.host}:${gateway.address.port}`, gateway.status()]),
    };
  }

  /** Runs a full GC on every executor (needs --expose-gc); resolves with whether all could. */
  async collectGarbage(): Promise<boolean> {
    this.assertRunning();
    return this.executors.collectGarbage();
  }

  /**
   * Graceful stop: every process gets `terminate('shutdown')`, executors finish and exit, pending
   * asks reject with HORDE_NODE_STOPPED. Resolves when no worker is left.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.watchdog.stop();
    await this.metrics?.close();
    this.main.stop();
    await this.cluster.stop();
    // Executors first (their processes' terminate may still start timers or file requests), then
    // the service threads.
    const failed = (error: unknown): void => this.report('serviceCrashed', error);
    await this.executors.stop(STOP_GRACE_MS, failed);
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

  /** A request to the store thread from the main thread, answered as a process's `ctx.io` is. */
  private storeRequest(request: StoreRequest): Promise<unknown> {
    this.assertRunning();
    const service = serviceForOp(request.op)!;
    if (this.running[service] !== true) throw new HordeError(absentCode(service), `${request.op}: this node runs no store thread (start it with the node option "store")`);
    return this.main.io(service, request);
  }

  /** The main participant's host: the main thread's rings, timers and cluster bridge. */
  private mainHost(): MainHost {
    const options = this.options;
    return {
      nodeId: options.nodeId,
      executors: options.executors,
      maxMessageBytes: options.maxMessageBytes,
      now: nowMs,
      startTimer: (ms, fire) => {
        const timer = setTimeout(fire, ms);
        return { cancel: () => clearTimeout(timer) };
      },
      defer: (task) => queueMicrotask(task),
      send: (index, envelope) => this.endpoint.send(index, envelope),
      clustered: () => this.cluster.clustered,
      forward: (bytes, offset, length) => this.cluster.forward(bytes, offset, length),
      nodeCongested: (nodeId) => this.nodePressure.isCongested(nodeId),
      deadLetters: (count) => {
        this.deadLetters += count;
      },
      running: () => this.state === 'running',
    };
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
    const service = serviceAt(shards, index);
    if (service !== undefined) this.main.serviceLost(service, SERVICES[service]!.name);
    if (service === TIMER_SERVICE) this.main.restartTicks();
    await Promise.all([
      this.executors.replaceRings(index, rings),
      ...this.services.map((service) => (service.index === index ? undefined : service.replaceRings(index, ...rings(service.index)))),
    ]);
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

  private report(event: NodeEvent, detail: unknown): void {
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

function describeDetail(detail: unknown): string {
  if (detail instanceof Error) return detail.stack ?? detail.message;
  if (isWireError(detail)) return `${detail.code}: ${detail.message}`;
  try {
    return JSON.stringify(detail, (_key, value: unknown) => (value instanceof Error ? value.message : value));
  } catch (error) {
    return `${String(detail)} (${String(error)})`;
  }
}

/** Resolves with `promise`'s value, or undefined if it takes longer than `ms` (or fails). */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    // A service that fails to answer is dead and being replaced (reported as 'serviceCrashed');
    // the scrape shows it as horde_service_up 0 rather than failing whole.
    return await Promise.race([promise.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a node: its executor workers, rings and main-thread endpoint. */
export function startNode(options: NodeOptions): Promise<HordeNode> {
  return HordeNode.start(options);
}
