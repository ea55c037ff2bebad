/**
 * The cluster server: the main thread's full mesh of connections to the other nodes of the
 * cluster, composed of
 * - `Connector` (connector.ts): listening and dialling over the Transport, the open connections,
 *   the seeds;
 * - `Peers` (peers.ts): one record per member, its connection, session and state, redialling;
 * - `Router` (router.ts): envelopes out and batches in, back pressure;
 * - `FailureDetector` (failure-detector.ts): heartbeats and phi driving up/suspect/down;
 * - `ClusterState` (state.ts): membership, directory and metadata gossiped as deltas.
 * This file routes connection events and frames between them: which connection a peer keeps,
 * the session Resume exchange, gossip, a peer lost, and the public operations.
 *
 * Design note (everything runs on the main thread's event loop; time, timers, randomness and the
 * transport come from `ClusterSeams`, production's by default):
 * - Connections: one per node pair. Both sides may dial; when two authenticated connections to
 *   the same peer meet, the one dialled by the node with the smaller name wins (one side dialled
 *   twice: the newer wins).
 * - Sessions: after authentication both sides send Resume (which incarnation of the other they
 *   hold a session with, and the last batch they delivered from it). If both hold a session with
 *   each other's current incarnation it continues (the unacknowledged batch is resent); otherwise
 *   both start a fresh one (a restarted peer: what was queued for its old incarnation is counted
 *   as dead letters, and its monitors and links fire 'noconnection').
 * - A peer declared down, gone or restarted is lost: its session is dropped (dead letters
 *   counted), local monitors of its processes get DOWN 'noconnection', links get exit signals,
 *   its monitors of local processes are removed.
 * - Membership, directory and metadata are gossiped as deltas on the control lane (ClusterState);
 *   a merge that learned something is passed on to every ready peer.
 */
import { EventEmitter } from 'node:events';
import { Signal } from '../codec/envelope.js';
import { ErrorCode, HordeError } from '../errors.js';
import { systemClock, systemEntropy, systemRandom, systemTimers, type Clock, type Timers } from '../internal/host.js';
import { tcpTransport } from '../net/transport-tcp.js';
import type { Pid } from '../process/pid.js';
import type { Connection, LocalIdentity } from './connection.js';
import { Connector } from './connector.js';
import { FailureDetector } from './failure-detector.js';
import type { ClusterHost, ClusterSeams } from './host.js';
import { parseAddress, type ResolvedClusterOptions } from './options.js';
import { Peers, type Peer } from './peers.js';
import { Router } from './router.js';
import { LaneId } from './session.js';
import { ClusterState, type MemberInfo } from './state.js';
import type { ClusterStatus, MemberStatus } from './status.js';
import type { JsonValue } from './wire-check.js';
import { Role, type Hello, type WireFrame } from './wire.js';

export type { ClusterHost, ClusterSeams } from './host.js';
export type { ClusterStatus, MemberState, MemberStatus } from './status.js';

export class ClusterServer extends EventEmitter {
  readonly incarnation: string;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly state: ClusterState;
  private readonly failure: FailureDetector;
  private readonly peers: Peers;
  private readonly router: Router;
  private readonly connector: Connector;
  private port = 0;
  private stopping = false;

  private constructor(
    private readonly options: ResolvedClusterOptions,
    private readonly host: ClusterHost,
    seams: ClusterSeams,
  ) {
    super();
    this.clock = seams.clock ?? systemClock;
    this.timers = seams.timers ?? systemTimers;
    const entropy = seams.entropy ?? systemEntropy;
    this.incarnation = Buffer.from(entropy(8)).toString('hex');
    this.state = new ClusterState(options.name, this.clock);
    this.failure = new FailureDetector(options, this.clock, this.timers, {
      peers: () => this.peers.values(),
      setState: (peer, state) => this.peers.setState(peer, state),
      down: (peer) => {
        peer.connection?.close('declared down (failure detector)');
        this.peerLost(peer, 'noconnection');
        this.peers.scheduleReconnect(peer);
      },
    });
    this.peers = new Peers(options, this.timers, seams.random ?? systemRandom, {
      discovered: (peer) => host.report('clusterMember', { event: 'discovered', name: peer.name, nodeId: peer.nodeId }),
      stateChanged: (peer, previous) => {
        host.report('clusterMember', { event: 'state', name: peer.name, from: previous, to: peer.state });
        this.emit('member', { name: peer.name, state: peer.state, previous });
      },
      dial: (peerHost, port) => this.connector.dial(peerHost, port),
      freshDetector: () => this.failure.fresh(),
    });
    this.router = new Router(options, host, this.peers);
    this.connector = new Connector(options, seams.transport ?? tcpTransport(options.tls), this.timers, entropy, {
      identity: () => this.identity(),
      skipSeed: (address, seedHost, port) =>
        this.isSelf(address, port) || [...this.peers.values()].some((peer) => peer.connection !== undefined && peer.port === port && (peer.host === address || peer.host === seedHost)),
      report: (detail) => host.report('clusterConnection', detail),
      authenticated: (conn, hello) => this.onAuthenticated(conn, hello),
      frame: (conn, frame) => this.onFrame(conn, frame),
      drain: (conn) => {
        const peer = conn.peer === undefined ? undefined : this.peers.get(conn.peer.name);
        if (peer !== undefined && peer.connection === conn) this.router.flush(peer);
      },
      closed: (conn, reason, code) => this.onClosed(conn, reason, code),
    });
  }

