/**
 * StoreService: carries out the store's requests (types.ts) on the store thread, one statement or
 * transaction at a time, and answers each exactly once with an IoReply. It never throws at its
 * caller; the thread keeps serving after any bad request.
 *
 * Batches. The worker hands over every request that arrived together (`handleBatch`); they are
 * carried out in arrival order and their answers leave together. Databases a batch names that are
 * not open yet are opened first (the only asynchronous step: confining the name to the data
 * directory, paths.ts, and creating its directory); then the batch runs synchronously.
 *
 * Writes. Every write (a `sql` that is not a pure query, a `sqlTransaction`) runs in a transaction
 * on the database's main connection: BEGIN IMMEDIATE, its statements, COMMIT; any error rolls it
 * back whole and answers HORDE_SQL_ERROR (SQLite's code in the error's cause). Consecutive
 * requests of a batch flagged `groupCommit` for the same database share one transaction (one
 * commit, one fsync): each runs inside its own SAVEPOINT, so one that fails is rolled back alone
 * and the others commit; all are answered after the COMMIT. If SQLite rolls back the whole
 * transaction itself (some I/O errors, ON CONFLICT ROLLBACK) or the COMMIT fails, every request of
 * the group is answered with that error: nothing of it was applied. Transaction-control
 * statements (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE) are refused: the store owns them.
 *
 * PRAGMA statements sent alone (`sql`) run on the main connection outside any transaction, so
 * connection settings such as `foreign_keys` take effect there (where every write runs).
 *
 * Reads. A pure query outside a transaction runs on a read-only connection (database.ts) and is
 * paged: at most `limit` rows per answer (default and ceiling `maxRowsPerAnswer`), a cursor for the
 * rest (cursors.ts). A query inside a transaction, or a write with RETURNING, must fit one answer
 * (HORDE_TOO_MANY_ROWS, rolled back, otherwise).
 *
 * Busy. Another connection holding the database's write lock (another program) makes BEGIN
 * IMMEDIATE or COMMIT fail with SQLITE_BUSY: the service waits (1, 2, 4, ... up to 64 ms, blocking
 * this thread: one thing at a time) and retries, for at most `busyTimeoutMs`; then the request is
 * answered HORDE_SQL_ERROR with SQLITE_BUSY. Every retry is counted (`busyRetries`).
 *
 * Bounds: `maxDatabases` open (one more is answered HORDE_OVERLOADED), `maxCursors` cursors, at
 * most MAX_STATEMENTS statements per transaction (validate.ts), and the worker's queue (worker.ts).
 */

import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import type { IoReply } from '../process/io.js';
import { syncDirectory } from '../fileio/atomic.js';
import { resolveInDataDir } from '../fileio/paths.js';
import { CursorTable } from './cursors.js';
import { StoreDatabase, type CachedConnection } from './database.js';
import type { ResolvedStoreOptions } from '../process/store-options.js';
import type { SqlAnswer, SqlParams, SqlRow, SqlStatement, StoreRequest } from '../process/sql.js';
import { isBusy, sqlError } from './sql-error.js';
import { validate } from './validate.js';

const MAX_BACKOFF_MS = 64;
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
const PRAGMA = /^\s*PRAGMA\b/i;

export interface StoreServiceOptions {
  dataDir: string | undefined;
  store: ResolvedStoreOptions | undefined;
  /** The clock for cursor expiry and busy deadlines (ms). Default Date.now. */
  now?: () => number;
  /** Blocks the thread for `ms` between busy retries. Default Atomics.wait. */
  sleep?: (ms: number) => void;
}

