/**
 * RaftLogStore: the durable storage of every Raft group on a node (`RaftStorage`), in the file
 * worker. One write-ahead log shared by all groups (RabbitMQ `ra`'s design), group-committed, with
 * the live entries indexed (and held) in memory per group.
 *
 * ## Files (under the store's directory, `<dataDir>/raft` in the file worker)
 *
 * - `wal-<generation>.log`: WAL files, each a DurableLog (log.ts: framing, CRC32C, torn-tail
 *   recovery, group commit, fail-for-good on a failed fsync). Records: raft-wal-codec.ts. Only the
 *   newest generation is written; once it passes `rollBytes` the store rolls: it lets the current
 *   file's appends finish (close), opens generation + 1 and writes a checkpoint at its start (one
 *   `group` record per group: hard state and snapshot position), then the appends that waited.
 * - `snap/<group>.<index>.snap`: a group's snapshot at `index` (raft-snapshot-file.ts), written by
 *   atomic replace before the WAL's `snapshot` marker names it; the previous one is removed once
 *   the marker is durable. Recovery keeps the file the last marker names and removes the others
 *   (older ones, a newer one whose marker a crash lost, temporary files), so a compaction takes
 *   effect exactly at its marker's place in the WAL, like any other write.
 *
 * ## Writes, group commit and ordering
 *
 * Every write (append, hard state, truncate, compact's marker) is applied to the group's state in
 * memory at once (so reads see it: a leader replicates entries while its own fsync runs) and
 * submitted as one WAL record; it resolves after the fdatasync that covers its record. All groups'
 * records submitted while an fsync is in flight go out in the next single write + fdatasync
 * (DurableLog's group commit), in submission order, so a resolved write implies every write
 * submitted before it, of any group, is durable. An append with a hard state carries both in one
 * record: after a crash both are there or neither. A truncation racing an append is ordered like
 * any two writes. A conflicting suffix is truncated by the entries record itself (its first index
 * is at or below the last): no separate record.
 *
 * ## Compaction and WAL file deletion
 *
 * `compact` writes the snapshot file, then submits a `snapshot` marker record and drops the entries
 * the snapshot covers from memory (compactions of one group run one at a time). Each live entry counts against the WAL generation it was written to;
 * a drop (compaction or truncation) releases its counts only once the record that caused it is
 * durable. A WAL file is deleted (then the directory fsync'd) when it and every older file hold no
 * live entry and a newer file's checkpoint is durable: prefix order, so replay never meets a record
 * whose older context was removed. The checkpoint carries what the deleted files' hard-state and
 * snapshot records said.
 *
 * ## Recovery (open)
 *
 * Opens every WAL file in generation order (DurableLog.open: a torn or damaged tail is cut, damage
 * before the tail refuses with HORDE_LOG_CORRUPT), replays every record into the groups, then
 * keeps the snapshot file each group's last marker names (a marker without its file is
 * HORDE_LOG_CORRUPT) and removes the other snapshot files, checks that every group's log starts
 * just after its snapshot (else a WAL file holding live entries is missing: HORDE_LOG_CORRUPT),
 * then rolls to a new generation and deletes what is obsolete. Entries after a deleted file's
 * compacted ones appear after a hole in replay; the log restarts there and the later snapshot
 * record covers the hole.
 *
 * ## Bounds (each refused before anything changes)
 *
 * - `maxEntryBytes` (default 1 MiB): a larger entry is HORDE_RECORD_TOO_LARGE.
 * - `maxBatchBytes` (default 16 MiB): one append's record (entries plus 12 bytes each); larger is
 *   HORDE_RECORD_TOO_LARGE. Also the WAL's largest record: reopen with at least the same value.
 * - `maxGroups` (default 65,536) groups with state: a write creating one more is HORDE_RAFT_LIMIT.
 * - `maxLiveBytes` (default 256 MiB): entry bytes held in memory over all groups; an append past it
 *   is HORDE_RAFT_LIMIT (compact first: the Raft core snapshots when its log passes a size).
 * - `maxQueuedBytes` (default 64 MiB): bytes of records submitted and not yet durable; past it a
 *   write is HORDE_OVERLOADED (try again when earlier writes resolve).
 *
 * ## Failure
 *
 * A failed write, fsync, roll or file deletion fails the store for good (HORDE_LOG_FAILED, cause:
 * the fs error): pending and later calls reject, since memory may now be ahead of the disk. Reopen
 * to recover: nothing acknowledged is lost (the WAL cuts its file back to the acknowledged end).
 *
 * Not here yet: entries are held in memory (no per-group segment files to spill cold entries to,
 * as `ra`'s segment writer does); a group is never dropped.
 */

