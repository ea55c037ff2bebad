/**
 * ShardHost: what a Shard needs from the thread that runs it (the executor worker, the TestKit, a
 * test double). The shard itself never touches a ring, a clock or a timer: its wall clock (`now`),
 * the CPU clock it cuts turns by (`elapsedMs`), and everything that leaves it go through the host.
 */

import type { Signal } from '../codec/envelope.js';
import type { Pid } from '../process/pid.js';
import type { ExitReason } from '../process/types.js';

/** What `ShardHost.route` returns when the destination took the envelope without congestion. */
export const ROUTE_ACCEPTED = -1;
/** Destination ids from here on name a congested node (`NODE_BLOCK_BASE + node`); below it, a ring or channel. */
export const NODE_BLOCK_BASE = 1 << 20;

export interface ShardHost {
  /** Milliseconds, from the runtime's clock (simulated in the testkit). */
  now(): number;
  /**
   * Milliseconds from any fixed origin, monotonic and finer than a millisecond: the scheduler's
   * clock for slices (performance.now() in an executor, the simulated clock in the testkit). Read
   * once a runTurns and then every 1 to 64 messages (see "Slices" in scheduler.ts).
   */
  elapsedMs(): number;
  /**
   * Carries a signal to a pid outside this shard (another shard, the main thread, another node).
   * Returns ROUTE_ACCEPTED, or the id of a congested destination: the sender is then parked until
   * the host calls `resume` with that id.
   */
  route(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): number;
  /** A user message or signal for a pid that does not exist here. */
  deadLetter(signal: Signal, to: Pid, from: Pid | undefined, payload: unknown): void;
  /** A process ended with a reason other than 'normal' or 'shutdown' (for logs and metrics). */
  crashed(pid: Pid, kind: string, reason: ExitReason): void;
  /** Optional: a process turn begins (the executor's watchdog heartbeat). */
  turnStarted?(pid: Pid, kind: string): void;
  /** Optional: every envelope leaving a process (testkit inspection). */
  trace?(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void;
}

/** A spawn request as it travels to the shard that will run the process. */
export interface SpawnRequest {
  kind: string;
  args: unknown;
  /** The parent to link to at creation, if any. */
  link?: Pid;
}

export function spawnRequest(kind: string, args: unknown, link: Pid | undefined): SpawnRequest {
  return link === undefined ? { kind, args } : { kind, args, link };
}
