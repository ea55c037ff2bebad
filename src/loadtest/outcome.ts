// How the harness reads a request's rejection: shed, timeout, or another error.
import { ErrorCode } from '../errors.js';

export type Failure = 'shed' | 'timeout' | 'error';

export function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : ErrorCode.UNKNOWN;
}

export function classify(error: unknown): Failure {
  const code = errorCode(error);
  if (code === ErrorCode.OVERLOADED) return 'shed';
  if (code === ErrorCode.TIMEOUT) return 'timeout';
  return 'error';
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${errorCode(error)}: ${error.message}` : `${errorCode(error)}: ${String(error)}`;
}

/** Calls `request` and turns a synchronous throw into a rejection. */
export function startRequest(request: () => Promise<unknown>): Promise<unknown> {
  try {
    return request();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Counts errors by code, at most `limit` distinct codes (the rest under "other"). */
export class ErrorTally {
  readonly codes: Record<string, number> = {};
  private distinct = 0;
  last: string | null = null;

  constructor(private readonly limit = 32) {}

  add(error: unknown): void {
    let code = errorCode(error);
    if (this.codes[code] === undefined) {
      if (this.distinct >= this.limit) code = 'other';
      else this.distinct++;
    }
    this.codes[code] = (this.codes[code] ?? 0) + 1;
    this.last = describeError(error);
  }
}
