/**
 * What the ring suite's main thread (ring.ts) and its workers (ring-workers.ts) say to each other:
 * the workerData of each role, the messages workers post back, and the slots of the shared
 * control block. Workers post results to the main thread only between timed sections.
 */

import type { MessagePort } from 'node:worker_threads';
import type { RingHandle } from '../src/index.js';

export const ONEWAY_SYSTEMS = ['horde', 'horde-nobatch', 'postMessage', 'postMessage-u8', 'postMessage-batch256'] as const;
export type OnewaySystem = (typeof ONEWAY_SYSTEMS)[number];

export const PINGPONG_SYSTEMS = ['horde', 'horde-nospin', 'atomics-wait', 'postMessage'] as const;
/**
 * `atomics-spin` is not a reported system but the suite's calibration: both sides busy-wait on an
 * Int32 flag, so its round trip is what moving one cache line to the other core and back costs.
 */
export type PingpongSystem = (typeof PINGPONG_SYSTEMS)[number] | 'atomics-spin';

/** Every message of every system carries this many payload bytes. */
export const PAYLOAD_BYTES = 64;
/** Ring record kind of the benchmark's records. */
export const RECORD_KIND = 1;
/** Records per postMessage in system `postMessage-batch256`. */
export const POST_BATCH = 256;

/**
 * Int32 slots of the control block, a SharedArrayBuffer each run shares with its workers
 * (one slot per cache line so the gate and the credit counter do not share one).
 */
export const ControlSlot = {
  /** Rounds the main thread has opened so far; round r may start once it exceeds r. */
  GATE: 0,
  /** postMessage systems: records the consumer has taken so far (the producer's credit). */
  CONSUMED: 16,
} as const;
export const CONTROL_BYTES = 128;

/** Int32 slots of the atomics-wait and atomics-spin flags: the last ping and pong sequence numbers. */
export const FlagSlot = {
  PING: 0,
  PONG: 16,
} as const;
export const FLAG_BYTES = 128;

export interface OnewayData {
  role: 'oneway-producer' | 'oneway-consumer';
  system: OnewaySystem;
  /** Records per round; round 0 is the warm-up. Sequence numbers run on across rounds. */
  rounds: number[];
  control: SharedArrayBuffer;
  /** horde systems. */
  ring?: RingHandle;
  /** horde producers: records per publish. */
  batch?: number;
  /** postMessage systems: this end of the channel. */
  port?: MessagePort;
  /** postMessage systems: most records the producer may send before the consumer has taken them. */
  window?: number;
}

export interface PingpongData {
  role: 'ping' | 'pong';
  system: PingpongSystem;
  warmup: number;
  roundTrips: number;
  control: SharedArrayBuffer;
  /** horde systems: the ring this side writes, the ring it reads, and its own doorbell. */
  out?: RingHandle;
  in?: RingHandle;
  /** horde systems: checks before parking (InboundRings.waitForWork `spin`); default the library's. */
  spin?: number;
  /** atomics-wait, atomics-spin: two Int32 flags (ping, pong sequence numbers). */
  flags?: SharedArrayBuffer;
  /** postMessage: this end of the channel. */
  port?: MessagePort;
}

export type RingWorkerData = OnewayData | PingpongData;

export type RingWorkerMessage =
  /** Set up and listening (consumers), or waiting at the gate for `round` (producers, pinger). */
  | { type: 'ready'; round: number }
  /** Producer: process.hrtime.bigint() just before the first record of `round`. */
  | { type: 'sent'; round: number; startNs: bigint }
  /** Consumer: process.hrtime.bigint() just after the last record of `round` was checked. */
  | { type: 'received'; round: number; endNs: bigint }
  /** Pinger: round-trip times in nanoseconds, warm-up excluded. */
  | { type: 'samples'; rttNs: Float64Array };

/** Main thread: lets the workers waiting at the gate start `round` (0-based). */
export function openGate(control: Int32Array, round: number): void {
  Atomics.store(control, ControlSlot.GATE, round + 1);
  Atomics.notify(control, ControlSlot.GATE);
}

/** Worker side: blocks (Atomics.wait) until the main thread opens `round`. */
export function waitAtGate(control: Int32Array, round: number): void {
  for (;;) {
    const opened = Atomics.load(control, ControlSlot.GATE);
    if (opened > round) return;
    Atomics.wait(control, ControlSlot.GATE, opened);
  }
}