import { join } from 'node:path';
import { ErrorCode, HordeError, invalidOption } from '../errors.js';
import { atomicReplace, syncDirectory } from './atomic.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { DurableLog, LOG_HEADER_BYTES, logFsOf, type LogFs } from './log.js';
import { RaftGroupLog, type Released } from './raft-group.js';
import { decodeSnapshotFile, encodeSnapshotFile } from './raft-snapshot-file.js';
import type { RaftAppendResult, RaftEntry, RaftHardState, RaftLogState, RaftSnapshot, RaftStorage } from './raft-storage.js';
import { decodeWal, encodeWal, type WalRecord } from './raft-wal-codec.js';

/** Group names: as durable log names (they name snapshot files). */
export const RAFT_GROUP_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const WAL_FILE = /^wal-(\d{10})\.log$/;
const MAX_VOTE_BYTES = 1024;
const RECOVERY_READ_BYTES = 4 * 1024 * 1024;

/** Options of `RaftLogStore.open`; see the module note for the bounds. */
export interface RaftLogStoreOptions {
  /** The file system (default node:fs/promises; tests and the simulator: a SimDisk's). */
  fs?: FileSystem;
  /** Roll to a new WAL file once the current one holds this many bytes (default 64 MiB). */
  rollBytes?: number;
  /** Largest entry (default 1 MiB). */
  maxEntryBytes?: number;
  /** Largest append record (default 16 MiB, at most 256 MiB). */
  maxBatchBytes?: number;
  /** Most groups (default 65,536). */
  maxGroups?: number;
  /** Most entry bytes held over all groups (default 256 MiB). */
  maxLiveBytes?: number;
  /** Most bytes submitted and not yet durable (default 64 MiB, at most 512 MiB). */
  maxQueuedBytes?: number;
  /** Group commit (default true; false: one write + fsync per record, for comparison). */
  groupCommit?: boolean;
}

/** What the store counts. */
export interface RaftLogStoreStats {
  /** Groups with state. */
  groups: number;
  /** Entry bytes held over all groups. */
  liveBytes: number;
  /** WAL files on disk. */
  walFiles: number;
  /** The current WAL generation. */
  generation: number;
  /** Of the current WAL file: records, fsyncs and batches acknowledged. */
  appends: number;
  fsyncs: number;
  batches: number;
}

interface Waiting {
  payload: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface Limits {
  rollBytes: number;
  maxEntryBytes: number;
  maxBatchBytes: number;
  maxGroups: number;
  maxLiveBytes: number;
  maxQueuedBytes: number;
  groupCommit: boolean;
}

export class RaftLogStore implements RaftStorage {
  private readonly groupsByName = new Map<string, RaftGroupLog>();
  /** Live entries per WAL generation on disk. */
  private readonly live = new Map<number, number>();
  /** WAL generations on disk, ascending. */
  private readonly gens: number[] = [];
  private log!: DurableLog;
  private gen = 0;
  /** The generation a record submitted now goes to: the current one, or during a roll the next. */
  private writeGen = 0;
  /** The newest generation whose checkpoint is durable: older files may be deleted. */
  private checkpointed = 0;
  private genBytes = 0;
  private liveBytes = 0;
  private queuedBytes = 0;
  private rolling: Promise<void> | undefined;
  private readonly waiting: Waiting[] = [];
  private draining = false;
  /** The running deletion of obsolete WAL files, if any. */
  private collection: Promise<void> | undefined;
  private collectAgain = false;
  private readonly compactions = new Map<string, Promise<void>>();
  private failure: HordeError | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    private readonly fs: FileSystem,
    private readonly logFs: LogFs,
    private readonly limits: Limits,
  ) {}

