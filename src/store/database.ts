/**
 * StoreDatabase: one SQLite database of the store thread, a file in the data directory.
 *
 * Connections. One read-write connection (`main`) runs every write and every transaction, one at
 * a time; queries outside a transaction run on read-only connections (`reader`), each reading the
 * last committed state (WAL gives every reader its own snapshot). A query whose rows do not fit
 * one answer keeps its reader as a cursor (cursors.ts) until its last page; the others go back to
 * a free list of at most FREE_READERS. So a cursor's pages all come from one snapshot, and an open
 * cursor never blocks a writer (it only keeps the WAL from being checkpointed past its snapshot,
 * which is why cursors are bounded and expire).
 *
 * Pragmas: `journal_mode=WAL` and `synchronous=FULL` (or NORMAL, the node option) on the main
 * connection; no SQLite busy handler there (`timeout: 0`): the service retries SQLITE_BUSY itself
 * within `busyTimeoutMs`, counting the retries. Readers use SQLite's busy handler with the same
 * timeout (a WAL reader is only ever kept waiting by a recovery).
 *
 * Prepared statements are cached per connection by their SQL text (at most STATEMENT_CACHE each,
 * least recently used dropped first).
 */

import type { ResolvedStoreOptions } from '../process/store-options.js';
import { openConnection, type Connection, type Statement } from './sqlite.js';

const STATEMENT_CACHE = 256;
const FREE_READERS = 2;

/** A connection with its prepared statements. */
export class CachedConnection {
  private readonly statements = new Map<string, Statement>();

  constructor(readonly connection: Connection) {}

  /** The prepared statement for `sql` (throws what SQLite or better-sqlite3 throws for bad SQL). */
  prepare(sql: string): Statement {
    const cached = this.statements.get(sql);
    if (cached !== undefined) {
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    const statement = this.connection.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > STATEMENT_CACHE) this.statements.delete(this.statements.keys().next().value!);
    return statement;
  }

  close(): void {
    this.statements.clear();
    if (this.connection.open) this.connection.close();
  }
}

export class StoreDatabase {
  readonly main: CachedConnection;
  private readonly free: CachedConnection[] = [];

  private constructor(
    /** The name requests use (a path relative to the data directory). */
    readonly name: string,
    /** Its file. */
    readonly path: string,
    main: Connection,
    private readonly options: ResolvedStoreOptions,
  ) {
    this.main = new CachedConnection(main);
  }

  /** Opens (creating it if missing) the database file at `path` with the store's pragmas. */
  static open(name: string, path: string, options: ResolvedStoreOptions): StoreDatabase {
    const connection = openConnection(path, { timeout: 0 });
    try {
      const mode = connection.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`SQLite refused journal_mode=WAL for ${path} (it stays ${String(mode)})`);
      connection.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`, { simple: true });
    } catch (error) {
      connection.close();
      throw error;
    }
    return new StoreDatabase(name, path, connection, options);
  }

  /** A read-only connection for one query: a free one, or a new one. Give it back with `release` (or keep it as a cursor). */
  reader(): CachedConnection {
    return this.free.pop() ?? new CachedConnection(openConnection(this.path, { readonly: true, fileMustExist: true, timeout: this.options.busyTimeoutMs }));
  }

  /** A reader whose query is finished: kept for the next query, or closed past FREE_READERS. */
  release(reader: CachedConnection): void {
    if (this.free.length < FREE_READERS && reader.connection.open) this.free.push(reader);
    else reader.close();
  }

  /** Closes the free readers and the main connection (cursors close their own readers first). */
  close(): void {
    for (const reader of this.free.splice(0)) reader.close();
    if (this.main.connection.inTransaction) this.main.connection.exec('ROLLBACK');
    this.main.close();
  }
}