/** The store thread's figures (`status().services.store`, with the worker's and `restarts`). Counters run from the start of the running thread. */
export interface StoreServiceStatus {
  /** Requests answered with `ok: true`. */
  served: number;
  /** Requests answered with an error (SQL errors, bad requests, expired cursors, ...). */
  errors: number;
  /** SQL statements carried out (each statement of a transaction counts; a failed one too). */
  statements: number;
  /** Transactions committed (a group commit counts once). */
  transactions: number;
  /** Commits shared by more than one request (group commits). */
  groupCommits: number;
  /** Requests whose changes were rolled back (their own error, or their group's). */
  rollbacks: number;
  /** Waits for a database another connection held locked (SQLITE_BUSY), each followed by a retry. */
  busyRetries: number;
  /** Databases open. */
  databases: number;
  /** Cursors open. */
  cursors: number;
}

type Validated = { request: StoreRequest; error?: undefined } | { request?: undefined; error: unknown };
type WriteRequest = Extract<StoreRequest, { op: 'sql' | 'sqlTransaction' }>;

export class StoreService {
  private readonly options: ResolvedStoreOptions | undefined;
  /** Open databases by the name requests used; two names of one file share it. */
  private readonly byName = new Map<string, StoreDatabase>();
  private readonly byPath = new Map<string, StoreDatabase>();
  private readonly cursors: CursorTable;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => void;
  private served = 0;
  private errors = 0;
  private statements = 0;
  private transactions = 0;
  private groupCommits = 0;
  private rollbacks = 0;
  private busyRetries = 0;

  constructor(private readonly serviceOptions: StoreServiceOptions) {
    this.options = serviceOptions.store;
    this.now = serviceOptions.now ?? Date.now;
    this.sleep = serviceOptions.sleep ?? blockFor;
    this.cursors = new CursorTable(this.options?.maxCursors ?? 0, this.options?.cursorIdleMs ?? 1, this.now);
  }

  /** Carries out `requests` in order; one answer each, in the same order. */
  async handleBatch(requests: readonly unknown[]): Promise<IoReply[]> {
    const validated = requests.map((request) => this.validate(request));
    const failedOpens = await this.openDatabases(validated);
    const replies = this.run(validated, failedOpens);
    for (const reply of replies) {
      if (reply.ok) this.served++;
      else this.errors++;
    }
    return replies;
  }

  status(): StoreServiceStatus {
    return {
      served: this.served,
      errors: this.errors,
      statements: this.statements,
      transactions: this.transactions,
      groupCommits: this.groupCommits,
      rollbacks: this.rollbacks,
      busyRetries: this.busyRetries,
      databases: this.byPath.size,
      cursors: this.cursors.size,
    };
  }

  /** Closes cursors whose idle time ran out (the worker calls it now and then; every batch does too). */
  expireCursors(): void {
    this.cursors.expire();
  }

  /** Closes every cursor and database. */
  close(): void {
    this.cursors.closeAll();
    for (const database of this.byPath.values()) database.close();
    this.byPath.clear();
    this.byName.clear();
  }

  private validate(request: unknown): Validated {
    try {
      if (this.options === undefined) throw new HordeError(ErrorCode.NO_STORE, 'this node runs no store (node option "store")');
      return { request: validate(request, this.options.maxRowsPerAnswer) };
    } catch (error) {
      return { error };
    }
  }

  /** Opens the databases the batch names that are not open; answers why for those that cannot be. */
  private async openDatabases(batch: readonly Validated[]): Promise<Map<string, unknown>> {
    const failed = new Map<string, unknown>();
    for (const { request } of batch) {
      if (request === undefined || (request.op !== 'sql' && request.op !== 'sqlTransaction')) continue;
      const name = request.db;
      if (this.byName.has(name) || failed.has(name)) continue;
      try {
        await this.open(name);
      } catch (error) {
        failed.set(name, error);
      }
    }
    return failed;
  }

