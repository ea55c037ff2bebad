/**
 * System `nact` of the `savina` suite: the cases of savina-cases.ts on nact (npm `nact`, 7.x),
 * through its normal API: start, spawn / spawnStateless, dispatch, query, stop. One actor system
 * per run (the warm-up, then each measured round; the median round is reported), all in this
 * thread.
 *
 * How nact runs: every message an actor takes is one setImmediate turn plus one awaited promise,
 * and a fresh context object per message, so nact's figures are bounded by the event loop rather
 * than by anything a case does. Actor state is a number where the case allows (immutable, the
 * way nact's documentation writes actors) and otherwise one object per actor that its handler
 * updates and returns. Every actor gets an explicit name: nact's anonymous names are 32-bit
 * random numbers, and among live siblings two collide after 40,000 to 110,000 spawns ("child actor
 * of name ... already exists"), well short of fjcreate's and spawn's counts.
 *
 * Handlers never throw: nact's default supervision would print the error on stdout and stop the
 * actor, and spawnStateless resumes silently. A failed check instead rejects the run, as does a
 * run that has not finished after CASE_TIMEOUT_MS.
 *
 * Each case runs in its own child process (`node --expose-gc --import tsx` this file with
 * CHILD_FLAG and the case as JSON), which prints one JSON line a run; the parent checks the counts,
 * writes the notes and reports the median round. A fresh heap per case keeps one case's garbage
 * and V8's pretenuring decisions out of the next, and lets spawn measure the heap after a full
 * collection.
 */

import { spawn as spawnProcess } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dispatch, query, spawn, spawnStateless, start, stop, type ActorContext, type ActorSystemRef, type Ref } from 'nact';
import {
  SAVINA_CASES,
  SAVINA_CASE_NAMES,
  bigNeighbour,
  bigSeed,
  complement,
  countOf,
  measuredRun,
  warmupRun,
  xorshift32,
  type SavinaCase,
  type SavinaParams,
  type SavinaRun,
} from './savina-cases.js';
import type { Report } from './support/report.js';
import { median } from './support/stats.js';

const CASE_TIMEOUT_MS = 120_000;
const QUERY_TIMEOUT_MS = 60_000;

/**
 * Most idle actors the spawn case creates on nact. The table's 1,000,000 fit: about 4-5 s and
 * 1.3 GB of heap on the 2-core machine (the child gets an 8 GB heap limit). A larger table figure
 * would be cut to this, with a note on stderr.
 */
const NACT_SPAWN_MAX = 1_000_000;
/** Node flags of the child process that runs one case. */
const CHILD_NODE_FLAGS = ['--expose-gc', '--max-old-space-size=8192'];
const CHILD_FLAG = '--savina-nact-child';
/** One case in its child: the slowest (fjcreate, big) take about 10 s. */
const CHILD_TIMEOUT_MS = 180_000;
/** Idle actors the spawn case checks by query after measuring (evenly spread, first and last included). */
const SPAWN_SAMPLES = 100;

function note(text: string): void {
  process.stderr.write(`[savina] nact ${text}\n`);
}

function errorOf(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`savina nact: check failed: ${what}`);
}

type Ctx<M> = ActorContext<M, ActorSystemRef>;

/**
 * One run of a case: its actor system, and the promise that settles when the run is over (done)
 * or has failed (a failed check inside a handler, or the time limit).
 */
class Run<T> {
  readonly system: ActorSystemRef = start();
  readonly finished: Promise<T>;
  private settle!: { resolve: (value: T) => void; reject: (error: Error) => void };
  private settled = false;

