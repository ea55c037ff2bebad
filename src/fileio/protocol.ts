// What the main thread hears from the file worker: its status and its control API (the service API).
import type { ServiceApi } from '../participant/service-protocol.js';
import type { FileServiceStatus } from './service.js';

/**
 * The file worker thread's figures (`status().services.fileio`, with its `restarts`). Counters run
 * from the start of the running thread: a replacement starts from zero.
 */
export interface FileWorkerStatus extends FileServiceStatus {
  /** Answers that could not be delivered (requester's ring and overflow full, or unknown). */
  undeliverable: number;
  /** Answers the way back could not carry (too large, or not encodable), sent as error answers instead. */
  refusedAnswers: number;
}

export interface FileWorkerApi extends ServiceApi {
  status(): FileWorkerStatus;
  /** Closes every log and the compute pool; the worker then exits. */
  stop(): Promise<void>;
}
