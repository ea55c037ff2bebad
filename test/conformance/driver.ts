// The small interface every conformance scenario is written against, once: a cluster of nodes
// 1..N that a driver runs either in SimCluster (sim-driver.ts) or as real `horde node` processes
// on loopback (real-driver.ts). Scenarios see pids only as handles to send to; what they return
// (their outcome) holds counts, orders, labels, reasons and member states, never pids or timings.
import type { MemberState, Pid } from '../../src/index.js';

/**
 * The failure detector's heartbeat period (ms) in both worlds: a node is declared down about
 * 2.3-2.6 s (7.6-8.6 periods) after it went silent, well past a short partition and the TCP
 * retransmission (200 ms, then 600 ms after the first loss) that ends it on real nodes.
 */
export const HEARTBEAT_MS = 300;

/** A running cluster of nodes 1..`size`, in one of the two worlds. */
export interface ConformanceCluster {
  /** 'sim' or 'real' (for messages only: scenarios must not branch on it). */
  readonly world: string;
  readonly size: number;
  /** Spawns a process of `kind` on node `node`. */
  spawn<M = unknown>(node: number, kind: string, args?: unknown): Promise<Pid<M>>;
  /** Sends `msg` to `to` from the test (outside the processes under test). */
  send(to: Pid, msg: unknown): Promise<void>;
  /** Asks `to` from the test and resolves with the answer. */
  ask<R>(to: Pid, msg: unknown): Promise<R>;
  /** Cuts nodes `side` off from nodes `other`, both ways. */
  partition(side: readonly number[], other: readonly number[]): Promise<void>;
  /** Ends every partition. */
  heal(): Promise<void>;
  /** Kills node `node` at once (kill -9). */
  kill(node: number): Promise<void>;
  /** Lets `ms` pass (simulated or wall-clock). */
  sleep(ms: number): Promise<void>;
  /** Runs until `check` holds; fails naming `what` if it does not within a generous limit. */
  until(what: string, check: () => Promise<boolean>): Promise<void>;
  /** The state node `observer` holds for node `member` (undefined when it does not know it). */
  memberState(observer: number, member: number): Promise<MemberState | undefined>;
  /** Messages the running nodes' cluster servers counted as dead letters so far, in total. */
  deadLetters(): Promise<number>;
  /** Stops everything (and removes every firewall rule it added). */
  stop(): Promise<void>;
}

/** Starts a cluster of `nodes` nodes in one world. */
export type StartCluster = (nodes: number) => Promise<ConformanceCluster>;
