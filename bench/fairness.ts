/**
 * Suite `fairness`: does an expensive neighbour delay a cheap process on the same scheduler?
 *
 * One shard (one scheduler on the BEAM): a neighbour keeps BACKLOG (200) messages in its own
 * mailbox, each spending the case's cost of CPU (a busy loop) and sending itself the next; beside
 * it an echo. The driver (horde: the node's main thread with `node.ask`; BEAM: the process that
 * runs the program) asks the echo once at a time, WARMUP times, then SAMPLES times, each round trip
 * timed; metrics `rtt_p50_us` and `rtt_p99_us` (nearest rank).
 *
 * | case         | neighbour's message costs | warm-up | samples |
 * | ------------ | ------------------------- | ------- | ------- |
 * | `flood-50us` | 50 us                     | 100     | 1,000   |
 * | `flood-2ms`  | 2 ms                      | 20      | 500     |
 *
 * | system               | what |
 * | -------------------- | ---- |
 * | `horde-1shard`       | a node with the default executors, neighbour and echo on shard 0 |
 * | `horde-1shard-every` | the same with HORDE_CLOCK_CHECKS=every: the shard reads the clock after every message instead of adaptively (the same fairness; it shows what the adaptive scheme saves elsewhere) |
 * | `beam`               | bench/erlang/fairness.erl in `erl -noshell +S 1` (skipped with a note when erl or erlc is missing) |
 *
 * Every run checks that the neighbour really flooded: the messages it handled during the measured
 * window (it answers a count behind its backlog at the window's start and end) times their cost
 * must fill at least a tenth of the window. The note on stderr gives them, and how many ran per
 * ask.
 *
 * Arguments (`npm run bench -- fairness:ARG,...`): case and system names, in any order.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNode } from '../src/index.js';
import { CLOCK_CHECKS_ENV } from '../src/executor/executor.js';
import type { NeighbourMsg } from './fairness-behaviours.js';
import { findOnPath } from './savina-beam.js';
import { BoundedChild, describeExit } from './support/child.js';
import type { Report } from './support/report.js';
import { percentileOfSorted } from './support/stats.js';
import { TSX_PRELOAD } from './support/tsx-preload.js';

const BACKLOG = 200;

export const FAIRNESS_CASES = [
  { name: 'flood-50us', costUs: 50, warmup: 100, samples: 1_000 },
  { name: 'flood-2ms', costUs: 2_000, warmup: 20, samples: 500 },
] as const;
type FairnessCase = (typeof FAIRNESS_CASES)[number];

export const FAIRNESS_SYSTEMS = ['horde-1shard', 'horde-1shard-every', 'beam'] as const;
type FairnessSystem = (typeof FAIRNESS_SYSTEMS)[number];

const BEHAVIOURS = new URL('./fairness-behaviours.ts', import.meta.url);
const FAIRNESS_ERL = fileURLToPath(new URL('./erlang/fairness.erl', import.meta.url));
/** One ask: with the scheduler before issue 11 a round trip under the 2 ms flood took 255 ms. */
const ASK_TIMEOUT_MS = 30_000;
/** The BEAM's whole run; each case takes a few seconds. */
const BEAM_TIMEOUT_MS = 300_000;
/**
 * The neighbour must have been busy for at least this share of the measured window (a neighbour
 * that did not flood would be near 0). Its busy loop runs by the wall clock, so time the OS gives
 * other programs is lost to it: 23-80% on the 2-core VM with a load average of 4-9.
 */
const MIN_BUSY_SHARE = 0.1;

function note(text: string): void {
  process.stderr.write(`[fairness] ${text}\n`);
}

function isCase(arg: string): boolean {
  return FAIRNESS_CASES.some((c) => c.name === arg);
}

function isSystem(arg: string): arg is FairnessSystem {
  return (FAIRNESS_SYSTEMS as readonly string[]).includes(arg);
}

