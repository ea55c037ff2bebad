/**
 * What the core hands its host (etcd's `Ready`), and what the host hands back on a restart.
 *
 * The host drains a Ready after each batch of inputs and carries it out in this order:
 * 1. `hardState`: make it durable (fsync) before sending any of `messages` (votes depend on it).
 * 2. `installSnapshot`, `saveSnapshot`, then `append`: queue them to storage in this order; they
 *    may complete later (asynchronously). When an `append` is durable the host calls
 *    `persisted(index, term)` with its last entry (`installSnapshot`: `snapshotInstalled(index)`).
 *    The core never counts an entry as matched on this member, nor acknowledges it to a leader,
 *    before then; a leader sends its entries to followers in parallel with its own write.
 * 3. `messages`: send (any order, any loss: Raft tolerates it).
 * 4. `committed`: apply in order (the state machine driver), then call `applied(index)`.
 * 5. `reads`: answer each read once the state machine has applied `index`; `readFailures`: the
 *    read was not confirmed (retry it, perhaps elsewhere).
 * 6. `takeSnapshot`: snapshot the state machine at its applied index and call `snapshotTaken`.
 */
import type { LogBase } from './log.js';
import type { Entry, HardState, Index, RaftMessage, SnapshotMeta } from './types.js';

/** A storage write: drop every entry at `from` and after, then append `entries` (which start at `from`; none: a pure truncation). */
export interface AppendWrite {
  /** The first index written. */
  readonly from: Index;
  /** The entries. */
  readonly entries: readonly Entry[];
}

/** A snapshot: what it stands for and the state machine's bytes. */
export interface PersistedSnapshot {
  /** The index, term and membership it stands for. */
  readonly meta: SnapshotMeta;
  /** The state machine's bytes. */
  readonly data: Uint8Array;
}

/** A snapshot this member took, with the new base of its log. */
export interface TakenSnapshot extends PersistedSnapshot {
  /** Drop the stored entries up to this base's index (a few may trail the snapshot). */
  readonly base: LogBase;
}

/** A confirmed linearizable read. */
export interface ReadState {
  /** The read's id. */
  readonly id: string;
  /** Answer it once the state machine has applied this index. */
  readonly index: Index;
}

/** A read that could not be confirmed. */
export interface ReadFailure {
  /** The read's id. */
  readonly id: string;
  /** Why: no leader is known, the leader stepped down, too many reads wait, or a forwarded read went unanswered for two election timeouts. */
  readonly reason: 'noLeader' | 'notLeader' | 'overloaded' | 'timeout';
}

/** The core's output since the last drain. */
export interface RaftReady {
  /** Make durable before sending `messages`. */
  hardState: HardState | undefined;
  /** A snapshot received from the leader: replace the whole log with it, restore the state machine from it, then call `snapshotInstalled`. */
  installSnapshot: PersistedSnapshot | undefined;
  /** A snapshot this member took: store it and drop the entries up to `base.index`, which becomes the log's base. */
  saveSnapshot: TakenSnapshot | undefined;
  /** Entries to write, then acknowledge with `persisted`. */
  append: AppendWrite | undefined;
  /** Messages to send. */
  messages: RaftMessage[];
  /** Committed entries to apply, in order. */
  committed: Entry[];
  /** Confirmed reads. */
  reads: ReadState[];
  /** Reads that failed. */
  readFailures: ReadFailure[];
  /** Take a snapshot of the state machine (at its applied index, at least this one). */
  takeSnapshot: Index | undefined;
}

/** What storage holds, to start a core from (a new group: `base` at index 0 with the initial membership). */
export interface RaftPersistedState {
  /** The saved hard state. */
  readonly hardState: HardState;
  /** The latest snapshot, if any. */
  readonly snapshot: PersistedSnapshot | undefined;
  /** Where the stored entries start. */
  readonly base: LogBase;
  /** The stored entries after the base, in order. */
  readonly entries: readonly Entry[];
}
