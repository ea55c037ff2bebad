/**
 * The cases of the `savina` suite, one table for every system (horde, beam, nact): each system
 * runs every case with exactly these parameters and counts its messages exactly as `countOf`
 * does, so the figures compare like for like. What each case does and why its parameters are what
 * they are is in the `savina` section of bench/README.md; the BEAM side is bench/erlang/savina.erl.
 *
 * Every system runs a case once at its `warmup` parameters (not reported), then `rounds` times at
 * `params`, each round in fresh processes, and reports the median round (nearest rank, as
 * support/stats.ts `median`). Message cases report `msgs_per_s` = count / seconds of a round;
 * `spawn` reports `spawns_per_s` and `bytes_per_process`. Every run checks its own result (a total, a count, a
 * sum) and fails rather than report a figure for a run that lost or duplicated work.
 */

/** Parameters of each case. Names are those of the BEAM command line (`case:key=value,...`). */
export interface SavinaParams {
  /** Two processes, `n` round trips. */
  pingpong: { n: number };
  /** A producer sends `n` increments to a counter, then asks it for the total. */
  counting: { n: number };
  /** `processes` in a ring pass one token `n` hops. */
  threadring: { processes: number; n: number };
  /** Fork-join throughput: `processes` each receive `m` messages from one sender. */
  fjthrput: { processes: number; m: number };
  /** Fork-join creation: `n` processes are created, each gets one message, answers, terminates. */
  fjcreate: { n: number };
  /** `workers` each ping random other workers `n` times, waiting for each pong. */
  big: { workers: number; n: number };
  /** Chameneos-redux: a mall arranges `n` meetings among `chameneos` creatures. */
  chameneos: { chameneos: number; n: number };
  /** `n` idle processes are spawned. */
  spawn: { n: number };
}

export type SavinaCaseName = keyof SavinaParams;

export type SavinaMetric = 'msgs_per_s' | 'spawns_per_s' | 'bytes_per_process';

/** One case and one parameter set, as a system runs it (the warm-up or the measured run). */
export type SavinaRun = { [K in SavinaCaseName]: { readonly name: K; readonly params: Readonly<SavinaParams[K]> } }[SavinaCaseName];

interface CaseOf<K extends SavinaCaseName> {
  readonly name: K;
  /** The measured run. */
  readonly params: Readonly<SavinaParams[K]>;
  /** The warm-up run before it (same shape, a tenth of the work), not reported. */
  readonly warmup: Readonly<SavinaParams[K]>;
  /** Measured rounds; the median is reported. */
  readonly rounds: number;
  /** countOf(params): messages for `msgs_per_s`, processes spawned for `spawn`. */
  readonly count: number;
  /** What `count` counts. */
  readonly counted: string;
  /** Metrics every system reports for the case, in this order. */
  readonly metrics: readonly SavinaMetric[];
}

export type SavinaCase = { [K in SavinaCaseName]: CaseOf<K> }[SavinaCaseName];

/**
 * Messages a run counts for `msgs_per_s` (for `spawn`: processes spawned). Signals that only
 * tell the harness that work is finished (a worker's "done", a ring's last hop reported to the
 * timer) are not counted; every message of the workload itself is.
 */
export function countOf(run: SavinaRun): number {
  switch (run.name) {
    case 'pingpong':
      return 2 * run.params.n;
    case 'counting':
      return run.params.n + 2;
    case 'threadring':
      return run.params.n;
    case 'fjthrput':
      return run.params.processes * run.params.m;
    case 'fjcreate':
      return run.params.n;
    case 'big':
      return 2 * run.params.workers * run.params.n;
    case 'chameneos':
      return 4 * run.params.n + 2 * run.params.chameneos;
    case 'spawn':
      return run.params.n;
  }
}

const MESSAGE_METRICS: readonly SavinaMetric[] = ['msgs_per_s'];
/** Measured rounds of a message case: on the 2-core VM one round can take 1.5x to 4x another (README: the BEAM's slow mode). */
const MESSAGE_ROUNDS = 3;