/** Problems with the suite's arguments (bench/run.ts prints them with the usage and exits 2). */
export function checkArgs(args: readonly string[]): string[] {
  return args
    .filter((arg) => !isCase(arg) && !isSystem(arg))
    .map((arg) => `fairness: "${arg}" is neither a case (${FAIRNESS_CASES.map((c) => c.name).join(', ')}) nor a system (${FAIRNESS_SYSTEMS.join(', ')})`);
}

interface Measured {
  /** Round trips in microseconds, sorted. */
  rtts: Float64Array;
  windowUs: number;
  neighbourMessages: number;
}

function reportCase(report: Report, c: FairnessCase, system: string, measured: Measured): void {
  const { rtts, windowUs, neighbourMessages } = measured;
  if (rtts.length !== c.samples) throw new Error(`fairness ${system} ${c.name}: ${rtts.length} samples, expected ${c.samples}`);
  const busy = (neighbourMessages * c.costUs) / windowUs;
  note(
    `${system} ${c.name} samples=${rtts.length} window_ms=${(windowUs / 1e3).toFixed(0)} neighbour_messages=${neighbourMessages} ` +
      `(${(neighbourMessages / rtts.length).toFixed(1)} per ask, neighbour busy ${(busy * 100).toFixed(0)}% of the window)`,
  );
  if (busy < MIN_BUSY_SHARE) throw new Error(`fairness ${system} ${c.name}: the neighbour was busy ${(busy * 100).toFixed(0)}% of the window, not flooding`);
  report({ case: c.name, system, metric: 'rtt_p50_us', value: Math.round(percentileOfSorted(rtts, 0.5) * 10) / 10 });
  report({ case: c.name, system, metric: 'rtt_p99_us', value: Math.round(percentileOfSorted(rtts, 0.99) * 10) / 10 });
}

/** One case on a fresh node, its executors started with HORDE_CLOCK_CHECKS=`clockChecks`. */
async function measureHorde(c: FairnessCase, clockChecks: string): Promise<Measured> {
  // Executor workers take a copy of the environment when they start.
  const previous = process.env[CLOCK_CHECKS_ENV];
  process.env[CLOCK_CHECKS_ENV] = clockChecks;
  const node = await startNode({ behaviours: [BEHAVIOURS], preload: [TSX_PRELOAD] }).finally(() => {
    if (previous === undefined) delete process.env[CLOCK_CHECKS_ENV];
    else process.env[CLOCK_CHECKS_ENV] = previous;
  });
  try {
    const neighbour = await node.spawn<NeighbourMsg>('fairness-neighbour', undefined, { shard: 0 });
    const echo = await node.spawn('fairness-echo', undefined, { shard: 0 });
    node.send(neighbour, { type: 'start', backlog: BACKLOG, costUs: c.costUs });
    for (let i = 0; i < c.warmup; i++) await node.ask(echo, 'ping', { timeoutMs: ASK_TIMEOUT_MS });
    // Each count is answered behind the backlog: the difference is what ran during the window.
    const before = node.ask<number>(neighbour, { type: 'count' }, { timeoutMs: ASK_TIMEOUT_MS });
    const rtts = new Float64Array(c.samples);
    const start = performance.now();
    for (let i = 0; i < c.samples; i++) {
      const t0 = performance.now();
      await node.ask(echo, 'ping', { timeoutMs: ASK_TIMEOUT_MS });
      rtts[i] = (performance.now() - t0) * 1e3;
    }
    const windowUs = (performance.now() - start) * 1e3;
    const after = node.ask<number>(neighbour, { type: 'count' }, { timeoutMs: ASK_TIMEOUT_MS });
    const [n0, n1] = await Promise.all([before, after]);
    return { rtts: rtts.sort(), windowUs, neighbourMessages: n1 - n0 };
  } finally {
    await node.stop();
  }
}

const BEAM_NOTE = /^\[fairness\] beam (\S+) samples=(\d+) window_us=(\d+) neighbour_messages=(\d+)$/;

