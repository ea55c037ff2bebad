/**
 * Suite `cluster`: two nodes on loopback, horde against Erlang distribution and a naive Node
 * baseline, one system after another (each has the machine to itself), the same cases for all
 * (cluster-cases.ts): `oneway-64B` (msgs_per_s) and `ask-rtt` (rtt_p50_us, rtt_p99_us).
 *
 * Systems: `horde` and `horde-nospin` (its executors park at once; cluster-horde.ts), `beam`
 * (cluster-beam.ts, skipped with a note when Erlang is not installed), `naive-json`
 * (cluster-naive.ts).
 *
 * Arguments (`npm run bench -- cluster:ARG,ARG,...`): case names and system names, in any order;
 * none of a kind means all of that kind. `cluster:beam,naive-json` runs both cases on two systems,
 * `cluster:ask-rtt` one case on every system.
 */

import { availableParallelism, loadavg } from 'node:os';
import { CLUSTER_CASE_NAMES, isClusterCase, selectClusterCases, type ClusterBenchOptions } from './cluster-cases.js';
import { runBeam } from './cluster-beam.js';
import { runHorde } from './cluster-horde.js';
import { runNaive } from './cluster-naive.js';
import type { Report } from './support/report.js';

export const CLUSTER_SYSTEMS = ['horde', 'horde-nospin', 'beam', 'naive-json'] as const;
export type ClusterSystem = (typeof CLUSTER_SYSTEMS)[number];

function isSystem(arg: string): arg is ClusterSystem {
  return (CLUSTER_SYSTEMS as readonly string[]).includes(arg);
}

/** Problems with the suite's arguments (bench/run.ts prints them with the usage and exits 2). */
export function checkArgs(args: readonly string[]): string[] {
  return args
    .filter((arg) => !isClusterCase(arg) && !isSystem(arg))
    .map((arg) => `cluster: "${arg}" is neither a case (${CLUSTER_CASE_NAMES.join(', ')}) nor a system (${CLUSTER_SYSTEMS.join(', ')})`);
}

export async function run(report: Report, args: readonly string[] = []): Promise<void> {
  const problems = checkArgs(args);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const options: ClusterBenchOptions = { cases: selectClusterCases(args.filter(isClusterCase)) };
  const named = args.filter(isSystem);
  const systems = CLUSTER_SYSTEMS.filter((system) => named.length === 0 || named.includes(system));
  process.stderr.write(`[cluster] cases: ${options.cases.map((c) => c.name).join(', ')}; systems: ${systems.join(', ')}; ${loadNote()}\n`);
  for (const system of systems) {
    const started = performance.now();
    switch (system) {
      case 'horde':
      case 'horde-nospin':
        await runHorde(report, options, system);
        break;
      case 'beam':
        await runBeam(report, options);
        break;
      case 'naive-json':
        await runNaive(report, options);
        break;
    }
    process.stderr.write(`[cluster] ${system}: finished after ${((performance.now() - started) / 1e3).toFixed(1)} s; ${loadNote()}\n`);
  }
}

/** Every system here shares the 2 cores between two nodes: the notes say how busy the machine was. */
function loadNote(): string {
  return `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} on ${availableParallelism()} cores`;
}
