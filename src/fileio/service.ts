/**
 * FileService: carries out the I/O and compute requests of processes, on the file worker thread.
 *
 * Every request is answered exactly once with an IoReply (`{ok: true, value}` or `{ok: false,
 * error}` where the error keeps its code: ENOENT, EACCES, HORDE_PATH_OUTSIDE_DATA_DIR, ...); this
 * class never throws at its caller. File operations go through the file system seam
 * (`options.fs`, file-system.ts): in production node:fs/promises, the asynchronous fs API (libuv's
 * thread pool does the blocking calls); in the testkit a SimDisk, so the same code runs against a
 * simulated disk; durable logs are DurableLogs opened on first use under
 * `<dataDir>/logs/<name>.log`; the Raft ops (`raftAppend`, ...) go to one RaftLogStore (the node's
 * shared Raft WAL, raft-log-store.ts) opened on first use under `<dataDir>/raft`; compute tasks run on a piscina pool so they never stall this
 * thread or an executor.
 *
 * Bounds: at most MAX_IN_FLIGHT requests are being served at once; more are answered at once with
 * HORDE_OVERLOADED. Paths are confined to the data directory (paths.ts); without a data
 * directory, file and log requests are answered with HORDE_NO_DATA_DIR. A `logRead` answer is
 * bounded by records and by bytes (`maxBytes`, default `readBytes`: each record counts its payload
 * and LOG_READ_RECORD_BYTES of framing), so it fits the ring back to the requester; the answer
 * says where to read on.
 *
 * Durability (what a crash keeps; the SimDisk tests check it): `fsync` flushes the file and then
 * its directory, so a new file's name survives too. A log's first use in this service fsyncs the
 * data directory after creating `logs/` (DurableLog fsyncs `logs/` itself), so an acknowledged
 * append is findable after a crash. `write`, `append` and `remove` promise nothing across a crash
 * until an `fsync`; `replace` is durable once answered.
 */

