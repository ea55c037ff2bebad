/**
 * What a process may ask of the node's I/O threads, and how the answer comes back.
 *
 * Processes never do I/O or wait on time. `ctx.io(request)` and `ctx.compute(task, input)` send a
 * request to the file I/O worker and return a reference at once; the answer arrives later as an
 * `IoResult` message carrying that reference. Paths are relative to the node's data directory
 * (`dataDir`); anything that would leave it is refused with HORDE_PATH_OUTSIDE_DATA_DIR.
 */

import type { WireError } from '../errors.js';
import { hasBrand } from './types.js';
import type { StoreRequest } from './sql.js';

/** The state a Raft node must keep across crashes besides its log (the `RaftStorage` interface's, src/fileio/raft-storage.ts). */
export interface RaftHardState {
  /** The current term. */
  term: number;
  /** Whom this node voted for in `term` (a member's name), or null. */
  vote: string | null;
  /** The highest index known committed. */
  commit: number;
}

/** Bytes to write: a string is written as UTF-8. */
export type IoData = Uint8Array | string;

/**
 * A request for `ctx.io`, answered later by an IoResult with the same reference. Paths are relative
 * to the node's `dataDir` (HORDE_NO_DATA_DIR without one); one that leaves it is refused with
 * HORDE_PATH_OUTSIDE_DATA_DIR or HORDE_INVALID_PATH, a malformed request with HORDE_INVALID_IO_REQUEST.
 */
export type IoRequest =
  /** Reads a whole file: answered with a Uint8Array, or a string with `encoding: 'utf8'`. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'read';
      /** The file, relative to `dataDir`. */
      path: string;
      /** 'utf8': answer with the text instead of the bytes. */
      encoding?: 'utf8';
    }
  /** Creates or truncates the file and writes `data` (no fsync); answered with null. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'write';
      /** The file, relative to `dataDir`. */
      path: string;
      /** The new contents. */
      data: IoData;
    }
  /** Appends `data` to the file, creating it if missing (no fsync); answered with null. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'append';
      /** The file, relative to `dataDir`. */
      path: string;
      /** The bytes to add at its end. */
      data: IoData;
    }
  /** Flushes the file to disk; answered with null once it is there. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'fsync';
      /** The file, relative to `dataDir`. */
      path: string;
    }
  /** Write-temp, fsync, rename, fsync the directory: readers see the old or the new file, whole. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'replace';
      /** The file, relative to `dataDir`. */
      path: string;
      /** The new contents. */
      data: IoData;
    }
  /** Answered with a FileStat. `path` may be '.' (the data directory itself). */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'stat';
      /** The file or directory, relative to `dataDir`. */
      path: string;
    }
  /** Answered with the names in the directory, sorted. `path` may be '.' (the data directory itself). */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'list';
      /** The directory, relative to `dataDir`. */
      path: string;
    }
  /** Removes a file, or a directory (with its contents when `recursive`); answered with null. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'remove';
      /** The file or directory, relative to `dataDir` (never the data directory itself). */
      path: string;
      /** Remove a directory and everything in it. Default false. */
      recursive?: boolean;
    }
  /** Appends to the durable log `log`; answered after fsync with `{offset, length}`. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'logAppend';
      /** The log's name (letters, digits, `_`, `.`, `-`; up to 128 characters), not a path: it lives at `<dataDir>/logs/<log>.log`. */
      log: string;
      /** The record's payload. */
      record: IoData;
    }
  /**
   * Reads acknowledged records from `offset`: `{records: [{offset, data}], nextOffset, endOffset}`,
   * at most `maxRecords` (default 1,024) and about `maxBytes` (payload plus 64 per record; default
   * a quarter of a ring record, 128 KiB with 1 MiB rings). Read on from `nextOffset` while it is
   * below `endOffset`.
   */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'logRead';
      /** The log's name, as in `logAppend`. */
      log: string;
      /** Byte offset of the first record to read: 0, or an offset a previous answer gave (else HORDE_INVALID_OFFSET). */
      offset: number;
      /** Most records in the answer (at least 1). Default 1,024. */
      maxRecords?: number;
      /** About the most bytes in the answer, counting each record's payload plus 64 (at least 1). Default a quarter of a ring record (128 KiB with 1 MiB rings). */
      maxBytes?: number;
    }
  /**
   * Appends entries to Raft group `group`'s log in the node's shared Raft WAL (`<dataDir>/raft`),
   * truncating a conflicting suffix first when `firstIndex` is at or below the last index; answered
   * with `{lastIndex}` once durable (fsync'd, group-committed with every group's writes).
   */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'raftAppend';
      /** The group's name (letters, digits, `_`, `.`, `-`; up to 128 characters). */
      group: string;
      /** Index of the first entry: in snapshotIndex + 1 .. lastIndex + 1 (else HORDE_RAFT_INDEX). */
      firstIndex: number;
      /** The entries, at least one. */
      entries: {
        /** The term the entry was created in. */
        term: number;
        /** The command (opaque to storage). */
        data: Uint8Array;
      }[];
      /** A hard state saved in the same record (both durable or neither). */
      hardState?: RaftHardState;
    }
  /** Saves group `group`'s hard state; answered with null once durable. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'raftHardState';
      /** The group's name. */
      group: string;
      /** Term, vote and commit index. */
      hardState: RaftHardState;
    }
  /** Drops group `group`'s entries from `fromIndex` on; answered with null once durable. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'raftTruncate';
      /** The group's name. */
      group: string;
      /** First index dropped: in firstIndex .. lastIndex + 1. */
      fromIndex: number;
    }
  /**
   * Reads group `group`'s entries `from .. to - 1` (accepted ones, durable or not yet): answered
   * with `{entries: [{term, data}]}`, at least one entry and about `maxBytes` (each entry counting
   * its data plus 32; default a quarter of a ring record); read on from `from + entries.length`.
   */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'raftRead';
      /** The group's name. */
      group: string;
      /** First index read. */
      from: number;
      /** One past the last index read (default lastIndex + 1). */
      to?: number;
      /** About the most bytes in the answer, each entry counting its data plus 32 (at least 1). */
      maxBytes?: number;
    }
  /**
   * Stores a snapshot of group `group` covering its log up to `index` (of term `term`) and compacts
   * the log (all of it unless entry `index` has term `term`); answered with null once durable.
   */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'raftCompact';
      /** The group's name. */
      group: string;
      /** Last index the snapshot covers: after the current snapshot. */
      index: number;
      /** Term of that entry. */
      term: number;
      /** The snapshot's bytes. */
      snapshot: IoData;
    }
  /** Answered with group `group`'s latest snapshot `{index, term, data}`, or null. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'raftSnapshot';
      /** The group's name. */
      group: string;
    }
  /** Answered with group `group`'s `{hardState, snapshot, firstIndex, lastIndex}` (RaftLogState). */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'raftLoad';
      /** The group's name. */
      group: string;
    }
  /** Answered with the names of the Raft groups with state on this node, sorted. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'raftGroups';
    }
  /** Runs `task` from the node's compute modules on the piscina pool; answered with what it returns. */
  | {
      /** The kind of request (the discriminant of IoRequest). */
      op: 'compute';
      /** The name of a function in the `tasks` export of a compute module. */
      task: string;
      /** Its argument (it crosses threads, so any value horde can encode). */
      input: unknown;
    }
  /**
   * The store thread's requests (src/process/sql.ts): `sql`, `sqlTransaction`, `sqlNext`,
   * `sqlClose`. Served on a node started with the `store` option; elsewhere answered HORDE_NO_STORE.
   */
  | StoreRequest;

