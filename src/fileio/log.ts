/**
 * The durable append-only log: records appended by one owner (the fileio worker thread), each
 * acknowledged only once it is on disk, read back by offset, checked on every read.
 *
 * ## Contract
 *
 * - One `DurableLog` per file, used from one thread (the fileio worker). A second `open` of the
 *   same path on the same thread is refused with HORDE_LOG_IN_USE; nothing stops another process
 *   from opening the file (Node has no flock), so the data directory must belong to one node.
 * - All file access goes through an open file of the file system seam (`file-system.ts`;
 *   production: a `node:fs/promises` file handle, positional reads and writes, fdatasync,
 *   ftruncate; the testkit: a SimDisk): the thread's event loop never blocks on the disk. The CPU work
 *   done inline is the CRC (pure JS, about 1.4 GB/s here: 3 us for a 4 KiB record, 11 ms for a
 *   record of the default 16 MiB maximum, once at append and once per read of it) and one copy of
 *   each appended record. A piscina hop costs more than that below about a MiB, so nothing is
 *   offloaded; lower `maxRecordBytes` if 11 ms pauses matter. Recovery reads 1 MiB chunks.
 * - `append` resolves only after the bytes of its record are written and fdatasync'd. fdatasync
 *   (not fsync) is enough: it flushes the data and the metadata needed to read it back, the file
 *   size included. `open` also fsyncs the file's directory before it resolves, so the file itself
 *   survives a crash: every open, not only the one that created the file, because an open that
 *   created it may have failed before its directory fsync (one directory fsync per open).
 * - `read` returns only acknowledged records, and never a record that fails its checksum.
 *
 * ## Record layout (little-endian; offsets are byte offsets in the file, the first record at 0)
 *
 * ```
 *   0   u32  length     payload bytes (0 .. maxRecordBytes)
 *   4   u32  dataCrc    CRC32C of the payload
 *   8   u32  headCrc    CRC32C of bytes 0..8 (length and dataCrc)
 *  12   ...  payload
 * ```
 *
 * Why a header checksum of its own: it makes the length trustworthy before the payload is read.
 * Recovery can then tell "a real header whose payload the file does not hold" (a torn write,
 * never acknowledged: truncated without asking) from "a length that was damaged" (corruption: the
 * records after it must not be thrown away silently). It also lets `read` check that an offset is
 * a record boundary, and makes a run of zero bytes invalid (CRC32C of eight zeros is not zero), so
 * a region a crash left zero-filled never parses as records.
 *
 * ## Recovery (on open: scans every record from offset 0)
 *
 * The scan stops at the first position P that does not hold a valid record:
 * - fewer than 12 bytes left, or a header whose checksum holds but whose payload runs past the
 *   end of the file: a torn tail. Truncated at P (ftruncate + fsync), reported as
 *   `truncatedBytes`, no `corruption`.
 * - a bad header checksum where every byte from P to the end is zero: the zero-filled tail some
 *   file systems leave after a power loss. Truncated like a torn tail.
 * - a complete record whose payload checksum fails (`corruption.reason: 'checksum'`): if it is
 *   the tail (nothing follows it but zeros or a torn record) it is truncated and reported in
 *   `corruption`; this is what a power loss in the middle of the last write looks like. It may
 *   also be an acknowledged record that rotted, which nothing can tell apart: the report says so.
 *   If anything else follows, open refuses with HORDE_LOG_CORRUPT.
 * - a bad header checksum with non-zero bytes after it (`'checksum'`), or a valid header whose
 *   length exceeds this open's `maxRecordBytes` (`'length'`): the extent of the damage is
 *   unknown, so open refuses with HORDE_LOG_CORRUPT.
 * `{ repair: 'truncate' }` turns every refusal into a truncation at P (everything after P is
 * lost, and reported). Bad data is never returned either way.
 *
 * ## Group commit
 *
 * At most one write+fdatasync is in flight. Appends that arrive meanwhile wait in a queue; when
 * the flush completes, every waiting record goes into the next single `writev` at the end of the
 * file, followed by one fdatasync, and each append resolves with its offset. Before taking the
 * next batch the loop yields once (setImmediate), so appenders whose previous append just resolved
 * and who append again at once join it. `groupCommit: false` writes and syncs one record at a
 * time through the same code: the switch the benchmark (suite `fileio`) uses for comparison.
 * Measured there on the shared 2-core VM (fdatasync about 50 us; medians, noisy under load):
 * 64-byte records with 16 appenders 150k appends/s against 14k without group commit, with 256
 * appenders 180k-590k against 6-9k; 4 KiB with 256 appenders 64k-166k against 6-9k; a single
 * appender the same either way (about 16k/s for 64 B). appendFileSync without any fsync: 200k-600k.
 *
 * ## Failure
 *
 * A failed write or fdatasync fails the log for good: the batch in flight and every queued append
 * reject with HORDE_LOG_FAILED (cause: the fs error with its code), and so does every later
 * append. No retry: after a failed fsync the kernel may have dropped the dirty pages and cleared
 * the error, so a retry that "succeeds" would acknowledge data that is not on disk. Reads of
 * records acknowledged before the failure keep working. Reopening the file recovers the log.
 * Before failing, the log cuts the file back to its acknowledged end (ftruncate, best effort: a
 * failure of it is named in the error's message). Otherwise the failed batch would stay readable
 * in the page cache though it may never reach the disk: an orderly reopen would serve records
 * that were never acknowledged, append after them, and a later power loss would leave a hole
 * where they were, which recovery must refuse as corruption, taking acknowledged records with it
 * (found by the SimDisk crash tests, whose failed fsync loses the pending writes as Linux does).
 *
 * ## Bounds (current tuning)
 *
 * - `maxRecordBytes` (default 16 MiB): a larger record is refused with HORDE_RECORD_TOO_LARGE
 *   before anything is written. At most 1 GiB.
 * - `maxQueuedBytes` (default 64 MiB): bytes (headers included) waiting for the next batch; an
 *   append past it is refused with HORDE_OVERLOADED and nothing of it is written. So one batch is
 *   at most that big, and the memory held by waiting appends is bounded.
 * - Reads: `maxRecords` (default 1,024) and `maxBytes` of payload (default 1 MiB) per call, each
 *   record counting `perRecordBytes` (default 0) besides its payload, so a caller can bound what
 *   the answer takes on its way (the file worker counts its framing); the first record is returned
 *   even when it alone is larger than `maxBytes`, so a reader always makes progress.
 * - A sparse index of record offsets, one entry per 64 KiB of log, checks read offsets: at most
 *   64 KiB of headers are read to tell whether an offset is a record boundary (none for 0, the
 *   end, and the recent `nextOffset`s readers pass back). Its memory is 8 bytes per 64 KiB.
 */

