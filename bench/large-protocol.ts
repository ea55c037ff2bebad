/**
 * What the large suite's main thread (large.ts) and its workers (large-workers.ts) say to each
 * other: the workerData of each role and the messages workers post back.
 */

import type { MessagePort } from 'node:worker_threads';
import type { RingHandle } from '../src/index.js';

export const TRANSPORT_SYSTEMS = ['horde', 'postMessage', 'postMessage-transfer'] as const;
export type TransportSystem = (typeof TRANSPORT_SYSTEMS)[number];

/** Int32 slots of the control block: messages the consumer has taken so far (postMessage's credit). */
export const CONSUMED_SLOT = 0;
export const CONTROL_BYTES = 64;
/** postMessage producers keep at most this many messages unconsumed (the ring holds about one of 1 MiB). */
export const POST_WINDOW = 2;

export interface LargeWorkerData {
  role: 'producer' | 'consumer';
  system: TransportSystem | 'postMessage-string';
  /** Bytes (characters for postMessage-string) of every message. */
  size: number;
  /** Messages per round; round 0 is the warm-up. */
  rounds: number[];
  control: SharedArrayBuffer;
  /** horde: the ring between the two. */
  ring?: RingHandle;
  /** postMessage systems: this end of the channel. */
  port?: MessagePort;
}

export type LargeWorkerMessage = { type: 'ready' } | { type: 'sent'; startNs: bigint } | { type: 'received'; endNs: bigint };
