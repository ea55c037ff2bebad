// better-sqlite3 through the few calls the store uses, typed here (the package ships no types).
import { createRequire } from 'node:module';

/** A prepared statement (better-sqlite3's Statement). */
export interface Statement {
  /** True when it returns rows (a query, or a write with RETURNING). */
  readonly reader: boolean;
  /** True when it does not change the database. */
  readonly readonly: boolean;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  iterate(...params: unknown[]): IterableIterator<Record<string, unknown>>;
}

/** A connection (better-sqlite3's Database). */
export interface Connection {
  readonly inTransaction: boolean;
  readonly open: boolean;
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(pragma: string, options: { simple: true }): unknown;
  close(): void;
}

/** What better-sqlite3's constructor takes. */
export interface ConnectionOptions {
  readonly?: boolean;
  fileMustExist?: boolean;
  /** ms SQLite's own busy handler waits for a lock (0: fail at once with SQLITE_BUSY). */
  timeout?: number;
}

type ConnectionClass = new (path: string, options?: ConnectionOptions) => Connection;

const Database = createRequire(import.meta.url)('better-sqlite3') as ConnectionClass;

/** Opens a connection to the database file at `path` (created unless `readonly`). */
export function openConnection(path: string, options: ConnectionOptions): Connection {
  return new Database(path, options);
}