  /** Listens, joins the cluster state and dials the seeds; `seams` replace production's clock, timers, randomness or transport. */
  static async start(options: ResolvedClusterOptions, host: ClusterHost, seams: ClusterSeams = {}): Promise<ClusterServer> {
    const cluster = new ClusterServer(options, host, seams);
    try {
      cluster.port = (await cluster.connector.listen()).port;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    cluster.state.join(cluster.selfInfo(), host.executors);
    void cluster.connector.dialSeeds();
    return cluster;
  }

  /** The address peers are told (`advertise`, or the listen address), with the port it listens on for port 0. */
  get address(): { host: string; port: number } {
    const { host, port } = this.options.advertise;
    return { host, port: port === 0 ? this.port : port };
  }

  get name(): string {
    return this.options.name;
  }

  private selfInfo(): MemberInfo {
    return { name: this.options.name, nodeId: this.options.nodeId, ...this.address, incarnation: this.incarnation };
  }

  private identity(): LocalIdentity {
    return { name: this.options.name, nodeId: this.options.nodeId, incarnation: this.incarnation, ...this.address, role: Role.MEMBER };
  }

  /** A seed that is this node itself (its listen or advertised address). */
  private isSelf(address: string, port: number): boolean {
    const advertised = this.address;
    if (address === advertised.host && port === advertised.port) return true;
    return port === this.port && (address === this.options.host || address === '127.0.0.1');
  }

  // ---------------------------------------------------------------- the data path (router.ts)

  /**
   * An envelope for another node's pid (or, with `run`, a run of USER envelopes for one node),
   * from the rings or from the main thread itself: queued in that peer's session (Router.forward).
   */
  forward(bytes: Uint8Array, offset: number, length: number, run = false): void {
    this.router.forward(bytes, offset, length, run);
  }

  /** The host's rings that incoming batches feed have drained: read the streams again. */
  ringsDrained(): void {
    this.router.ringsDrained();
  }

  // ---------------------------------------------------------------- connections and frames

  private onAuthenticated(connection: Connection, hello: Hello): void {
    if (hello.role === Role.STATUS) return;
    const clash = this.peers.withNodeId(hello.node_id);
    if (clash !== undefined && clash.name !== hello.name) {
      connection.close(`node number ${hello.node_id} of "${hello.name}" is already used by "${clash.name}"`);
      this.connector.countClose(ErrorCode.NODE_ID_CONFLICT);
      return;
    }
    const peer = this.peers.learn({ name: hello.name, nodeId: hello.node_id, host: hello.host, port: hello.port, incarnation: hello.incarnation });
    const existing = peer.connection;
    if (existing !== undefined && !existing.isClosed) {
      const smaller = this.options.name < hello.name ? this.options.name : hello.name;
      const dialer = (c: Connection): string => (c.dialed ? this.options.name : hello.name);
      // Both nodes dialled: the connection the smaller name dialled wins. One side dialled twice
      // (it redials when it thinks the old connection dead): the newer wins.
      if (dialer(existing) === smaller && dialer(connection) !== smaller) {
        connection.close('duplicate connection (the other one wins the tie-break)');
        return;
      }
      existing.close('duplicate connection (replaced)');
    }
    if (peer.incarnation !== hello.incarnation) {
      // The peer restarted: everything about its old incarnation is gone.
      this.peerLost(peer, 'noconnection');
      peer.incarnation = hello.incarnation;
    }
    peer.nodeId = hello.node_id;
    peer.host = hello.host;
    peer.port = hello.port;
    peer.connection = connection;
    peer.ready = false;
    this.peers.connected(peer);
    const session = peer.session;
    connection.sendControl({
      kind: 'resume',
      peerIncarnation: session?.peerIncarnation ?? '',
      receivedSeq: session?.lanes[LaneId.REGULAR].receivedSeq ?? 0,
      receivedBulkSeq: session?.lanes[LaneId.BULK].receivedSeq ?? 0,
    });
  }

  private onFrame(connection: Connection, frame: WireFrame): void {
    const hello = connection.peer!;
    if (hello.role === Role.STATUS) {
      if (frame.kind !== 'status_request') throw new HordeError(ErrorCode.HANDSHAKE_FAILED, `a status client sent ${frame.kind}`);
      connection.sendControl({ kind: 'status_reply', status: this.status() });
      connection.close('status sent', { leaving: false });
      return;
    }
    const peer = this.peers.get(hello.name);
    if (peer === undefined || peer.connection !== connection) return; // a connection that lost the tie-break
    switch (frame.kind) {
      case 'resume':
        this.onResume(peer, hello, frame.peerIncarnation, frame.receivedSeq, frame.receivedBulkSeq);
        return;
      case 'batch':
        if (!peer.ready) throw new HordeError(ErrorCode.MALFORMED_FRAME, 'batch before resume');
        if (frame.ack > 0) this.router.onAck(peer, LaneId.REGULAR, frame.ack);
        this.router.onBatch(peer, frame);
        return;
      case 'ack':
        this.router.onAck(peer, frame.lane === LaneId.BULK ? LaneId.BULK : LaneId.REGULAR, frame.seq);
        return;
      case 'heartbeat':
        this.failure.heard(peer);
        return;
      case 'gossip':
        this.onGossip(frame);
        return;
      case 'bye':
        if (frame.leaving) this.markLeft(peer);
        connection.close(`peer said bye: ${frame.reason}`);
        return;
      default:
        throw new HordeError(ErrorCode.MALFORMED_FRAME, `unexpected ${frame.kind} frame from a member`);
    }
  }

  private onResume(peer: Peer, hello: Hello, theirView: string, theirReceived: number, theirReceivedBulk: number): void {
    const session = peer.session;
    const continues = session !== undefined && session.peerIncarnation === hello.incarnation && theirView === this.incarnation;
    if (continues) {
      session.dropPartial();
      const before = session.resent;
      session.resume(theirReceived, theirReceivedBulk);
      peer.resentBatches += session.resent - before;
    } else {
      // A fresh session on both sides. Messages queued before first contact (never sent) are kept;
      // a batch sent in a session the peer no longer holds may or may not have been delivered:
      // counted as dead letters rather than risk a duplicate.
      const fresh = this.router.newSession(hello.incarnation);
      if (session !== undefined) {
        const lost = session.discardInflight();
        if (lost > 0) this.router.deadLetters(lost);
        session.moveTo(fresh);
        if (session.lanes[0].receivedSeq > 0 || session.lanes[1].receivedSeq > 0 || session.everSent) this.fireWatches(peer, 'noconnection');
      }
      peer.session = fresh;
    }
    peer.ready = true;
    peer.detector = this.failure.fresh();
    if (peer.state !== 'up') this.peers.setState(peer, 'up');
    peer.connection!.sendControl({ kind: 'gossip', ...this.state.fullState() });
    this.router.flush(peer);
    // Resuming may have dropped the in-flight batch (delivered, or lost with the old session)
    // with no ack to come: look again, or the peer could stay marked congested with an empty queue.
    this.router.checkRingPressure();
  }

  private onGossip(frame: Extract<WireFrame, { kind: 'gossip' }>): void {
    const learned = this.state.merge(frame);
    for (const member of learned.members) this.peers.learn(member);
    for (const name of learned.left) {
      const peer = this.peers.get(name);
      if (peer !== undefined) this.markLeft(peer);
    }
    if (learned.forward !== undefined) this.broadcast(learned.forward);
    this.peers.connectMissing();
  }

  private onClosed(connection: Connection, reason: string, code: string | undefined): void {
    const hello = connection.peer;
    const peer = hello === undefined || hello.role !== Role.MEMBER ? undefined : this.peers.get(hello.name);
    if (peer === undefined || peer.connection !== connection) {
      if (code !== undefined && code !== ErrorCode.CONNECTION_CLOSED) this.host.report('clusterConnection', { event: 'closed', peer: hello?.name, code, reason });
      return;
    }
    peer.connection = undefined;
    peer.ready = false;
    peer.ackDue = 0;
    peer.bulkAckDue = 0;
    peer.session?.dropPartial();
    if (code !== undefined && code !== ErrorCode.CONNECTION_CLOSED) this.host.report('clusterConnection', { event: 'closed', peer: peer.name, code, reason });
    if (peer.state === 'up') this.peers.setState(peer, 'suspect');
    this.peers.scheduleReconnect(peer);
  }

  // ---------------------------------------------------------------- peers lost

  /** Drops the session with `peer` (dead letters counted) and fires every tracked watch. */
  private peerLost(peer: Peer, reason: string): void {
    const session = peer.session;
    peer.session = undefined;
    if (session !== undefined) {
      const lost = session.discard();
      if (lost > 0) this.router.deadLetters(lost);
    }
    this.fireWatches(peer, reason);
    this.router.checkRingPressure();
  }

  private fireWatches(peer: Peer, reason: string): void {
    for (const watch of peer.watches.drain()) {
      switch (watch.kind) {
        case 'monitor-out':
          this.host.deliverEnvelope({ signal: Signal.DOWN, to: watch.local, from: watch.remote, ref: watch.ref, payload: reason });
          break;
        case 'monitor-in':
          this.host.deliverEnvelope({ signal: Signal.DEMONITOR, to: watch.local, from: watch.remote, ref: watch.ref, payload: undefined });
          break;
        case 'link':
          this.host.deliverEnvelope({ signal: Signal.EXIT, to: watch.local, from: watch.remote, ref: 0, payload: reason });
          break;
      }
    }
  }

  private markLeft(peer: Peer): void {
    if (peer.state === 'left') return;
    this.peers.setState(peer, 'left');
    this.peers.cancelReconnect(peer);
    this.peerLost(peer, 'noconnection');
  }

  private broadcast(gossip: Omit<Extract<WireFrame, { kind: 'gossip' }>, 'kind'>): void {
    for (const peer of this.peers.values()) if (peer.ready) peer.connection!.sendControl({ kind: 'gossip', ...gossip });
  }

  // ---------------------------------------------------------------- public operations

  /** Dials `address` ("host:port") and resolves once it is a member we are connected to. */
  async join(address: string, timeoutMs = 10_000): Promise<void> {
    const { host, port } = parseAddress('join', address);
    this.connector.dial(host, port);
    const deadline = this.clock.monotonicMs() + timeoutMs;
    while (this.clock.monotonicMs() < deadline) {
      if ([...this.peers.values()].some((peer) => peer.ready && peer.port === port)) return;
      await new Promise<void>((resolve) => this.timers.timeout(resolve, 20));
    }
    throw new HordeError(ErrorCode.TIMEOUT, `could not join ${address} within ${timeoutMs} ms`);
  }

  /** Leaves the cluster: tells every peer, closes every connection, forgets the members. */
  leave(): void {
    const delta = this.state.leave();
    this.broadcast(delta);
    for (const peer of this.peers.values()) {
      peer.connection?.close('leaving', { leaving: true });
      this.markLeft(peer);
    }
  }

  members(): MemberStatus[] {
    return [...this.peers.values()].map((peer) => ({
      name: peer.name,
      nodeId: peer.nodeId,
      host: peer.host,
      port: peer.port,
      incarnation: peer.incarnation,
      state: peer.state,
      phi: this.failure.phi(peer),
      connected: peer.ready,
      queuedBytes: peer.session?.queuedBytes ?? 0,
      bytesIn: peer.connection?.bytesIn ?? 0,
      bytesOut: peer.connection?.bytesOut ?? 0,
      resentBatches: peer.resentBatches,
      duplicateBatches: peer.duplicateBatches,
      watches: peer.watches.size,
    }));
  }

  status(): ClusterStatus {
    return {
      name: this.options.name,
      nodeId: this.options.nodeId,
      incarnation: this.incarnation,
      ...this.address,
      members: this.members(),
      closedConnections: { ...this.connector.closed },
      deadLetters: this.router.deadLetterCount,
      metadata: this.state.metadataEntries(),
    };
  }

  /** A name registered on this node (pid) or freed (undefined): gossiped to every peer. */
  setName(name: string, pid: Pid | undefined): void {
    this.broadcast(this.state.setName(name, pid));
  }

  /**
   * The pid registered as `name` (on several nodes, the first by node name) on this node or a
   * peer that is not down or gone: a down peer's names resolve again once it is back.
   */
  whereis(name: string): Pid | undefined {
    for (const [node, pid] of this.state.whereisAll(name)) {
      const peer = this.peers.get(node);
      if (peer === undefined || (peer.state !== 'down' && peer.state !== 'left')) return pid;
    }
    return undefined;
  }

  setMetadata(key: string, value: JsonValue): void {
    this.broadcast(this.state.setMetadata(key, value));
  }

  getMetadata(key: string): JsonValue | undefined {
    return this.state.getMetadata(key);
  }

  /** Test hook: destroys every connection's stream at once (they reconnect and resume). */
  dropConnections(): void {
    this.connector.dropAll();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.failure.stop();
    this.peers.stop();
    await this.connector.stop('node stopping');
  }
}