function defineCase<K extends SavinaCaseName>(
  name: K,
  params: SavinaParams[K],
  warmup: SavinaParams[K],
  counted: string,
  metrics: readonly SavinaMetric[] = MESSAGE_METRICS,
  rounds = MESSAGE_ROUNDS,
): CaseOf<K> {
  const count = countOf({ name, params } as SavinaRun);
  return { name, params: Object.freeze(params), warmup: Object.freeze(warmup), rounds, count, counted, metrics };
}

/** Every case, in the order the systems run them. */
export const SAVINA_CASES: readonly SavinaCase[] = Object.freeze([
  defineCase('pingpong', { n: 1_000_000 }, { n: 100_000 }, '2n: n pings and n pongs'),
  defineCase('counting', { n: 2_000_000 }, { n: 200_000 }, 'n + 2: n increments, the request for the total, the reply'),
  defineCase('threadring', { processes: 100, n: 1_000_000 }, { processes: 100, n: 100_000 }, 'n: every send of the token, the first one included'),
  defineCase('fjthrput', { processes: 60, m: 20_000 }, { processes: 60, m: 2_000 }, 'processes * m: the messages the workers receive'),
  defineCase('fjcreate', { n: 200_000 }, { n: 20_000 }, 'n: the one message each new process gets (its answer is the completion signal)'),
  // Savina's n is 20,000; 30,000 makes a BEAM round take 1-3 s (1.2-1.5 s when it runs well).
  defineCase('big', { workers: 120, n: 30_000 }, { workers: 120, n: 3_000 }, '2 * workers * n: pings and pongs'),
  defineCase('chameneos', { chameneos: 100, n: 200_000 }, { chameneos: 100, n: 20_000 }, '4n + 2 * chameneos: requests to the mall (chameneos + 2n), meets (n), changes (n), exits (chameneos)'),
  // One round: a million BEAM processes take 2.6 GB and 2-3 s.
  defineCase('spawn', { n: 1_000_000 }, { n: 100_000 }, 'n processes spawned', ['spawns_per_s', 'bytes_per_process'], 1),
]);

export const SAVINA_CASE_NAMES: readonly SavinaCaseName[] = SAVINA_CASES.map((c) => c.name);

/** The cases named (all when `names` is empty), in table order; throws on an unknown name. */
export function selectCases(names: readonly string[] = []): SavinaCase[] {
  const unknown = names.filter((name) => !SAVINA_CASES.some((c) => c.name === name));
  if (unknown.length > 0) throw new Error(`unknown savina case(s): ${unknown.join(', ')} (cases: ${SAVINA_CASE_NAMES.join(', ')})`);
  return SAVINA_CASES.filter((c) => names.length === 0 || names.includes(c.name));
}

/** The measured run and the warm-up run of a case. */
export function measuredRun(c: SavinaCase): SavinaRun {
  return { name: c.name, params: c.params } as SavinaRun;
}

export function warmupRun(c: SavinaCase): SavinaRun {
  return { name: c.name, params: c.warmup } as SavinaRun;
}

// ---------------------------------------------------------------------------------------------
// Pieces of the workload every system must do the same way (savina.erl has the same).

/** big: xorshift32, the generator each worker draws its neighbours with. */
export function xorshift32(x: number): number {
  x = (x ^ (x << 13)) >>> 0;
  x = (x ^ (x >>> 17)) >>> 0;
  return (x ^ (x << 5)) >>> 0;
}

/** big: the generator's seed of worker `id` (workers are numbered 1 to `workers`). */
export function bigSeed(id: number): number {
  return Math.imul(id, 2654435761) >>> 0;
}

/** big: the worker (1 to `workers`, never `id` itself) that worker `id` pings for generator state `rng`. */
export function bigNeighbour(rng: number, id: number, workers: number): number {
  const j = (rng % (workers - 1)) + 1;
  return j >= id ? j + 1 : j;
}

/** chameneos: the colour (0, 1 or 2) a chameneos of colour `a` takes on meeting one of colour `b`; chameneos i starts with colour i % 3. */
export function complement(a: number, b: number): number {
  return a === b ? a : 3 - a - b;
}
