/**
 * What the main thread and an executor worker say to each other, in one place: the worker's start
 * data, the comlink control API, and the slots of the shared status block.
 *
 * Two channels: the rings (every message and signal, see src/ring) and the control plane (comlink
 * over the worker's MessagePort: spawn, status, stop, shard replacement). The control plane is
 * never on the hot path. An executor blocks in Atomics.wait when idle, so it cannot hear port
 * messages by itself: the main thread posts the comlink message, then bumps CONTROL_SEQ in the
 * status block and rings the executor's doorbell; the executor sees the new sequence, pumps its
 * port with receiveMessageOnPort, and yields to its event loop once so comlink's reply goes out.
 */

import type { WireError } from '../errors.js';
import { CONTROL_SEQ_SLOT, type LoopData } from '../participant/loop.js';
import type { Pid } from '../process/pid.js';
import type { ExitReason } from '../process/types.js';
import type { RingHandle } from '../ring/ring.js';
import type { ShardStats } from './shard.js';
import type { SpawnFloors } from './spawn-wait.js';

/** What an executor worker starts with: its rings and control block (LoopData) and its shard's settings. */
export interface ExecutorWorkerData extends LoopData {
  node: number;
  shard: number;
  spawnerId: number;
  /** Number of executors; rings are indexed by shard, the main thread's at index `shards`. */
  shards: number;
  behaviourModules: string[];
  preloadModules: string[];
  budget: number;
  mailboxLimit: number;
  spin: number;
  /** The node clock's epoch offset (src/internal/clock.ts). */
  clockOffset: number;
  /** Which other nodes are congested (src/internal/node-pressure.ts), written by the main thread. */
  nodePressure: SharedArrayBuffer;
  /** Set for a replacement executor: how far the live allocators had got when it started. */
  spawnFloors?: SpawnFloors;
  /** Which services run on the node, by index in SERVICES (an optional one may not). */
  runningServices: boolean[];
  /** The executor's SharedCounters buffer (CounterSlot layout), written once per pass, read by `/metrics`. */
  counters: SharedArrayBuffer;
}

/** One executor thread's figures, an entry of `node.status().executors`. */
export interface ExecutorStatus extends ShardStats {
  /** The executor's shard number. */
  shard: number;
  /** Messages this executor could not deliver (no such process, no route, over `maxMessageBytes`) and inbound records that did not decode. */
  deadLetters: number;
  /** Envelopes waiting in the executor for a full ring, per destination index. */
  overflow: number[];
  /** Bytes in use in each outbound ring. */
  ringUsedBytes: number[];
  /** V8 heap in use by this executor's isolate. */
  heapUsedBytes: number;
}

export type ControlResult<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** The executor's comlink API (results travel as ControlResult so error codes survive). */
export interface ExecutorApi {
  spawn(pid: Pid, kind: string, args: unknown): ControlResult<null>;
  status(): ExecutorStatus;
  /**
   * Participant `index` was replaced: use these rings to and from it from now on. For a service
   * thread this also answers its unanswered requests and starts the timers again (Shard.serviceLost).
   */
  replaceRings(index: number, inbound: RingHandle, outbound: RingHandle): ControlResult<null>;
  /** Every process of `shard` is gone: fire links and monitors on them with `reason`. */
  shardLost(shard: number, reason: ExitReason): ControlResult<null>;
  /**
   * Runs a full garbage collection if the process was started with --expose-gc (workers inherit
   * it); returns whether it could. For memory measurements such as bytes per idle process.
   */
  collectGarbage(): boolean;
  /** Ends every process ('shutdown'), flushes, and ends the worker's loop. */
  stop(): ControlResult<null>;
}

/** Float64 slots of an executor's status block (written by the executor, read by the main thread). */
export const StatusSlot = {
  /** Int32 view: bumped by the main thread when a control message waits (see ParticipantLoop). */
  CONTROL_SEQ: CONTROL_SEQ_SLOT,
  /** Float64 view from here on. Turns started so far (the watchdog's heartbeat). */
  TURNS: 1,
  /** Serial of the pid whose turn is running, or -1 between turns. */
  RUNNING_SERIAL: 2,
  /** Index of its kind in the sorted kind list, or -1. */
  RUNNING_KIND: 3,
  /** The executor's spawnerId (written once at start). */
  SPAWNER_ID: 4,
  /** Pids its shard has allocated, as of its last pass's publish (for SpawnFloors). */
  PIDS_ALLOCATED: 5,
} as const;

export const STATUS_BYTES = 64;

/**
 * Slots of an executor's SharedCounters (src/internal/shared-counters.ts): the executor publishes
 * them after each pass's ring publish; the main thread reads them for `/metrics` without a round
 * trip. Totals run from the executor's start (a replacement starts from zero).
 */
export const CounterSlot = {
  MESSAGES_HANDLED: 0,
  SPAWNED: 1,
  CRASHED: 2,
  DEAD_LETTERS: 3,
  PROCESSES: 4,
  RUN_QUEUE: 5,
  BLOCKED: 6,
  AWAITING_SPAWN: 7,
  /** V8 heap in use, refreshed every HEAP_EVERY_PASSES passes and before parking. */
  HEAP_USED: 8,
  TURNS: 9,
  /** Envelopes held in overflow for participant `index` at OVERFLOW_BASE + index. */
  OVERFLOW_BASE: 10,
} as const;

/** Slots of an executor's SharedCounters on a node of `participants` participants. */
export function counterSlots(participants: number): number {
  return CounterSlot.OVERFLOW_BASE + participants;
}
