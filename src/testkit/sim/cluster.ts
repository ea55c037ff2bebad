/**
 * SimCluster: several horde nodes in one thread, deterministically, running the real code: each
 * node's shards are real `Shard`s (in a TestKit with production's ring capacities and overflow),
 * its timers the real TimerWheel, and between nodes the real cluster server (sessions,
 * acknowledgements, resends, membership, directory, failure detection) over the simulated network,
 * each node on its own simulated clock.
 *
 * Concurrency design: one SimScheduler orders everything, and its one seeded generator decides
 * every choice (which of a node's shards or channels goes next, latencies, splits, faults in swarm
 * mode). A node's work is a chain of "step" events owned by the node: each takes up to 16 TestKit
 * steps (a process turn, a channel delivery or an overflow moving back, the kit's generator
 * choosing), and the node is busy for `stepMs` of simulated time per step taken: work that comes
 * meanwhile waits for the end of that time, work that finds the node idle is taken `stepMs`
 * later. A node that ran out of work sleeps (no events) until an envelope reaches it or its next
 * timer is due; its timer's event is then its next step. Envelopes for
 * another node leave their channel (the ring to the main thread) into the node's cluster server,
 * as encoded bytes, exactly as the main thread forwards them; what a cluster server receives goes
 * into the channel from the main thread to its shard. A paused node's events wait (SIGSTOP); a
 * crashed node's kit, timers and streams are gone at once (kill -9), and a restart starts a new
 * incarnation on the same address.
 *
 * Simplifications, stated: the main thread is not a separate participant (its work costs no
 * simulated time), back pressure between a node's rings and its cluster server is not modelled
 * (the cluster server's own per-peer limits are), and handshake challenges use real random
 * bytes (they change no decision or timing, so runs still replay).
 */

import { ErrorCode, HordeError, errorToWire } from '../../errors.js';
import { ClusterServer, type ClusterHost, type MemberState } from '../../cluster/cluster.js';
import { resolveClusterOptions } from '../../cluster/options.js';
import { decodeEnvelope, encodeEnvelopeToBytes } from '../../codec/envelope.js';
import { walkEnvelopes } from '../../codec/envelope-header.js';
import type { TimerHandle } from '../../internal/host.js';
import type { Pid } from '../../process/pid.js';
import type { Behaviours, SpawnOptions } from '../../process/types.js';
import type { IoReply, IoRequest } from '../../process/io.js';
import { SimDisk } from '../sim-disk.js';
import { simFileWorker, type SimFileWorker } from '../sim-disk-worker.js';
import { MAX_SPAWNER_ID } from '../../process/pid.js';
import { MainParticipant } from '../../node/main-participant.js';
import { TestKit, type Probe, type RemoteEnvelope } from '../testkit.js';
import { simMainHost } from './main-host.js';
import { simCompute, type ComputeTasks } from './compute.js';
import { SimNetwork, type LinkLatency } from './network.js';
import { SimNodeTime } from './node-time.js';
import { SimScheduler, type RunLimits, type SimEvent } from './scheduler.js';

const SECRET = 'horde-sim-cluster-secret-000000';
/** TestKit steps one step event of a node takes at most (each costs `stepMs` of simulated time). */
const STEPS_PER_EVENT = 16;
const PORT = 7000;