  constructor(readonly label: string) {
    this.finished = new Promise<T>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  done(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.resolve(value);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.settle.reject(errorOf(error));
  }

  /** A stateful actor whose handler failures fail the run. */
  actor<S, M>(name: string, initialState: S, handle: (state: S, msg: M, ctx: Ctx<M>) => S): Ref<M> {
    const guarded = (state: S, msg: M, ctx: Ctx<M>): S => {
      try {
        return handle(state, msg, ctx);
      } catch (error) {
        this.fail(error);
        return state;
      }
    };
    return spawn(this.system, guarded, name, {
      initialState,
      onCrash: (_msg, error, ctx) => {
        this.fail(error);
        return ctx.stop;
      },
    });
  }

  /** A stateless actor whose handler failures fail the run. */
  statelessActor<M>(name: string, handle: (msg: M, ctx: Ctx<M>) => void): Ref<M> {
    const guarded = (msg: M, ctx: Ctx<M>): void => {
      try {
        handle(msg, ctx);
      } catch (error) {
        this.fail(error);
      }
    };
    return spawnStateless(this.system, guarded, name);
  }

  /** Waits for the run to finish, at most CASE_TIMEOUT_MS. */
  async wait(): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`savina nact: ${this.label} did not finish in ${CASE_TIMEOUT_MS / 1e3} s`)), CASE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.finished, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    stop(this.system);
  }
}

/** Runs `body` in a fresh actor system; returns what it returns (the measured seconds). */
async function inSystem<T>(label: string, body: (run: Run<T>) => Promise<number>): Promise<number> {
  const run = new Run<T>(label);
  // A failure before anyone waits must not surface as an unhandled rejection.
  run.finished.catch(() => undefined);
  try {
    return await body(run);
  } finally {
    run.close();
  }
}

function seconds(since: number): number {
  return (performance.now() - since) / 1e3;
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`savina nact: no item ${index}`);
  return item;
}

// ---------------------------------------------------------------------------------------------
// pingpong: 2n messages.

type PingMsg = { type: 'start' } | { type: 'pong' };
type PongMsg = { type: 'ping'; from: Ref<PingMsg> } | { type: 'served'; replyTo: Ref<number> };
const PING_START: PingMsg = { type: 'start' };
const PONG: PingMsg = { type: 'pong' };

function pingpong({ n }: SavinaParams['pingpong']): Promise<number> {
  return inSystem<void>('pingpong', async (run) => {
    const pong = run.actor<number, PongMsg>('pong', 0, (served, msg) => {
      if (msg.type === 'served') {
        dispatch(msg.replyTo, served);
        return served;
      }
      dispatch(msg.from, PONG);
      return served + 1;
    });
    // State: round trips still to start.
    const ping = run.actor<number, PingMsg>('ping', n, (left, msg, ctx) => {
      if (msg.type === 'pong' && left === 0) {
        run.done();
        return left;
      }
      dispatch(pong, { type: 'ping', from: ctx.self });
      return left - 1;
    });
    const t0 = performance.now();
    dispatch(ping, PING_START);
    await run.wait();
    const elapsed = seconds(t0);
    const served = await query(pong, (replyTo: Ref<number>): PongMsg => ({ type: 'served', replyTo }), QUERY_TIMEOUT_MS);
    check(served === n, `pingpong: pong served ${served} pings, expected ${n}`);
    return elapsed;
  });
}

// ---------------------------------------------------------------------------------------------
// counting: n + 2 messages.

type CounterMsg = { type: 'inc' } | { type: 'get'; replyTo: Ref<number> };
const INC: CounterMsg = { type: 'inc' };

function counting({ n }: SavinaParams['counting']): Promise<number> {
  return inSystem<number>('counting', async (run) => {
    const counter = run.actor<number, CounterMsg>('counter', 0, (count, msg) => {
      if (msg.type === 'inc') return count + 1;
      dispatch(msg.replyTo, count);
      return count;
    });
    const producer = spawnStateless(
      run.system,
      async (_msg: 'start') => {
        try {
          for (let i = 0; i < n; i++) dispatch(counter, INC);
          run.done(await query(counter, (replyTo: Ref<number>): CounterMsg => ({ type: 'get', replyTo }), QUERY_TIMEOUT_MS));
        } catch (error) {
          run.fail(error);
        }
      },
      'producer',
    );
    const t0 = performance.now();
    dispatch(producer, 'start');
    const total = await run.wait();
    const elapsed = seconds(t0);
    check(total === n, `counting: counter total ${total}, expected ${n}`);
    return elapsed;
  });
}

// ---------------------------------------------------------------------------------------------
// threadring: n messages (every token send).

type RingMsg = { type: 'link'; next: Ref<RingMsg>; replyTo: Ref<boolean> } | { type: 'token'; k: number };

