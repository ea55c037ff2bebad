/**
 * System `beam` of the `savina` suite: bench/erlang/savina.erl on the BEAM with 2 schedulers.
 *
 * Needs `erl` and `erlc` on PATH (Debian: `apt-get install erlang-base`). Without them, runBeam
 * prints a note on stderr and reports nothing, so the suite still runs where Erlang is absent
 * (CI). With them, it compiles savina.erl into a temporary directory, runs every case in one
 * `erl -noshell +S 2` (each case's warm-up run, then its measured rounds, parameters from
 * savina-cases.ts; the BEAM reports the median round), and reports each JSON line the BEAM prints
 * as soon as it comes. The BEAM's note for each run (`[savina] beam CASE round I/R messages=M
 * seconds=S`) is passed on to stderr, and its count checked against the table. A BEAM that fails a case, exits non-zero, misses a result or
 * runs past BEAM_TIMEOUT_MS fails the run.
 */

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SAVINA_CASES, countOf, measuredRun, warmupRun, type SavinaCase, type SavinaRun } from './savina-cases.js';
import type { BenchResult, Report } from './support/report.js';

const SAVINA_ERL = fileURLToPath(new URL('./erlang/savina.erl', import.meta.url));

/** The whole BEAM run (compilation excluded): every case takes 10-26 s on the 2-core machine. */
const BEAM_TIMEOUT_MS = 180_000;
const ERLC_TIMEOUT_MS = 60_000;
/** Schedulers: the BEAM peer runs on 2, like one horde node on the 2-core machine. */
const SCHEDULERS = 2;
/** BEAM's default process limit (262,144) is too low for the spawn case. */
const MIN_PROCESS_LIMIT = 262_144;

function note(text: string): void {
  process.stderr.write(`[savina] ${text}\n`);
}

/** The full path of `command` if an executable of that name is on PATH. */
export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** `case:key=value,...:warmup` or `case:key=value,...:rounds=R`, the argument savina.erl takes for one run. */
function erlangSpec(run: SavinaRun, option: string): string {
  const params = Object.entries(run.params)
    .map(([key, value]) => {
      if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`savina ${run.name}: parameter ${key} must be a positive integer`);
      return `${key}=${value}`;
    })
    .join(',');
  return `${run.name}:${params}:${option}`;
}

interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs a command to completion with a time limit, returning its output. */
function runCommand(file: string, args: readonly string[], timeoutMs: number, cwd: string): Promise<Exited & { output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

/** Checks one line of the BEAM's stdout and returns it without its suite. */
function parseResult(line: string, expected: ReadonlyMap<string, SavinaCase>): Omit<BenchResult, 'suite'> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error(`savina beam: not a JSON line: ${line}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`savina beam: not a result: ${line}`);
  const { suite, case: name, system, metric, value } = parsed as Record<string, unknown>;
  if (suite !== 'savina' || system !== 'beam' || typeof name !== 'string' || typeof metric !== 'string' || typeof value !== 'number') {
    throw new Error(`savina beam: malformed result: ${line}`);
  }
  const savinaCase = expected.get(name);
  if (savinaCase === undefined) throw new Error(`savina beam: result for a case not asked for: ${line}`);
  if (!savinaCase.metrics.some((m) => m === metric)) throw new Error(`savina beam: unexpected metric: ${line}`);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`savina beam: bad value: ${line}`);
  return { case: name, system, metric, value };
}

const NOTE_PATTERN = /^\[savina\] beam (\S+) (\(warm-up\)|round \d+\/\d+) (?:messages|processes)=(\d+) /;

/**
 * Runs the BEAM side of `cases` (all by default) and reports its results. Reports nothing, with a
 * note on stderr, when erl or erlc is not installed.
 */
export async function runBeam(report: Report, cases: readonly SavinaCase[] = SAVINA_CASES): Promise<void> {
  if (cases.length === 0) return;
  const erl = findOnPath('erl');
  const erlc = findOnPath('erlc');
  if (erl === undefined || erlc === undefined) {
    note('beam skipped: erl not installed (apt-get install erlang-base)');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'horde-savina-beam-'));
  try {
    const compiled = await runCommand(erlc, ['-o', dir, SAVINA_ERL], ERLC_TIMEOUT_MS, dir);
    if (compiled.code !== 0) throw new Error(`savina beam: erlc failed (${compiled.code ?? compiled.signal}):\n${compiled.output}`);
    await runErl(erl, dir, cases, report);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function runErl(erl: string, dir: string, cases: readonly SavinaCase[], report: Report): Promise<void> {
  const expected = new Map<string, SavinaCase>(cases.map((c) => [c.name, c]));
  const specs = cases.flatMap((c) => [erlangSpec(warmupRun(c), 'warmup'), erlangSpec(measuredRun(c), `rounds=${c.rounds}`)]);
  const largestSpawn = Math.max(0, ...cases.map((c) => (c.name === 'spawn' ? Math.max(c.params.n, c.warmup.n) : 0)));
  const processLimit = Math.max(MIN_PROCESS_LIMIT, 2 * largestSpawn + 100_000);
  const args = ['-noshell', '+S', `${SCHEDULERS}:${SCHEDULERS}`, '+P', String(processLimit), '-pa', dir, '-run', 'savina', 'main', ...specs];
  note(`beam: ${erl} ${args.slice(0, 8).join(' ')} ... (${specs.length} runs)`);
  // The temporary directory as cwd, and no crash dump: a crashing BEAM leaves nothing in the repo.
  const child = spawn(erl, args, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ERL_CRASH_DUMP_SECONDS: '0' },
  });
  const started = performance.now();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, BEAM_TIMEOUT_MS);
  const exited = new Promise<Exited>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });

  const reported = new Set<string>();
  const problems: string[] = [];
  // A result is reported once the notes of all its rounds have shown the count the table has. The
  // two come on different pipes, in either order: results that come first wait here.
  const counted = new Map<string, number>();
  const held = new Map<string, Omit<BenchResult, 'suite'>[]>();
  const failWith = (problem: string): void => {
    problems.push(problem);
    child.kill('SIGKILL');
  };
  const release = (result: Omit<BenchResult, 'suite'>): void => {
    if (problems.length > 0) return;
    const key = `${result.case}\0${result.metric}`;
    if (reported.has(key)) return failWith(`savina beam: ${result.metric} for ${result.case} reported twice`);
    reported.add(key);
    report(result);
  };
  const stdout = (async () => {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      let result: Omit<BenchResult, 'suite'>;
      try {
        result = parseResult(line, expected);
      } catch (error) {
        failWith(error instanceof Error ? error.message : String(error));
        continue;
      }
      if (counted.get(result.case) === expected.get(result.case)?.rounds) release(result);
      else held.set(result.case, [...(held.get(result.case) ?? []), result]);
    }
  })();
  const stderr = (async () => {
    for await (const line of createInterface({ input: child.stderr, crlfDelay: Infinity })) {
      process.stderr.write(`${line}\n`);
      const match = NOTE_PATTERN.exec(line);
      if (match === null) continue;
      const [, name = '', run = '', count = ''] = match;
      const savinaCase = expected.get(name);
      if (savinaCase === undefined) continue;
      const warmup = run === '(warm-up)';
      const want = warmup ? countOf(warmupRun(savinaCase)) : savinaCase.count;
      if (Number(count) !== want) {
        failWith(`savina beam: ${name} ${run} counted ${count}, the case table says ${want}`);
        continue;
      }
      if (warmup) continue;
      const rounds = (counted.get(name) ?? 0) + 1;
      counted.set(name, rounds);
      if (rounds !== savinaCase.rounds) continue;
      for (const result of held.get(name) ?? []) release(result);
      held.delete(name);
    }
  })();

  try {
    const [{ code, signal }] = await Promise.all([exited, stdout, stderr]);
    if (timedOut) problems.push(`savina beam: killed after ${BEAM_TIMEOUT_MS / 1e3} s`);
    else if (code !== 0 && problems.length === 0) problems.push(`savina beam: erl exited with ${code ?? signal}`);
  } finally {
    clearTimeout(timer);
  }
  for (const c of cases) {
    for (const metric of c.metrics) {
      if (!reported.has(`${c.name}\0${metric}`)) problems.push(`savina beam: no ${metric} for ${c.name}`);
    }
  }
  if (problems.length > 0) throw new Error([...new Set(problems)].join('\n'));
  note(`beam: done in ${((performance.now() - started) / 1e3).toFixed(1)} s`);
}