/** Options of `SimCluster.start`; only `behaviours` is required. */
export interface SimClusterOptions {
  /** The process kinds every node can spawn, as a behaviour module exports them. */
  behaviours: Behaviours;
  /** Nodes, named n1..nN with node ids 1..N. Default 3. */
  nodes?: number;
  /** Executor shards per node. Default 2. */
  shards?: number;
  /** The run's seed. Default 1. */
  seed?: number;
  /** Latency of every link. Default 0.1 ms plus an exponential extra of mean 0.1 ms. */
  latency?: LinkLatency;
  /** The cluster servers' heartbeat period (ms). Default 100. */
  heartbeatMs?: number;
  /** Simulated time one step of a node costs (ms). Default 0.002. */
  stepMs?: number;
  /** Envelopes a channel (ring) holds. Default as TestKit's. */
  channelCapacity?: number;
  /** Entries each node's kit keeps of its envelopes, crashes and dead letters (TestKit's `recordLimit`). Default as TestKit's. */
  recordLimit?: number;
  /**
   * Bytes a cluster server queues for one peer before it holds back the senders to that node (the
   * cluster option `maxPendingBytes`), and the size of its batches (`batchBytes`, at most this).
   * Default production's.
   */
  maxPendingBytes?: number;
  /**
   * Give every node a SimDisk, its `ctx.io` served by the real file worker code over it (data
   * directory `/data`); a crash loses what was not fsynced, a restart finds the rest. Default
   * false: `ctx.io` answers HORDE_NO_DATA_DIR.
   */
  disks?: boolean;
  /**
   * The tasks `ctx.compute` runs, as a compute module exports them (`tasks`); they run in the
   * simulation's thread and must be deterministic. Without it, `ctx.compute` fails as `ctx.io`
   * does on a node without a data directory (HORDE_NO_DATA_DIR).
   */
  compute?: ComputeTasks;
}

/** One simulated node. */
interface SimNode {
  readonly id: number;
  readonly name: string;
  readonly host: string;
  /** Its step events' label in the trace. */
  readonly stepLabel: string;
  incarnation: number;
  alive: boolean;
  time: SimNodeTime;
  kit: TestKit;
  server: ClusterServer | undefined;
  step: SimEvent | undefined;
  sleep: TimerHandle | undefined;
  /** The kit time its sleep timer is for. */
  sleepDue: number;
  /** Its current incarnation's step (the callback of its step events and of its sleep timer). */
  stepFn: () => void;
  /** Simulated time until which the node is busy with the steps it took last. */
  busyUntil: number;
  /** The main thread's own participant (asks), as HordeNode's; a new one per incarnation. */
  main: MainParticipant | undefined;
  /** Its disk (with `disks`), and the file worker of its current incarnation. */
  disk: SimDisk | undefined;
  files: SimFileWorker | undefined;
}

/** A member state change a node saw, with the simulated time. */
export interface SimMemberEvent {
  /** Simulated ms. */
  at: number;
  /** The node that saw it. */
  node: number;
  /** The member it concerns. */
  member: string;
  /** Its new state. */
  state: MemberState;
}

/** Several simulated nodes running the real code in one thread; see the module's design note. */
export class SimCluster {
  /** The run's event loop (its `random` is the run's one generator, its `trace` the run's hash). */
  readonly scheduler: SimScheduler;
  /** The network between the nodes. */
  readonly network: SimNetwork;
  /** Every member state change any node saw, in order. */
  readonly memberEvents: SimMemberEvent[] = [];
  /** Envelopes the cluster servers counted as dead letters (for a node that is down, ...). */
  deadLetters = 0;
  private readonly nodes: SimNode[] = [];
  private readonly options: Required<Omit<SimClusterOptions, 'channelCapacity' | 'disks' | 'maxPendingBytes' | 'compute' | 'recordLimit'>> & { channelCapacity: number | undefined; recordLimit: number | undefined; maxPendingBytes: number | undefined; disks: boolean; compute: ComputeTasks | undefined };

