/**
 * Systems `horde-1shard`, `horde` and `horde-2shard` of the `savina` suite: the cases of
 * savina-cases.ts on horde nodes, with the process kinds of savina-behaviours.ts.
 *
 * | system         | node                                      | where the case's processes run       |
 * | -------------- | ----------------------------------------- | ------------------------------------ |
 * | `horde-1shard` | default executor count                    | all on shard 0, with the driver      |
 * | `horde`        | default executor count (cores - 1, >= 1)  | round robin over every executor      |
 * | `horde-2shard` | `executors: 2`                            | round robin over the two executors   |
 *
 * With one executor by default (a 2-core machine: cores - 1) `horde` is the same configuration as
 * `horde-1shard`, measured a second time (a note on stderr says so; the two differ by run-to-run
 * noise only), and `horde-2shard` is the one that puts two shards, and the rings between them,
 * under load. On larger machines the three differ.
 *
 * How a run goes (see savina-behaviours.ts for the driver's phases): the main thread spawns a
 * `savina-driver` on shard 0 and asks it to set the case up (spawn, configure, every process
 * acknowledged), then asks it to run and times that ask with performance.now() (the measured
 * round: from the ask's send to its answer, so the main thread's ask round trip, a few
 * microseconds, is included), then to check (the main thread compares the counts the processes
 * report with what the case must give) and to tear down (stop every process; the main thread
 * waits until every executor is back to its process count before the run). A run also fails if
 * the node counted a dead letter or a crashed process, or an ask times out.
 *
 * `spawn`: the driver spawns the idle processes in chunks, then has the last process spawned on
 * each shard answer (so every spawn before it has been carried out); spawns_per_s = n / seconds
 * of that run ask. bytes_per_process = growth of the executors' V8 heaps in use (ExecutorStatus
 * heapUsedBytes, summed) from after the setup to after the run, each read after a full collection
 * on every executor (HordeNode.collectGarbage, which needs --expose-gc), / n. The driver keeps
 * the pids as numbers in two typed arrays allocated at setup, so they are not counted.
 *
 * One child process a system (`node --expose-gc --import tsx` this file with CHILD_FLAG): it
 * exposes gc to the executors (workers share the process's V8 flags) and keeps one system's heap
 * apart from the next. In the child, each case gets a fresh node (fresh executor isolates and
 * heaps, as nact gets a fresh process a case); its warm-up and measured rounds run on that node,
 * each round with a fresh driver and fresh processes. The child prints one JSON line a run; the
 * parent checks the counts against the table, writes the notes on stderr and reports the median
 * round.
 */

import { spawn as spawnProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startNode, type HordeNode, type NodeStatus, type Pid } from '../src/index.js';
import { SAVINA_CASES, SAVINA_CASE_NAMES, countOf, measuredRun, warmupRun, type SavinaCase, type SavinaRun } from './savina-cases.js';
import { spawnSampleIndices, type DriverCommand } from './savina-behaviours.js';
import type { Report } from './support/report.js';
import { median } from './support/stats.js';
import { TSX_PRELOAD } from './support/tsx-preload.js';

export const HORDE_SYSTEMS = ['horde-1shard', 'horde', 'horde-2shard'] as const;
export type HordeSystem = (typeof HORDE_SYSTEMS)[number];

const BEHAVIOURS = new URL('./savina-behaviours.ts', import.meta.url);
/**
 * Any one phase of a run: a few seconds at most on a quiet machine, but with other work on it a
 * round of horde-2shard's pingpong has taken a minute (see bench/README.md).
 */
const PHASE_TIMEOUT_MS = 120_000;
/** How long teardown may take until every stopped process is gone. */
const TEARDOWN_TIMEOUT_MS = 30_000;
const CHILD_NODE_FLAGS = ['--expose-gc'];
const CHILD_FLAG = '--savina-horde-child';
/** One system in its child: 10-30 s on the quiet 2-core machine, minutes on a busy one. */
const CHILD_TIMEOUT_MS = 600_000;

function note(text: string): void {
  process.stderr.write(`[savina] ${text}\n`);
}

