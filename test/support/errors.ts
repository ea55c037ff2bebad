import { expect } from 'vitest';
import { HordeError } from '../../src/errors.js';

/** Runs `action` and returns the HordeError it throws, checking its code; fails if none is thrown. */
export function throwsCode(action: () => unknown, code: string): HordeError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(HordeError);
    expect((error as HordeError).code).toBe(code);
    return error as HordeError;
  }
  throw new Error(`expected a HordeError with code ${code}`);
}

/** Awaits `promise` and returns the HordeError it rejects with, checking its code. */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<HordeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HordeError);
    expect((error as HordeError).code).toBe(code);
    return error as HordeError;
  }
  throw new Error(`expected a rejection with code ${code}`);
}
