/**
 * The other members as the cluster server holds them: one `Peer` per member name (found by name
 * and by node number), its connection and session, its member state, and redialling it.
 *
 * Design note (main thread's event loop; timers from the host, jitter from its Random):
 * - A peer is created the first time the node learns of a member (gossip, or an authenticated
 *   connection) and is kept for the node's life; a member seen back with a new incarnation after
 *   it was declared down starts over as 'connecting' with a fresh failure detector.
 * - Redialling: only the node with the smaller name redials a known member, so two nodes do not
 *   keep replacing each other's connections. A peer without a connection has at most one redial
 *   pending; the delay is `backoffMs` times a jitter in [0.5, 1.5) from the Random, and
 *   `backoffMs` doubles from `reconnectMinMs` to `reconnectMaxMs` with every attempt. A
 *   connection that authenticates resets it (`connected`). Each redial that finds the peer still
 *   unconnected dials it and schedules the next one; redials stop when the peer leaves or the
 *   node stops.
 * - State changes go through `setState`, which tells the server (which reports and emits them).
 */
import type { Random, TimerHandle, Timers } from '../internal/host.js';
import type { Connection } from './connection.js';
import type { ResolvedClusterOptions } from './options.js';
import type { PhiAccrualDetector } from './phi-detector.js';
import type { Session } from './session.js';
import type { MemberInfo } from './state.js';
import type { MemberState } from './status.js';
import { PeerWatches } from './watches.js';

export interface Peer {
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
  /** The pending redial, if any. */
  reconnect: TimerHandle | undefined;
  backoffMs: number;
  resentBatches: number;
  duplicateBatches: number;
  /** Its bit is set in the node's pressure: local senders to it wait (node-pressure.ts). */
  congested: boolean;
  /** The cumulative REGULAR ack owed to the peer (0: none): it rides on the next batch out, or goes alone. */
  ackDue: number;
  /** The cumulative BULK ack owed (0: none): always alone. */
  bulkAckDue: number;
}

export interface PeerEvents {
  /** A member this node had not heard of. */
  discovered(peer: Peer): void;
  stateChanged(peer: Peer, previous: MemberState): void;
  /** Dial the peer's address (a redial came due and it is still not connected). */
  dial(host: string, port: number): void;
  /** A failure detector that has just heard from its peer. */
  freshDetector(): PhiAccrualDetector;
}

export type PeerOptions = Pick<ResolvedClusterOptions, 'name' | 'reconnectMinMs' | 'reconnectMaxMs' | 'maxWatchesPerPeer'>;

export class Peers {
  private readonly byName = new Map<string, Peer>();
  private readonly byNode = new Map<number, Peer>();
  private stopped = false;

  constructor(
    private readonly options: PeerOptions,
    private readonly timers: Timers,
    private readonly random: Random,
    private readonly events: PeerEvents,
  ) {}

  get(name: string): Peer | undefined {
    return this.byName.get(name);
  }

  /** The peer whose pids carry node number `nodeId`. */
  withNodeId(nodeId: number): Peer | undefined {
    return this.byNode.get(nodeId);
  }

  values(): IterableIterator<Peer> {
    return this.byName.values();
  }

  /** The peer for `member`, created when new; a down peer back with a new incarnation starts over. */
  learn(member: MemberInfo): Peer {
    let peer = this.byName.get(member.name);
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
        detector: this.events.freshDetector(),
        watches: new PeerWatches(this.options.maxWatchesPerPeer),
        reconnect: undefined,
        backoffMs: this.options.reconnectMinMs,
        resentBatches: 0,
        duplicateBatches: 0,
        congested: false,
        ackDue: 0,
        bulkAckDue: 0,
      };
      this.byName.set(member.name, peer);
      this.events.discovered(peer);
      this.scheduleReconnect(peer);
    } else if (peer.state === 'down' && member.incarnation !== peer.incarnation) {
      peer.state = 'connecting';
      peer.incarnation = member.incarnation;
      peer.detector = this.events.freshDetector();
    }
    this.byNode.set(peer.nodeId, peer);
    return peer;
  }

  setState(peer: Peer, state: MemberState): void {
    const previous = peer.state;
    peer.state = state;
    this.events.stateChanged(peer, previous);
  }

  /** A connection to `peer` authenticated: no redial pending, the backoff starts over. */
  connected(peer: Peer): void {
    peer.backoffMs = this.options.reconnectMinMs;
    this.cancelReconnect(peer);
  }

  /** Redials `peer` after the backoff, if this node is the one that redials it. */
  scheduleReconnect(peer: Peer): void {
    if (this.stopped || peer.state === 'left' || peer.reconnect !== undefined || peer.port === 0) return;
    if (!(this.options.name < peer.name)) return; // the node with the smaller name redials
    const delay = peer.backoffMs * (0.5 + this.random.next());
    peer.backoffMs = Math.min(this.options.reconnectMaxMs, peer.backoffMs * 2);
    peer.reconnect = this.timers.timeout(
      () => {
        peer.reconnect = undefined;
        if (peer.connection === undefined && peer.state !== 'left') {
          this.events.dial(peer.host, peer.port);
          this.scheduleReconnect(peer);
        }
      },
      delay,
      true,
    );
  }

  /** Schedules a redial of every peer without a connection that has not left. */
  connectMissing(): void {
    for (const peer of this.byName.values()) {
      if (peer.connection === undefined && peer.state !== 'left') this.scheduleReconnect(peer);
    }
  }

  cancelReconnect(peer: Peer): void {
    this.timers.clear(peer.reconnect);
    peer.reconnect = undefined;
  }

  /** The node stops: no redial from now on. */
  stop(): void {
    this.stopped = true;
    for (const peer of this.byName.values()) this.cancelReconnect(peer);
  }
}