function errorOf(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`savina horde: check failed: ${what}`);
}

interface Placement {
  /** Executors of the node; undefined: the default. */
  executors: number | undefined;
  /** Shards the case's processes are spread over, given the node's executor count. */
  shards(executors: number): number;
}

const PLACEMENTS: Record<HordeSystem, Placement> = {
  'horde-1shard': { executors: undefined, shards: () => 1 },
  horde: { executors: undefined, shards: (executors) => executors },
  'horde-2shard': { executors: 2, shards: () => 2 },
};

// ---------------------------------------------------------------------------------------------
// In the child: the runs of one system.

/** What the child prints for each run, one JSON line each. */
interface Outcome {
  case: string;
  /** 0: the warm-up; 1 to rounds: the measured rounds. */
  index: number;
  /** countOf the run: messages, or processes spawned. */
  count: number;
  seconds: number;
  executors: number;
  shards: number;
  /** spawn only. */
  bytesPerProcess?: number;
  /** Whether the executors could run a full collection (spawn's heap measurement). */
  gcExposed: boolean;
}

function isOutcome(value: unknown): value is Outcome {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.case === 'string' &&
    typeof v.index === 'number' &&
    typeof v.count === 'number' &&
    typeof v.seconds === 'number' &&
    v.seconds > 0 &&
    typeof v.executors === 'number' &&
    typeof v.shards === 'number' &&
    (v.bytesPerProcess === undefined || typeof v.bytesPerProcess === 'number') &&
    typeof v.gcExposed === 'boolean'
  );
}

/** The sum the driver answers `run` with: what the completion messages carry. */
function expectedRunSum(run: SavinaRun): number {
  switch (run.name) {
    case 'pingpong':
    case 'counting':
      return run.params.n;
    case 'chameneos':
      return 2 * run.params.n;
    default:
      return 0;
  }
}

/** The sum the driver answers `check` with: what the processes counted. */
function expectedCheckSum(run: SavinaRun): number {
  switch (run.name) {
    case 'pingpong':
    case 'counting':
    case 'threadring':
    case 'fjcreate':
      return run.params.n;
    case 'fjthrput':
      return run.params.processes * run.params.m;
    case 'big':
      return run.params.workers * run.params.n;
    case 'chameneos':
      return run.params.n;
    case 'spawn':
      return spawnSampleIndices(run.params.n).length;
  }
}

function processCount(status: NodeStatus): number {
  return status.executors.reduce((sum, e) => sum + e.processes, 0);
}

function heapUsed(status: NodeStatus): number {
  return status.executors.reduce((sum, e) => sum + e.heapUsedBytes, 0);
}

/**
 * What must not change during a run: dead letters (a lost message or spawn) and crashed processes.
 * (A long receive is only reported, by the node itself on stderr: under other load it can be the
 * machine's doing.)
 */
function troubles(status: NodeStatus): string {
  return `deadLetters=${status.deadLetters} processCrashes=${status.processCrashes}`;
}

/**
 * Asks the driver. On failure, adds what the executors say to the error, twice a second apart,
 * which tells a stalled node (nothing moves) from a slow one.
 */
async function ask<R>(node: HordeNode, driver: Pid, command: DriverCommand): Promise<R> {
  try {
    return await node.ask<R>(driver, command, { timeoutMs: PHASE_TIMEOUT_MS });
  } catch (error) {
    const snapshot = (): Promise<string> => node.status().then(
      (status) => JSON.stringify(status),
      (reason: unknown) => `status failed: ${String(reason)}`,
    );
    const first = await snapshot();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const second = await snapshot();
    throw new Error(`savina horde: phase ${command.type} failed; node status:\n${first}\none second later:\n${second}`, { cause: error });
  }
}