import { dirname, resolve as resolvePath } from 'node:path';
import { ErrorCode, HordeError, invalidOption } from '../errors.js';
import { syncDirectory } from './atomic.js';
import { crc32c } from './crc32c.js';
import { nodeFileSystem, type FileSystem, type OpenFile } from './file-system.js';

export const LOG_HEADER_BYTES = 12;
export const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
export const DEFAULT_READ_RECORDS = 1024;
export const DEFAULT_READ_BYTES = 1024 * 1024;
const MAX_LIMIT_BYTES = 1024 * 1024 * 1024;
/** Recovery reads the file in chunks of this size (the CRC of one takes about 0.7 ms here). */
const RECOVERY_CHUNK = 1024 * 1024;
/** One sparse index entry per this many bytes of log. */
const INDEX_INTERVAL = 64 * 1024;
/** Largest read of one `read` call's window unless a single record is larger. */
const READ_WINDOW = 64 * 1024;
/** How many recent `nextOffset`s are remembered as known record boundaries. */
const RECENT_BOUNDARIES = 16;

/** The file operations the log uses: an open file of the file system seam (file-system.ts). */
export type LogFile = OpenFile;

/**
 * The log's view of the file system: `logFsOf(fs)` builds it over any FileSystem (production:
 * node:fs/promises; the testkit: a SimDisk); tests also implement it directly to inject faults.
 */
export interface LogFs {
  /** Opens `path` for reading and writing, creating it if missing (then `created` is true). */
  openFile(path: string): Promise<{ file: LogFile; created: boolean }>;
  /** fsyncs a directory, so that a file created in it survives a crash. */
  syncDirectory(path: string): Promise<void>;
}

export interface DurableLogOptions {
  /** Largest payload accepted (default 16 MiB, at most 1 GiB). Also the largest record recovery accepts. */
  maxRecordBytes?: number;
  /** Bytes waiting for the next batch beyond which appends are refused with HORDE_OVERLOADED (default 64 MiB). */
  maxQueuedBytes?: number;
  /** Batch concurrent appends into one write + one fdatasync (default true; false: one of each per append). */
  groupCommit?: boolean;
  /** What open does about corruption it cannot prove to be a torn tail: refuse (`'tail'`, default) or truncate (`'truncate'`). */
  repair?: 'tail' | 'truncate';
  /** The file layer (default: node:fs/promises, `nodeLogFs`). A SimDisk's through `logFsOf`, or faults injected in tests. */
  fs?: LogFs;
}

