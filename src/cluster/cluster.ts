/**
 * The cluster server: the main thread's full TCP mesh to the other nodes of the cluster.
 *
 * Design note (everything runs on the main thread's event loop):
 * - Routing out: the main thread's ring pump hands every envelope addressed to another node to
 *   `forward` as raw bytes (payloads are never decoded here), an envelope or a run of them at a
 *   time (executors gather their USER envelopes for one node into runs, see envelope.ts). They
 *   are copied once into that peer's Session, which batches them (one batch in flight per peer,
 *   the rest coalescing) and numbers them. Monitors and links crossing the boundary are tracked
 *   (PeerWatches) on the way.
 * - Routing in: a Batch is checked envelope by envelope (header, length, destination node) before
 *   any of it is delivered; then the envelopes are copied into the ring of the participant that
 *   holds their target (host.deliverRaw), consecutive ones for the same executor as one run;
 *   the batch is marked delivered and acknowledged. A resend of a delivered batch is
 *   acknowledged and dropped: exactly once, in order, per node pair.
 * - Back pressure: while a peer's queued bytes exceed maxPendingBytes the server marks it
 *   congested (host.nodeCongested): the executors park the processes that send to it, and only
 *   them, until it drains below half or goes down. Past HARD_PENDING_FACTOR times the limit (what
 *   was in the rings already, and the main thread's own sends, which nothing parks) the server
 *   stops reading the rings altogether (host.pauseRings) until every peer is below half. Data is
 *   written to a socket only while it has no backlog ('drain' resumes it); while the local rings
 *   that incoming batches feed are congested, every peer socket stops being read (TCP carries
 *   the pressure back to the senders) until the host reports them drained.
 * - Connections: one per node pair. Both sides may dial; when two authenticated connections to
 *   the same peer meet, the one dialled by the node with the smaller name wins. Only the node
 *   with the smaller name redials a known member (jittered, doubling backoff); seeds are dialled
 *   by everyone and re-resolved (DNS) every seedRefreshMs.
 * - Sessions: after authentication both sides send Resume (which incarnation of the other they
 *   hold a session with, and the last batch they delivered from it). If both hold a session with
 *   each other's current incarnation it continues (the unacknowledged batch is resent); otherwise
 *   both start a fresh one (a restarted peer: what was queued for its old incarnation is counted
 *   as dead letters, and its monitors and links fire 'noconnection').
 * - Failure detection: heartbeats every heartbeatMs on the control lane feed a phi-accrual
 *   detector per peer; above suspectPhi the peer is 'suspect', above downPhi it is 'down': its
 *   session is dropped (dead letters counted), local monitors of its processes get DOWN
 *   'noconnection', links get exit signals, its monitors of local processes are removed.
 * - Membership, directory and metadata are gossiped as deltas on the control lane (ClusterState).
 */