  private constructor(options: SimClusterOptions) {
    const nodes = options.nodes ?? 3;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) throw new HordeError(ErrorCode.INVALID_OPTION, `option "nodes" must be an integer from 1 to 64; got ${String(nodes)}`);
    this.options = {
      behaviours: options.behaviours,
      nodes,
      shards: options.shards ?? 2,
      seed: options.seed ?? 1,
      latency: options.latency ?? { baseMs: 0.1, jitterMs: 0.1 },
      heartbeatMs: options.heartbeatMs ?? 100,
      stepMs: options.stepMs ?? 0.002,
      channelCapacity: options.channelCapacity,
      maxPendingBytes: options.maxPendingBytes,
      recordLimit: options.recordLimit,
      compute: options.compute,
      disks: options.disks ?? false,
    };
    this.scheduler = new SimScheduler(this.options.seed);
    this.network = new SimNetwork(this.scheduler, { latency: this.options.latency });
  }

  /** Starts the nodes and runs until every node sees every other up (or throws HORDE_SIM_STALLED). */
  static async start(options: SimClusterOptions): Promise<SimCluster> {
    const cluster = new SimCluster(options);
    for (let id = 1; id <= cluster.options.nodes; id++) {
      const host = `10.0.0.${id}`;
      const node: SimNode = { id, name: `n${id}`, host, stepLabel: `step n${id}`, incarnation: 0, alive: false, time: new SimNodeTime(cluster.scheduler, host), kit: undefined as unknown as TestKit, server: undefined, step: undefined, sleep: undefined, sleepDue: 0, stepFn: () => undefined, busyUntil: 0, main: undefined, disk: undefined, files: undefined };
      if (cluster.options.disks) node.disk = new SimDisk({ random: () => cluster.scheduler.random.next(), now: () => node.time.wallMs() });
      cluster.nodes.push(node);
      await cluster.boot(node);
    }
    await cluster.run({ until: () => cluster.allUp(), maxEvents: 1_000_000 });
    return cluster;
  }

  /** Node ids, 1..N. */
  get nodeIds(): number[] {
    return this.nodes.map((node) => node.id);
  }

  /** True while node `id` runs (it was not crashed, or was restarted since). */
  isRunning(id: number): boolean {
    return this.node(id).alive;
  }

  /** Simulated time now (ms). */
  get now(): number {
    return this.scheduler.now;
  }

  /** Node `id`'s TestKit (its shards, probes, envelopes, crashes, dead letters) in its current incarnation. */
  kit(id: number): TestKit {
    return this.node(id).kit;
  }

  /** Spawns a process on node `id` (round-robin over its shards unless `options.shard`). */
  spawn<T = unknown>(id: number, kind: string, args?: unknown, options: SpawnOptions = {}): Pid<T> {
    const node = this.live(id);
    const pid = node.kit.spawn<T>(kind, args, options);
    this.wake(node);
    return pid;
  }

  /** A probe on node `id`: a pid whose messages collect in `probe.messages`. */
  probe(id: number): Probe {
    return this.live(id).kit.probe();
  }

  /** Sends `msg` from `from` (a probe on node `id`, or nobody on it) to `to`, on any node. */
  send<T>(id: number, to: Pid<T>, msg: NoInfer<T>, from?: Probe, ref = 0): void {
    const node = this.live(id);
    node.kit.send(to, msg, from, ref);
    this.wake(node);
  }

  /** Watches `target` (on any node) from `probe` on node `id`: a DOWN arrives in `probe.messages`. */
  monitor(id: number, probe: Probe, target: Pid): number {
    const node = this.live(id);
    const ref = node.kit.monitor(probe, target);
    this.wake(node);
    return ref;
  }

  /**
   * Asks `to` from a fresh probe on node `id` and runs the simulation until the answer arrives or
   * `timeoutMs` of simulated time pass (then rejects with HORDE_TIMEOUT: the outcome is unknown).
   */
  async ask<R = unknown>(id: number, to: Pid, msg: unknown, timeoutMs = 5_000): Promise<R> {
    let settled = false;
    const answer = this.request<R>(id, to, msg, timeoutMs);
    const done = answer.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.run({ until: () => settled });
    await done;
    return answer;
  }

  /**
   * Sends `msg` to `to` from a fresh probe on node `id` and resolves with the answer when it
   * arrives as the simulation runs (something else must run it: `run`, `runFor`, another ask),
   * or rejects with HORDE_TIMEOUT after `timeoutMs` of simulated time: then the outcome is
   * unknown, as a timed-out ask's is. Many requests may be in flight at once, from any nodes: the
   * concurrent clients of a linearizability history.
   */
  request<R = unknown>(id: number, to: Pid, msg: unknown, timeoutMs = 5_000): Promise<R> {
    const node = this.live(id);
    return node.main!.ask<R>(to, msg, timeoutMs).catch((error: unknown) => {
      // The client's node crashed: it never learns the outcome, as after a timeout.
      if (error instanceof HordeError && error.code === ErrorCode.NODE_STOPPED) throw new HordeError(ErrorCode.TIMEOUT, `node n${id} crashed before the answer came`);
      throw error;
    });
  }

  /** Runs the simulation (see SimScheduler.run). */
  run(limits: RunLimits = {}): Promise<number> {
    return this.scheduler.run(limits);
  }

  /** Runs `ms` of simulated time. */
  runFor(ms: number): Promise<number> {
    return this.scheduler.run({ untilMs: this.now + ms });
  }

  /** Node `id`'s SimDisk (with the `disks` option), for disk faults: `failFsync`, `hold`, its files (see also `slowDisk`). */
  disk(id: number): SimDisk {
    const disk = this.node(id).disk;
    if (disk === undefined) throw new HordeError(ErrorCode.INVALID_OPTION, 'the cluster was started without disks (option "disks")');
    return disk;
  }

  /**
   * Makes node `id`'s disk slow: every disk operation it starts in the next `ms` simulated ms
   * waits until they have passed (a stalled device; a crash in between fails them with EIO).
   */
  slowDisk(id: number, ms: number): void {
    if (!(ms >= 0)) throw new HordeError(ErrorCode.INVALID_OPTION, `slowDisk needs ms >= 0; got ${String(ms)}`);
    const hold = this.disk(id).hold(() => true);
    this.scheduler.after(ms, () => hold.release(), `disk n${id} speeds up`);
  }

  /** The member state node `id` holds for node `member` (undefined when it does not know it). */
  memberState(id: number, member: number): MemberState | undefined {
    return this.node(id).server?.members().find((m) => m.name === `n${member}`)?.state;
  }

  /** True when every live node sees every other live node up and connected. */
  allUp(): boolean {
    const live = this.nodes.filter((node) => node.alive);
    return live.every((node) => {
      const members = node.server?.members() ?? [];
      return live.every((other) => other === node || members.some((m) => m.name === other.name && m.state === 'up' && m.connected));
    });
  }

  /** Cuts nodes `side` off from nodes `other` (with `oneWay`, only what `side` sends). */
  partition(side: readonly number[], other: readonly number[], oneWay = false): void {
    this.network.partition(side.map((id) => this.node(id).host), other.map((id) => this.node(id).host), oneWay);
  }

  /** Ends every partition. */
  heal(): void {
    this.network.heal();
  }

  /** Kills node `id` (kill -9): its processes vanish without `terminate`, its timers and streams are gone. */
  crash(id: number): void {
    const node = this.live(id);
    node.alive = false;
    node.incarnation++;
    this.scheduler.cancel(node.step);
    node.step = undefined;
    node.sleep = undefined;
    node.stepFn = () => undefined;
    node.time.clearAll();
    this.network.crash(node.host);
    node.server = undefined;
    // Power lost with the process: what was not fsynced is gone (a torn last write may remain).
    node.disk?.crash();
    node.files = undefined;
    // Its requests' clients died with it: their outcomes are unknown.
    node.main?.stop();
    node.main = undefined;
  }

  /** Starts a new incarnation of crashed node `id` on its address; it joins through n1 (or n2 for n1). */
  async restart(id: number): Promise<void> {
    const node = this.node(id);
    if (node.alive) throw new HordeError(ErrorCode.INVALID_OPTION, `node n${id} is running; crash it first`);
    node.time = new SimNodeTime(this.scheduler, node.host);
    await this.boot(node);
  }

  /** Stops node `id`'s threads and clock-driven work for `ms` (SIGSTOP, then SIGCONT); the others go on. */
  pause(id: number, ms: number): void {
    const node = this.live(id);
    this.scheduler.pause(node.host);
    this.scheduler.after(ms, () => this.scheduler.resume(node.host), `resume ${node.name}`);
  }

  /** Steps node `id`'s wall clock by `ms`. */
  skew(id: number, ms: number): void {
    this.live(id).time.skew(ms);
  }

  /** Makes node `id`'s clocks run at `ratio` times simulated time. */
  drift(id: number, ratio: number): void {
    this.live(id).time.drift(ratio);
  }

  /** A hash of the run so far: every event, and every node's own steps and deliveries. */
  traceHash(): string {
    return `${this.scheduler.trace.hex()}${this.nodes.map((node) => node.kit.traceHash()).join('')}`;
  }

  /** Stops every live node's cluster server, running the simulation while they say goodbye. */
  async stop(): Promise<void> {
    let stopped = false;
    const all = Promise.all(this.nodes.flatMap((node) => (node.alive && node.server !== undefined ? [node.server.stop()] : [])));
    void all.then(() => (stopped = true));
    await this.run({ until: () => stopped, maxEvents: 1_000_000 });
    await all;
    for (const node of this.nodes) node.time.clearAll();
  }

  private node(id: number): SimNode {
    const node = this.nodes[id - 1];
    if (node === undefined) throw new HordeError(ErrorCode.INVALID_OPTION, `no node ${id} (the cluster has nodes 1 to ${this.nodes.length})`);
    return node;
  }

  private live(id: number): SimNode {
    const node = this.node(id);
    if (!node.alive) throw new HordeError(ErrorCode.INVALID_OPTION, `node n${id} is not running (crashed)`);
    return node;
  }

  /** Makes the node's kit and cluster server (a new incarnation) and joins it to the cluster. */
  private async boot(node: SimNode): Promise<void> {
    const incarnation = node.incarnation;
    node.stepFn = () => this.stepNode(node, incarnation);
    const random = this.scheduler.random;
    if (node.disk !== undefined) node.files = simFileWorker(node.disk);
    const files = node.files;
    const compute = this.options.compute;
    const serveFiles = files === undefined ? noDisk : (request: IoRequest) => files.handle(request);
    const io = compute === undefined ? (files === undefined ? undefined : serveFiles) : simCompute(compute, serveFiles);
    node.kit = new TestKit({
      behaviours: this.options.behaviours,
      shards: this.options.shards,
      nodeId: node.id,
      random: () => random.next(),
      ...(this.options.channelCapacity === undefined ? {} : { channelCapacity: this.options.channelCapacity }),
      ...(this.options.recordLimit === undefined ? {} : { recordLimit: this.options.recordLimit }),
      remote: (envelope) => this.toCluster(node, incarnation, envelope),
      main: (envelope) => {
        if (node.alive && node.incarnation === incarnation) node.main?.onEnvelope(envelope);
      },
      mainDrained: () => {
        if (node.alive && node.incarnation === incarnation) node.server?.ringsDrained();
      },
      ...(io === undefined
        ? {}
        : {
            io,
            // An answer on its channel back wakes the node.
            ioAnswered: () => {
              if (node.alive && node.incarnation === incarnation) this.wake(node);
            },
          }),
    });
    const seed = node.id === 1 ? (this.nodes.length > 1 && this.nodes[1]!.alive ? [`${this.nodes[1]!.host}:${PORT}`] : []) : [`10.0.0.1:${PORT}`];
    const options = resolveClusterOptions({ name: node.name, nodeId: node.id, secret: SECRET, listen: { host: node.host, port: PORT }, seeds: seed, heartbeatMs: this.options.heartbeatMs, ...this.pendingLimits() });
    node.alive = true;
    // Its spawner id is one no shard of the kit takes (they count up from 1).
    node.main = new MainParticipant(
      simMainHost({
        nodeId: node.id,
        shards: this.options.shards,
        kit: node.kit,
        time: node.time,
        server: () => node.server,
        running: () => node.alive && node.incarnation === incarnation,
        wake: () => this.wake(node),
        defer: (task) => this.scheduler.after(0, () => {
          if (node.alive && node.incarnation === incarnation) task();
        }, `main ${node.name}`, node.host),
        deadLetters: (count) => {
          this.deadLetters += count;
        },
      }),
      MAX_SPAWNER_ID,
    );
    const server = await ClusterServer.start(options, this.clusterHost(node, incarnation), { clock: node.time, timers: node.time, random, entropy: (count) => Uint8Array.from({ length: count }, () => random.int(256)), transport: this.network.transport(node.host) });
    server.on('member', (event: { name: string; state: MemberState }) => {
      this.memberEvents.push({ at: this.scheduler.now, node: node.id, member: event.name, state: event.state });
    });
    node.server = server;
  }

  private pendingLimits(): { maxPendingBytes?: number; batchBytes?: number } {
    const limit = this.options.maxPendingBytes;
    return limit === undefined ? {} : { maxPendingBytes: limit, batchBytes: Math.min(limit, 256 * 1024) };
  }

  private clusterHost(node: SimNode, incarnation: number): ClusterHost {
    const current = (): boolean => node.alive && node.incarnation === incarnation;
    const take = (envelope: RemoteEnvelope): void => {
      if (!current()) return;
      node.kit.fromCluster(envelope);
      this.wake(node);
    };
    return {
      nodeId: node.id,
      executors: this.options.shards,
      maxEnvelopeBytes: 64 * 1024 * 1024,
      deliverRaw: (bytes, offset, length) => {
        walkEnvelopes(bytes, offset, offset + length, (b, at, n) => {
          const { signal, to, from, ref, payload } = decodeEnvelope(b, at, n);
          take({ signal, to, from, ref, payload });
        });
      },
      deliverEnvelope: ({ signal, to, from, ref, payload }) => take({ signal, to, from, ref, payload }),
      // Back pressure both ways, as the node's cluster bridge does it over its rings.
      ringsCongested: () => current() && node.kit.mainCongested(),
      pauseRings: () => {
        if (current()) node.kit.pauseRemote(true);
      },
      resumeRings: () => {
        if (!current()) return;
        node.kit.pauseRemote(false);
        this.wake(node);
      },
      nodeCongested: (nodeId, congested) => {
        if (!current()) return;
        node.kit.setNodeCongested(nodeId, congested);
        if (!congested) this.wake(node);
      },
      deadLetters: (count) => {
        this.deadLetters += count;
      },
      report: () => undefined,
    };
  }

  /** An envelope that left its channel for another node: encoded and handed to the cluster server. */
  private toCluster(node: SimNode, incarnation: number, envelope: RemoteEnvelope): void {
    if (!node.alive || node.incarnation !== incarnation || node.server === undefined) return;
    const bytes = encodeEnvelopeToBytes({ signal: envelope.signal, to: envelope.to, from: envelope.from, ref: envelope.ref, payload: envelope.payload });
    node.server.forward(bytes, 0, bytes.length);
  }

  /**
   * Makes sure the node takes its next steps (it has work, or may have): `stepMs` from now, or when
   * the steps it is busy with are done.
   */
  private wake(node: SimNode): void {
    if (!node.alive || node.step !== undefined) return;
    // Its sleep timer stays: when it fires before this step, it finds the step pending and does nothing.
    const at = Math.max(this.scheduler.now + this.options.stepMs, node.busyUntil);
    node.step = this.scheduler.at(at, node.stepFn, node.stepLabel, node.host);
  }

  /**
   * Up to STEPS_PER_EVENT steps of the node: its clock moved to now (timers due fire), then TestKit
   * steps. With work left it steps again once they are done; without, it sleeps until its next
   * timer (whose event is its next step) or until `wake`.
   */
  private stepNode(node: SimNode, incarnation: number): void {
    node.step = undefined;
    if (!node.alive || node.incarnation !== incarnation) return;
    const kit = node.kit;
    const local = node.time.monotonicMs();
    if (local > kit.now) kit.advance(local - kit.now);
    let steps = 0;
    let more = true;
    while (steps < STEPS_PER_EVENT && (more = kit.step())) steps++;
    node.busyUntil = this.scheduler.now + this.options.stepMs * steps;
    if (more) {
      node.step = this.scheduler.at(node.busyUntil, node.stepFn, node.stepLabel, node.host);
      return;
    }
    // Asleep until its next timer: the sleep timer it has if that is still the one, else a new one.
    const due = kit.nextTimerDueMs();
    if (node.sleep !== undefined && due === node.sleepDue) return;
    node.time.clear(node.sleep);
    node.sleep = undefined;
    if (due === undefined) return;
    node.sleepDue = due;
    node.sleep = node.time.timeout(() => {
      node.sleep = undefined;
      if (node.step === undefined) this.stepNode(node, incarnation);
    }, Math.max(0, due - kit.now));
  }

}

/** Every io request of a node without a disk fails as on a node without a data directory. */
function noDisk(): IoReply {
  return { ok: false, error: errorToWire(new HordeError(ErrorCode.NO_DATA_DIR, 'the simulated node has no disk (SimCluster option "disks")')) };
}
