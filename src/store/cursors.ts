/**
 * CursorTable: the open cursors of the store thread, each a query whose rows did not fit one
 * answer, read on page by page (`sqlNext`) from its own read-only connection (one snapshot).
 *
 * Bounds: at most `maxCursors` open (a query that needs one more is answered HORDE_OVERLOADED, after
 * the expired ones are closed); a cursor not read for `cursorIdleMs` expires (its reader is
 * released), as does one whose last page was read or that was closed (`sqlClose`). A cursor's id
 * starts with this thread's incarnation (random), so an id from a thread that died is never taken
 * for a new thread's cursor: every such request is answered HORDE_CURSOR_EXPIRED.
 */

import { randomBytes } from 'node:crypto';
import { ErrorCode, HordeError } from '../errors.js';
import type { CachedConnection, StoreDatabase } from './database.js';
import type { SqlRow } from '../process/sql.js';

interface Cursor {
  readonly database: StoreDatabase;
  readonly reader: CachedConnection;
  readonly rows: Iterator<Record<string, unknown>>;
  /** A row read ahead (to learn that more rows wait). */
  next: IteratorResult<Record<string, unknown>>;
  lastUsed: number;
}

/** A page of rows, and whether more wait. */
export interface Page {
  rows: SqlRow[];
  more: boolean;
}

export class CursorTable {
  private readonly cursors = new Map<string, Cursor>();
  private readonly incarnation = randomBytes(6).toString('hex');
  private serial = 0;

  constructor(
    private readonly maxCursors: number,
    private readonly idleMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.cursors.size;
  }

  /** Reads up to `limit` rows from a query just started; keeps it as a cursor (its id returned) when more wait. */
  firstPage(database: StoreDatabase, reader: CachedConnection, rows: Iterator<Record<string, unknown>>, limit: number): { rows: SqlRow[]; cursor?: string } {
    let next: IteratorResult<Record<string, unknown>>;
    let page: SqlRow[];
    try {
      next = rows.next();
      ({ page, next } = take(rows, next, limit));
    } catch (error) {
      rows.return?.();
      database.release(reader);
      throw error;
    }
    if (next.done === true) {
      database.release(reader);
      return { rows: page };
    }
    this.expire();
    if (this.cursors.size >= this.maxCursors) {
      rows.return?.();
      database.release(reader);
      throw new HordeError(ErrorCode.OVERLOADED, `the query has more than ${limit} rows and ${this.maxCursors} cursors are open already (store option maxCursors): close cursors, or raise "limit"`);
    }
    const id = `${this.incarnation}-${++this.serial}`;
    this.cursors.set(id, { database, reader, rows, next, lastUsed: this.now() });
    return { rows: page, cursor: id };
  }

  /** The next page of cursor `id`; the cursor ends with its last page. */
  nextPage(id: string, limit: number): { rows: SqlRow[]; cursor?: string } {
    this.expire();
    const cursor = this.cursors.get(id);
    if (cursor === undefined) throw new HordeError(ErrorCode.CURSOR_EXPIRED, `cursor ${JSON.stringify(id)} is unknown, finished, closed or expired (idle over ${this.idleMs} ms, or its store thread was replaced): run the query again`);
    let page: SqlRow[];
    try {
      ({ page, next: cursor.next } = take(cursor.rows, cursor.next, limit));
    } catch (error) {
      this.close(id);
      throw error;
    }
    if (cursor.next.done === true) {
      this.close(id);
      return { rows: page };
    }
    cursor.lastUsed = this.now();
    return { rows: page, cursor: id };
  }

  /** Closes cursor `id` (nothing for one already gone). */
  close(id: string): void {
    const cursor = this.cursors.get(id);
    if (cursor === undefined) return;
    this.cursors.delete(id);
    cursor.rows.return?.();
    cursor.database.release(cursor.reader);
  }

  /** Closes every cursor idle for `idleMs` or more. */
  expire(): void {
    const before = this.now() - this.idleMs;
    for (const [id, cursor] of this.cursors) if (cursor.lastUsed <= before) this.close(id);
  }

  /** Closes every cursor (of `database` only, when given). */
  closeAll(database?: StoreDatabase): void {
    for (const [id, cursor] of this.cursors) if (database === undefined || cursor.database === database) this.close(id);
  }
}

/** Up to `limit` rows starting with `next`, and the row after them (done when none is left). */
function take(rows: Iterator<Record<string, unknown>>, first: IteratorResult<Record<string, unknown>>, limit: number): { page: SqlRow[]; next: IteratorResult<Record<string, unknown>> } {
  const page: SqlRow[] = [];
  let next = first;
  while (next.done !== true && page.length < limit) {
    page.push(next.value as SqlRow);
    next = rows.next();
  }
  return { page, next };
}
