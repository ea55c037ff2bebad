// What one scrape reads from a node: gathered once per scrape, then read by every family's collect.
import type { ClusterStatus } from '../cluster/status.js';
import type { ServiceStatus } from './service-thread.js';

/** One executor's reading of its SharedCounters (slots by CounterSlot), undefined when it could not be read. */
export type ExecutorReading = Float64Array | undefined;

/** The figures `/metrics` reads from a gateway's status (a subset of GatewayStatus, which sits above the node). */
export interface GatewayFigures {
  throttled: boolean;
  throttleChanges: number;
  admissionWindow: number;
  canaryP99Ms: number;
  requestP99Ms: number;
  connections: number;
  admitted: number;
  shed: number;
  completed: number;
  failed: number;
  rejected: number;
  badFrames: number;
  inFlight: number;
  held: number;
  refusedConnections: number;
}

export interface MetricsSnapshot {
  /** By shard. */
  executors: ExecutorReading[];
  /** Participant names by index ('0', '1', ..., 'main', 'poller', ...): the `destination` label. */
  participants: string[];
  mainDeadLetters: number;
  /** Envelopes the main thread holds per participant while that ring is full. */
  mainOverflow: number[];
  executorRestarts: number;
  longReceives: number;
  pendingAsks: number;
  monitors: number;
  registeredNames: number;
  /** Service threads by name; undefined for one that did not answer within the scrape's wait. */
  services: Record<string, ServiceStatus | undefined>;
  cluster: ClusterStatus | undefined;
  /** The node's gateways by their address. */
  gateways: [string, GatewayFigures][];
}

/** Where a scrape's snapshot comes from (the node implements it). */
export interface MetricsSource {
  snapshot(): Promise<MetricsSnapshot>;
}