import { Piscina } from 'piscina';
import { dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import type { FileStat, IoReply, IoRequest, LogReadAnswer } from '../process/io.js';
import type { StoreRequest } from '../process/sql.js';
import { SERVICES, serviceNamed } from '../process/services.js';
import { workerEntry } from '../internal/worker-url.js';
import { atomicReplace, syncDirectory } from './atomic.js';
import { nodeFileSystem, type FileSystem } from './file-system.js';
import { DEFAULT_READ_RECORDS, DurableLog, logFsOf, type LogFs } from './log.js';
import { resolveInDataDir } from './paths.js';
import { RaftLogStore } from './raft-log-store.js';
import type { ComputeJob, ComputeOutcome } from './compute-task.js';

export const MAX_IN_FLIGHT = 4096;
/** What each record of a `logRead` answer counts against `maxBytes` besides its payload: its offset and tags. */
export const LOG_READ_RECORD_BYTES = 64;
/** What each entry of a `raftRead` answer counts against `maxBytes` besides its data: its term and tags. */
export const RAFT_READ_ENTRY_BYTES = 32;
const LOG_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const COMPUTE_ENTRY = workerEntry(import.meta.url, './compute-task.js');

export interface FileServiceOptions {
  dataDir: string | undefined;
  computeModules: string[];
  preload: string[];
  computeThreads: number;
  /** The default `maxBytes` of a `logRead`. */
  readBytes: number;
  /** The file system the files and logs live on (file-system.ts). Default node:fs/promises; the testkit passes a SimDisk's. */
  fs?: FileSystem;
}

/** What the file worker's request service counts: the part of FileWorkerStatus about the requests it carried out. */
export interface FileServiceStatus {
  /** `ctx.io` and `ctx.compute` requests answered with `ok: true`. */
  served: number;
  /** Requests answered with an error (ENOENT, HORDE_PATH_OUTSIDE_DATA_DIR, a task that threw, ...). */
  failed: number;
  /** Requests being carried out now (at most 4,096). */
  inFlight: number;
  /** Requests answered HORDE_OVERLOADED at once because 4,096 were in flight already. */
  refused: number;
  /** Durable logs open (each opens on its first use). */
  logs: number;
  /** Appends acknowledged (written and fdatasync'd) by the open logs. */
  logAppends: number;
  /** Bytes the open logs wrote and acknowledged, record headers included. */
  logBytes: number;
  /** fdatasync calls of the open logs (one per batch of appends). */
  logFsyncs: number;
  /** Compute tasks waiting for a thread of the compute pool. */
  computeQueued: number;
}

export class FileService {
  private readonly options: FileServiceOptions;
  private readonly fs: FileSystem;
  private readonly logFs: LogFs;
  private readonly logs = new Map<string, Promise<DurableLog>>();
  private raftStore: Promise<RaftLogStore> | undefined;
  /** The logs that opened (for their stats in status()). */
  private readonly openLogs: DurableLog[] = [];
  private pool: Piscina | undefined;
  private inFlight = 0;
  private served = 0;
  private failed = 0;
  private refused = 0;

  constructor(options: FileServiceOptions) {
    this.options = options;
    this.fs = options.fs ?? nodeFileSystem;
    this.logFs = logFsOf(this.fs);
  }

  async handle(request: unknown): Promise<IoReply> {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.refused++;
      return { ok: false, error: errorToWire(new HordeError(ErrorCode.OVERLOADED, `the file worker is serving ${MAX_IN_FLIGHT} requests already`)) };
    }
    this.inFlight++;
    try {
      const value = await this.perform(validate(request));
      this.served++;
      return { ok: true, value };
    } catch (error) {
      this.failed++;
      return { ok: false, error: errorToWire(error) };
    } finally {
      this.inFlight--;
    }
  }

  status(): FileServiceStatus {
    return {
      served: this.served,
      failed: this.failed,
      inFlight: this.inFlight,
      refused: this.refused,
      logs: this.logs.size,
      ...this.logTotals(),
      computeQueued: this.pool?.queueSize ?? 0,
    };
  }

  private logTotals(): { logAppends: number; logBytes: number; logFsyncs: number } {
    const totals = { logAppends: 0, logBytes: 0, logFsyncs: 0 };
    for (const log of this.openLogs) {
      const stats = log.stats;
      totals.logAppends += stats.appends;
      totals.logBytes += stats.bytes;
      totals.logFsyncs += stats.fsyncs;
    }
    return totals;
  }

  /** Closes every log (after its in-flight commits) and the compute pool. */
  async close(): Promise<void> {
    const logs = await Promise.allSettled([...this.logs.values()]);
    const open = logs.flatMap((settled) => (settled.status === 'fulfilled' ? [settled.value] : []));
    await Promise.all(open.map((log) => log.close()));
    this.logs.clear();
    const raft = await Promise.allSettled(this.raftStore === undefined ? [] : [this.raftStore]);
    for (const settled of raft) if (settled.status === 'fulfilled') await settled.value.close();
    this.raftStore = undefined;
    this.openLogs.length = 0;
    await this.pool?.destroy();
  }

  private async perform(request: FileRequest): Promise<unknown> {
    switch (request.op) {
      case 'compute':
        return this.compute(request.task, request.input);
      case 'logAppend':
        return (await this.log(request.log)).append(bytesOf(request.record));
      case 'logRead': {
        const log = await this.log(request.log);
        const read = await log.read(request.offset, request.maxRecords ?? DEFAULT_READ_RECORDS, request.maxBytes ?? this.options.readBytes, LOG_READ_RECORD_BYTES);
        const answer: LogReadAnswer = { records: read.records, nextOffset: read.nextOffset, endOffset: log.endOffset };
        return answer;
      }
      case 'raftAppend':
        return (await this.raft()).append(request.group, request.firstIndex, request.entries, request.hardState);
      case 'raftHardState':
        await (await this.raft()).saveHardState(request.group, request.hardState);
        return null;
      case 'raftTruncate':
        await (await this.raft()).truncate(request.group, request.fromIndex);
        return null;
      case 'raftRead':
        return { entries: await (await this.raft()).read(request.group, request.from, request.to, request.maxBytes ?? this.options.readBytes, RAFT_READ_ENTRY_BYTES) };
      case 'raftCompact':
        await (await this.raft()).compact(request.group, request.index, request.term, bytesOf(request.snapshot));
        return null;
      case 'raftSnapshot':
        return (await this.raft()).readSnapshot(request.group);
      case 'raftLoad':
        return (await this.raft()).load(request.group);
      case 'raftGroups':
        return (await this.raft()).groups();
      default:
        return this.file(request);
    }
  }

  /**
   * The node's Raft log store, opened (and recovered) on first use under `<dataDir>/raft`. A store
   * that failed (a write or fsync failed) is closed and opened again from the disk by the next
   * request: its callers saw HORDE_LOG_FAILED and reload what is durable.
   */
  private async raft(): Promise<RaftLogStore> {
    const current = (this.raftStore ??= this.openRaft());
    const store = await current;
    if (store.failed === undefined) return store;
    if (this.raftStore === current) {
      this.raftStore = store.close().then(() => this.openRaft());
      this.forgetIfFailed(this.raftStore);
    }
    return this.raftStore;
  }

  private openRaft(): Promise<RaftLogStore> {
    const dataDir = this.requireDataDir();
    const store = (async () => {
      const dir = await resolveInDataDir(dataDir, 'raft', { fs: this.fs });
      await this.fs.mkdir(dir, { recursive: true });
      return RaftLogStore.open(dir, { fs: this.fs });
    })();
    this.forgetIfFailed(store);
    return store;
  }

  /** A store that fails to open is forgotten, so a later request can try again. */
  private forgetIfFailed(store: Promise<RaftLogStore>): void {
    store.catch(() => {
      if (this.raftStore === store) this.raftStore = undefined;
    });
  }

  private async file(request: Extract<FileRequest, { path: string }>): Promise<unknown> {
    const dataDir = this.requireDataDir();
    // The data directory itself may be listed or stat'ed, never written, replaced or removed.
    const fs = this.fs;
    const path = await resolveInDataDir(dataDir, request.path, { allowRoot: request.op === 'list' || request.op === 'stat', fs });
    switch (request.op) {
      case 'read': {
        const bytes = await fs.readFile(path);
        const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        return request.encoding === 'utf8' ? Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('utf8') : view;
      }
      case 'write':
        await fs.writeFile(path, request.data);
        return null;
      case 'append':
        await fs.appendFile(path, request.data);
        return null;
      case 'fsync':
        // The file, then its directory: a file just created is only findable after a crash once
        // its directory entry is on disk too.
        await syncDirectory(path, fs);
        await syncDirectory(dirname(path), fs);
        return null;
      case 'replace':
        await atomicReplace(dataDir, request.path, bytesOf(request.data), fs);
        return null;
      case 'stat': {
        const info = await fs.stat(path);
        const result: FileStat = { size: info.size, isFile: info.isFile(), isDirectory: info.isDirectory(), mtimeMs: info.mtimeMs };
        return result;
      }
      case 'list':
        return (await fs.readdir(path)).sort();
      case 'remove':
        await fs.rm(path, { recursive: request.recursive === true });
        return null;
    }
  }

  private log(name: string): Promise<DurableLog> {
    if (!LOG_NAME.test(name)) {
      return Promise.reject(new HordeError(ErrorCode.INVALID_PATH, `log name must match ${String(LOG_NAME)}; got ${JSON.stringify(name)}`));
    }
    let log = this.logs.get(name);
    if (log === undefined) {
      const dataDir = this.requireDataDir();
      log = (async () => {
        const dir = await resolveInDataDir(dataDir, 'logs', { fs: this.fs });
        await this.fs.mkdir(dir, { recursive: true });
        // The data directory's entry for logs/ must be durable before any append is acknowledged
        // (DurableLog makes the log file's entry in logs/ durable). Once per log opened.
        await syncDirectory(dirname(dir), this.fs);
        const opened = await DurableLog.open(join(dir, `${name}.log`), { fs: this.logFs });
        this.openLogs.push(opened);
        return opened;
      })();
      this.logs.set(name, log);
      // A log that fails to open is forgotten, so a later request can try again.
      log.catch(() => this.logs.delete(name));
    }
    return log;
  }

  private async compute(task: string, input: unknown): Promise<unknown> {
    this.pool ??= new Piscina({
      filename: COMPUTE_ENTRY.href,
      minThreads: 0,
      maxThreads: this.options.computeThreads > 0 ? this.options.computeThreads : Math.max(1, availableParallelism() - 1),
      maxQueue: MAX_IN_FLIGHT,
      idleTimeout: 30_000,
    });
    const job: ComputeJob = { modules: this.options.computeModules, preload: this.options.preload, task, input };
    const outcome = (await this.pool.run(job)) as ComputeOutcome;
    if (!outcome.ok) throw Object.assign(new HordeError(outcome.error.code, outcome.error.message), { stack: outcome.error.stack });
    return outcome.value;
  }

  private requireDataDir(): string {
    if (this.options.dataDir === undefined) throw new HordeError(ErrorCode.NO_DATA_DIR, 'the node was started without a dataDir');
    return this.options.dataDir;
  }
}

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/** The requests this service serves (the store thread serves the store's). */
type FileRequest = Exclude<IoRequest, StoreRequest>;

