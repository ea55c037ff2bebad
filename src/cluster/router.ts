/**
 * The cluster server's data path: envelopes out to a peer's session and batches in from it, and
 * the back pressure between the node's rings and the peers.
 *
 * Design note (everything runs on the main thread's event loop):
 * - Routing out: the main thread's ring pump hands every envelope addressed to another node to
 *   `forward` as raw bytes (payloads are never decoded here), an envelope or a run of them at a
 *   time (executors gather their USER envelopes for one node into runs, see envelope.ts). They
 *   are copied once into that peer's Session, which batches them (one batch in flight per peer
 *   and lane, the rest coalescing) and numbers them. Monitors and links crossing the boundary are
 *   tracked (PeerWatches) on the way. An envelope for a node unknown, down or gone is a dead
 *   letter (a MONITOR or LINK is answered 'noconnection' at once).
 * - Writing: at the end of the microtask checkpoint (`scheduleFlush`) each ready peer's lanes
 *   write their in-flight batch's next fragments while the stream has no backlog (its 'drain'
 *   resumes them); owed acks ride on the first REGULAR fragment or go alone.
 * - Routing in: a Batch is checked envelope by envelope (header, length, destination node) before
 *   any of it is delivered; then the envelopes are copied into the ring of the participant that
 *   holds their target (host.deliverRaw), consecutive ones for the same executor as one run;
 *   the batch is marked delivered and acknowledged. A resend of a delivered batch is
 *   acknowledged and dropped: exactly once, in order, per node pair.
 * - Back pressure: while a peer's queued bytes exceed maxPendingBytes the router marks it
 *   congested (host.nodeCongested): the executors park the processes that send to it, and only
 *   them, until it drains below half or goes down. Past HARD_PENDING_FACTOR times the limit (what
 *   was in the rings already, and the main thread's own sends, which nothing parks) it stops
 *   reading the rings altogether (host.pauseRings) until every peer is below half. While the
 *   local rings that incoming batches feed are congested, every peer stream stops being read
 *   (the transport carries the pressure back to the senders) until the host reports them drained.
 * - Allocation: nothing per envelope beyond the session's copy out and the ring's copy in; per
 *   write, a fragment's small head (or an ack frame). The transport adds nothing (a TCP stream is
 *   the socket itself, see src/net/transport-tcp.ts).
 */
import { ENVELOPE_HEADER_BYTES, RUN_MAX_BYTES, Signal, isSignal } from '../codec/envelope.js';
import { countEnvelopes, forEachEnvelope, fromPidAt, headerView, answerToMissingAt, isDeadLetterWhenMissingAt, refAt, shardAt, signalAt, toNodeAt, toPidAt } from '../codec/envelope-header.js';
import { ErrorCode, HordeError } from '../errors.js';
import type { ClusterHost } from './host.js';
import type { ResolvedClusterOptions } from './options.js';
import type { Peer, Peers } from './peers.js';
import { FRAGMENT_BYTES, LaneId, Session } from './session.js';
import { encodeAckFrame, type WireFrame } from './wire.js';

/** Queued bytes, in multiples of maxPendingBytes, past which every ring stops being read. */
const HARD_PENDING_FACTOR = 2;

export type RouterOptions = Pick<ResolvedClusterOptions, 'batchBytes' | 'maxPendingBytes'>;

export class Router {
  private ringsPaused = false;
  private streamsPaused = false;
  private flushScheduled = false;
  /** Envelopes dropped since the start (ClusterStatus.deadLetters). */
  deadLetterCount = 0;

  constructor(
    private readonly options: RouterOptions,
    private readonly host: ClusterHost,
    private readonly peers: Peers,
  ) {}

  // ---------------------------------------------------------------- outgoing envelopes

  /**
   * An envelope for another node's pid (or, with `run`, a run of USER envelopes for one node),
   * from the rings or from the main thread itself. Copied into that peer's session; an unknown or down node gets it counted as a dead letter (and a MONITOR
   * or LINK answered with 'noconnection').
   */
  forward(bytes: Uint8Array, offset: number, length: number, run = false): void {
    const nodeId = toNodeAt(bytes, offset);
    const peer = this.peers.withNodeId(nodeId);
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
  bounce(bytes: Uint8Array, offset: number): void {
    if (isDeadLetterWhenMissingAt(bytes, offset)) this.deadLetters(1);
    const answer = answerToMissingAt(bytes, offset, 'noconnection');
    if (answer !== undefined) this.host.deliverEnvelope(answer);
  }

  newSession(peerIncarnation: string): Session {
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
  flush(peer: Peer): void {
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

  checkRingPressure(): void {
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

  onBatch(peer: Peer, frame: Extract<WireFrame, { kind: 'batch' }>): void {
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
    if (!this.streamsPaused && this.host.ringsCongested()) {
      this.streamsPaused = true;
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

  /** The host's rings that incoming batches feed have drained: read the streams again. */
  ringsDrained(): void {
    if (!this.streamsPaused) return;
    this.streamsPaused = false;
    for (const peer of this.peers.values()) peer.connection?.resumeReading();
  }

  onAck(peer: Peer, lane: LaneId, seq: number): void {
    if (peer.session?.acknowledge(lane, seq) === true) {
      this.scheduleFlush();
      this.checkRingPressure();
    }
  }

  deadLetters(count: number): void {
    this.deadLetterCount += count;
    this.host.deadLetters(count);
  }
}