  private async open(name: string): Promise<void> {
    const options = this.options!;
    const dataDir = this.serviceOptions.dataDir;
    if (dataDir === undefined) throw new HordeError(ErrorCode.NO_DATA_DIR, 'the node was started without a dataDir');
    const path = await resolveInDataDir(dataDir, name);
    const existing = this.byPath.get(path);
    if (existing !== undefined) {
      this.byName.set(name, existing);
      return;
    }
    if (this.byPath.size >= options.maxDatabases) {
      throw new HordeError(ErrorCode.OVERLOADED, `${options.maxDatabases} databases are open already (store option maxDatabases)`);
    }
    const directory = dirname(path);
    await mkdir(directory, { recursive: true });
    const isNew = await stat(path).then(
      () => false,
      (error: unknown) => {
        if ((error as { code?: unknown }).code === 'ENOENT') return true;
        throw error;
      },
    );
    let database: StoreDatabase;
    try {
      database = StoreDatabase.open(name, path, options);
    } catch (error) {
      throw sqlError(error);
    }
    // A new database file's name must survive a crash as its first commit does.
    if (isNew) await syncDirectory(directory);
    this.byPath.set(path, database);
    this.byName.set(name, database);
  }

  /** Carries out a validated batch, synchronously, in order. */
  private run(batch: readonly Validated[], failedOpens: Map<string, unknown>): IoReply[] {
    this.cursors.expire();
    const replies: IoReply[] = new Array<IoReply>(batch.length);
    let group: { index: number; request: WriteRequest }[] = [];
    let groupDatabase: StoreDatabase | undefined;
    const flush = (): void => {
      if (group.length > 0) this.commit(groupDatabase!, group, replies);
      group = [];
      groupDatabase = undefined;
    };
    batch.forEach(({ request, error }, index) => {
      if (request === undefined) {
        replies[index] = failure(error);
        return;
      }
      if (request.op === 'sqlNext' || request.op === 'sqlClose') {
        flush();
        replies[index] = attempt(() => {
          if (request.op === 'sqlClose') {
            this.cursors.close(request.cursor);
            return null;
          }
          return this.cursors.nextPage(request.cursor, request.limit ?? this.options!.maxRowsPerAnswer);
        });
        return;
      }
      const database = this.byName.get(request.db);
      if (database === undefined) {
        replies[index] = failure(failedOpens.get(request.db) ?? new HordeError(ErrorCode.NO_STORE, `database ${JSON.stringify(request.db)} is not open`));
        return;
      }
      if (request.op === 'sql' && PRAGMA.test(request.sql)) {
        // Settings of the write connection (foreign_keys, ...): outside a transaction, where SQLite applies them.
        flush();
        replies[index] = attempt(() => {
          let answer: SqlAnswer | undefined;
          this.retryBusy(() => {
            answer = this.execute(database.main, request);
          });
          return answer;
        });
        return;
      }
      if (request.op === 'sql') {
        let read: boolean;
        try {
          read = isRead(database.main, request.sql);
        } catch (prepareError) {
          replies[index] = failure(sqlError(prepareError));
          return;
        }
        if (read) {
          flush();
          replies[index] = attempt(() => this.read(database, request.sql, request.params, request.limit ?? this.options!.maxRowsPerAnswer));
          return;
        }
      }
      if (request.groupCommit === true) {
        if (groupDatabase !== undefined && groupDatabase !== database) flush();
        group.push({ index, request });
        groupDatabase = database;
        return;
      }
      flush();
      this.commit(database, [{ index, request }], replies);
    });
    flush();
    return replies;
  }

  /** A query outside a transaction: its first page, on a reader (kept as a cursor when more rows wait). */
  private read(database: StoreDatabase, sql: string, params: SqlParams | undefined, limit: number): unknown {
    const reader = database.reader();
    let rows: Iterator<Record<string, unknown>>;
    try {
      rows = reader.prepare(sql).iterate(...bindArgs(params));
    } catch (error) {
      database.release(reader);
      throw error;
    }
    this.statements++;
    return this.cursors.firstPage(database, reader, rows, limit);
  }