/** The ops this service serves: its entry in the service list. */
const OPS = new Set<string>(SERVICES[serviceNamed('fileio')]!.ops);

function isCount(value: unknown): boolean {
  return value === undefined || (Number.isSafeInteger(value) && (value as number) >= 1);
}

/** Checks the shape of a request that arrived from another thread. */
function validate(request: unknown): FileRequest {
  const fail = (why: string): never => {
    throw new HordeError(ErrorCode.INVALID_IO_REQUEST, `io request: ${why}`);
  };
  if (typeof request !== 'object' || request === null) return fail('must be an object');
  const r = request as Record<string, unknown>;
  if (typeof r.op !== 'string' || !OPS.has(r.op)) return fail(`unknown op ${JSON.stringify(r.op)}`);
  if (r.op === 'compute') {
    if (typeof r.task !== 'string') fail('"task" must be a string');
  } else if (r.op === 'logAppend' || r.op === 'logRead') {
    if (typeof r.log !== 'string') fail('"log" must be a string');
    if (r.op === 'logAppend' && !(typeof r.record === 'string' || r.record instanceof Uint8Array)) fail('"record" must be a string or Uint8Array');
    if (r.op === 'logRead') {
      if (!(Number.isSafeInteger(r.offset) && (r.offset as number) >= 0)) fail('"offset" must be an integer >= 0');
      if (!isCount(r.maxRecords)) fail('"maxRecords" must be an integer >= 1');
      if (!isCount(r.maxBytes)) fail('"maxBytes" must be an integer >= 1');
    }
  } else if (r.op.startsWith('raft')) {
    validateRaft(r, fail);
  } else {
    if (typeof r.path !== 'string') fail('"path" must be a string');
    if ((r.op === 'write' || r.op === 'append' || r.op === 'replace') && !(typeof r.data === 'string' || r.data instanceof Uint8Array)) {
      fail('"data" must be a string or Uint8Array');
    }
  }
  return request as FileRequest;
}