function threadring({ processes, n }: SavinaParams['threadring']): Promise<number> {
  return inSystem<void>('threadring', async (run) => {
    const nodes: Ref<RingMsg>[] = [];
    for (let i = 0; i < processes; i++) {
      nodes.push(
        run.actor<Ref<RingMsg> | undefined, RingMsg>(`node-${i}`, undefined, (next, msg) => {
          if (msg.type === 'link') {
            dispatch(msg.replyTo, true);
            return msg.next;
          }
          if (msg.k === 1) run.done();
          else if (next === undefined) throw new Error('threadring: token reached an unlinked node');
          else dispatch(next, { type: 'token', k: msg.k - 1 });
          return next;
        }),
      );
    }
    await Promise.all(
      nodes.map((node, i) =>
        query(node, (replyTo: Ref<boolean>): RingMsg => ({ type: 'link', next: at(nodes, (i + 1) % processes), replyTo }), QUERY_TIMEOUT_MS),
      ),
    );
    const t0 = performance.now();
    dispatch(at(nodes, 0), { type: 'token', k: n });
    await run.wait();
    return seconds(t0);
  });
}

// ---------------------------------------------------------------------------------------------
// fjthrput: processes * m messages.

const FJ_MSG = { type: 'msg' } as const;

function fjthrput({ processes, m }: SavinaParams['fjthrput']): Promise<number> {
  return inSystem<void>('fjthrput', async (run) => {
    let pending = processes;
    const workers: Ref<typeof FJ_MSG>[] = [];
    for (let i = 0; i < processes; i++) {
      // State: messages still to receive.
      workers.push(
        run.actor<number, typeof FJ_MSG>(`worker-${i}`, m, (left) => {
          if (left <= 0) throw new Error('fjthrput: a worker received more than m messages');
          if (left === 1 && --pending === 0) run.done();
          return left - 1;
        }),
      );
    }
    const t0 = performance.now();
    for (let k = 0; k < m; k++) {
      for (const worker of workers) dispatch(worker, FJ_MSG);
    }
    await run.wait();
    return seconds(t0);
  });
}

// ---------------------------------------------------------------------------------------------
// fjcreate: n messages (one to each new actor).

const RAN = { type: 'ran' } as const;
type FjcChildMsg = { type: 'go'; collector: Ref<typeof RAN> };

function fjcreate({ n }: SavinaParams['fjcreate']): Promise<number> {
  return inSystem<void>('fjcreate', async (run) => {
    // State: answers still to come.
    const collector = run.actor<number, typeof RAN>('collector', n, (left) => {
      if (left <= 0) throw new Error('fjcreate: more answers than actors');
      if (left === 1) run.done();
      return left - 1;
    });
    const child = (msg: FjcChildMsg, ctx: Ctx<FjcChildMsg>): void => {
      dispatch(msg.collector, RAN);
      stop(ctx.self);
    };
    const go: FjcChildMsg = { type: 'go', collector };
    const t0 = performance.now();
    for (let i = 0; i < n; i++) dispatch(run.statelessActor(`child-${i}`, child), go);
    await run.wait();
    return seconds(t0);
  });
}

// ---------------------------------------------------------------------------------------------
// big: 2 * workers * n messages.

type BigMsg =
  | { type: 'neighbours'; workers: readonly Ref<BigMsg>[]; replyTo: Ref<boolean> }
  | { type: 'start' }
  | { type: 'ping'; from: Ref<BigMsg> }
  | { type: 'pong' }
  | { type: 'served'; replyTo: Ref<number> };
const BIG_START: BigMsg = { type: 'start' };
const BIG_PONG: BigMsg = { type: 'pong' };

interface BigWorker {
  /** 1 to workers, as in savina.erl. */
  readonly id: number;
  workers: readonly Ref<BigMsg>[];
  /** Pongs still to wait for. */
  left: number;
  /** xorshift32 state. */
  rng: number;
  /** Pings answered. */
  served: number;
}