/** The name of an `IoRequest` kind: 'read', 'write', ..., 'logRead', 'compute'. */
export type IoOp = IoRequest['op'];

/** What `logRead` answers. */
export interface LogReadAnswer {
  records: { offset: number; data: Uint8Array }[];
  /** Where the next read starts: the end of the last record returned. */
  nextOffset: number;
  /** The end of the acknowledged log when answered: more records wait while `nextOffset` is below it. */
  endOffset: number;
}

/** What a `stat` request answers. */
export interface FileStat {
  /** Size in bytes. */
  size: number;
  /** True for a regular file. */
  isFile: boolean;
  /** True for a directory. */
  isDirectory: boolean;
  /** Last modification, in ms since the Unix epoch. */
  mtimeMs: number;
}

const IO_RESULT_BRAND = Symbol.for('horde.IoResult');

/** The answer to `ctx.io` / `ctx.compute`: `ok` with a value, or not with an error (its `code`, e.g. ENOENT). */
export class IoResult {
  /** Always `'IO'`, so a message union can be narrowed on `type`. */
  readonly type = 'IO';
  /** Brand that makes `instanceof IoResult` hold across copies of horde; always true. */
  readonly [IO_RESULT_BRAND] = true;
  /**
   * Made by the runtime when an answer arrives (and by tests that feed one to a process).
   * @param ref The reference `ctx.io` / `ctx.compute` returned.
   * @param ok Whether the request succeeded.
   * @param value What it answered when `ok` (see IoRequest); undefined otherwise.
   * @param error Why it failed when not `ok`, with its code (ENOENT, HORDE_WORKER_EXITED, ...); undefined otherwise.
   */
  constructor(
    readonly ref: number,
    readonly ok: boolean,
    readonly value: unknown,
    readonly error: WireError | undefined,
  ) {}

  /** `instanceof IoResult` tests the brand, so it holds for an IoResult made by another copy of horde. */
  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, IO_RESULT_BRAND);
  }
}

/** The payload of an IO_REPLY envelope: what a service answered, before it becomes an IoResult. */
export type IoReply =
  | {
      /** The request succeeded. */
      ok: true;
      /** What it answered (see IoRequest). */
      value: unknown;
    }
  | {
      /** The request failed. */
      ok: false;
      /** Why, with its code. */
      error: WireError;
    };

/** Options of `ctx.startTimer`. */
export interface TimerOptions {
  /** Fire every `ms` until cancelled (or the process ends). */
  repeat?: boolean;
}

/** The payload of a TIMER envelope to the poller. */
export interface TimerRequest {
  /** When it fires (the node clock, ms): fixed by the requester, so the trip to the poller does not delay it. */
  dueMs: number;
  /** The delay asked for; a repeating timer's period. */
  delayMs: number;
  repeat: boolean;
  message: unknown;
}

/**
 * Moves a repeating timer's `dueMs` past a fire delivered at `now`: to the first time after `now`
 * on its schedule (due, due + period, ...). Its owner keeps it there, so that a replacement poller
 * gets the timer due at its next fire not yet delivered.
 */
export function advanceRepeat(request: TimerRequest, now: number): void {
  const { dueMs, delayMs } = request;
  if (dueMs <= now) request.dueMs = dueMs + (Math.floor((now - dueMs) / delayMs) + 1) * delayMs;
}