  /** Opens (creating if missing) and recovers the store in directory `dir` (absolute); see the module note. */
  static async open(dir: string, options: RaftLogStoreOptions = {}): Promise<RaftLogStore> {
    if (typeof dir !== 'string' || !dir.startsWith('/')) invalidOption('dir', 'an absolute path', dir);
    const limit = (name: keyof RaftLogStoreOptions, fallback: number, max = 1024 * 1024 * 1024): number => {
      const value = options[name] ?? fallback;
      if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) invalidOption(name, `an integer in 1..${max}`, value);
      return value as number;
    };
    const limits: Limits = {
      rollBytes: limit('rollBytes', 64 * 1024 * 1024),
      maxEntryBytes: limit('maxEntryBytes', 1024 * 1024),
      maxBatchBytes: limit('maxBatchBytes', 16 * 1024 * 1024, 256 * 1024 * 1024),
      maxGroups: limit('maxGroups', 65_536, 1 << 24),
      maxLiveBytes: limit('maxLiveBytes', 256 * 1024 * 1024, Number.MAX_SAFE_INTEGER),
      maxQueuedBytes: limit('maxQueuedBytes', 64 * 1024 * 1024, 512 * 1024 * 1024),
      groupCommit: options.groupCommit ?? true,
    };
    if (limits.maxQueuedBytes < limits.maxBatchBytes + LOG_HEADER_BYTES) {
      invalidOption('maxQueuedBytes', `at least maxBatchBytes + ${LOG_HEADER_BYTES}`, limits.maxQueuedBytes);
    }
    const fs = options.fs ?? nodeFileSystem;
    const store = new RaftLogStore(dir, fs, logFsOf(fs), limits);
    try {
      await store.recover();
    } catch (error) {
      // The open failed already; a failing close of the new WAL file would hide why.
      if (store.gen > 0) await store.log.close().catch(() => undefined);
      if (error instanceof HordeError) throw error;
      throw new HordeError(ErrorCode.IO_ERROR, `raft log store ${dir}: open failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return store;
  }

  /** The error that failed the store, if a write, fsync, roll or deletion failed (then reopen it). */
  get failed(): HordeError | undefined {
    return this.failure;
  }

  /** Figures of the store now. */
  get stats(): RaftLogStoreStats {
    const log = this.log.stats;
    return {
      groups: this.groupsByName.size,
      liveBytes: this.liveBytes,
      walFiles: this.gens.length,
      generation: this.gen,
      appends: log.appends,
      fsyncs: log.fsyncs,
      batches: log.batches,
    };
  }

  append(group: string, firstIndex: number, entries: readonly RaftEntry[], hardState?: RaftHardState): Promise<RaftAppendResult> {
    return this.attempt(() => {
      const g = this.groupFor(group, true);
      if (!Number.isSafeInteger(firstIndex) || firstIndex <= g.snapshotIndex || firstIndex > g.lastIndex + 1) {
        throw new HordeError(
          ErrorCode.RAFT_INDEX,
          `raft group ${group}: an append at index ${String(firstIndex)} must start in ${g.snapshotIndex + 1}..${g.lastIndex + 1} (after the snapshot, no gap)`,
        );
      }
      const list: unknown = entries;
      if (!Array.isArray(list) || list.length === 0) invalidOption('entries', 'a non-empty array of {term, data}', entries);
      let bytes = 0;
      for (const entry of entries) {
        if (typeof entry !== 'object' || entry === null || !Number.isSafeInteger(entry.term) || entry.term < 0 || !(entry.data instanceof Uint8Array)) {
          invalidOption('entries', 'an array of {term: integer >= 0, data: Uint8Array}', entry);
        }
        if (entry.data.length > this.limits.maxEntryBytes) {
          throw new HordeError(ErrorCode.RECORD_TOO_LARGE, `raft group ${group}: an entry of ${entry.data.length} bytes exceeds maxEntryBytes ${this.limits.maxEntryBytes}`);
        }
        bytes += entry.data.length;
      }
      if (hardState !== undefined) checkHardState(hardState);
      // The entries kept in memory are views into the record's own buffer: no copy of their own.
      const views: Uint8Array[] = [];
      const payload = encodeWal({ kind: 'entries', group, firstIndex, hardState: hardState && { ...hardState }, entries: [...entries] }, views);
      const stored = entries.map((entry, i) => ({ term: entry.term, data: views[i]! }));
      if (payload.length > this.limits.maxBatchBytes) {
        throw new HordeError(ErrorCode.RECORD_TOO_LARGE, `raft group ${group}: an append of ${payload.length} bytes exceeds maxBatchBytes ${this.limits.maxBatchBytes}`);
      }
      const growth = bytes - g.bytesFrom(firstIndex);
      if (this.liveBytes + growth > this.limits.maxLiveBytes) {
        throw new HordeError(
          ErrorCode.RAFT_LIMIT,
          `raft group ${group}: the store holds ${this.liveBytes} bytes of entries; ${growth} more would exceed maxLiveBytes ${this.limits.maxLiveBytes} (compact first)`,
        );
      }
      this.checkQueue(payload);
      const released: Released = new Map();
      this.register(g);
      g.append(firstIndex, stored, this.writeGen, released);
      this.liveBytes += growth;
      this.live.set(this.writeGen, (this.live.get(this.writeGen) ?? 0) + stored.length);
      if (hardState !== undefined) g.hardState = { ...hardState };
      const lastIndex = g.lastIndex;
      return this.submit(payload, released).then(() => ({ lastIndex }));
    });
  }

  saveHardState(group: string, hardState: RaftHardState): Promise<void> {
    return this.attempt(() => {
      const g = this.groupFor(group, true);
      checkHardState(hardState);
      const payload = encodeWal({ kind: 'hardState', group, hardState: { ...hardState } });
      this.checkQueue(payload);
      this.register(g);
      g.hardState = { ...hardState };
      return this.submit(payload, undefined);
    });
  }

  truncate(group: string, fromIndex: number): Promise<void> {
    return this.attempt(() => {
      const g = this.groupFor(group, false);
      if (!Number.isSafeInteger(fromIndex) || fromIndex < g.first || fromIndex > g.lastIndex + 1) {
        throw new HordeError(ErrorCode.RAFT_INDEX, `raft group ${group}: a truncation from ${String(fromIndex)} must be in ${g.first}..${g.lastIndex + 1}`);
      }
      const payload = encodeWal({ kind: 'truncate', group, fromIndex });
      this.checkQueue(payload);
      this.register(g);
      const released: Released = new Map();
      this.liveBytes -= g.bytesFrom(fromIndex);
      g.truncateFrom(fromIndex, released);
      return this.submit(payload, released);
    });
  }

  /** As RaftStorage's; each entry counts `perEntryBytes` besides its data against `maxBytes` (the file worker counts its framing). */
  read(group: string, from: number, to?: number, maxBytes = Number.POSITIVE_INFINITY, perEntryBytes = 0): Promise<RaftEntry[]> {
    return this.attempt(() => {
      const g = this.groupFor(group, false);
      const end = to ?? g.lastIndex + 1;
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(end) || from < g.first || end > g.lastIndex + 1 || from > end) {
        throw new HordeError(
          ErrorCode.RAFT_INDEX,
          `raft group ${group}: a read of ${String(from)}..${String(end)} (exclusive) must lie in ${g.first}..${g.lastIndex + 1}, the entries held`,
        );
      }
      if (!(maxBytes >= 1)) invalidOption('maxBytes', 'a number >= 1', maxBytes);
      if (!Number.isSafeInteger(perEntryBytes) || perEntryBytes < 0) invalidOption('perEntryBytes', 'an integer >= 0', perEntryBytes);
      return Promise.resolve(g.read(from, end, maxBytes, perEntryBytes));
    });
  }

  compact(group: string, index: number, term: number, snapshot: Uint8Array): Promise<void> {
    return this.attempt(() => {
      const called = this.groupFor(group, true);
      if (!Number.isSafeInteger(term) || term < 0) invalidOption('term', 'an integer >= 0', term);
      if (!(snapshot instanceof Uint8Array)) invalidOption('snapshot', 'a Uint8Array', snapshot);
      if (!Number.isSafeInteger(index) || index <= called.snapshotIndex) {
        throw new HordeError(ErrorCode.RAFT_INDEX, `raft group ${group}: a snapshot at ${String(index)} is not after the current one at ${called.snapshotIndex}`);
      }
      const previous = this.compactions.get(group) ?? Promise.resolve();
      const file = encodeSnapshotFile(index, term, snapshot);
      const run = previous.then(async () => {
        this.check();
        // A new group may have been registered by another write meanwhile: use that one.
        let g = this.groupsByName.get(group) ?? called;
        if (index <= g.snapshotIndex) {
          throw new HordeError(ErrorCode.RAFT_INDEX, `raft group ${group}: a snapshot at ${index} is not after the current one at ${g.snapshotIndex}`);
        }
        try {
          await atomicReplace(this.dir, `snap/${group}.${index}.snap`, file, this.fs);
        } catch (error) {
          // The old snapshot and the log are untouched: the compaction did not happen.
          if (error instanceof HordeError && error.code === ErrorCode.IO_ERROR) throw error;
          throw new HordeError(ErrorCode.IO_ERROR, `raft group ${group}: writing the snapshot at ${index} failed: ${error instanceof Error ? error.message : String(error)}`, {
            cause: error,
          });
        }
        this.check();
        g = this.groupsByName.get(group) ?? g;
        if (!this.groupsByName.has(group) && this.groupsByName.size >= this.limits.maxGroups) {
          throw new HordeError(ErrorCode.RAFT_LIMIT, `raft log store ${this.dir} holds maxGroups ${this.limits.maxGroups} groups; group ${group} is refused`);
        }
        const payload = encodeWal({ kind: 'snapshot', group, index, term });
        this.register(g);
        const released: Released = new Map();
        const before = g.bytes;
        const replaced = g.snapshotIndex;
        g.compact(index, term, released);
        this.liveBytes += g.bytes - before;
        // The marker skips the maxQueuedBytes check: the snapshot file is in place already.
        await this.submit(payload, released);
        if (replaced > 0) {
          try {
            await this.fs.rm(this.snapPath(group, replaced), { force: true });
          } catch (error) {
            throw this.fail(error);
          }
        }
      });
      // Only for ordering the group's next compaction: the caller gets run's error.
      const settled = run.catch(() => undefined);
      this.compactions.set(group, settled);
      void settled.then(() => {
        if (this.compactions.get(group) === settled) this.compactions.delete(group);
      });
      return run;
    });
  }

  readSnapshot(group: string): Promise<RaftSnapshot | null> {
    return this.attempt(async () => {
      const g = this.groupFor(group, false);
      for (;;) {
        const index = g.snapshotIndex;
        if (index === 0) return null;
        const path = this.snapPath(group, index);
        try {
          return decodeSnapshotFile(await this.fs.readFile(path), path);
        } catch (error) {
          // A compaction finished meanwhile and removed this file: read the newer one.
          if ((error as { code?: unknown }).code !== 'ENOENT' || g.snapshotIndex === index) throw error;
        }
      }
    });
  }

  load(group: string): Promise<RaftLogState> {
    return this.attempt(() => {
      const g = this.groupFor(group, false);
      return Promise.resolve({
        hardState: { ...g.hardState },
        snapshot: g.snapshotIndex === 0 ? null : { index: g.snapshotIndex, term: g.snapshotTerm },
        firstIndex: g.first,
        lastIndex: g.lastIndex,
      });
    });
  }

  groups(): Promise<string[]> {
    return this.attempt(() => Promise.resolve([...this.groupsByName.keys()].sort()));
  }

  /** Waits for the writes accepted so far, then closes the WAL. Later calls reject with HORDE_LOG_CLOSED. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.compactions.values()]);
      // A roll's promise never rejects: its failure fails the store instead.
      while (this.rolling !== undefined) await this.rolling;
      await this.log.close();
      // File deletions started by the last writes' answers.
      while (this.collection !== undefined) await this.collection;
    })();
    return this.closing;
  }

  /** Runs a call: refused when closed or failed; a synchronous throw becomes a rejection. */
  private attempt<T>(action: () => Promise<T>): Promise<T> {
    try {
      this.check();
      return action();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private check(): void {
    if (this.closing !== undefined) throw new HordeError(ErrorCode.LOG_CLOSED, `raft log store ${this.dir} is closed`);
    if (this.failure !== undefined) {
      throw new HordeError(ErrorCode.LOG_FAILED, `raft log store ${this.dir} failed earlier: ${this.failure.message}`, { cause: this.failure.cause });
    }
  }

  /** The group's state; a new one (not yet registered) for an unknown name. */
  private groupFor(group: string, writing: boolean): RaftGroupLog {
    if (typeof group !== 'string' || !RAFT_GROUP_NAME.test(group)) invalidOption('group', `a name matching ${String(RAFT_GROUP_NAME)}`, group);
    const g = this.groupsByName.get(group);
    if (g !== undefined) return g;
    if (writing && this.groupsByName.size >= this.limits.maxGroups) {
      throw new HordeError(ErrorCode.RAFT_LIMIT, `raft log store ${this.dir} holds maxGroups ${this.limits.maxGroups} groups; group ${group} is refused`);
    }
    return new RaftGroupLog(group);
  }

  private register(g: RaftGroupLog): void {
    if (!this.groupsByName.has(g.name)) this.groupsByName.set(g.name, g);
  }

  private checkQueue(payload: Uint8Array): void {
    if (this.queuedBytes + payload.length + LOG_HEADER_BYTES > this.limits.maxQueuedBytes) {
      throw new HordeError(
        ErrorCode.OVERLOADED,
        `raft log store ${this.dir}: ${this.queuedBytes} bytes already wait for the disk (maxQueuedBytes ${this.limits.maxQueuedBytes}); try again later`,
      );
    }
  }

  /** Submits a record; resolves once durable, then releases what it dropped. */
  private submit(payload: Uint8Array, released: Released | undefined): Promise<void> {
    const bytes = payload.length + LOG_HEADER_BYTES;
    this.queuedBytes += bytes;
    const durable = new Promise<void>((resolve, reject) => {
      if (this.rolling !== undefined) this.waiting.push({ payload, resolve, reject });
      else this.write(payload).then(resolve, reject);
    });
    return durable.then(
      () => {
        this.queuedBytes -= bytes;
        if (released !== undefined && released.size > 0) this.release(released);
      },
      (error: unknown) => {
        this.queuedBytes -= bytes;
        throw this.fail(error);
      },
    );
  }

  /** Appends to the current WAL file; starts a roll when it is full. */
  private write(payload: Uint8Array): Promise<void> {
    const done = this.log.append(payload);
    this.genBytes += payload.length + LOG_HEADER_BYTES;
    if (this.genBytes >= this.limits.rollBytes && this.rolling === undefined && !this.draining && this.closing === undefined) this.startRoll();
    return done.then(() => undefined);
  }

  private release(released: Released): void {
    let collect = false;
    for (const [gen, count] of released) {
      const left = (this.live.get(gen) ?? 0) - count;
      this.live.set(gen, left);
      if (left === 0 && gen < this.checkpointed) collect = true;
    }
    if (collect) void this.collect();
  }

  /**
   * Rolls to a new WAL file: the checkpoint is taken now (the state of every record submitted so
   * far, all of which go to the old file), the old file drains and closes, the new one gets the
   * checkpoint and then the writes that waited, in order.
   */
  private startRoll(): void {
    const checkpoint = [...this.groupsByName.values()].map((g) =>
      encodeWal({ kind: 'group', group: g.name, hardState: { ...g.hardState }, snapshotIndex: g.snapshotIndex, snapshotTerm: g.snapshotTerm }),
    );
    const old = this.log;
    const next = this.gen + 1;
    this.writeGen = next;
    this.live.set(next, 0);
    this.rolling = (async () => {
      await old.close();
      if (old.failed !== undefined) throw old.failed;
      const { written } = await this.openGeneration(next, checkpoint);
      this.rolling = undefined;
      // All of them, in order, before any next roll: a checkpoint must follow every record whose
      // effect it holds, and the state in memory holds the effect of every waiting record.
      this.draining = true;
      for (const waiting of this.waiting.splice(0)) this.write(waiting.payload).then(waiting.resolve, waiting.reject);
      this.draining = false;
      if (this.genBytes >= this.limits.rollBytes && this.closing === undefined) this.startRoll();
      await written;
      this.checkpointed = this.gen;
      await this.collect();
    })().catch((error: unknown) => {
      this.rolling = undefined;
      const failure = this.fail(error);
      for (const waiting of this.waiting.splice(0)) waiting.reject(failure);
    });
  }

  /** Opens WAL generation `gen` as the current file and submits `first` records to it; answers their durability. */
  private async openGeneration(gen: number, first: Uint8Array[]): Promise<{ written: Promise<unknown> }> {
    const log = await DurableLog.open(this.walPath(gen), {
      fs: this.logFs,
      maxRecordBytes: this.limits.maxBatchBytes,
      maxQueuedBytes: this.limits.maxQueuedBytes + this.limits.maxBatchBytes,
      groupCommit: this.limits.groupCommit,
    });
    this.log = log;
    this.gen = gen;
    this.writeGen = gen;
    this.gens.push(gen);
    this.live.set(gen, this.live.get(gen) ?? 0);
    this.genBytes = 0;
    return { written: Promise.all(first.map((payload) => this.write(payload))) };
  }

  /** Deletes WAL files, oldest first, while they hold no live entry and a newer checkpoint is durable. */
  private collect(): Promise<void> {
    if (this.collection !== undefined) {
      this.collectAgain = true;
      return this.collection;
    }
    const collection = this.deleteObsolete().finally(() => {
      this.collection = undefined;
    });
    this.collection = collection;
    return collection;
  }

  private async deleteObsolete(): Promise<void> {
    try {
      do {
        this.collectAgain = false;
        let removed = false;
        for (;;) {
          const oldest = this.gens[0];
          if (oldest === undefined || oldest >= this.checkpointed || (this.live.get(oldest) ?? 0) !== 0) break;
          await this.fs.rm(this.walPath(oldest), { force: true });
          this.gens.shift();
          this.live.delete(oldest);
          removed = true;
        }
        if (removed) await syncDirectory(this.dir, this.fs);
      } while (this.collectAgain);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Fails the store for good (the first failure wins); answers the error to reject with. */
  private fail(error: unknown): HordeError {
    if (this.failure === undefined) {
      this.failure =
        error instanceof HordeError && error.code === ErrorCode.LOG_FAILED
          ? error
          : new HordeError(ErrorCode.LOG_FAILED, `raft log store ${this.dir} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return error instanceof HordeError && error.code === ErrorCode.LOG_FAILED ? error : this.failure;
  }

  private walPath(gen: number): string {
    return join(this.dir, `wal-${String(gen).padStart(10, '0')}.log`);
  }

  private snapPath(group: string, index: number): string {
    return join(this.dir, 'snap', `${group}.${index}.snap`);
  }

  /** Recovery; see the module note. */
  private async recover(): Promise<void> {
    const fs = this.fs;
    await fs.mkdir(join(this.dir, 'snap'), { recursive: true });
    // The store's directory entry in its parent, and snap/ in it, must be durable before any write is acknowledged.
    await syncDirectory(join(this.dir, '..'), fs);
    await syncDirectory(this.dir, fs);
    const gens = (await fs.readdir(this.dir))
      .map((name) => WAL_FILE.exec(name)?.[1])
      .filter((gen): gen is string => gen !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const gen of gens) await this.replayFile(gen);
    await this.reconcileSnapshots();
    for (const g of this.groupsByName.values()) {
      if (g.first !== g.snapshotIndex + 1) {
        throw new HordeError(
          ErrorCode.LOG_CORRUPT,
          `raft log store ${this.dir}: group ${g.name}'s log starts at ${g.first} but its snapshot ends at ${g.snapshotIndex}: a WAL file holding its entries is missing`,
        );
      }
      g.countGens(this.live);
      this.liveBytes += g.bytes;
    }
    this.gens.push(...gens);
    const last = gens[gens.length - 1] ?? 0;
    const checkpoint = [...this.groupsByName.values()].map((g) =>
      encodeWal({ kind: 'group', group: g.name, hardState: { ...g.hardState }, snapshotIndex: g.snapshotIndex, snapshotTerm: g.snapshotTerm }),
    );
    await (await this.openGeneration(last + 1, checkpoint)).written;
    this.checkpointed = this.gen;
    await this.collect();
    this.check();
  }

  private async replayFile(gen: number): Promise<void> {
    const path = this.walPath(gen);
    const log = await DurableLog.open(path, { fs: this.logFs, maxRecordBytes: this.limits.maxBatchBytes, maxQueuedBytes: this.limits.maxQueuedBytes + this.limits.maxBatchBytes });
    try {
      const released: Released = new Map();
      let offset = 0;
      while (offset < log.endOffset) {
        const page = await log.read(offset, 1024, RECOVERY_READ_BYTES);
        for (const record of page.records) this.replay(decodeWal(record.data, `${path} at offset ${record.offset}`), gen, released);
        offset = page.nextOffset;
      }
    } finally {
      await log.close();
    }
  }

  private replay(record: WalRecord, gen: number, released: Released): void {
    let g = this.groupsByName.get(record.group);
    if (g === undefined) {
      g = new RaftGroupLog(record.group);
      this.groupsByName.set(record.group, g);
    }
    switch (record.kind) {
      case 'entries':
        g.append(record.firstIndex, record.entries, gen, released);
        if (record.hardState !== undefined) g.hardState = record.hardState;
        break;
      case 'hardState':
        g.hardState = record.hardState;
        break;
      case 'truncate':
        g.truncateFrom(record.fromIndex, released);
        if (record.fromIndex < g.first) g.first = record.fromIndex;
        break;
      case 'snapshot':
        if (record.index > g.snapshotIndex) g.compact(record.index, record.term, released);
        break;
      case 'group':
        g.hardState = record.hardState;
        if (record.snapshotIndex > g.snapshotIndex) g.compact(record.snapshotIndex, record.snapshotTerm, released);
        break;
    }
  }

  /** Keeps the snapshot file each group's last marker names; removes every other file in snap/. */
  private async reconcileSnapshots(): Promise<void> {
    const dir = join(this.dir, 'snap');
    const names = await this.fs.readdir(dir);
    const kept = new Set<string>();
    for (const g of this.groupsByName.values()) {
      if (g.snapshotIndex === 0) continue;
      const name = `${g.name}.${g.snapshotIndex}.snap`;
      if (!names.includes(name)) {
        throw new HordeError(ErrorCode.LOG_CORRUPT, `raft log store ${this.dir}: group ${g.name} has a snapshot at ${g.snapshotIndex} but no file ${name}`);
      }
      const path = join(dir, name);
      const snapshot = decodeSnapshotFile(await this.fs.readFile(path), path);
      if (snapshot.index !== g.snapshotIndex || snapshot.term !== g.snapshotTerm) {
        throw new HordeError(ErrorCode.LOG_CORRUPT, `raft log store ${this.dir}: ${name} holds index ${snapshot.index} term ${snapshot.term}, not ${g.snapshotIndex}/${g.snapshotTerm}`);
      }
      kept.add(name);
    }
    let removed = false;
    for (const name of names) {
      if (kept.has(name)) continue;
      await this.fs.rm(join(dir, name), { force: true });
      removed = true;
    }
    if (removed) await syncDirectory(dir, this.fs);
  }
}

function checkHardState(hs: RaftHardState): void {
  if (typeof hs !== 'object' || hs === null) invalidOption('hardState', 'an object {term, vote, commit}', hs);
  if (!Number.isSafeInteger(hs.term) || hs.term < 0) invalidOption('hardState.term', 'an integer >= 0', hs.term);
  if (!Number.isSafeInteger(hs.commit) || hs.commit < 0) invalidOption('hardState.commit', 'an integer >= 0', hs.commit);
  if (hs.vote !== null && (typeof hs.vote !== 'string' || Buffer.byteLength(hs.vote, 'utf8') > MAX_VOTE_BYTES)) {
    invalidOption('hardState.vote', `null or a string of at most ${MAX_VOTE_BYTES} UTF-8 bytes`, hs.vote);
  }
}
