/**
 * Suite `savina`: the Savina actor benchmarks of savina-cases.ts on horde and its peers, in one
 * run: `horde-1shard`, `horde`, `horde-2shard` (savina-horde.ts), `beam` (savina-beam.ts, skipped
 * with a note when erl is not installed) and `nact` (savina-nact.ts), one after another, never at
 * the same time (each system has the machine to itself).
 *
 * Arguments (`npm run bench -- savina:ARG,ARG,...`): case names and system names, in any order.
 * Cases named: only those (default all); systems named: only those (default all). For example
 * `savina:pingpong,counting` runs two cases on every system, `savina:spawn,horde-1shard,beam` one
 * case on two systems.
 */

import { availableParallelism, loadavg } from 'node:os';
import { SAVINA_CASE_NAMES, selectCases, type SavinaCaseName } from './savina-cases.js';
import { runBeam } from './savina-beam.js';
import { HORDE_SYSTEMS, runHorde, type HordeSystem } from './savina-horde.js';
import { runNact } from './savina-nact.js';
import type { Report } from './support/report.js';

export const SAVINA_SYSTEMS = [...HORDE_SYSTEMS, 'beam', 'nact'] as const;
export type SavinaSystem = (typeof SAVINA_SYSTEMS)[number];

function isCase(arg: string): arg is SavinaCaseName {
  return (SAVINA_CASE_NAMES as readonly string[]).includes(arg);
}

function isSystem(arg: string): arg is SavinaSystem {
  return (SAVINA_SYSTEMS as readonly string[]).includes(arg);
}

function isHorde(system: SavinaSystem): system is HordeSystem {
  return (HORDE_SYSTEMS as readonly string[]).includes(system);
}

/** Problems with the suite's arguments (bench/run.ts prints them with the usage and exits 2). */
export function checkArgs(args: readonly string[]): string[] {
  return args
    .filter((arg) => !isCase(arg) && !isSystem(arg))
    .map((arg) => `savina: "${arg}" is neither a case (${SAVINA_CASE_NAMES.join(', ')}) nor a system (${SAVINA_SYSTEMS.join(', ')})`);
}

export async function run(report: Report, args: readonly string[] = []): Promise<void> {
  const problems = checkArgs(args);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const cases = selectCases(args.filter(isCase));
  const named = args.filter(isSystem);
  const systems = SAVINA_SYSTEMS.filter((system) => named.length === 0 || named.includes(system));
  process.stderr.write(`[savina] cases: ${cases.map((c) => c.name).join(', ')}; systems: ${systems.join(', ')}; ${loadNote()}\n`);
  const horde = systems.filter(isHorde);
  if (horde.length > 0) await runHorde(report, cases, horde);
  for (const system of systems) {
    if (isHorde(system)) continue;
    if (system === 'beam') {
      await runBeam(report, cases);
      continue;
    }
    const started = performance.now();
    await runNact(report, cases);
    process.stderr.write(`[savina] nact: done in ${((performance.now() - started) / 1e3).toFixed(1)} s\n`);
  }
  process.stderr.write(`[savina] finished; ${loadNote()}\n`);
}

/**
 * The machine's load average: every system here is sensitive to other work on the machine (the
 * cross-shard cases most: see bench/README.md), so the notes say how busy it was.
 */
function loadNote(): string {
  return `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} on ${availableParallelism()} cores`;
}