function big({ workers: count, n }: SavinaParams['big']): Promise<number> {
  check(count >= 2, 'big needs at least two workers');
  return inSystem<void>('big', async (run) => {
    const sink = run.actor<number, 'done'>('sink', count, (left) => {
      if (left === 1) run.done();
      return left - 1;
    });
    const sendPing = (worker: BigWorker, self: Ref<BigMsg>): void => {
      worker.rng = xorshift32(worker.rng);
      dispatch(at(worker.workers, bigNeighbour(worker.rng, worker.id, count) - 1), { type: 'ping', from: self });
    };
    const workers: Ref<BigMsg>[] = [];
    for (let id = 1; id <= count; id++) {
      const initial: BigWorker = { id, workers: [], left: n, rng: bigSeed(id), served: 0 };
      workers.push(
        run.actor<BigWorker, BigMsg>(`worker-${id}`, initial, (worker, msg, ctx) => {
          switch (msg.type) {
            case 'ping':
              dispatch(msg.from, BIG_PONG);
              worker.served++;
              break;
            case 'pong':
              worker.left--;
              if (worker.left === 0) dispatch(sink, 'done');
              else sendPing(worker, ctx.self);
              break;
            case 'start':
              sendPing(worker, ctx.self);
              break;
            case 'neighbours':
              worker.workers = msg.workers;
              dispatch(msg.replyTo, true);
              break;
            case 'served':
              dispatch(msg.replyTo, worker.served);
              break;
          }
          return worker;
        }),
      );
    }
    await Promise.all(workers.map((worker) => query(worker, (replyTo: Ref<boolean>): BigMsg => ({ type: 'neighbours', workers, replyTo }), QUERY_TIMEOUT_MS)));
    const t0 = performance.now();
    for (const worker of workers) dispatch(worker, BIG_START);
    await run.wait();
    const elapsed = seconds(t0);
    const served = await Promise.all(workers.map((worker) => query(worker, (replyTo: Ref<number>): BigMsg => ({ type: 'served', replyTo }), QUERY_TIMEOUT_MS)));
    const total = served.reduce((sum, x) => sum + x, 0);
    check(total === count * n, `big: ${total} pings answered, expected ${count * n}`);
    return elapsed;
  });
}

// ---------------------------------------------------------------------------------------------
// chameneos: 4n + 2 * chameneos messages.

type ChameneoMsg = { type: 'start' } | { type: 'meet'; other: Ref<ChameneoMsg>; colour: number } | { type: 'change'; colour: number } | { type: 'exit' };
type MallMsg = { type: 'request'; from: Ref<ChameneoMsg>; colour: number };
const CHAMENEO_START: ChameneoMsg = { type: 'start' };
const CHAMENEO_EXIT: ChameneoMsg = { type: 'exit' };

interface Mall {
  waiting: { from: Ref<ChameneoMsg>; colour: number } | undefined;
  /** Meetings still to arrange. */
  left: number;
  /** Chameneos not yet sent exit. */
  active: number;
}

interface Chameneo {
  colour: number;
  meetings: number;
}

function chameneos({ chameneos: count, n }: SavinaParams['chameneos']): Promise<number> {
  check(count >= 2, 'chameneos needs at least two chameneos');
  return inSystem<number>('chameneos', async (run) => {
    let faded = 0;
    let meetings = 0;
    const t0 = performance.now();
    const mall = run.actor<Mall, MallMsg>('mall', { waiting: undefined, left: n, active: count }, (state, msg) => {
      if (state.left === 0) {
        dispatch(msg.from, CHAMENEO_EXIT);
        state.active--;
      } else if (state.waiting === undefined) {
        state.waiting = { from: msg.from, colour: msg.colour };
      } else {
        dispatch(state.waiting.from, { type: 'meet', other: msg.from, colour: msg.colour });
        state.waiting = undefined;
        state.left--;
      }
      return state;
    });
    for (let i = 0; i < count; i++) {
      const ref = run.actor<Chameneo, ChameneoMsg>(`chameneo-${i}`, { colour: i % 3, meetings: 0 }, (state, msg, ctx) => {
        switch (msg.type) {
          case 'start':
            break;
          case 'meet':
            state.colour = complement(state.colour, msg.colour);
            state.meetings++;
            dispatch(msg.other, { type: 'change', colour: state.colour });
            break;
          case 'change':
            state.colour = msg.colour;
            state.meetings++;
            break;
          case 'exit':
            meetings += state.meetings;
            if (++faded === count) run.done(meetings);
            return state;
        }
        dispatch(mall, { type: 'request', from: ctx.self, colour: state.colour });
        return state;
      });
      dispatch(ref, CHAMENEO_START);
    }
    const total = await run.wait();
    const elapsed = seconds(t0);
    check(total === 2 * n, `chameneos: ${total} meetings counted by the chameneos, expected ${2 * n}`);
    return elapsed;
  });
}