export interface LogRecovery {
  /** Valid records kept. */
  records: number;
  /** Bytes they take: the end of the log after recovery. */
  validBytes: number;
  /** Bytes cut off the end of the file (torn tail, damaged last record, or everything after a repaired corruption). */
  truncatedBytes: number;
  /** The first record that failed a check, when one did (absent for a plain torn tail). */
  corruption?: { offset: number; reason: 'checksum' | 'length' };
}

export interface LogStats {
  /** Appends acknowledged (written and fdatasync'd) by this instance. */
  appends: number;
  /** fdatasync calls that succeeded (one per batch). */
  fsyncs: number;
  /** Batches written. */
  batches: number;
  /** Most records in one batch. */
  maxBatch: number;
  /** Bytes written and acknowledged, headers included. */
  bytes: number;
  /** Bytes waiting for the next batch right now. */
  queuedBytes: number;
}

/** One record read back from a durable log. */
export interface LogRecord {
  /** Its byte offset in the log: where a read starting at this record begins. */
  offset: number;
  /** The payload: a plain Uint8Array view into an ArrayBuffer that belongs to this read's result alone (transferable). */
  data: Uint8Array;
}

/** One read of a durable log (a `logRead` answer is this plus `endOffset`). */
export interface LogReadResult {
  /** The records read, in log order: at most `maxRecords`, and about `maxBytes` of them. */
  records: LogRecord[];
  /** The offset to read from next: the end of the last record returned (or `fromOffset` if none). */
  nextOffset: number;
}

interface Pending {
  frame: Uint8Array;
  offset: number;
  length: number;
  resolve: (result: { offset: number; length: number }) => void;
  reject: (error: unknown) => void;
}

/**
 * Paths open as logs on this thread, per file layer (the fileio worker has exactly one module
 * instance and one layer, `nodeLogFs`). Per layer because a simulated disk's paths are not the
 * real file system's, and a crashed incarnation's logs (never closed) must not block the next.
 */
const OPEN_PATHS = new WeakMap<LogFs, Set<string>>();

function openPaths(fs: LogFs): Set<string> {
  let paths = OPEN_PATHS.get(fs);
  if (paths === undefined) {
    paths = new Set();
    OPEN_PATHS.set(fs, paths);
  }
  return paths;
}

export class DurableLog {
  readonly path: string;
  readonly recovery: LogRecovery;

  private readonly file: LogFile;
  private readonly key: string;
  private readonly openPaths: Set<string>;
  private readonly maxRecordBytes: number;
  private readonly maxQueuedBytes: number;
  private readonly groupCommit: boolean;

  /** End of the acknowledged records: reads stop here. */
  private committedEnd: number;
  /** Offset the next appended record gets. */
  private tail: number;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  /** The running flush loop, if any. */
  private flushing: Promise<void> | undefined;
  private failure: HordeError | undefined;
  private closing: Promise<void> | undefined;
  private readonly reads = new Set<Promise<unknown>>();

  /** Sparse index: record offsets, ascending, one at least every INDEX_INTERVAL bytes; starts with 0. */
  private readonly index: number[] = [0];
  private readonly recent: number[] = [];
  private recentNext = 0;

  private readonly counters = { appends: 0, fsyncs: 0, batches: 0, maxBatch: 0, bytes: 0 };

  private constructor(init: {
    path: string;
    key: string;
    openPaths: Set<string>;
    file: LogFile;
    recovery: LogRecovery;
    index: number[];
    maxRecordBytes: number;
    maxQueuedBytes: number;
    groupCommit: boolean;
  }) {
    this.path = init.path;
    this.key = init.key;
    this.openPaths = init.openPaths;
    this.file = init.file;
    this.recovery = init.recovery;
    this.index = init.index;
    this.maxRecordBytes = init.maxRecordBytes;
    this.maxQueuedBytes = init.maxQueuedBytes;
    this.groupCommit = init.groupCommit;
    this.committedEnd = init.recovery.validBytes;
    this.tail = init.recovery.validBytes;
  }

