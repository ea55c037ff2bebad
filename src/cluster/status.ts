/**
 * What the cluster server reports about itself and its members: `node.members()`,
 * `node.status().cluster` and what `horde status` prints (the public types of the cluster).
 */

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
