/**
 * MemoryRaftPersistence: what a member has made durable, in memory, for tests and the simulator. It
 * has the semantics the file-worker store will have: an append drops every entry at its first
 * index and after (a conflicting suffix) before writing; a snapshot taken locally is stored and the
 * entries up to its base are dropped; a snapshot received replaces the whole log; the hard state is
 * saved whole. Whatever the host has not written here is lost in a crash: the host writes a
 * Ready's parts only when its simulated storage completes them, then acknowledges them to the core.
 * `load()` hands back copies, so a restarted core shares nothing with the storage.
 */
import type { LogBase } from './log.js';
import type { AppendWrite, RaftPersistedState, RaftReady } from './ready.js';
import type { Entry, HardState, Membership, SnapshotMeta } from './types.js';

/** A member's durable state, in memory. */
export class MemoryRaftPersistence {
  private hardState: HardState = { term: 0, vote: undefined, commit: 0 };
  private snapshot: { meta: SnapshotMeta; data: Uint8Array } | undefined;
  private base: LogBase;
  private entries: Entry[] = [];

  /**
   * Empty storage of a member of a new group: `membership` is the group's initial membership (a
   * member that will join later starts with no members at all and learns them from the leader).
   */
  constructor(membership: Membership = { voters: [], learners: [] }) {
    this.base = { index: 0, term: 0, membership };
  }

  /** Saves the hard state. */
  saveHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** Drops the entries at `write.from` and after, then appends `write.entries`. */
  append(write: AppendWrite): void {
    if (write.from <= this.base.index) throw new Error(`raft storage: append at ${write.from}, at or before the base ${this.base.index}`);
    const last = this.base.index + this.entries.length;
    if (write.from > last + 1) throw new Error(`raft storage: append at ${write.from} leaves a gap after ${last}`);
    this.entries.length = write.from - this.base.index - 1;
    for (const entry of write.entries) this.entries.push(entry);
  }

  /** Stores a snapshot taken locally and drops the entries up to `base.index`. */
  saveSnapshot(meta: SnapshotMeta, data: Uint8Array, base: LogBase): void {
    this.snapshot = { meta, data };
    if (base.index > this.base.index) {
      this.entries = this.entries.slice(base.index - this.base.index);
      this.base = base;
    }
  }

  /** Replaces everything by a snapshot received from the leader. */
  installSnapshot(meta: SnapshotMeta, data: Uint8Array): void {
    this.snapshot = { meta, data };
    this.base = { index: meta.index, term: meta.term, membership: meta.membership };
    this.entries = [];
  }

  /** Writes every durable part of a Ready at once (for hosts that persist synchronously). */
  writeReady(ready: RaftReady): void {
    if (ready.hardState !== undefined) this.saveHardState(ready.hardState);
    if (ready.installSnapshot !== undefined) this.installSnapshot(ready.installSnapshot.meta, ready.installSnapshot.data);
    if (ready.saveSnapshot !== undefined) this.saveSnapshot(ready.saveSnapshot.meta, ready.saveSnapshot.data, ready.saveSnapshot.base);
    if (ready.append !== undefined) this.append(ready.append);
  }

  /** The last stored index. */
  lastIndex(): number {
    return this.base.index + this.entries.length;
  }

  /** Copies of what is stored, to start a core from. */
  load(): RaftPersistedState {
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot === undefined ? undefined : { meta: this.snapshot.meta, data: this.snapshot.data.slice() },
      base: this.base,
      entries: this.entries.slice(),
    };
  }
}