  /** Opens (creating if missing) and recovers the log at `path`; see the recovery rules above. */
  static async open(path: string, options: DurableLogOptions = {}): Promise<DurableLog> {
    if (typeof path !== 'string' || path.length === 0) invalidOption('path', 'a non-empty string', path);
    const maxRecordBytes = limitOption('maxRecordBytes', options.maxRecordBytes, DEFAULT_MAX_RECORD_BYTES);
    const maxQueuedBytes = limitOption('maxQueuedBytes', options.maxQueuedBytes, DEFAULT_MAX_QUEUED_BYTES);
    if (maxQueuedBytes < maxRecordBytes + LOG_HEADER_BYTES) {
      invalidOption('maxQueuedBytes', `at least maxRecordBytes + ${LOG_HEADER_BYTES} (${maxRecordBytes + LOG_HEADER_BYTES})`, maxQueuedBytes);
    }
    const groupCommit = options.groupCommit ?? true;
    if (typeof groupCommit !== 'boolean') invalidOption('groupCommit', 'a boolean', groupCommit);
    const repair = options.repair ?? 'tail';
    if (repair !== 'tail' && repair !== 'truncate') invalidOption('repair', `'tail' or 'truncate'`, repair);
    const fs = options.fs ?? nodeLogFs;

    const key = resolvePath(path);
    const open = openPaths(fs);
    if (open.has(key)) throw new HordeError(ErrorCode.LOG_IN_USE, `log ${path} is already open on this thread`);
    open.add(key);
    try {
      const { file } = await ioStep(path, 'open', () => fs.openFile(path));
      try {
        // Every open, not only when `created`: an earlier open may have created the file and
        // failed before this fsync, and then nothing else would make its name durable.
        await ioStep(path, 'fsync of its directory', () => fs.syncDirectory(dirname(key)));
        const { recovery, index } = await recover(file, path, maxRecordBytes, repair);
        return new DurableLog({ path, key, openPaths: open, file, recovery, index, maxRecordBytes, maxQueuedBytes, groupCommit });
      } catch (error) {
        // The open failed already; a failing close would hide why.
        await file.close().catch(() => undefined);
        throw error;
      }
    } catch (error) {
      open.delete(key);
      throw error;
    }
  }

  /** The end of the acknowledged records (where a reader that is caught up stands). */
  get endOffset(): number {
    return this.committedEnd;
  }

  get stats(): LogStats {
    return { ...this.counters, queuedBytes: this.queuedBytes };
  }

  /** The error that failed the log, if a write or fdatasync failed. */
  get failed(): HordeError | undefined {
    return this.failure;
  }

  /**
   * Appends one record; resolves with its offset and payload length once it is on disk. The bytes
   * are copied before this returns, so the caller may reuse `record` at once.
   */
  append(record: Uint8Array): Promise<{ offset: number; length: number }> {
    if (this.closing !== undefined) return Promise.reject(closedError(this.path, 'append'));
    if (this.failure !== undefined) {
      return Promise.reject(new HordeError(ErrorCode.LOG_FAILED, `log ${this.path} failed earlier and accepts no appends: ${this.failure.message}`, { cause: this.failure.cause }));
    }
    if (!(record instanceof Uint8Array)) {
      return Promise.reject(new HordeError(ErrorCode.INVALID_OPTION, `log ${this.path}: a record must be a Uint8Array; got ${typeof record}`));
    }
    const length = record.length;
    if (length > this.maxRecordBytes) {
      return Promise.reject(new HordeError(ErrorCode.RECORD_TOO_LARGE, `log ${this.path}: record of ${length} bytes exceeds maxRecordBytes ${this.maxRecordBytes}`));
    }
    const frameBytes = LOG_HEADER_BYTES + length;
    if (this.queuedBytes + frameBytes > this.maxQueuedBytes) {
      return Promise.reject(
        new HordeError(ErrorCode.OVERLOADED, `log ${this.path}: ${this.queuedBytes} bytes already wait for the disk (maxQueuedBytes ${this.maxQueuedBytes}); try again later`),
      );
    }
    const frame = encodeFrame(record);
    const offset = this.tail;
    this.tail += frameBytes;
    this.queuedBytes += frameBytes;
    return new Promise((resolve, reject) => {
      this.queue.push({ frame, offset, length, resolve, reject });
      this.kick();
    });
  }