const isIndex = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;

function isHardState(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const hs = value as Record<string, unknown>;
  return isIndex(hs.term) && isIndex(hs.commit) && (hs.vote === null || typeof hs.vote === 'string');
}

/** The shape checks of the Raft ops (the store checks the values: indexes, bounds, names). */
function validateRaft(r: Record<string, unknown>, fail: (why: string) => never): void {
  if (r.op === 'raftGroups') return;
  if (typeof r.group !== 'string') fail('"group" must be a string');
  switch (r.op) {
    case 'raftAppend': {
      if (!isIndex(r.firstIndex)) fail('"firstIndex" must be an integer >= 0');
      const entries: unknown = r.entries;
      if (!Array.isArray(entries)) return fail('"entries" must be an array of {term, data}');
      for (const entry of entries as unknown[]) {
        const e = entry as Record<string, unknown> | null;
        if (typeof e !== 'object' || e === null || !isIndex(e.term) || !(e.data instanceof Uint8Array)) fail('each entry must be {term: integer >= 0, data: Uint8Array}');
      }
      if (r.hardState !== undefined && !isHardState(r.hardState)) fail('"hardState" must be {term, vote: string | null, commit}');
      break;
    }
    case 'raftHardState':
      if (!isHardState(r.hardState)) fail('"hardState" must be {term, vote: string | null, commit}');
      break;
    case 'raftTruncate':
      if (!isIndex(r.fromIndex)) fail('"fromIndex" must be an integer >= 0');
      break;
    case 'raftRead':
      if (!isIndex(r.from)) fail('"from" must be an integer >= 0');
      if (r.to !== undefined && !isIndex(r.to)) fail('"to" must be an integer >= 0');
      if (!isCount(r.maxBytes)) fail('"maxBytes" must be an integer >= 1');
      break;
    case 'raftCompact':
      if (!isIndex(r.index) || !isIndex(r.term)) fail('"index" and "term" must be integers >= 0');
      if (!(typeof r.snapshot === 'string' || r.snapshot instanceof Uint8Array)) fail('"snapshot" must be a string or Uint8Array');
      break;
  }
}
