// What the main thread and the file worker say to each other: start data and the control API.
import type { RingHandle } from '../ring/ring.js';
import type { FileServiceStatus } from './service.js';

export interface FileWorkerData {
  node: number;
  shards: number;
  bell: SharedArrayBuffer;
  inbound: (RingHandle | undefined)[];
  outbound: (RingHandle | undefined)[];
  overflowLimit: number;
  /** The largest message (envelope bytes) this thread sends or reassembles. */
  maxMessageBytes: number;
  dataDir: string | undefined;
  computeModules: string[];
  preload: string[];
  computeThreads: number;
}

export interface FileWorkerStatus extends FileServiceStatus {
  /** Answers that could not be delivered (requester's ring and overflow full, or unknown). */
  undeliverable: number;
}

export interface FileWorkerApi {
  status(): FileWorkerStatus;
  replaceRings(index: number, inbound: RingHandle, outbound: RingHandle): void;
  /** Closes every log and the compute pool; the worker then exits. */
  stop(): Promise<void>;
}