async function runBeam(report: Report, cases: readonly FairnessCase[]): Promise<void> {
  const erl = findOnPath('erl');
  const erlc = findOnPath('erlc');
  if (erl === undefined || erlc === undefined) {
    note('beam skipped: erl not installed (apt-get install erlang-base)');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'horde-fairness-beam-'));
  try {
    const compile = new BoundedChild(erlc, ['-o', dir, FAIRNESS_ERL], { name: '[fairness] erlc', timeoutMs: 60_000, cwd: dir });
    const compiled = await compile.exited;
    if (compiled.code !== 0) throw new Error(`fairness beam: erlc failed (${describeExit(compiled)})`);
    const specs = cases.map((c) => `${c.name}:${c.costUs}:${BACKLOG}:${c.warmup}:${c.samples}`);
    const args = ['-noshell', '+S', '1:1', '-pa', dir, '-run', 'fairness', 'main', ...specs];
    note(`beam: ${erl} ${args.join(' ')}`);
    // Its stdout has a note and two JSON results a case, checked once the BEAM has exited.
    const lines: string[] = [];
    const notes: string[] = [];
    const beam = new BoundedChild(erl, args, { name: '[fairness] beam', timeoutMs: BEAM_TIMEOUT_MS, cwd: dir, env: { ...process.env, ERL_CRASH_DUMP_SECONDS: '0' } });
    for (let line = await beam.nextLine(); line !== undefined; line = await beam.nextLine()) {
      if (line.startsWith('[fairness]')) notes.push(line);
      else if (line.trim() !== '') lines.push(line);
    }
    const exit = await beam.exited;
    if (exit.code !== 0) throw new Error(`fairness beam: erl ${describeExit(exit)}`);
    for (const c of cases) {
      const match = notes.map((line) => BEAM_NOTE.exec(line)).find((m) => m !== null && m[1] === c.name);
      if (match === undefined || match === null) throw new Error(`fairness beam: no note for ${c.name}`);
      const rtts = new Float64Array(Number(match[2]));
      const windowUs = Number(match[3]);
      const neighbourMessages = Number(match[4]);
      const busy = (neighbourMessages * c.costUs) / windowUs;
      note(
        `beam ${c.name} samples=${rtts.length} window_ms=${(windowUs / 1e3).toFixed(0)} neighbour_messages=${neighbourMessages} ` +
          `(${(neighbourMessages / rtts.length).toFixed(1)} per ask, neighbour busy ${(busy * 100).toFixed(0)}% of the window)`,
      );
      if (rtts.length !== c.samples) throw new Error(`fairness beam ${c.name}: ${rtts.length} samples, expected ${c.samples}`);
      if (busy < MIN_BUSY_SHARE) throw new Error(`fairness beam ${c.name}: the neighbour was busy ${(busy * 100).toFixed(0)}% of the window, not flooding`);
      for (const metric of ['rtt_p50_us', 'rtt_p99_us']) {
        const result = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((r) => r.case === c.name && r.metric === metric);
        if (result === undefined || result.suite !== 'fairness' || result.system !== 'beam' || typeof result.value !== 'number' || !(result.value > 0)) {
          throw new Error(`fairness beam: no ${metric} for ${c.name} in ${JSON.stringify(lines)}`);
        }
        report({ case: c.name, system: 'beam', metric, value: result.value });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(report: Report, args: readonly string[] = []): Promise<void> {
  const problems = checkArgs(args);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const namedCases = args.filter(isCase);
  const cases = FAIRNESS_CASES.filter((c) => namedCases.length === 0 || namedCases.includes(c.name));
  const namedSystems = args.filter(isSystem);
  const systems = FAIRNESS_SYSTEMS.filter((s) => namedSystems.length === 0 || namedSystems.includes(s));
  for (const system of systems) {
    if (system === 'beam') {
      await runBeam(report, cases);
      continue;
    }
    for (const c of cases) reportCase(report, c, system, await measureHorde(c, system === 'horde-1shard-every' ? 'every' : 'adaptive'));
  }
}
