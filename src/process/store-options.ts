// The node option `store`: what the store thread runs with, validated at startNode.
import { invalidOption } from '../errors.js';

/**
 * Options of the store thread (the node option `store`; giving it, even `{}`, starts the thread).
 * Needs `dataDir`: the databases are files in it.
 */
export interface StoreOptions {
  /** SQLite's `synchronous` pragma: 'full' (default) fsyncs every commit; 'normal' may lose the last commits on a power loss (never corrupts). */
  synchronous?: 'full' | 'normal';
  /** How long a request waits for a database another connection holds locked, retrying, before HORDE_SQL_ERROR with SQLITE_BUSY. Default 5,000 ms. */
  busyTimeoutMs?: number;
  /** The most rows one answer carries (and the default `limit` of a query). Default 1,000; at most 100,000. */
  maxRowsPerAnswer?: number;
  /** Databases open at once; one more is refused with HORDE_OVERLOADED. Default 64. */
  maxDatabases?: number;
  /** Cursors open at once (each holds a read snapshot); one more query that needs one is answered HORDE_OVERLOADED. Default 64. */
  maxCursors?: number;
  /** A cursor not read for this long is closed (its next `sqlNext` gets HORDE_CURSOR_EXPIRED). Default 30,000 ms. */
  cursorIdleMs?: number;
}

/** StoreOptions with the defaults filled in. */
export interface ResolvedStoreOptions {
  synchronous: 'full' | 'normal';
  busyTimeoutMs: number;
  maxRowsPerAnswer: number;
  maxDatabases: number;
  maxCursors: number;
  cursorIdleMs: number;
}

function integer(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return invalidOption(`store.${option}`, `an integer from ${min} to ${max}`, value);
  return value;
}

/** Validates the `store` option (HORDE_INVALID_OPTION naming the field); undefined when not given. */
export function resolveStoreOptions(value: unknown, dataDir: string | undefined): ResolvedStoreOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) return invalidOption('store', 'an object', value);
  if (dataDir === undefined) return invalidOption('store', 'given with a dataDir (the databases live in it)', value);
  const options = value as StoreOptions;
  const synchronous = options.synchronous ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal') return invalidOption('store.synchronous', "'full' or 'normal'", synchronous);
  return {
    synchronous,
    busyTimeoutMs: integer('busyTimeoutMs', options.busyTimeoutMs, 5000, 0, 600_000),
    maxRowsPerAnswer: integer('maxRowsPerAnswer', options.maxRowsPerAnswer, 1000, 1, 100_000),
    maxDatabases: integer('maxDatabases', options.maxDatabases, 64, 1, 4096),
    maxCursors: integer('maxCursors', options.maxCursors, 64, 0, 4096),
    cursorIdleMs: integer('cursorIdleMs', options.cursorIdleMs, 30_000, 1, 86_400_000),
  };
}
