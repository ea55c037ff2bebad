/**
 * Benchmark runner: `node --import tsx bench/run.ts [suite[:arg,...]...] [--table]` (or
 * `npm run bench --`).
 *
 * No suite names run every suite. A suite that takes arguments gets them after a colon, comma
 * separated (`savina:pingpong,counting,beam`); the suite checks them before anything runs.
 * Results go to stdout as one JSON object a line, {"suite","case","system","metric","value"}, as
 * soon as each is measured; progress and notes go to stderr. `--table` also prints an aligned
 * table of all results at the end (after the JSON lines, on stdout). Unknown suites, flags or
 * suite arguments: a message on stderr and exit code 2.
 */

import { formatTable, type BenchResult, type Report } from './support/report.js';

type Suite = {
  run: (report: Report, args: readonly string[]) => Promise<void>;
  /** Suites that take arguments: the problems with `args` (none: they are fine). */
  checkArgs?: (args: readonly string[]) => string[];
};

/** One entry per suite file; each is imported only when it runs (or its arguments are checked). */
const SUITES: Record<string, () => Promise<Suite>> = {
  ring: () => import('./ring.js'),
  codec: () => import('./codec.js'),
  timers: () => import('./timers.js'),
  savina: () => import('./savina.js'),
  fileio: () => import('./fileio.js'),
  cluster: () => import('./cluster.js'),
  fairness: () => import('./fairness.js'),
  large: () => import('./large.js'),
  sim: () => import('./sim.js'),
  raftlog: () => import('./raftlog.js'),
};

const USAGE = `usage: node --import tsx bench/run.ts [suite[:arg,...]...] [--table]
suites: ${Object.keys(SUITES).join(', ')} (default: all)
savina's arguments: cases and/or systems, e.g. savina:pingpong,counting or savina:spawn,horde-1shard,beam
cluster's arguments: cases and/or systems, e.g. cluster:beam,naive-json or cluster:ask-rtt
fairness's arguments: cases and/or systems, e.g. fairness:flood-2ms or fairness:horde-1shard,beam`;

/** `savina:pingpong,beam` -> name 'savina', args ['pingpong', 'beam']. */
function parseSpec(spec: string): { name: string; args: string[] } {
  const colon = spec.indexOf(':');
  if (colon < 0) return { name: spec, args: [] };
  return {
    name: spec.slice(0, colon),
    args: spec
      .slice(colon + 1)
      .split(',')
      .filter((arg) => arg !== ''),
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = argv.filter((arg) => arg.startsWith('-'));
  const specs = argv.filter((arg) => !arg.startsWith('-')).map(parseSpec);
  const names = specs.map((spec) => spec.name);
  if (flags.includes('--help') || flags.includes('-h')) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const unknownFlags = flags.filter((flag) => flag !== '--table');
  const unknownSuites = names.filter((name) => !Object.hasOwn(SUITES, name));
  const badArgs: string[] = [];
  for (const { name, args } of specs) {
    const load = SUITES[name];
    if (load === undefined || args.length === 0) continue;
    const { checkArgs } = await load();
    if (checkArgs === undefined) badArgs.push(`suite "${name}" takes no arguments`);
    else badArgs.push(...checkArgs(args));
  }
  if (unknownFlags.length > 0 || unknownSuites.length > 0 || badArgs.length > 0) {
    const what = [
      ...unknownSuites.map((name) => `unknown suite "${name}"`),
      ...unknownFlags.map((flag) => `unknown flag "${flag}"`),
      ...badArgs,
    ];
    process.stderr.write(`bench: ${what.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  // Each suite once, with its arguments (a suite named twice runs once, with both sets of arguments).
  const selected = new Map<string, string[]>();
  for (const { name, args } of specs.length > 0 ? specs : Object.keys(SUITES).map((name) => ({ name, args: [] }))) {
    selected.set(name, [...(selected.get(name) ?? []), ...args]);
  }
  const results: BenchResult[] = [];
  for (const [suite, args] of selected) {
    const started = performance.now();
    process.stderr.write(`[bench] suite ${suite}${args.length > 0 ? ` (${args.join(',')})` : ''}\n`);
    const load = SUITES[suite];
    if (load === undefined) throw new Error(`no suite ${suite}`);
    const { run } = await load();
    await run((measured) => {
      const result: BenchResult = { suite, ...measured };
      results.push(result);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }, args);
    process.stderr.write(`[bench] suite ${suite} done in ${((performance.now() - started) / 1e3).toFixed(1)} s\n`);
  }
  if (flags.includes('--table')) process.stdout.write(`\n${formatTable(results)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    // A failed run may leave a worker parked for records that will never come: do not wait for it.
    process.exit(1);
  },
);