import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import { createServer, connect as netConnect, isIP, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { ENVELOPE_HEADER_BYTES, RUN_MAX_BYTES, Signal, isSignal, type Envelope } from '../codec/envelope.js';
import { ErrorCode, HordeError } from '../errors.js';
import type { Pid } from '../process/pid.js';
import { Connection, type LocalIdentity } from './connection.js';
import { countEnvelopes, forEachEnvelope, fromPidAt, headerView, answerToMissingAt, isDeadLetterWhenMissingAt, refAt, shardAt, signalAt, toNodeAt, toPidAt } from '../codec/envelope-header.js';
import { parseAddress, type ResolvedClusterOptions } from './options.js';
import { PhiAccrualDetector } from './phi-detector.js';
import { FRAGMENT_BYTES, LaneId, Session } from './session.js';
import { ClusterState, type MemberInfo } from './state.js';
import { PeerWatches } from './watches.js';
import type { JsonValue } from './wire-check.js';
import { Role, encodeAckFrame, type Hello, type WireFrame } from './wire.js';

/** Queued bytes, in multiples of maxPendingBytes, past which every ring stops being read. */
const HARD_PENDING_FACTOR = 2;

/** What the cluster server needs from its node. */
export interface ClusterHost {
  readonly nodeId: number;
  /** Executor threads (on this node's business card). */
  readonly executors: number;
  /** Largest envelope this node takes (its maxMessageBytes; a batch may hold one of these). */
  readonly maxEnvelopeBytes: number;
  /**
   * Copies one envelope addressed to this node (`run` false), or a run of envelopes for the same
   * executor shard (`run` true), into the ring of the participant holding the target.
   */
  deliverRaw(bytes: Uint8Array, offset: number, length: number, run: boolean): void;
  /** Delivers an envelope built here (DOWN, EXIT or DEMONITOR when a peer goes down). */
  deliverEnvelope(envelope: Envelope): void;
  /** True while the rings incoming batches feed hold overflow; `onRingsDrained` is then called once they drain. */
  ringsCongested(): boolean;
  /** Stop / restart reading the rings that carry envelopes to other nodes. */
  pauseRings(): void;
  resumeRings(): void;
  /** Hold back (or let go) the local senders to node `nodeId` (node-pressure.ts). */
  nodeCongested(nodeId: number, congested: boolean): void;
  deadLetters(count: number): void;
  report(event: 'clusterConnection' | 'clusterMember', detail: unknown): void;
}

/**
 * A member as this node sees it: `'connecting'` (known, no session yet; also a down member seen
 * back with a new incarnation), `'up'`, `'suspect'` (phi above `suspectPhi`), `'down'` (phi above
 * `downPhi`: monitors and links of its processes fired 'noconnection'), `'left'` (it left the cluster).
 */
export type MemberState = 'connecting' | 'up' | 'suspect' | 'down' | 'left';

/** One other member of the cluster, as `node.members()` and `status().cluster.members` report it. */
export interface MemberStatus {
  /** The member's node name. */
  name: string;
  /** The member's node number (the `node` of its pids). */
  nodeId: number;
  /** The address the member advertises (what this node dials). */
  host: string;
  /** The port of the advertised address. */
  port: number;
  /** Random id of the member's current run: a restarted node has a new one. */
  incarnation: string;
  /** Where the member is in its life as this node sees it. */
  state: MemberState;
  /** Phi-accrual suspicion now: grows while heartbeats are late; compared with `suspectPhi` and `downPhi`. */
  phi: number;
  /** True while a session with it is established and batches flow. */
  connected: boolean;
  /** Bytes queued for this peer (pending and in flight). */
  queuedBytes: number;
  /** Bytes read from the current connection to it (0 without one). */
  bytesIn: number;
  /** Bytes written to the current connection to it (0 without one). */
  bytesOut: number;
  /** Batches sent to it again after a reconnection (their acknowledgement had not arrived). */
  resentBatches: number;
  /** Batches it sent again that had already been delivered here (acknowledged and dropped). */
  duplicateBatches: number;
  /** Monitors and links between its processes and this node's that are tracked (at most `maxWatchesPerPeer`). */
  watches: number;
}

/** This node's view of the cluster: `node.status().cluster`, and what `horde status` prints. */
export interface ClusterStatus {
  /** This node's name. */
  name: string;
  /** This node's number (the `node` of its pids). */
  nodeId: number;
  /** Random id of this node's current run (a new one at every start). */
  incarnation: string;
  /** The address this node advertises (`advertise`, or where it listens). */
  host: string;
  /** The port of the advertised address (the port it listens on when `advertise` gave 0). */
  port: number;
  /** Every other node this one knows of, whatever its state. */
  members: MemberStatus[];
  /** Connections closed, by reason code (HORDE_MALFORMED_FRAME, HORDE_HANDSHAKE_FAILED, ...). */
  closedConnections: Record<string, number>;
  /** Envelopes for other nodes that were dropped: for a node down, gone or unknown, or in flight to a peer that restarted. */
  deadLetters: number;
  /** The replicated metadata map (`node.setMetadata`), key to JSON value, as this node has it now. */
  metadata: Record<string, unknown>;
}

interface Peer {
  name: string;
  nodeId: number;
  host: string;
  port: number;
  incarnation: string;
  state: MemberState;
  connection: Connection | undefined;
  /** The connection finished the Resume exchange: batches may flow. */
  ready: boolean;
  session: Session | undefined;
  detector: PhiAccrualDetector;
  watches: PeerWatches;
  reconnect: NodeJS.Timeout | undefined;
  backoffMs: number;
  resentBatches: number;
  duplicateBatches: number;
  /** The cumulative REGULAR ack owed to the peer (0: none): it rides on the next batch out, or goes alone. */
  /** Its bit is set in the node's pressure: local senders to it wait (node-pressure.ts). */
  congested: boolean;
  ackDue: number;
  /** The cumulative BULK ack owed (0: none): always alone. */
  bulkAckDue: number;
}

export class ClusterServer extends EventEmitter {
  readonly incarnation = randomBytes(8).toString('hex');
  private readonly server: Server;
  private readonly peers = new Map<string, Peer>();
  private readonly byNodeId = new Map<number, Peer>();
  private readonly connections = new Set<Connection>();
  private readonly state: ClusterState;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly seedTimer: NodeJS.Timeout;
  private readonly closed: Record<string, number> = {};
  private port = 0;
  private stopping = false;
  private ringsPaused = false;
  private socketsPaused = false;
  private flushScheduled = false;
  private deadLetterCount = 0;

  private constructor(
    private readonly options: ResolvedClusterOptions,
    private readonly host: ClusterHost,
  ) {
    super();
    this.state = new ClusterState(options.name);
    const onSocket = (socket: Socket): void => {
      this.adopt(socket, false);
    };
    this.server =
      options.tls === undefined
        ? createServer(onSocket)
        : createTlsServer({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: true, rejectUnauthorized: true }, onSocket);
    this.server.on('tlsClientError', (error: Error) => {
      this.countClose(ErrorCode.TLS_FAILED);
      this.host.report('clusterConnection', { event: 'tls-failed', error });
    });
    this.heartbeat = setInterval(() => this.tick(), options.heartbeatMs);
    this.heartbeat.unref();
    this.seedTimer = setInterval(() => void this.dialSeeds(), options.seedRefreshMs);
    this.seedTimer.unref();
  }

  static async start(options: ResolvedClusterOptions, host: ClusterHost): Promise<ClusterServer> {
    const cluster = new ClusterServer(options, host);
    await new Promise<void>((resolve, reject) => {
      cluster.server.once('error', reject);
      cluster.server.listen(options.port, options.host, () => {
        cluster.server.off('error', reject);
        resolve();
      });
    });
    cluster.server.on('error', (error: Error) => host.report('clusterConnection', { event: 'server-error', error }));
    const address = cluster.server.address();
    cluster.port = typeof address === 'object' && address !== null ? address.port : options.port;
    cluster.state.join(cluster.selfInfo(), host.executors);
    void cluster.dialSeeds();
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

  // ---------------------------------------------------------------- outgoing envelopes

  /**
   * An envelope for another node's pid (or, with `run`, a run of USER envelopes for one node),
   * from the rings or from the main thread itself. Copied into
   * that peer's session; an unknown or down node gets it counted as a dead letter (and a MONITOR
   * or LINK answered with 'noconnection').
   */
  forward(bytes: Uint8Array, offset: number, length: number, run = false): void {
    const nodeId = toNodeAt(bytes, offset);
    const peer = this.byNodeId.get(nodeId);
    const signal = signalAt(bytes, offset);
    const tracked = !run && signal >= Signal.EXIT && signal <= Signal.DEMONITOR;
    if (peer === undefined || peer.state === 'down' || peer.state === 'left') {
      if (run) this.deadLetters(countEnvelopes(bytes.subarray(offset, offset + length)));
      else this.bounce(bytes, offset);
      return;
    }
    if (tracked) {
      const h = headerView(bytes);
      if (!peer.watches.track(signal, true, fromPidAt(h, offset), toPidAt(h, offset), refAt(h, offset))) {
        this.bounce(bytes, offset);
        return;
      }
    }
    peer.session ??= this.newSession(peer.incarnation);
    peer.session.enqueue(bytes, offset, length, run);
    const queued = peer.session.queuedBytes;
    if (queued > this.options.maxPendingBytes) {
      if (!peer.congested) {
        peer.congested = true;
        this.host.nodeCongested(peer.nodeId, true);
      }
      // The safety net: what was already in the rings when the senders stopped is bounded, but
      // the main thread's own sends are not held back.
      if (queued > HARD_PENDING_FACTOR * this.options.maxPendingBytes && !this.ringsPaused) {
        this.ringsPaused = true;
        this.host.pauseRings();
      }
    }
    this.scheduleFlush();
  }

  /** A message that cannot reach its node: a dead letter; a MONITOR or LINK learns 'noconnection' now. */
  private bounce(bytes: Uint8Array, offset: number): void {
    if (isDeadLetterWhenMissingAt(bytes, offset)) this.deadLetters(1);
    const answer = answerToMissingAt(bytes, offset, 'noconnection');
    if (answer !== undefined) this.host.deliverEnvelope(answer);
  }

  private newSession(peerIncarnation: string): Session {
    return new Session(peerIncarnation, this.options.batchBytes, this.maxBatchBytes());
  }

  private maxBatchBytes(): number {
    return Math.max(this.options.batchBytes, this.host.maxEnvelopeBytes) + 1024;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      for (const peer of this.peers.values()) this.flush(peer);
      this.checkRingPressure();
    });
  }

  /**
   * Sends each lane's in-flight batch's next fragments (taking a new batch when none is in
   * flight): REGULAR first, BULK only once REGULAR has nothing left to write, so small messages
   * pass a large one. The REGULAR ack owed to the peer rides on the first fragment; acks that
   * found nothing to ride go alone.
   */
  private flush(peer: Peer): void {
    const connection = peer.connection;
    const session = peer.session;
    if (!peer.ready || connection === undefined || session === undefined) return;
    for (const lane of [LaneId.REGULAR, LaneId.BULK] as const) {
      const queue = session.lanes[lane];
      const batch = queue.inflight ?? queue.takeBatch();
      if (batch === undefined) continue;
      while (batch.sent < batch.data.length && connection.canSendData) {
        const end = Math.min(batch.data.length, batch.sent + FRAGMENT_BYTES);
        const ack = lane === LaneId.REGULAR ? peer.ackDue : 0;
        connection.sendBatch(batch.seq, batch.data.subarray(batch.sent, end), end === batch.data.length, ack, lane);
        if (lane === LaneId.REGULAR) peer.ackDue = 0;
        batch.sent = end;
      }
      if (batch.sent < batch.data.length) break;
    }
    if (peer.ackDue > 0) {
      connection.sendEncoded(encodeAckFrame(peer.ackDue, LaneId.REGULAR));
      peer.ackDue = 0;
    }
    if (peer.bulkAckDue > 0) {
      connection.sendEncoded(encodeAckFrame(peer.bulkAckDue, LaneId.BULK));
      peer.bulkAckDue = 0;
    }
  }

  private checkRingPressure(): void {
    for (const peer of this.peers.values()) {
      if (!peer.congested) continue;
      const live = peer.session !== undefined && peer.state !== 'down' && peer.state !== 'left';
      if (live && peer.session!.queuedBytes > this.options.maxPendingBytes / 2) continue;
      peer.congested = false;
      this.host.nodeCongested(peer.nodeId, false);
    }
    if (!this.ringsPaused) return;
    for (const peer of this.peers.values()) {
      if (peer.session !== undefined && peer.session.queuedBytes > this.options.maxPendingBytes / 2) return;
    }
    this.ringsPaused = false;
    this.host.resumeRings();
  }

  // ---------------------------------------------------------------- incoming batches

  private onBatch(peer: Peer, frame: Extract<WireFrame, { kind: 'batch' }>): void {
    if (frame.lane !== LaneId.REGULAR && frame.lane !== LaneId.BULK) throw new HordeError(ErrorCode.MALFORMED_FRAME, `batch on unknown lane ${frame.lane}`);
    const lane = peer.session!.lanes[frame.lane];
    const data = lane.receive(frame.seq, frame.data, frame.last);
    if (data === undefined) {
      if (frame.last) {
        peer.duplicateBatches++;
        this.owe(peer, frame.lane, lane.receivedSeq);
      }
      return;
    }
    if (!(data instanceof Uint8Array)) {
      // Larger than this node takes (one envelope over its maxMessageBytes): a dead letter, and
      // acknowledged, or the peer would send it again on every connection.
      if (data.head.length === ENVELOPE_HEADER_BYTES && isSignal(signalAt(data.head, 0))) this.bounce(data.head, 0);
      else this.deadLetters(1);
      lane.delivered(frame.seq);
      this.owe(peer, frame.lane, frame.seq);
      return;
    }
    const own = this.host.nodeId;
    // Check the whole batch before delivering any of it.
    forEachEnvelope(data, (offset) => {
      if (toNodeAt(data, offset) !== own) throw new HordeError(ErrorCode.MALFORMED_FRAME, `peer "${peer.name}" sent an envelope for node ${toNodeAt(data, offset)} to node ${own}`);
    });
    this.deliverInRuns(peer, data);
    lane.delivered(frame.seq);
    this.owe(peer, frame.lane, frame.seq);
    if (!this.socketsPaused && this.host.ringsCongested()) {
      this.socketsPaused = true;
      for (const p of this.peers.values()) p.connection?.pauseReading();
    }
  }

  /**
   * Hands a checked batch to the host: consecutive envelopes for the same executor shard as one
   * run (of at most RUN_MAX_BYTES and maxMessageBytes; a run larger than a ring record crosses
   * in chunks), anything else one by one; an envelope over maxMessageBytes is a dead letter. The
   * monitors and links it carries are tracked on the way, each before its run is delivered.
   */
  private deliverInRuns(peer: Peer, data: Uint8Array): void {
    const h = headerView(data);
    const executors = this.host.executors;
    const maxEnvelope = this.host.maxEnvelopeBytes;
    const runMax = Math.min(RUN_MAX_BYTES, maxEnvelope);
    let start = 0;
    let count = 0;
    let shard = -1;
    const flush = (end: number): void => {
      if (count > 0) this.host.deliverRaw(data, start, end - start, count > 1);
      count = 0;
    };
    forEachEnvelope(data, (offset, length) => {
      const signal = signalAt(data, offset);
      const to = shardAt(data, offset);
      if (length > maxEnvelope) {
        // Larger than this node's maxMessageBytes (the peer's may be larger): a dead letter, like
        // a message refused at its sender here.
        flush(offset);
        this.bounce(data, offset);
        return;
      }
      if (signal >= Signal.EXIT && signal <= Signal.DEMONITOR) peer.watches.track(signal, false, fromPidAt(h, offset), toPidAt(h, offset), refAt(h, offset));
      if (count > 0 && (to !== shard || to >= executors || offset + length - start > runMax)) flush(offset);
      if (count === 0) {
        start = offset;
        shard = to;
      }
      count++;
    });
    flush(data.length);
  }

  /**
   * Owes the peer an ack. It goes out at the end of this microtask checkpoint: on the batch the
   * delivered messages' answers make, when the code they woke sends one at once (an ask's
   * continuation does), or alone.
   */
  private owe(peer: Peer, lane: LaneId, seq: number): void {
    if (lane === LaneId.REGULAR) peer.ackDue = seq;
    else peer.bulkAckDue = seq;
    this.scheduleFlush();
  }

  /** The host's rings that incoming batches feed have drained: read the sockets again. */
  ringsDrained(): void {
    if (!this.socketsPaused) return;
    this.socketsPaused = false;
    for (const peer of this.peers.values()) peer.connection?.resumeReading();
  }

  // ---------------------------------------------------------------- connections

  private adopt(socket: Socket, dialed: boolean): Connection {
    const connection = new Connection(
      socket,
      dialed,
      this.identity(),
      this.options.secret,
      { maxFrameBytes: this.options.maxFrameBytes, handshakeTimeoutMs: this.options.handshakeTimeoutMs },
      {
        authenticated: (conn, hello) => this.onAuthenticated(conn, hello),
        frame: (conn, frame) => this.onFrame(conn, frame),
        drain: (conn) => {
          const peer = conn.peer === undefined ? undefined : this.peers.get(conn.peer.name);
          if (peer !== undefined && peer.connection === conn) this.flush(peer);
        },
        closed: (conn, reason, code) => this.onClosed(conn, reason, code),
      },
    );
    this.connections.add(connection);
    if (this.stopping) connection.close('node stopping');
    return connection;
  }

  private dial(host: string, port: number): void {
    if (this.stopping) return;
    const tls = this.options.tls;
    const socket =
      tls === undefined
        ? netConnect({ host, port })
        : tlsConnect({ host, port, key: tls.key, cert: tls.cert, ca: tls.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined });
    this.adopt(socket, true);
  }

  private onAuthenticated(connection: Connection, hello: Hello): void {
    if (hello.role === Role.STATUS) return;
    const clash = this.byNodeId.get(hello.node_id);
    if (clash !== undefined && clash.name !== hello.name) {
      connection.close(`node number ${hello.node_id} of "${hello.name}" is already used by "${clash.name}"`);
      this.countClose(ErrorCode.NODE_ID_CONFLICT);
      return;
    }
    const peer = this.peerFor({ name: hello.name, nodeId: hello.node_id, host: hello.host, port: hello.port, incarnation: hello.incarnation });
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
    peer.backoffMs = this.options.reconnectMinMs;
    clearTimeout(peer.reconnect);
    peer.reconnect = undefined;
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
        if (frame.ack > 0) this.onAck(peer, LaneId.REGULAR, frame.ack);
        this.onBatch(peer, frame);
        return;
      case 'ack':
        this.onAck(peer, frame.lane === LaneId.BULK ? LaneId.BULK : LaneId.REGULAR, frame.seq);
        return;
      case 'heartbeat':
        peer.detector.heartbeat(Date.now());
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

  private onAck(peer: Peer, lane: LaneId, seq: number): void {
    if (peer.session?.acknowledge(lane, seq) === true) {
      this.scheduleFlush();
      this.checkRingPressure();
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
      const fresh = this.newSession(hello.incarnation);
      if (session !== undefined) {
        const lost = session.discardInflight();
        if (lost > 0) this.deadLetters(lost);
        session.moveTo(fresh);
        if (session.lanes[0].receivedSeq > 0 || session.lanes[1].receivedSeq > 0 || session.everSent) this.fireWatches(peer, 'noconnection');
      }
      peer.session = fresh;
    }
    peer.ready = true;
    peer.detector = this.newDetector();
    if (peer.state !== 'up') this.setState(peer, 'up');
    peer.connection!.sendControl({ kind: 'gossip', ...this.state.fullState() });
    this.flush(peer);
    // Resuming may have dropped the in-flight batch (delivered, or lost with the old session)
    // with no ack to come: look again, or the peer could stay marked congested with an empty queue.
    this.checkRingPressure();
  }

  private onGossip(frame: Extract<WireFrame, { kind: 'gossip' }>): void {
    const learned = this.state.merge(frame);
    for (const member of learned.members) this.peerFor(member);
    for (const name of learned.left) {
      const peer = this.peers.get(name);
      if (peer !== undefined) this.markLeft(peer);
    }
    if (learned.forward !== undefined) this.broadcast(learned.forward);
    this.connectMissing();
  }

  private onClosed(connection: Connection, reason: string, code: string | undefined): void {
    this.connections.delete(connection);
    if (code !== undefined && code !== ErrorCode.CONNECTION_CLOSED) this.countClose(code);
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
    if (peer.state === 'up') this.setState(peer, 'suspect');
    this.scheduleReconnect(peer);
  }

  private scheduleReconnect(peer: Peer): void {
    if (this.stopping || peer.state === 'left' || peer.reconnect !== undefined || peer.port === 0) return;
    if (!(this.options.name < peer.name)) return; // the node with the smaller name redials
    const delay = peer.backoffMs * (0.5 + Math.random());
    peer.backoffMs = Math.min(this.options.reconnectMaxMs, peer.backoffMs * 2);
    peer.reconnect = setTimeout(() => {
      peer.reconnect = undefined;
      if (peer.connection === undefined && peer.state !== 'left') {
        this.dial(peer.host, peer.port);
        this.scheduleReconnect(peer);
      }
    }, delay);
    peer.reconnect.unref();
  }

  private connectMissing(): void {
    for (const peer of this.peers.values()) {
      if (peer.connection === undefined && peer.state !== 'left') this.scheduleReconnect(peer);
    }
  }

  private async dialSeeds(): Promise<void> {
    for (const seed of this.options.seeds) {
      const { host, port } = parseAddress('seed', seed);
      let addresses: string[];
      try {
        addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map((entry) => entry.address);
      } catch (error) {
        this.host.report('clusterConnection', { event: 'seed-unresolved', seed, error });
        continue;
      }
      for (const address of addresses) {
        if (this.stopping) return;
        if (this.isSelf(address, port)) continue;
        const known = [...this.peers.values()].some((peer) => peer.connection !== undefined && peer.port === port && (peer.host === address || peer.host === host));
        if (!known) this.dial(address, port);
      }
    }
  }

  /** A seed that is this node itself (its listen or advertised address). */
  private isSelf(address: string, port: number): boolean {
    const advertised = this.address;
    if (address === advertised.host && port === advertised.port) return true;
    return port === this.port && (address === this.options.host || address === '127.0.0.1');
  }

  // ---------------------------------------------------------------- peers and failure

  private peerFor(member: MemberInfo): Peer {
    let peer = this.peers.get(member.name);
    if (peer === undefined) {
      peer = {
        name: member.name,
        nodeId: member.nodeId,
        host: member.host,
        port: member.port,
        incarnation: member.incarnation,
        state: 'connecting',
        connection: undefined,
        ready: false,
        session: undefined,
        detector: this.newDetector(),
        watches: new PeerWatches(this.options.maxWatchesPerPeer),
        reconnect: undefined,
        backoffMs: this.options.reconnectMinMs,
        resentBatches: 0,
        duplicateBatches: 0,
        congested: false,
        ackDue: 0,
        bulkAckDue: 0,
      };
      this.peers.set(member.name, peer);
      this.host.report('clusterMember', { event: 'discovered', name: member.name, nodeId: member.nodeId });
      this.scheduleReconnect(peer);
    } else if (peer.state === 'down' && member.incarnation !== peer.incarnation) {
      peer.state = 'connecting';
      peer.incarnation = member.incarnation;
      peer.detector = this.newDetector();
    }
    this.byNodeId.set(peer.nodeId, peer);
    return peer;
  }

  /** A detector that has just heard from its peer. */
  private newDetector(): PhiAccrualDetector {
    const detector = new PhiAccrualDetector({ firstHeartbeatEstimateMs: this.options.heartbeatMs });
    detector.heartbeat(Date.now());
    return detector;
  }

  private tick(): void {
    const now = Date.now();
    for (const peer of this.peers.values()) {
      if (peer.ready) peer.connection!.sendControl({ kind: 'heartbeat', sentAtMs: now });
      if (peer.state === 'down' || peer.state === 'left') continue;
      const phi = peer.detector.phi(now);
      if (phi >= this.options.downPhi) {
        this.setState(peer, 'down');
        peer.connection?.close('declared down (failure detector)');
        this.peerLost(peer, 'noconnection');
        this.scheduleReconnect(peer);
      } else if (phi >= this.options.suspectPhi && peer.state === 'up') {
        this.setState(peer, 'suspect');
      } else if (phi < this.options.suspectPhi && peer.state === 'suspect' && peer.ready) {
        this.setState(peer, 'up');
      }
    }
  }

  /** Drops the session with `peer` (dead letters counted) and fires every tracked watch. */
  private peerLost(peer: Peer, reason: string): void {
    const session = peer.session;
    peer.session = undefined;
    if (session !== undefined) {
      const lost = session.discard();
      if (lost > 0) this.deadLetters(lost);
    }
    this.fireWatches(peer, reason);
    this.checkRingPressure();
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
    this.setState(peer, 'left');
    clearTimeout(peer.reconnect);
    peer.reconnect = undefined;
    this.peerLost(peer, 'noconnection');
  }

  private setState(peer: Peer, state: MemberState): void {
    const previous = peer.state;
    peer.state = state;
    this.host.report('clusterMember', { event: 'state', name: peer.name, from: previous, to: state });
    this.emit('member', { name: peer.name, state, previous });
  }

  private deadLetters(count: number): void {
    this.deadLetterCount += count;
    this.host.deadLetters(count);
  }

  private countClose(code: string): void {
    this.closed[code] = (this.closed[code] ?? 0) + 1;
  }

  private broadcast(gossip: Omit<Extract<WireFrame, { kind: 'gossip' }>, 'kind'>): void {
    for (const peer of this.peers.values()) if (peer.ready) peer.connection!.sendControl({ kind: 'gossip', ...gossip });
  }

  // ---------------------------------------------------------------- public operations

  /** Dials `address` ("host:port") and resolves once it is a member we are connected to. */
  async join(address: string, timeoutMs = 10_000): Promise<void> {
    const { host, port } = parseAddress('join', address);
    this.dial(host, port);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ([...this.peers.values()].some((peer) => peer.ready && peer.port === port)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
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
    const now = Date.now();
    return [...this.peers.values()].map((peer) => ({
      name: peer.name,
      nodeId: peer.nodeId,
      host: peer.host,
      port: peer.port,
      incarnation: peer.incarnation,
      state: peer.state,
      phi: peer.detector.phi(now),
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
      closedConnections: { ...this.closed },
      deadLetters: this.deadLetterCount,
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

  /** Test hook: destroys every connection's socket at once (they reconnect and resume). */
  dropConnections(): void {
    for (const connection of [...this.connections]) connection.socket.destroy();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.heartbeat);
    clearInterval(this.seedTimer);
    for (const peer of this.peers.values()) {
      clearTimeout(peer.reconnect);
      peer.reconnect = undefined;
    }
    for (const connection of [...this.connections]) connection.close('node stopping', { leaving: false });
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
