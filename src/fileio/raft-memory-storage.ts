/**
 * MemoryRaftStorage: a `RaftStorage` in memory, for tests of Raft code that need no disk (the
 * simulator's disk is the real RaftLogStore over a SimDisk instead). Same semantics as the store
 * (raft-storage.ts), checked by the same conformance test, with the same group state
 * (raft-group.ts); nothing survives the object. Writes resolve in the order they were called, on
 * a later microtask, so callers meet the asynchrony they meet in production.
 */

import { ErrorCode, HordeError, invalidOption } from '../errors.js';
import { RaftGroupLog } from './raft-group.js';
import { RAFT_GROUP_NAME } from './raft-log-store.js';
import type { RaftAppendResult, RaftEntry, RaftHardState, RaftLogState, RaftSnapshot, RaftStorage } from './raft-storage.js';

/** A `RaftStorage` in memory (see the module note): for tests of Raft code that need no disk. */
export class MemoryRaftStorage implements RaftStorage {
  private readonly groupsByName = new Map<string, RaftGroupLog>();
  private readonly snapshots = new Map<string, RaftSnapshot>();
  private closed = false;

  append(group: string, firstIndex: number, entries: readonly RaftEntry[], hardState?: RaftHardState): Promise<RaftAppendResult> {
    return this.run(() => {
      const g = this.group(group);
      if (!Number.isSafeInteger(firstIndex) || firstIndex <= g.snapshotIndex || firstIndex > g.lastIndex + 1) {
        throw new HordeError(ErrorCode.RAFT_INDEX, `raft group ${group}: an append at index ${String(firstIndex)} must start in ${g.snapshotIndex + 1}..${g.lastIndex + 1}`);
      }
      if (entries.length === 0) invalidOption('entries', 'a non-empty array of {term, data}', entries);
      g.append(firstIndex, entries.map((entry) => ({ term: entry.term, data: entry.data.slice() })), 0, new Map());
      if (hardState !== undefined) g.hardState = { ...hardState };
      this.groupsByName.set(group, g);
      return { lastIndex: g.lastIndex };
    });
  }

  saveHardState(group: string, hardState: RaftHardState): Promise<void> {
    return this.run(() => {
      const g = this.group(group);
      g.hardState = { ...hardState };
      this.groupsByName.set(group, g);
    });
  }

  truncate(group: string, fromIndex: number): Promise<void> {
    return this.run(() => {
      const g = this.group(group);
      if (!Number.isSafeInteger(fromIndex) || fromIndex < g.first || fromIndex > g.lastIndex + 1) {
        throw new HordeError(ErrorCode.RAFT_INDEX, `raft group ${group}: a truncation from ${String(fromIndex)} must be in ${g.first}..${g.lastIndex + 1}`);
      }
      g.truncateFrom(fromIndex, new Map());
      this.groupsByName.set(group, g);
    });
  }

  read(group: string, from: number, to?: number, maxBytes = Number.POSITIVE_INFINITY): Promise<RaftEntry[]> {
    return this.run(() => {
      const g = this.group(group);
      const end = to ?? g.lastIndex + 1;
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(end) || from < g.first || end > g.lastIndex + 1 || from > end) {
        throw new HordeError(ErrorCode.RAFT_INDEX, `raft group ${group}: a read of ${String(from)}..${String(end)} must lie in ${g.first}..${g.lastIndex + 1}`);
      }
      return g.read(from, end, maxBytes, 0);
    });
  }

  compact(group: string, index: number, term: number, snapshot: Uint8Array): Promise<void> {
    return this.run(() => {
      const g = this.group(group);
      if (!Number.isSafeInteger(index) || index <= g.snapshotIndex) {
        throw new HordeError(ErrorCode.RAFT_INDEX, `raft group ${group}: a snapshot at ${String(index)} is not after the current one at ${g.snapshotIndex}`);
      }
      g.compact(index, term, new Map());
      this.snapshots.set(group, { index, term, data: snapshot.slice() });
      this.groupsByName.set(group, g);
    });
  }

  readSnapshot(group: string): Promise<RaftSnapshot | null> {
    return this.run(() => {
      this.group(group);
      const snapshot = this.snapshots.get(group);
      return snapshot === undefined ? null : { ...snapshot, data: snapshot.data.slice() };
    });
  }

  load(group: string): Promise<RaftLogState> {
    return this.run(() => {
      const g = this.group(group);
      return {
        hardState: { ...g.hardState },
        snapshot: g.snapshotIndex === 0 ? null : { index: g.snapshotIndex, term: g.snapshotTerm },
        firstIndex: g.first,
        lastIndex: g.lastIndex,
      };
    });
  }

  groups(): Promise<string[]> {
    return this.run(() => [...this.groupsByName.keys()].sort());
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Runs `action` now (so calls take effect in order) and answers on a later microtask. */
  private run<T>(action: () => T): Promise<T> {
    try {
      if (this.closed) throw new HordeError(ErrorCode.LOG_CLOSED, 'the memory raft storage is closed');
      return Promise.resolve(action());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private group(name: string): RaftGroupLog {
    if (typeof name !== 'string' || !RAFT_GROUP_NAME.test(name)) invalidOption('group', `a name matching ${String(RAFT_GROUP_NAME)}`, name);
    return this.groupsByName.get(name) ?? new RaftGroupLog(name);
  }
}