// ---------------------------------------------------------------------------------------------
// spawn: n idle actors; spawns_per_s and bytes_per_process.

type IdleMsg = { replyTo: Ref<string> };

/** Spawns `n` idle stateless actors in a fresh system; returns the seconds and heap bytes per actor. */
async function spawnIdle(n: number): Promise<{ seconds: number; bytesPerProcess: number }> {
  const collect = globalThis.gc;
  const system = start();
  const idle = (msg: IdleMsg): void => dispatch(msg.replyTo, 'idle');
  const stride = Math.max(1, Math.floor(n / SPAWN_SAMPLES));
  const samples: Ref<IdleMsg>[] = [];
  try {
    collect?.();
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const ref = spawnStateless(system, idle, `idle-${i}`);
      if (i % stride === 0 || i === n - 1) samples.push(ref);
    }
    const elapsed = seconds(t0);
    collect?.();
    const heap1 = process.memoryUsage().heapUsed;
    const answers = await Promise.all(samples.map((ref) => query(ref, (replyTo: Ref<string>): IdleMsg => ({ replyTo }), QUERY_TIMEOUT_MS)));
    check(
      answers.every((answer) => answer === 'idle'),
      'spawn: a sampled actor did not answer',
    );
    return { seconds: elapsed, bytesPerProcess: (heap1 - heap0) / n };
  } finally {
    stop(system);
  }
}

// ---------------------------------------------------------------------------------------------
// One child process a case.

/** What the child prints for each run of its case, one JSON line each. */
interface Outcome {
  warmup: boolean;
  /** countOf the run: messages, or processes spawned. */
  count: number;
  seconds: number;
  /** spawn only. */
  bytesPerProcess?: number;
  /** Whether the child could run a full collection (before each run, and around spawn's heap measurement). */
  gcExposed: boolean;
}

function isOutcome(value: unknown): value is Outcome {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.warmup === 'boolean' &&
    typeof v.count === 'number' &&
    typeof v.seconds === 'number' &&
    v.seconds > 0 &&
    (v.bytesPerProcess === undefined || typeof v.bytesPerProcess === 'number') &&
    typeof v.gcExposed === 'boolean'
  );
}

/** Runs one message case once in this process; returns the seconds it took. */
function runMessageCase(run: SavinaRun): Promise<number> {
  switch (run.name) {
    case 'pingpong':
      return pingpong(run.params);
    case 'counting':
      return counting(run.params);
    case 'threadring':
      return threadring(run.params);
    case 'fjthrput':
      return fjthrput(run.params);
    case 'fjcreate':
      return fjcreate(run.params);
    case 'big':
      return big(run.params);
    case 'chameneos':
      return chameneos(run.params);
    case 'spawn':
      throw new Error('savina nact: spawn is not a message case');
  }
}

/** In the child: the warm-up run of the case, then its rounds, each after a full collection. */
async function childMain(caseJson: string): Promise<void> {
  const parsed = JSON.parse(caseJson) as SavinaCase;
  if (!SAVINA_CASE_NAMES.includes(parsed.name) || !Number.isSafeInteger(parsed.rounds) || parsed.rounds < 1) {
    throw new Error(`savina nact child: bad case ${caseJson}`);
  }
  const runs = [warmupRun(parsed), ...Array.from({ length: parsed.rounds }, () => measuredRun(parsed))];
  for (const [index, run] of runs.entries()) {
    globalThis.gc?.();
    const outcome: Outcome =
      run.name === 'spawn'
        ? { warmup: index === 0, count: run.params.n, ...(await spawnIdle(run.params.n)), gcExposed: globalThis.gc !== undefined }
        : { warmup: index === 0, count: countOf(run), seconds: await runMessageCase(run), gcExposed: globalThis.gc !== undefined };
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
  }
}