  /**
   * Reads acknowledged records starting at `fromOffset`, which must be a record boundary (0, an
   * offset `append` returned, a `nextOffset`, or `endOffset`): anything else is HORDE_INVALID_OFFSET.
   * A record that fails its checksum rejects the read with HORDE_LOG_CORRUPT. Each record counts
   * its payload plus `perRecordBytes` against `maxBytes`.
   */
  read(fromOffset: number, maxRecords = DEFAULT_READ_RECORDS, maxBytes = DEFAULT_READ_BYTES, perRecordBytes = 0): Promise<LogReadResult> {
    if (this.closing !== undefined) return Promise.reject(closedError(this.path, 'read'));
    if (!Number.isInteger(maxRecords) || maxRecords < 1) return Promise.reject(optionError('maxRecords', 'a positive integer', maxRecords));
    if (!Number.isInteger(maxBytes) || maxBytes < 1) return Promise.reject(optionError('maxBytes', 'a positive integer', maxBytes));
    if (!Number.isInteger(perRecordBytes) || perRecordBytes < 0) return Promise.reject(optionError('perRecordBytes', 'an integer >= 0', perRecordBytes));
    const end = this.committedEnd;
    if (!Number.isInteger(fromOffset) || fromOffset < 0 || fromOffset > end) {
      return Promise.reject(new HordeError(ErrorCode.INVALID_OFFSET, `log ${this.path}: offset ${String(fromOffset)} is outside the acknowledged log [0, ${end}]`));
    }
    const reading = this.readRecords(fromOffset, end, maxRecords, maxBytes, perRecordBytes);
    this.reads.add(reading);
    const forget = (): void => {
      this.reads.delete(reading);
    };
    reading.then(forget, forget);
    return reading;
  }

