// Loads the behaviour modules an executor was given: each must export `behaviours`, an object of
// process factories (see defineBehaviours). Kinds must be unique across modules.
import { ErrorCode, HordeError } from '../errors.js';
import { withBuiltins } from '../process/builtins.js';
import type { Behaviours } from '../process/types.js';

export async function loadBehaviours(modules: readonly string[]): Promise<Behaviours> {
  const merged: Record<string, Behaviours[string]> = {};
  for (const specifier of modules) {
    let loaded: { behaviours?: unknown };
    try {
      loaded = (await import(specifier)) as { behaviours?: unknown };
    } catch (error) {
      const why = error instanceof Error ? `: ${error.message}` : '';
      throw new HordeError(ErrorCode.BEHAVIOUR_MODULE, `cannot load behaviour module ${specifier}${why}`, { cause: error });
    }
    const behaviours = loaded.behaviours;
    if (typeof behaviours !== 'object' || behaviours === null) {
      throw new HordeError(ErrorCode.BEHAVIOUR_MODULE, `behaviour module ${specifier} must export "behaviours" (an object of process factories)`);
    }
    for (const [kind, factory] of Object.entries(behaviours)) {
      if (typeof factory !== 'function') {
        throw new HordeError(ErrorCode.BEHAVIOUR_MODULE, `behaviour "${kind}" in ${specifier} is not a function`);
      }
      if (Object.hasOwn(merged, kind)) {
        throw new HordeError(ErrorCode.BEHAVIOUR_MODULE, `process kind "${kind}" is defined twice (again in ${specifier})`);
      }
      merged[kind] = factory as Behaviours[string];
    }
  }
  return withBuiltins(merged);
}
