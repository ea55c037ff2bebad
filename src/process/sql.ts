/**
 * The store's requests and answers (`ctx.io` ops served by the store thread, and the main
 * thread's `node.sql` / `node.sqlTransaction` / `node.sqlNext` / `node.sqlClose`). Each is a plain
 * value, so it crosses threads in an envelope.
 */

/** A value SQLite can bind: numbers, strings, bigints, null and bytes (a boolean, undefined or an object cannot be bound: HORDE_SQL_ERROR). */
export type SqlValue = number | string | bigint | null | Uint8Array;

/** A statement's parameters: positional (`?`, `?1`) as an array, or named (`:name`, `@name`, `$name`) as an object keyed by name without its prefix. */
export type SqlParams = readonly SqlValue[] | { readonly [name: string]: SqlValue };

/** One statement of a `sqlTransaction`. */
export interface SqlStatement {
  /** One SQL statement (not BEGIN, COMMIT, ROLLBACK, SAVEPOINT or RELEASE: the store runs the transaction). */
  sql: string;
  /** Its parameters, if it has any. */
  params?: SqlParams;
}

/** A row of a query: column name to value (integers as numbers, blobs as Uint8Array). */
export type SqlRow = Record<string, SqlValue>;

/** What a query answers: its rows, and a cursor when more rows wait (read them with `sqlNext`). */
export interface SqlRows {
  /** The rows of this page, at most the request's `limit`. */
  rows: SqlRow[];
  /** Present when more rows wait: pass it to `sqlNext` (or `sqlClose` it). */
  cursor?: string;
}

/** What a statement that returns no rows (INSERT, UPDATE, DELETE, CREATE, ...) answers. */
export interface SqlRun {
  /** Rows it inserted, updated or deleted. */
  changes: number;
  /** The rowid of the last row inserted on this database (by any statement). */
  lastInsertRowid: number;
}

/** The answer to one statement: rows for a query (or a write with RETURNING), changes otherwise. */
export type SqlAnswer = SqlRows | SqlRun;

/** Runs one statement on database `db`; answered with a SqlAnswer. */
export interface SqlRequest {
  /** The kind of request (the discriminant of IoRequest). */
  op: 'sql';
  /** The database: a file path relative to the node's `dataDir` (e.g. `app.db`, `tenants/a.db`), created on first use. */
  db: string;
  /** One SQL statement. */
  sql: string;
  /** Its parameters, if it has any. */
  params?: SqlParams;
  /** Most rows in the answer (1 to the node's `maxRowsPerAnswer`, which is also the default); more rows leave a cursor. */
  limit?: number;
  /**
   * A write that may share one transaction (one commit, one fsync) with other writes to the same
   * database that arrive with it. Each is still all-or-nothing and answered after the commit; one
   * that fails does not fail the others. Default false: its own transaction.
   */
  groupCommit?: boolean;
}

/** Runs `statements` in one transaction, rolled back whole on any error; answered with one SqlAnswer per statement, in order. */
export interface SqlTransactionRequest {
  /** The kind of request (the discriminant of IoRequest). */
  op: 'sqlTransaction';
  /** The database, as in `sql`. */
  db: string;
  /** The statements, run in order (at least one, at most 10,000). A query's rows count against `maxRowsPerAnswer` (HORDE_TOO_MANY_ROWS past it). */
  statements: readonly SqlStatement[];
  /** As in `sql`: may share a commit with other writes that arrive with it. */
  groupCommit?: boolean;
}

/** Reads the next page of a query's rows; answered with SqlRows (a `cursor` again while more wait). */
export interface SqlNextRequest {
  /** The kind of request (the discriminant of IoRequest). */
  op: 'sqlNext';
  /** The cursor of the previous page (HORDE_CURSOR_EXPIRED when unknown, finished or expired). */
  cursor: string;
  /** Most rows in this page. Default the node's `maxRowsPerAnswer`. */
  limit?: number;
}

/** Closes a cursor before its last page (frees its read snapshot); answered with null, also for a cursor already gone. */
export interface SqlCloseRequest {
  /** The kind of request (the discriminant of IoRequest). */
  op: 'sqlClose';
  /** The cursor to close. */
  cursor: string;
}

/** Any request the store thread serves. */
export type StoreRequest = SqlRequest | SqlTransactionRequest | SqlNextRequest | SqlCloseRequest;
