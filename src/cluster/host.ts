/**
 * What the cluster server takes from outside: `ClusterHost`, what it needs from its node (the
 * node's rings, its pressure bits, its reports), and `ClusterSeams`, the clock, timers, randomness
 * and transport it runs on (production's by default; a test or the simulator passes its own).
 */
import type { Envelope } from '../codec/envelope.js';
import type { Clock, Entropy, Random, Timers } from '../internal/host.js';
import type { Transport } from '../net/transport.js';

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
  /** True while the rings incoming batches feed hold overflow; the node then calls `ClusterServer.ringsDrained` once they drain. */
  ringsCongested(): boolean;
  /** Stop / restart reading the rings that carry envelopes to other nodes. */
  pauseRings(): void;
  resumeRings(): void;
  /** Hold back (or let go) the local senders to node `nodeId` (node-pressure.ts). */
  nodeCongested(nodeId: number, congested: boolean): void;
  deadLetters(count: number): void;
  report(event: 'clusterConnection' | 'clusterMember', detail: unknown): void;
}

/** What the cluster server runs on; each one left out is production's. */
export interface ClusterSeams {
  /** Default `systemClock`: the system's wall clock and its monotonic clock. */
  clock?: Clock;
  /** Default `systemTimers`: Node's timers (unref'd where they should not keep the node alive). */
  timers?: Timers;
  /** Reconnect jitter. Default `systemRandom` (Math.random). */
  random?: Random;
  /** Handshake challenges and the incarnation id. Default `systemEntropy` (node:crypto). */
  entropy?: Entropy;
  /** Default `tcpTransport(options.tls)`: TCP, or mutual TLS when the options have `tls`. */
  transport?: Transport;
}
