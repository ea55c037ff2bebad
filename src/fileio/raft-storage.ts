/**
 * The `RaftStorage` interface: what a Raft core asks of its durable storage, per group. The file
 * worker's `RaftLogStore` (raft-log-store.ts) implements it over the file system seam (so over a
 * SimDisk in tests and in the simulator, over node:fs in production).
 *
 * Semantics every implementation keeps:
 * - A group's log holds the entries `firstIndex..lastIndex` (empty when `lastIndex < firstIndex`)
 *   after its snapshot: `firstIndex` is the snapshot's index + 1 (1 without a snapshot).
 * - `append(group, firstIndex, entries)` with `firstIndex <= lastIndex` first truncates the suffix
 *   from `firstIndex` (a conflicting suffix), then appends. `firstIndex` must lie in
 *   `snapshotIndex + 1 .. lastIndex + 1`, else HORDE_RAFT_INDEX.
 * - Every write resolves only once it is durable (fsync'd), and writes become durable in the order
 *   they were called: a write that resolved implies every earlier write of any group is durable.
 * - Reads see every accepted write at once, before it is durable (a leader replicates entries
 *   while its own append is still being fsync'd).
 * - `compact(group, index, term, snapshot)` stores the snapshot, then drops the entries up to
 *   `index` (all of them if the log has no entry `index` of term `term`, as Raft's InstallSnapshot
 *   does).
 */

import type { RaftHardState } from '../process/io.js';

export type { RaftHardState };

/** One log entry: its term and its opaque command bytes. */
export interface RaftEntry {
  /** The term the entry was created in. */
  term: number;
  /** The command (opaque to storage). */
  data: Uint8Array;
}

/** A group's snapshot position: the last index and term it covers. */
export interface RaftSnapshotMeta {
  /** Last log index the snapshot covers. */
  index: number;
  /** Term of that entry. */
  term: number;
}

/** A snapshot with its bytes. */
export interface RaftSnapshot extends RaftSnapshotMeta {
  /** The state machine's snapshot (opaque to storage). */
  data: Uint8Array;
}

/** What `load` answers: a group's durable state on start. */
export interface RaftLogState {
  /** Term, vote and commit (zeros and null for a group never written). */
  hardState: RaftHardState;
  /** The latest snapshot's position, if the group has one. */
  snapshot: RaftSnapshotMeta | null;
  /** The first index the log holds (snapshot index + 1). */
  firstIndex: number;
  /** The last index the log holds (`firstIndex - 1` when it is empty). */
  lastIndex: number;
}

/** What `append` answers. */
export interface RaftAppendResult {
  /** The group's last index after the append. */
  lastIndex: number;
}

/** Durable storage for many Raft groups; see the module note for the contract. */
export interface RaftStorage {
  /** Appends `entries` at `firstIndex` (truncating a conflicting suffix first), with an optional hard state in the same record; resolves once durable. */
  append(group: string, firstIndex: number, entries: readonly RaftEntry[], hardState?: RaftHardState): Promise<RaftAppendResult>;
  /** Saves the hard state; resolves once durable. */
  saveHardState(group: string, hardState: RaftHardState): Promise<void>;
  /** Drops the entries from `fromIndex` on (`fromIndex` in `firstIndex .. lastIndex + 1`); resolves once durable. */
  truncate(group: string, fromIndex: number): Promise<void>;
  /** Entries `from .. to - 1` (`to` defaults to lastIndex + 1), at most about `maxBytes` of data but at least one entry. */
  read(group: string, from: number, to?: number, maxBytes?: number): Promise<RaftEntry[]>;
  /** Stores a snapshot covering the log up to `index` (of term `term`) and compacts the log; resolves once durable. */
  compact(group: string, index: number, term: number, snapshot: Uint8Array): Promise<void>;
  /** The group's latest snapshot with its bytes, or null. */
  readSnapshot(group: string): Promise<RaftSnapshot | null>;
  /** The group's hard state, snapshot position and log bounds. */
  load(group: string): Promise<RaftLogState>;
  /** The names of the groups that have any state, sorted. */
  groups(): Promise<string[]>;
  /** Waits for the writes accepted so far, then releases the files. */
  close(): Promise<void>;
}
