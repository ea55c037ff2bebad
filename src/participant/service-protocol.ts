/**
 * What the main thread and every service thread (src/process/services.ts) say to each other: the
 * start data each service worker gets, and the control API each one exposes over comlink. One
 * shape for all of them, so the node starts, asks, switches rings of, stops and replaces every
 * service the same way (src/node/service-thread.ts).
 */
import type { RingHandle } from '../ring/ring.js';
import type { ResolvedStoreOptions } from '../process/store-options.js';
import type { LoopData } from './loop.js';

/** The node options a service thread may need; each service reads the ones it uses. */
export interface ServiceSettings {
  dataDir: string | undefined;
  computeModules: string[];
  preload: string[];
  computeThreads: number;
  ringCapacity: number;
  /** The store thread's options (set when it runs). */
  store: ResolvedStoreOptions | undefined;
}

/** What a service worker starts with: its rings and control block (LoopData) and the node's settings. */
export interface ServiceWorkerData extends LoopData {
  node: number;
  /** Number of executors; the main thread is participant `shards`, services follow (participants.ts). */
  shards: number;
  /** This service's index in SERVICES. */
  service: number;
  /** The node clock's epoch offset (src/internal/clock.ts). */
  clockOffset: number;
  settings: ServiceSettings;
}

/** The control API of a service thread. */
export interface ServiceApi {
  /** The service's own figures (PollerStatus, FileWorkerStatus, ...). */
  status(): object | Promise<object>;
  /** Participant `index` was replaced: use these rings to and from it from now on. */
  replaceRings(index: number, inbound: RingHandle, outbound: RingHandle): void;
  /** Finishes what it holds (the file worker closes its logs) and ends the thread. */
  stop(): void | Promise<void>;
  /**
   * Test hook: stops serving for `stallMs` (as a hung thread would: requests wait unread in its
   * rings), then exits with code `code` (as a crash would).
   */
  fail(stallMs: number, code: number): void;
}

/** Blocks the calling thread for `ms` without spinning (the `fail` test hook's stall). */
export function stallThread(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
