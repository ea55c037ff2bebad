/**
 * Benchmark runner: `node --import tsx bench/run.ts [suite...] [--table]` (or `npm run bench --`).
 *
 * No suite names run every suite. Results go to stdout as one JSON object a line,
 * {"suite","case","system","metric","value"}, as soon as each is measured; progress and notes go
 * to stderr. `--table` also prints an aligned table of all results at the end (after the JSON
 * lines, on stdout). Unknown suites or flags: a message on stderr and exit code 2.
 */

import { formatTable, type BenchResult, type Report } from './support/report.js';

type Suite = { run: (report: Report) => Promise<void> };

/** One entry per suite file; each is imported only when it runs. */
const SUITES: Record<string, () => Promise<Suite>> = {
  ring: () => import('./ring.js'),
  codec: () => import('./codec.js'),
};

const USAGE = `usage: node --import tsx bench/run.ts [suite...] [--table]
suites: ${Object.keys(SUITES).join(', ')} (default: all)`;

async function main(argv: readonly string[]): Promise<number> {
  const flags = argv.filter((arg) => arg.startsWith('-'));
  const names = argv.filter((arg) => !arg.startsWith('-'));
  if (flags.includes('--help') || flags.includes('-h')) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  const unknownFlags = flags.filter((flag) => flag !== '--table');
  const unknownSuites = names.filter((name) => !Object.hasOwn(SUITES, name));
  if (unknownFlags.length > 0 || unknownSuites.length > 0) {
    const what = [
      ...unknownSuites.map((name) => `unknown suite "${name}"`),
      ...unknownFlags.map((flag) => `unknown flag "${flag}"`),
    ];
    process.stderr.write(`bench: ${what.join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const selected = names.length > 0 ? [...new Set(names)] : Object.keys(SUITES);
  const results: BenchResult[] = [];
  for (const suite of selected) {
    const started = performance.now();
    process.stderr.write(`[bench] suite ${suite}\n`);
    const load = SUITES[suite];
    if (load === undefined) throw new Error(`no suite ${suite}`);
    const { run } = await load();
    await run((measured) => {
      const result: BenchResult = { suite, ...measured };
      results.push(result);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    });
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
