// What the main thread hears from the store thread: its status and its control API (the service API).
import type { ServiceApi } from '../participant/service-protocol.js';
import type { StoreServiceStatus } from './service.js';

/**
 * The store thread's figures (`status().services.store`, with its `restarts`). Counters run from
 * the start of the running thread: a replacement starts from zero.
 */
export interface StoreWorkerStatus extends StoreServiceStatus {
  /** Requests waiting for the batch being carried out to finish. */
  queued: number;
  /** Requests answered HORDE_OVERLOADED at once because MAX_QUEUED were waiting already. */
  refused: number;
  /** Answers that could not be delivered (requester's ring and overflow full, or unknown). */
  undeliverable: number;
  /** Answers the way back could not carry (too large), sent as error answers instead. */
  refusedAnswers: number;
}

export interface StoreWorkerApi extends ServiceApi {
  status(): StoreWorkerStatus;
  /** Closes every cursor and database; the worker then exits. */
  stop(): Promise<void>;
}
