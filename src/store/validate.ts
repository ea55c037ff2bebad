// The shape of a store request that arrived from another thread (its parameter values are SQLite's to judge).
import { ErrorCode, HordeError } from '../errors.js';
import { SERVICES, serviceNamed } from '../process/services.js';
import type { StoreRequest } from '../process/sql.js';

/** Most statements in one `sqlTransaction`. */
export const MAX_STATEMENTS = 10_000;

/** The ops this service serves: its entry in the service list. */
const OPS = new Set<string>(SERVICES[serviceNamed('store')]!.ops);

/** Checks the shape of a request that arrived from another thread (parameter values are SQLite's to judge). */
export function validate(request: unknown, maxRows: number): StoreRequest {
  const fail = (why: string): never => {
    throw new HordeError(ErrorCode.INVALID_IO_REQUEST, `store request: ${why}`);
  };
  if (typeof request !== 'object' || request === null) return fail('must be an object');
  const r = request as Record<string, unknown>;
  if (typeof r.op !== 'string' || !OPS.has(r.op)) return fail(`unknown op ${JSON.stringify(r.op)}`);
  if (r.limit !== undefined && !(Number.isSafeInteger(r.limit) && (r.limit as number) >= 1 && (r.limit as number) <= maxRows)) {
    fail(`"limit" must be an integer from 1 to ${maxRows} (store option maxRowsPerAnswer)`);
  }
  if (r.op === 'sqlNext' || r.op === 'sqlClose') {
    if (typeof r.cursor !== 'string') fail('"cursor" must be a string');
    return request as StoreRequest;
  }
  if (typeof r.db !== 'string') fail('"db" must be a string (a database file relative to dataDir)');
  if (r.groupCommit !== undefined && typeof r.groupCommit !== 'boolean') fail('"groupCommit" must be a boolean');
  if (r.op === 'sql') {
    checkStatement(r, fail);
    return request as StoreRequest;
  }
  if (!Array.isArray(r.statements) || r.statements.length === 0 || r.statements.length > MAX_STATEMENTS) fail(`"statements" must be an array of 1 to ${MAX_STATEMENTS} statements`);
  for (const statement of r.statements as unknown[]) {
    if (typeof statement !== 'object' || statement === null) fail('each statement must be an object {sql, params?}');
    checkStatement(statement as Record<string, unknown>, fail);
  }
  return request as StoreRequest;
}

function checkStatement(statement: Record<string, unknown>, fail: (why: string) => never): void {
  if (typeof statement.sql !== 'string' || statement.sql.trim().length === 0) fail('"sql" must be a non-empty string');
  const params = statement.params;
  if (params !== undefined && (typeof params !== 'object' || params === null || params instanceof Uint8Array)) fail('"params" must be an array or an object of named parameters');
}
