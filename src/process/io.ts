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

export type IoData = Uint8Array | string;

export type IoRequest =
  | { op: 'read'; path: string; encoding?: 'utf8' }
  | { op: 'write'; path: string; data: IoData }
  | { op: 'append'; path: string; data: IoData }
  | { op: 'fsync'; path: string }
  /** Write-temp, fsync, rename, fsync the directory: readers see the old or the new file, whole. */
  | { op: 'replace'; path: string; data: IoData }
  | { op: 'stat'; path: string }
  | { op: 'list'; path: string }
  | { op: 'remove'; path: string; recursive?: boolean }
  /** Appends to the durable log `log` (a name, not a path); answered after fsync with `{offset}`. */
  | { op: 'logAppend'; log: string; record: IoData }
  /**
   * Reads acknowledged records from `offset`: `{records: [{offset, data}], nextOffset, endOffset}`,
   * at most `maxRecords` (default 1,024) and about `maxBytes` (payload plus 64 per record; default
   * a quarter of a ring record, 128 KiB with 1 MiB rings). Read on from `nextOffset` while it is
   * below `endOffset`.
   */
  | { op: 'logRead'; log: string; offset: number; maxRecords?: number; maxBytes?: number }
  /** Runs `task` from the node's compute modules on the piscina pool. */
  | { op: 'compute'; task: string; input: unknown };

export type IoOp = IoRequest['op'];

/** What `logRead` answers. */
export interface LogReadAnswer {
  records: { offset: number; data: Uint8Array }[];
  /** Where the next read starts: the end of the last record returned. */
  nextOffset: number;
  /** The end of the acknowledged log when answered: more records wait while `nextOffset` is below it. */
  endOffset: number;
}

export interface FileStat {
  size: number;
  isFile: boolean;
  isDirectory: boolean;
  mtimeMs: number;
}

const IO_RESULT_BRAND = Symbol.for('horde.IoResult');

/** The answer to `ctx.io` / `ctx.compute`: `ok` with a value, or not with an error (its `code`, e.g. ENOENT). */
export class IoResult {
  readonly type = 'IO';
  readonly [IO_RESULT_BRAND] = true;
  constructor(
    /** The reference `ctx.io` / `ctx.compute` returned. */
    readonly ref: number,
    readonly ok: boolean,
    readonly value: unknown,
    readonly error: WireError | undefined,
  ) {}

  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, IO_RESULT_BRAND);
  }
}

/** The payload of an IO_REPLY envelope. */
export type IoReply = { ok: true; value: unknown } | { ok: false; error: WireError };

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
