// Process kinds every executor knows without being told: they come before user behaviours.
import { SUPERVISOR_KIND, supervisorFactory } from './supervisor.js';
import { CANARY_KIND, canaryFactory } from './canary.js';
import { ErrorCode, HordeError } from '../errors.js';
import type { Behaviours } from './types.js';

export const BUILTIN_BEHAVIOURS: Behaviours = {
  [SUPERVISOR_KIND]: supervisorFactory,
  [CANARY_KIND]: canaryFactory,
};

/** The built-ins plus `user`; a user kind may not take a built-in's name. */
export function withBuiltins(user: Behaviours): Behaviours {
  for (const name of Object.keys(user)) {
    if (Object.hasOwn(BUILTIN_BEHAVIOURS, name)) throw new HordeError(ErrorCode.INVALID_OPTION, `process kind "${name}" is reserved by horde`);
  }
  return { ...BUILTIN_BEHAVIOURS, ...user };
}