  /**
   * Runs `items` (writes to `database`, in order) in one transaction: each in its own savepoint
   * when there are several (a failed one is rolled back alone), then one COMMIT for all.
   */
  private commit(database: StoreDatabase, items: readonly { index: number; request: WriteRequest }[], replies: IoReply[]): void {
    const connection = database.main.connection;
    const failAll = (error: unknown): void => {
      this.rollbacks += items.length;
      for (const { index } of items) replies[index] = failure(error);
    };
    try {
      this.retryBusy(() => connection.exec('BEGIN IMMEDIATE'));
    } catch (error) {
      failAll(sqlError(error));
      return;
    }
    const single = items.length === 1;
    const results: IoReply[] = [];
    try {
      for (const { request } of items) {
        if (!single) connection.exec('SAVEPOINT horde_request');
        try {
          const value = request.op === 'sql' ? this.execute(database.main, request) : request.statements.map((statement) => this.execute(database.main, statement));
          if (!single) connection.exec('RELEASE horde_request');
          results.push({ ok: true, value });
        } catch (error) {
          const refused = sqlError(error);
          // SQLite rolled back the whole transaction itself: nothing of the group is left.
          if (single || !connection.inTransaction) throw refused;
          connection.exec('ROLLBACK TO horde_request');
          connection.exec('RELEASE horde_request');
          this.rollbacks++;
          results.push(failure(refused));
        }
      }
      this.retryBusy(() => connection.exec('COMMIT'));
    } catch (error) {
      if (connection.inTransaction) connection.exec('ROLLBACK');
      failAll(sqlError(error));
      return;
    }
    this.transactions++;
    if (!single) this.groupCommits++;
    items.forEach(({ index }, i) => {
      replies[index] = results[i]!;
    });
  }

  /** One statement on the main connection, inside a transaction: its rows (all of them, bounded) or its changes. */
  private execute(connection: CachedConnection, { sql, params }: SqlStatement): SqlAnswer {
    if (TRANSACTION_CONTROL.test(sql)) {
      throw sqlError(Object.assign(new Error('transaction-control statements (BEGIN, COMMIT, END, ROLLBACK, SAVEPOINT, RELEASE) are not allowed: use sqlTransaction'), { code: 'SQLITE_MISUSE' }));
    }
    const statement = connection.prepare(sql);
    this.statements++;
    if (!statement.reader) {
      const result = statement.run(...bindArgs(params));
      return { changes: result.changes, lastInsertRowid: Number(result.lastInsertRowid) };
    }
    const max = this.options!.maxRowsPerAnswer;
    const rows: SqlRow[] = [];
    const iterator = statement.iterate(...bindArgs(params));
    for (const row of iterator) {
      if (rows.length === max) {
        iterator.return?.();
        throw new HordeError(ErrorCode.TOO_MANY_ROWS, `a statement in a transaction gave more than ${max} rows (store option maxRowsPerAnswer): run large queries on their own (they are paged)`);
      }
      rows.push(row as SqlRow);
    }
    return { rows };
  }

  /** Runs `step`, retrying it while the database is locked by another connection, within busyTimeoutMs. */
  private retryBusy(step: () => void): void {
    const deadline = this.now() + this.options!.busyTimeoutMs;
    let backoff = 1;
    for (;;) {
      try {
        step();
        return;
      } catch (error) {
        const left = deadline - this.now();
        if (!isBusy(error) || left <= 0) throw error;
        this.busyRetries++;
        this.sleep(Math.min(backoff, left));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }
}

/** True for a statement that only reads (a query, not a PRAGMA, not a write with RETURNING): it runs on a reader and is paged. */
function isRead(main: CachedConnection, sql: string): boolean {
  if (TRANSACTION_CONTROL.test(sql) || PRAGMA.test(sql)) return false;
  const statement = main.prepare(sql);
  return statement.reader && statement.readonly;
}

function bindArgs(params: SqlParams | undefined): unknown[] {
  return params === undefined ? [] : [params];
}

function failure(error: unknown): IoReply {
  return { ok: false, error: errorToWire(error) };
}

function attempt(step: () => unknown): IoReply {
  try {
    return { ok: true, value: step() };
  } catch (error) {
    return failure(sqlError(error));
  }
}

function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