const THIS_FILE = fileURLToPath(import.meta.url);

/** Runs `c` in a child process; returns the outcome of each run, warm-up first, checked against the table. */
async function runChild(c: SavinaCase): Promise<Outcome[]> {
  const args = [...CHILD_NODE_FLAGS, '--import', import.meta.resolve('tsx'), THIS_FILE, CHILD_FLAG, JSON.stringify(c)];
  const { code, signal, stdout, stderr } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      const child = spawnProcess(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL' });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      child.on('error', reject);
      child.on('close', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal, stdout: out, stderr: err }));
    },
  );
  if (code !== 0) {
    const why = signal === 'SIGKILL' ? `killed (time limit ${CHILD_TIMEOUT_MS / 1e3} s, or memory)` : `exit ${code ?? signal}`;
    throw new Error(`savina nact: ${c.name} failed (${why}):\n${stderr}`);
  }
  if (stderr.trim() !== '') process.stderr.write(stderr.endsWith('\n') ? stderr : `${stderr}\n`);
  const outcomes = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line): unknown => JSON.parse(line));
  check(outcomes.length === c.rounds + 1, `${c.name}: the child printed ${outcomes.length} results, expected ${c.rounds + 1}`);
  return outcomes.map((outcome, index) => {
    if (!isOutcome(outcome)) throw new Error(`savina nact: ${c.name}: the child printed ${JSON.stringify(outcome)}`);
    const want = index === 0 ? countOf(warmupRun(c)) : c.count;
    check(outcome.warmup === (index === 0) && outcome.count === want, `${c.name}: run ${index} counted ${outcome.count}, the case table says ${want}`);
    return outcome;
  });
}

/**
 * Runs the nact side of `cases` (all by default) and reports the median round of each. Each case
 * runs in its own child process: nact's allocation sites that V8 learns to pretenure while one case
 * keeps hundreds of thousands of actors alive (fjcreate) make the next case's first rounds 2x
 * slower when they share a heap.
 */
export async function runNact(report: Report, cases: readonly SavinaCase[] = SAVINA_CASES): Promise<void> {
  for (const original of cases) {
    let c = original;
    if (c.name === 'spawn' && c.params.n > NACT_SPAWN_MAX) {
      note(`spawn: ${NACT_SPAWN_MAX} actors instead of the table's ${c.params.n} (NACT_SPAWN_MAX)`);
      const params = { n: NACT_SPAWN_MAX };
      c = { ...c, params, warmup: { n: Math.min(c.warmup.n, NACT_SPAWN_MAX) }, count: countOf({ name: 'spawn', params }) };
    }
    const outcomes = await runChild(c);
    for (const [index, outcome] of outcomes.entries()) {
      const extra = outcome.bytesPerProcess === undefined ? '' : ` bytes_per_process=${outcome.bytesPerProcess.toFixed(1)}`;
      const unit = c.name === 'spawn' ? 'processes' : 'messages';
      const gcNote = outcome.gcExposed ? '' : ' (gc not exposed: no full collection before the run or around the heap measurement)';
      note(`${c.name} ${index === 0 ? '(warm-up)' : `round ${index}/${c.rounds}`} ${unit}=${outcome.count} seconds=${outcome.seconds.toFixed(6)}${extra}${gcNote}`);
    }
    const measured = outcomes.slice(1);
    if (c.name === 'spawn') {
      const bytes = measured.map((outcome) => outcome.bytesPerProcess ?? Number.NaN);
      check(
        bytes.every((b) => Number.isFinite(b) && b > 0),
        'spawn: no heap measurement',
      );
      report({ case: 'spawn', system: 'nact', metric: 'spawns_per_s', value: Math.round(median(measured.map((o) => o.count / o.seconds))) });
      report({ case: 'spawn', system: 'nact', metric: 'bytes_per_process', value: Math.round(median(bytes) * 10) / 10 });
    } else {
      report({ case: c.name, system: 'nact', metric: 'msgs_per_s', value: Math.round(median(measured.map((o) => o.count / o.seconds))) });
    }
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
