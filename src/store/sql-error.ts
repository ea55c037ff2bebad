// What SQLite and better-sqlite3 throw, as the store's errors.
import { ErrorCode, HordeError } from '../errors.js';

/** True for SQLITE_BUSY and its extended codes: another connection holds the lock. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/**
 * What SQLite (or better-sqlite3's own checks) threw, as HORDE_SQL_ERROR with SQLite's code in its
 * cause: better-sqlite3's RangeError (wrong parameter count, missing named parameter) counts as
 * SQLITE_RANGE, its TypeError (a value it cannot bind) as SQLITE_MISMATCH, more than one statement
 * as SQLITE_MISUSE. A HordeError passes as it is.
 */
export function sqlError(error: unknown): HordeError {
  if (error instanceof HordeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  let code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) {
    if (message.includes('more than one statement')) code = 'SQLITE_MISUSE';
    else if (error instanceof RangeError) code = 'SQLITE_RANGE';
    else if (error instanceof TypeError) code = 'SQLITE_MISMATCH';
    else code = 'SQLITE_ERROR';
  }
  const cause = error instanceof Error && (error as { code?: unknown }).code === code ? error : Object.assign(new Error(message, { cause: error }), { code });
  return new HordeError(ErrorCode.SQL_ERROR, `${code as string}: ${message}`, { cause });
}