  /**
   * Waits for every append accepted so far to settle, then closes the file. Appends and reads
   * after `close` reject with HORDE_LOG_CLOSED. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    await Promise.allSettled([...this.reads]);
    try {
      await ioStep(this.path, 'close', () => this.file.close());
    } finally {
      this.openPaths.delete(this.key);
    }
  }

  /** Starts the flush loop unless it runs; it drains the queue batch by batch. */
  private kick(): void {
    if (this.flushing !== undefined) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0 && this.failure === undefined) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    // Yield first so that appends made in the same turn (and appenders resumed by the previous
    // batch) join this batch.
    await nextTurn();
    while (this.queue.length > 0 && this.failure === undefined) {
      const batch = this.groupCommit ? this.queue.splice(0) : this.queue.splice(0, 1);
      let bytes = 0;
      const frames = batch.map((pending) => {
        bytes += pending.frame.length;
        return pending.frame;
      });
      this.queuedBytes -= bytes;
      const position = this.committedEnd;
      try {
        await writeAll(this.file, frames, bytes, position);
      } catch (error) {
        this.fail('write', position, error, batch, await this.cutBack(position));
        return;
      }
      try {
        await this.file.datasync();
      } catch (error) {
        this.fail('fdatasync', position, error, batch, await this.cutBack(position));
        return;
      }
      for (const pending of batch) this.indexRecord(pending.offset);
      this.committedEnd = position + bytes;
      const counters = this.counters;
      counters.appends += batch.length;
      counters.fsyncs++;
      counters.batches++;
      counters.bytes += bytes;
      if (batch.length > counters.maxBatch) counters.maxBatch = batch.length;
      for (const pending of batch) pending.resolve({ offset: pending.offset, length: pending.length });
      // Let the appenders just resumed append again, so they join the next batch (not when the
      // log is closing with nothing left: close should not wait a turn for nothing).
      if (this.queue.length > 0 || this.closing === undefined) await nextTurn();
    }
  }

  /** After a failed batch: truncates the file to the acknowledged end `position`; answers what went wrong, if anything. */
  private async cutBack(position: number): Promise<string> {
    try {
      await this.file.truncate(position);
      return '';
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return `; cutting the file back to offset ${position} failed too${typeof code === 'string' ? ` (${code})` : ''}, so a reopen may read the unacknowledged records`;
    }
  }

  private fail(step: string, position: number, error: unknown, batch: Pending[], cutBack = ''): void {
    const code = (error as { code?: unknown }).code;
    const failure = new HordeError(
      ErrorCode.LOG_FAILED,
      `log ${this.path}: ${step} of ${batch.length} record(s) at offset ${position} failed${typeof code === 'string' ? ` (${code})` : ''}: ${error instanceof Error ? error.message : String(error)}; the log accepts no more appends${cutBack}`,
      { cause: error },
    );
    this.failure = failure;
    const queued = this.queue.splice(0);
    this.queuedBytes = 0;
    for (const pending of batch) pending.reject(failure);
    for (const pending of queued) pending.reject(failure);
  }

  private indexRecord(offset: number): void {
    const last = this.index[this.index.length - 1] ?? 0;
    if (offset - last >= INDEX_INTERVAL) this.index.push(offset);
  }

  private rememberBoundary(offset: number): void {
    if (this.recent.length < RECENT_BOUNDARIES) this.recent.push(offset);
    else this.recent[this.recentNext] = offset;
    this.recentNext = (this.recentNext + 1) % RECENT_BOUNDARIES;
  }

  private async readRecords(from: number, end: number, maxRecords: number, maxBytes: number, perRecordBytes: number): Promise<LogReadResult> {
    if (from === end) return { records: [], nextOffset: end };
    if (!(await this.isBoundary(from, end))) {
      throw new HordeError(ErrorCode.INVALID_OFFSET, `log ${this.path}: offset ${from} is not the start of a record`);
    }
    const records: LogRecord[] = [];
    let window: Buffer = Buffer.alloc(0);
    let windowStart = from;
    let pos = from;
    let countedBytes = 0;
    // Reads windows of at most READ_WINDOW bytes (or one whole record), no larger than what the
    // caller's limits can still take, never past the acknowledged end.
    const load = async (atLeast: number): Promise<void> => {
      const budget = maxBytes - countedBytes + LOG_HEADER_BYTES * (maxRecords - records.length);
      window = await this.readAt(pos, Math.min(end - pos, Math.max(atLeast, Math.min(READ_WINDOW, budget))));
      windowStart = pos;
    };
    while (pos < end && records.length < maxRecords && countedBytes < maxBytes) {
      if (pos + LOG_HEADER_BYTES > windowStart + window.length) await load(LOG_HEADER_BYTES);
      if (pos + LOG_HEADER_BYTES > windowStart + window.length) {
        throw this.corrupt(pos, `the log holds ${end - pos} bytes where a record header should be`);
      }
      const header = parseHeader(window, pos - windowStart);
      if (header === undefined) throw this.corrupt(pos, 'its header fails its checksum');
      const { length, dataCrc } = header;
      const frameEnd = pos + LOG_HEADER_BYTES + length;
      if (length > this.maxRecordBytes || frameEnd > end) {
        throw this.corrupt(pos, `its header claims ${length} bytes, beyond the acknowledged log`);
      }
      if (records.length > 0 && countedBytes + length + perRecordBytes > maxBytes) break;
      if (frameEnd > windowStart + window.length) await load(LOG_HEADER_BYTES + length);
      const at = pos - windowStart + LOG_HEADER_BYTES;
      if (crc32c(window, at, length) !== dataCrc) throw this.corrupt(pos, 'its payload fails its checksum');
      records.push({ offset: pos, data: new Uint8Array(window.buffer, window.byteOffset + at, length) });
      countedBytes += length + perRecordBytes;
      pos = frameEnd;
    }
    this.rememberBoundary(pos);
    return { records, nextOffset: pos };
  }

  /** Whether `offset` (< end) starts a record: walks the headers from the nearest index entry. */
  private async isBoundary(offset: number, end: number): Promise<boolean> {
    if (offset === 0 || this.recent.includes(offset)) return true;
    const index = this.index;
    let lo = 0;
    let hi = index.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((index[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    const base = index[lo] ?? 0;
    if (base === offset) return true;
    // Every record boundary after an index entry and before the next lies within INDEX_INTERVAL
    // of it (a record further away would have become an entry).
    if (offset - base >= INDEX_INTERVAL) return false;
    const headers = await this.readAt(base, Math.min(end, offset + LOG_HEADER_BYTES) - base);
    let pos = base;
    while (pos < offset) {
      const header = parseHeader(headers, pos - base);
      if (header === undefined) throw this.corrupt(pos, 'its header fails its checksum');
      pos += LOG_HEADER_BYTES + header.length;
    }
    return pos === offset;
  }

  /**
   * Reads exactly `length` bytes at `position` into a fresh buffer. Never from Node's shared pool:
   * records are views into it and their owner may transfer its ArrayBuffer to another thread.
   */
  private async readAt(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafeSlow(length);
    const got = await ioStep(this.path, 'read', () => readFully(this.file, buffer, length, position));
    if (got < length) throw this.corrupt(position + got, `the file ends before the acknowledged end of the log`);
    return buffer;
  }

  private corrupt(offset: number, why: string): HordeError {
    return new HordeError(ErrorCode.LOG_CORRUPT, `log ${this.path}: record at offset ${offset} is corrupt: ${why}`);
  }
}

/** The frame of one record: header and a copy of the payload. */
function encodeFrame(record: Uint8Array): Buffer {
  const length = record.length;
  const frame = Buffer.allocUnsafe(LOG_HEADER_BYTES + length);
  frame.set(record, LOG_HEADER_BYTES);
  frame.writeUInt32LE(length, 0);
  frame.writeUInt32LE(crc32c(frame, LOG_HEADER_BYTES, length), 4);
  frame.writeUInt32LE(crc32c(frame, 0, 8), 8);
  return frame;
}

/** The header at `at` if its checksum holds; the caller ensures 12 bytes are there. */
function parseHeader(bytes: Buffer, at: number): { length: number; dataCrc: number } | undefined {
  const length = bytes.readUInt32LE(at);
  const dataCrc = bytes.readUInt32LE(at + 4);
  if (crc32c(bytes, at, 8) !== bytes.readUInt32LE(at + 8)) return undefined;
  return { length, dataCrc };
}

type Examined =
  | { kind: 'record'; length: number }
  | { kind: 'torn' }
  | { kind: 'bad-header' }
  | { kind: 'too-long'; length: number }
  | { kind: 'bad-payload'; length: number };

/** A read window over the file for the recovery scan. */
class ScanWindow {
  private buffer: Buffer = Buffer.alloc(0);
  private start = 0;
  private filled = 0;

  constructor(
    private readonly file: LogFile,
    private readonly path: string,
    readonly size: number,
  ) {}

  /** Makes [pos, pos + n) available (n must fit before the end); returns the buffer and where pos is in it. */
  async ensure(pos: number, n: number): Promise<{ bytes: Buffer; at: number }> {
    if (pos >= this.start && pos + n <= this.start + this.filled) return { bytes: this.buffer, at: pos - this.start };
    const length = Math.min(Math.max(n, RECOVERY_CHUNK), this.size - pos);
    if (this.buffer.length < length) this.buffer = Buffer.allocUnsafe(length);
    const got = await ioStep(this.path, 'read', () => readFully(this.file, this.buffer, length, pos));
    if (got < length) {
      throw new HordeError(ErrorCode.IO_ERROR, `log ${this.path}: the file shrank during recovery (read ${got} of ${length} bytes at ${pos})`);
    }
    this.start = pos;
    this.filled = length;
    return { bytes: this.buffer, at: 0 };
  }

  async examine(pos: number, maxRecordBytes: number): Promise<Examined> {
    if (this.size - pos < LOG_HEADER_BYTES) return { kind: 'torn' };
    const head = await this.ensure(pos, LOG_HEADER_BYTES);
    const header = parseHeader(head.bytes, head.at);
    if (header === undefined) return { kind: 'bad-header' };
    const { length, dataCrc } = header;
    if (length > maxRecordBytes) return { kind: 'too-long', length };
    if (pos + LOG_HEADER_BYTES + length > this.size) return { kind: 'torn' };
    const whole = await this.ensure(pos, LOG_HEADER_BYTES + length);
    if (crc32c(whole.bytes, whole.at + LOG_HEADER_BYTES, length) !== dataCrc) return { kind: 'bad-payload', length };
    return { kind: 'record', length };
  }

  /** Whether every byte from `pos` to the end is zero. */
  async zeroFrom(pos: number): Promise<boolean> {
    while (pos < this.size) {
      const n = Math.min(RECOVERY_CHUNK, this.size - pos);
      const { bytes, at } = await this.ensure(pos, n);
      for (let i = at; i < at + n; i++) if (bytes[i] !== 0) return false;
      pos += n;
    }
    return true;
  }

  /** Whether what starts at `pos` is nothing, zeros, or one torn record: no data a truncation could lose. */
  async isTornTail(pos: number, maxRecordBytes: number): Promise<boolean> {
    if (pos === this.size) return true;
    const next = await this.examine(pos, maxRecordBytes);
    if (next.kind === 'torn') return true;
    return next.kind === 'bad-header' && (await this.zeroFrom(pos));
  }
}

async function recover(file: LogFile, path: string, maxRecordBytes: number, repair: 'tail' | 'truncate'): Promise<{ recovery: LogRecovery; index: number[] }> {
  const size = await ioStep(path, 'stat', () => file.size());
  const window = new ScanWindow(file, path, size);
  const index = [0];
  let pos = 0;
  let records = 0;
  let stop: Examined | undefined;
  while (pos < size) {
    const examined = await window.examine(pos, maxRecordBytes);
    if (examined.kind !== 'record') {
      stop = examined;
      break;
    }
    if (pos - (index[index.length - 1] ?? 0) >= INDEX_INTERVAL) index.push(pos);
    records++;
    pos += LOG_HEADER_BYTES + examined.length;
  }
  const recovery: LogRecovery = { records, validBytes: pos, truncatedBytes: 0 };
  if (stop === undefined) return { recovery, index };

  let tornTail: boolean;
  let refusal: string | undefined;
  switch (stop.kind) {
    case 'torn':
      tornTail = true;
      break;
    case 'bad-header':
      tornTail = await window.zeroFrom(pos);
      if (!tornTail) {
        recovery.corruption = { offset: pos, reason: 'checksum' };
        refusal = `the record header at offset ${pos} fails its checksum and ${size - pos} bytes follow`;
      }
      break;
    case 'too-long':
      tornTail = false;
      recovery.corruption = { offset: pos, reason: 'length' };
      refusal = `the record at offset ${pos} is ${stop.length} bytes long, more than maxRecordBytes ${maxRecordBytes}`;
      break;
    case 'bad-payload': {
      recovery.corruption = { offset: pos, reason: 'checksum' };
      const next = pos + LOG_HEADER_BYTES + stop.length;
      tornTail = await window.isTornTail(next, maxRecordBytes);
      if (!tornTail) refusal = `the record at offset ${pos} fails its checksum and ${size - next} bytes of other records follow it`;
      break;
    }
    case 'record':
      throw new Error('unreachable');
  }
  if (refusal !== undefined && repair !== 'truncate') {
    throw new HordeError(
      ErrorCode.LOG_CORRUPT,
      `log ${path} is corrupt: ${refusal}; ${records} valid records precede it. Refusing to open (records after it would be lost); open with { repair: 'truncate' } to cut the log at offset ${pos}`,
    );
  }
  await ioStep(path, 'truncate', () => file.truncate(pos));
  await ioStep(path, 'fsync after truncate', () => file.sync());
  recovery.truncatedBytes = size - pos;
  return { recovery, index };
}

/** Writes every buffer at `position`, continuing after short writes. */
async function writeAll(file: LogFile, buffers: Uint8Array[], total: number, position: number): Promise<void> {
  let written = 0;
  let rest = buffers;
  while (written < total) {
    const n = await file.writev(rest, position + written);
    if (n <= 0) throw Object.assign(new Error(`short write: ${written} of ${total} bytes written`), { code: 'EIO' });
    written += n;
    if (written < total) rest = skipBytes(rest, n);
  }
}

/** The buffers left after the first `n` bytes of `buffers`. */
function skipBytes(buffers: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < buffers.length && n >= (buffers[i]?.length ?? 0)) n -= buffers[i++]?.length ?? 0;
  const rest = buffers.slice(i);
  const first = rest[0];
  if (first !== undefined && n > 0) rest[0] = first.subarray(n);
  return rest;
}

/** Reads until `length` bytes are in or the file ends; returns how many were read. */
async function readFully(file: LogFile, buffer: Uint8Array, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const n = await file.read(buffer, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Runs an fs step, turning a non-horde failure into HORDE_IO_ERROR that names the step and the file. */
async function ioStep<T>(path: string, step: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof HordeError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new HordeError(
      ErrorCode.IO_ERROR,
      `log ${path}: ${step} failed${typeof code === 'string' ? ` (${code})` : ''}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function closedError(path: string, what: string): HordeError {
  return new HordeError(ErrorCode.LOG_CLOSED, `log ${path} is closed: ${what} refused`);
}

function optionError(option: string, expected: string, got: unknown): HordeError {
  try {
    invalidOption(option, expected, got);
  } catch (error) {
    return error as HordeError;
  }
}

function limitOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIMIT_BYTES) invalidOption(name, `an integer in 1..${MAX_LIMIT_BYTES}`, value);
  return value;
}

const LOG_FS = new WeakMap<FileSystem, LogFs>();

/** The log's file layer over `fs` (one per file system, so HORDE_LOG_IN_USE sees every log open on it). */
export function logFsOf(fs: FileSystem): LogFs {
  let logFs = LOG_FS.get(fs);
  if (logFs === undefined) {
    logFs = {
      async openFile(path: string): Promise<{ file: LogFile; created: boolean }> {
        try {
          return { file: await fs.open(path, 'r+'), created: false };
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
        }
        return { file: await fs.open(path, 'wx+'), created: true };
      },
      syncDirectory: (path: string) => syncDirectory(path, fs),
    };
    LOG_FS.set(fs, logFs);
  }
  return logFs;
}

/** The default file layer: node:fs/promises file handles. */
export const nodeLogFs: LogFs = logFsOf(nodeFileSystem);