async function waitForProcesses(node: HordeNode, count: number, what: string): Promise<void> {
  const deadline = performance.now() + TEARDOWN_TIMEOUT_MS;
  for (;;) {
    const now = processCount(await node.status());
    if (now === count) return;
    if (performance.now() > deadline) throw new Error(`savina horde: ${what}: ${now} processes after teardown, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One run of a case on `node`, its processes spread over `shards` shards. */
async function runOnce(node: HordeNode, run: SavinaRun, shards: number): Promise<{ seconds: number; bytesPerProcess?: number; gcExposed: boolean }> {
  const before = await node.status();
  const baseline = processCount(before);
  const clean = troubles(before);
  const driver = await node.spawn('savina-driver', undefined, { shard: 0 });
  await ask<number>(node, driver, { type: 'setup', run, shards });

  let gcExposed = false;
  let heap0 = 0;
  let procs0 = 0;
  if (run.name === 'spawn') {
    gcExposed = await node.collectGarbage();
    const status = await node.status();
    heap0 = heapUsed(status);
    procs0 = processCount(status);
  }

  const t0 = performance.now();
  const runSum = await ask<number>(node, driver, { type: 'run' });
  const seconds = (performance.now() - t0) / 1e3;

  let bytesPerProcess: number | undefined;
  if (run.name === 'spawn') {
    const { n } = run.params;
    gcExposed = (await node.collectGarbage()) && gcExposed;
    const status = await node.status();
    check(processCount(status) - procs0 === n, `spawn: ${processCount(status) - procs0} processes more after the run, expected ${n}`);
    bytesPerProcess = (heapUsed(status) - heap0) / n;
  }
  check(runSum === expectedRunSum(run), `${run.name}: the run answered ${runSum}, expected ${expectedRunSum(run)}`);
  const checkSum = await ask<number>(node, driver, { type: 'check' });
  check(checkSum === expectedCheckSum(run), `${run.name}: the processes reported ${checkSum}, expected ${expectedCheckSum(run)}`);
  await ask<number>(node, driver, { type: 'teardown' });
  await waitForProcesses(node, baseline, run.name);
  const after = troubles(await node.status());
  check(after === clean, `${run.name}: the node went from ${clean} to ${after}`);
  return { seconds, bytesPerProcess, gcExposed };
}

/** In the child: every case of `cases` on a fresh node each, warm-up first; one JSON line a run. */
async function childMain(json: string): Promise<void> {
  const { system, cases } = JSON.parse(json) as { system: HordeSystem; cases: SavinaCase[] };
  const placement = PLACEMENTS[system];
  if (placement === undefined) throw new Error(`savina horde child: unknown system ${String(system)}`);
  for (const c of cases) {
    if (!SAVINA_CASE_NAMES.includes(c.name)) throw new Error(`savina horde child: unknown case ${String(c.name)}`);
    const started = performance.now();
    const node = await startNode({
      behaviours: [BEHAVIOURS],
      preload: [TSX_PRELOAD],
      ...(placement.executors === undefined ? {} : { executors: placement.executors }),
    });
    const nodeReady = performance.now() - started;
    const shards = placement.shards(node.executorCount);
    process.stderr.write(
      `[savina] ${system} ${c.name}: node with ${node.executorCount} executor(s) ready in ${nodeReady.toFixed(0)} ms; processes on ${shards} shard(s)\n`,
    );
    try {
      const runs = [warmupRun(c), ...Array.from({ length: c.rounds }, () => measuredRun(c))];
      for (const [index, run] of runs.entries()) {
        const result = await runOnce(node, run, shards);
        const outcome: Outcome = { case: c.name, index, count: countOf(run), executors: node.executorCount, shards, ...result };
        process.stdout.write(`${JSON.stringify(outcome)}\n`);
      }
    } finally {
      await node.stop();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// In the parent: one child a system.

const THIS_FILE = fileURLToPath(import.meta.url);

/** The default executor count of a node here (what startNode picks without `executors`). */
function defaultExecutors(): number {
  return Math.max(1, availableParallelism() - 1);
}

async function runSystem(system: HordeSystem, cases: readonly SavinaCase[], report: Report): Promise<void> {
  const byName = new Map<string, SavinaCase>(cases.map((c) => [c.name, c]));
  const outcomes = new Map<string, Outcome[]>();
  const problems: string[] = [];
  const args = [...CHILD_NODE_FLAGS, '--import', import.meta.resolve('tsx'), THIS_FILE, CHILD_FLAG, JSON.stringify({ system, cases })];
  const child = spawnProcess(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL' });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const fail = (problem: string): void => {
    problems.push(problem);
    child.kill('SIGKILL');
  };
  const take = (outcome: Outcome): void => {
    const c = byName.get(outcome.case);
    if (c === undefined) return fail(`savina ${system}: a result for a case not asked for: ${JSON.stringify(outcome)}`);
    const runs = outcomes.get(c.name) ?? [];
    const warmup = outcome.index === 0;
    const want = warmup ? countOf(warmupRun(c)) : c.count;
    if (outcome.index !== runs.length || outcome.count !== want) {
      return fail(`savina ${system}: ${c.name} run ${outcome.index} counted ${outcome.count}, the case table says ${want}`);
    }
    runs.push(outcome);
    outcomes.set(c.name, runs);
    const unit = c.name === 'spawn' ? 'processes' : 'messages';
    const extra = outcome.bytesPerProcess === undefined ? '' : ` bytes_per_process=${outcome.bytesPerProcess.toFixed(1)}`;
    const gcNote = c.name === 'spawn' && !outcome.gcExposed ? ' (gc not exposed: heap measured without a full collection)' : '';
    note(`${system} ${c.name} ${warmup ? '(warm-up)' : `round ${outcome.index}/${c.rounds}`} ${unit}=${outcome.count} seconds=${outcome.seconds.toFixed(6)}${extra}${gcNote}`);
    if (runs.length < c.rounds + 1) return;
    const measured = runs.slice(1);
    const rate = Math.round(median(measured.map((o) => o.count / o.seconds)));
    if (c.name === 'spawn') {
      report({ case: c.name, system, metric: 'spawns_per_s', value: rate });
      report({ case: c.name, system, metric: 'bytes_per_process', value: Math.round(median(measured.map((o) => o.bytesPerProcess ?? Number.NaN)) * 10) / 10 });
    } else {
      report({ case: c.name, system, metric: 'msgs_per_s', value: rate });
    }
  };
  const stdout = (async () => {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        fail(`savina ${system}: the child printed ${line}`);
        continue;
      }
      if (!isOutcome(parsed)) fail(`savina ${system}: the child printed ${line}`);
      else if (problems.length === 0) take(parsed);
    }
  })();
  const stderr = (async () => {
    for await (const line of createInterface({ input: child.stderr, crlfDelay: Infinity })) process.stderr.write(`${line}\n`);
  })();
  const [{ code, signal }] = await Promise.all([exited, stdout, stderr]);
  if (code !== 0 && problems.length === 0) {
    problems.push(`savina ${system}: the child ${signal === 'SIGKILL' ? `was killed (time limit ${CHILD_TIMEOUT_MS / 1e3} s, or memory)` : `exited with ${code ?? signal}`}`);
  }
  for (const c of cases) {
    if ((outcomes.get(c.name)?.length ?? 0) !== c.rounds + 1 && problems.length === 0) problems.push(`savina ${system}: no result for ${c.name}`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

/** Runs horde's side of `cases` (all by default) for each of `systems`, one child process each. */
export async function runHorde(report: Report, cases: readonly SavinaCase[] = SAVINA_CASES, systems: readonly HordeSystem[] = HORDE_SYSTEMS): Promise<void> {
  if (cases.length === 0) return;
  const executors = defaultExecutors();
  if (executors === 1 && systems.includes('horde')) {
    note('horde: the default executor count here is 1, so horde runs horde-1shard\'s configuration again (the two differ by run-to-run noise only); horde-2shard spreads over two');
  }
  for (const system of systems) {
    const started = performance.now();
    await runSystem(system, cases, report);
    note(`${system}: done in ${((performance.now() - started) / 1e3).toFixed(1)} s`);
  }
}

const invokedAs = process.argv[1];
if (invokedAs !== undefined && process.argv[2] === CHILD_FLAG && pathToFileURL(resolvePath(invokedAs)).href === import.meta.url) {
  childMain(process.argv[3] ?? '').then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${errorOf(error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
