/**
 * horde's process kinds for the `savina` suite (bench/savina-horde.ts starts nodes with this
 * module as their behaviour module; the executors load it through tsx, see support/tsx-preload.ts).
 *
 * The benchmark's main thread only talks to one `savina-driver` process, with `node.ask`, in four
 * phases (each answered once its work is done, through a reply token kept for the deferred reply):
 *
 *   setup     spawn the case's processes (round robin over `shards` shards, from shard 0, where the
 *             driver runs), send each its configuration or a `sync`, and answer once every one of
 *             them has acknowledged: they all exist and are configured.
 *   run       start the workload; answer when it is complete (the measured phase), with the sum of
 *             what the completion messages carried (round trips done, the counter's total, the
 *             chameneos' meetings, ...).
 *   check     ask the case's processes what they counted (pings served, tokens received, ...);
 *             answer with the sum, which the main thread compares with what the case must give.
 *   teardown  stop every process the case still has; answer, then end the driver itself.
 *
 * Every acknowledgement, completion and report sent to the driver is a plain number (the value it
 * carries), so the driver tells them from its own `continue` (a string) and from commands (objects)
 * by type alone, and `waitFor(k)` adds up the next k numbers.
 *
 * The workloads are those of savina-cases.ts and bench/erlang/savina.erl: same parameters, same
 * messages counted (see countOf). The hot-path messages are short strings or numbers ('ping',
 * 'inc', a token k, a colour) and the sender comes from `ctx.from` (as `From` rides along in the
 * BEAM's tuples): between shards they travel as a few bytes of JSON after the envelope header.
 *
 * Chunking and pacing: a process that has millions of messages to send (counting's producer,
 * fjthrput's and fjcreate's driver, spawn's driver, and spawn's teardown) sends a chunk of them per
 * receive, then asks for the next. Everything one receive sends sits in the outbox until the
 * receive returns, so one loop over the whole case would hold every message (or spawn) at once,
 * and to another shard more than the overflow limit (65,536 envelopes) would be refused.
 *
 * The next chunk is asked for from a `savina-pacer` on the sender's shard, which answers 'next'
 * with 'continue', rather than by a message to itself: a message a process sends itself lands in
 * its own mailbox at once and is handled in the same turn (a turn handles up to `budget` = 64
 * messages, whatever they send), so a self-`continue` lets 64 chunks out before any other process
 * on the shard runs. A counter there handles 64 increments a turn, falls behind by 63 chunks a
 * turn, and its mailbox reaches the node's mailboxLimit (1,000,000) within counting's 2,000,000:
 * it is ended with 'mailbox_overflow'. With the pacer the producer's turn ends after one chunk, and
 * chunks of SEND_CHUNK = 64 (one turn of the consumer) keep every mailbox at 64 or less. The
 * pacer's messages are not counted: n / 64 'next' and as many 'continue'.
 *
 * Spawns and stops to another shard need more: they are signals, and a signal does not hold its
 * sender back when the ring to that shard is full (a user message does), so the spawn driver
 * waits for the pacer of every shard between chunks (see Driver.next).
 */

import { defineBehaviours, type Context, type Pid, type Process, type ReplyToken, type SystemMessage } from '../src/index.js';
import { bigNeighbour, bigSeed, complement, xorshift32, type SavinaRun } from './savina-cases.js';

/**
 * Messages a producer sends per chunk (counting's increments; fjthrput's rounds, one message to
 * each worker; fjcreate's new processes): one turn's budget for each consumer (the default budget).
 */
export const SEND_CHUNK = 64;
/**
 * Spawns (and, at teardown, stops) per chunk in the spawn case: spawns wait in the shard's signal
 * queue, drained after the turn, not in a mailbox, so a larger chunk costs only that queue's size.
 */
export const SPAWN_CHUNK = 10_000;

/** Processes of the spawn case that answer the check (evenly spread, the first and last included). */
export const SPAWN_SAMPLES = 100;

/** Which of spawn's `n` idle processes (by spawn order) answer the check. */
export function spawnSampleIndices(n: number): number[] {
  const stride = Math.max(1, Math.floor(n / SPAWN_SAMPLES));
  const indices: number[] = [];
  for (let i = 0; i < n; i += stride) indices.push(i);
  if (n > 0 && indices[indices.length - 1] !== n - 1) indices.push(n - 1);
  return indices;
}

export type DriverCommand =
  | { type: 'setup'; run: SavinaRun; shards: number }
  | { type: 'run' }
  | { type: 'check' }
  | { type: 'teardown' };

/** A number: an acknowledgement, completion or report; 'continue': the driver's next chunk. */
type DriverMsg = DriverCommand | number | 'continue';

/** Every case process answers these two: `sync` with 0 (it exists), `report` with what it counted. */
type Control = 'sync' | 'report';

const CONTINUE = 'continue';

function isSystem(msg: unknown): msg is SystemMessage {
  // Exit and Down are the only class instances a process can get here; nothing links or monitors.
  return typeof msg === 'object' && msg !== null && 'type' in msg && (msg.type === 'EXIT' || msg.type === 'DOWN');
}

function fail(what: string): never {
  throw new Error(`savina horde: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// The driver.

type Phase = 'idle' | 'setup' | 'run' | 'check' | 'teardown';

class Driver implements Process<DriverMsg> {
  private run: SavinaRun | undefined;
  private shards = 1;
  private nextShard = 0;
  /** The spawn options of each shard, made once. */
  private readonly placements: { shard: number }[] = [];
  private phase: Phase = 'idle';
  private token: ReplyToken | undefined;
  /** Numbers still to come in this phase, and the sum of those that came. */
  private waiting = 0;
  private sum = 0;
  /** The case's long-lived processes (stopped at teardown). */
  private members: Pid[] = [];
  /** The case's processes that answer `report` in the check phase. */
  private reporters: Pid[] = [];
  /** The case's processes the run phase starts (with 'start', or threadring's token). */
  private starters: Pid[] = [];
  /** Progress of a chunked loop (messages, spawns or stops done so far). */
  private done = 0;
  /** One pacer on each shard the case uses (see Chunking and pacing above), and the answers due. */
  private pacers: Pid<PacerMsg>[] = [];
  private continues = 0;
  // spawn: the pids of the idle processes, kept as numbers in arrays allocated at setup (before the
  // heap is measured), so keeping them adds nothing per process; the BEAM keeps its list of pids
  // too and subtracts it.
  private idleSerials: Float64Array | undefined;
  private idleShards: Uint16Array | undefined;
  private lastOnShard: Pid[] = [];
  /** fjcreate: the one message every child gets (it names the collector). */
  private go: FjcChildMsg | undefined;

  receive(msg: DriverMsg | SystemMessage, ctx: Context<DriverMsg>): void {
    if (typeof msg === 'number') {
      this.sum += msg;
      if (--this.waiting === 0) this.phaseDone(ctx);
      else if (this.waiting < 0) fail(`driver: an unexpected answer (${msg}) in phase ${this.phase}`);
      return;
    }
    if (msg === CONTINUE) {
      if (--this.continues === 0) this.continueChunk(ctx);
      return;
    }
    if (isSystem(msg)) return;
    if (this.phase !== 'idle') fail(`driver: command ${msg.type} while ${this.phase} is not done`);
    this.token = ctx.replyToken();
    if (this.token === undefined) fail(`driver: command ${msg.type} without a sender`);
    this.sum = 0;
    this.waiting = 0;
    switch (msg.type) {
      case 'setup':
        this.phase = 'setup';
        this.run = msg.run;
        this.shards = msg.shards;
        this.setup(msg.run, ctx);
        break;
      case 'run':
        this.phase = 'run';
        this.start(this.current(), ctx);
        break;
      case 'check':
        this.phase = 'check';
        if (this.current().name === 'spawn') this.checkSamples(ctx);
        else this.ask(this.reporters, 'report', ctx);
        break;
      case 'teardown':
        this.phase = 'teardown';
        this.done = 0;
        this.continueChunk(ctx);
        break;
    }
  }

  private current(): SavinaRun {
    return this.run ?? fail('driver: no setup yet');
  }

  /** Where the next process goes: shard 0 only, or round robin over `shards` from shard 0. */
  private place(): { shard: number } {
    const shard = this.nextShard;
    this.nextShard = (this.nextShard + 1) % this.shards;
    return (this.placements[shard] ??= { shard });
  }

  /** Spawns one of the case's processes, on the next shard (`place`) unless `shard` is given. */
  private spawnMember<T>(ctx: Context<DriverMsg>, kind: string, args?: unknown, shard?: number): Pid<T> {
    const child = ctx.spawn<T>(kind, args, shard === undefined ? this.place() : { shard });
    this.members.push(child);
    return child;
  }

  /**
   * Asks for the next chunk: from the pacer on this shard, or with `everyShard`, from the pacer on
   * every shard, so the next chunk starts once every shard has handled everything sent to it
   * before (a window of one chunk). Spawns and stops need that: they are signals, and a signal to
   * another shard does not hold its sender back when the ring there is full (only user messages
   * do), so without the window they pile up in the overflow, and past its limit they are lost.
   */
  private next(ctx: Context<DriverMsg>, everyShard = false): void {
    const pacers = everyShard ? this.pacers : [this.pacers[ctx.self.shard] ?? fail('driver: no pacer')];
    this.continues = pacers.length;
    for (const pacer of pacers) ctx.send(pacer, 'next');
  }

  /** Sends `msg` to each of `to` and waits for as many numbers. */
  private ask(to: readonly Pid[], msg: Control, ctx: Context<DriverMsg>): void {
    this.waitFor(to.length, ctx);
    for (const pid of to) ctx.send(pid as Pid<Control>, msg);
  }

  private waitFor(count: number, ctx: Context<DriverMsg>): void {
    this.waiting = count;
    if (count === 0) this.phaseDone(ctx);
  }

  private phaseDone(ctx: Context<DriverMsg>): void {
    const token = this.token ?? fail('driver: no one to answer');
    const phase = this.phase;
    this.phase = 'idle';
    this.token = undefined;
    ctx.reply(phase === 'setup' ? this.members.length : this.sum, token);
    if (phase === 'teardown') ctx.exit('normal');
  }

  // ---- setup ---------------------------------------------------------------------------------

  private setup(run: SavinaRun, ctx: Context<DriverMsg>): void {
    const driver = ctx.self;
    if (run.name === 'fjthrput' || run.name === 'fjcreate' || run.name === 'spawn') {
      for (let shard = 0; shard < this.shards; shard++) this.pacers.push(this.spawnMember<PacerMsg>(ctx, 'savina-pacer', undefined, shard));
    }
    switch (run.name) {
      case 'pingpong': {
        const { n } = run.params;
        const pong = this.spawnMember<PongMsg>(ctx, 'pingpong-pong');
        this.starters = [this.spawnMember(ctx, 'pingpong-ping', { driver, pong, n })];
        this.reporters = [pong];
        break;
      }
      case 'counting': {
        const { n } = run.params;
        const producer = this.spawnMember<ProducerMsg>(ctx, 'counting-producer', { driver, n });
        const counter = this.spawnMember<CounterMsg>(ctx, 'counting-counter');
        const pacer = this.spawnMember<PacerMsg>(ctx, 'savina-pacer', undefined, producer.shard);
        ctx.send(producer, { counter, pacer });
        this.starters = [producer];
        this.reporters = [counter];
        break;
      }
      case 'threadring': {
        const { processes } = run.params;
        if (processes < 2) fail('threadring needs at least two processes');
        const nodes: Pid<RingMsg>[] = [];
        for (let i = 0; i < processes; i++) nodes.push(this.spawnMember(ctx, 'threadring-node', { driver }));
        nodes.forEach((node, i) => ctx.send(node, { next: nodes[(i + 1) % processes]! }));
        this.starters = [nodes[0]!];
        this.reporters = nodes;
        break;
      }
      case 'fjthrput': {
        const { processes, m } = run.params;
        for (let i = 0; i < processes; i++) this.reporters.push(this.spawnMember(ctx, 'fjthrput-worker', { driver, m }));
        break;
      }
      case 'fjcreate': {
        const { n } = run.params;
        const collector = this.spawnMember<CollectorMsg>(ctx, 'fjcreate-collector', { driver, n });
        this.go = { collector };
        this.reporters = [collector];
        break;
      }
      case 'big': {
        const { workers, n } = run.params;
        if (workers < 2) fail('big needs at least two workers');
        const pids: Pid<BigMsg>[] = [];
        for (let id = 1; id <= workers; id++) pids.push(this.spawnMember(ctx, 'big-worker', { driver, id, workers, n }));
        for (const pid of pids) ctx.send(pid, { neighbours: pids });
        this.starters = pids;
        this.reporters = pids;
        break;
      }
      case 'chameneos': {
        const { chameneos, n } = run.params;
        if (chameneos < 2) fail('chameneos needs at least two chameneos');
        const mall = this.spawnMember(ctx, 'chameneos-mall', { n, chameneos });
        for (let i = 0; i < chameneos; i++) this.starters.push(this.spawnMember(ctx, 'chameneos-chameneo', { driver, mall, colour: i % 3 }));
        this.reporters = [mall];
        break;
      }
      case 'spawn': {
        const { n } = run.params;
        this.idleSerials = new Float64Array(n);
        this.idleShards = new Uint16Array(n);
        this.lastOnShard = [];
        this.done = 0;
        break;
      }
    }
    // Configuration messages were sent above; `sync` after them answers once each is applied.
    this.ask(this.members, 'sync', ctx);
  }

  // ---- run -----------------------------------------------------------------------------------

  private start(run: SavinaRun, ctx: Context<DriverMsg>): void {
    switch (run.name) {
      case 'pingpong':
      case 'counting':
      case 'big':
      case 'chameneos':
        // Completion: the ping's round trips, the counter's total, each worker's 0, each
        // chameneos' meetings.
        this.waitFor(run.name === 'big' ? run.params.workers : run.name === 'chameneos' ? run.params.chameneos : 1, ctx);
        for (const pid of this.starters) ctx.send(pid as Pid<'start'>, 'start');
        break;
      case 'threadring':
        this.waitFor(1, ctx);
        ctx.send(this.starters[0] as Pid<RingMsg>, run.params.n);
        break;
      case 'fjthrput':
      case 'fjcreate':
        // Completion: each worker's 0; the collector's 0.
        this.waitFor(run.name === 'fjthrput' ? run.params.processes : 1, ctx);
        this.done = 0;
        this.continueChunk(ctx);
        break;
      case 'spawn':
        // Completion: the last chunk waits for the last idle process of each shard.
        this.done = 0;
        this.continueChunk(ctx);
        break;
    }
  }

  /** One chunk of a chunked loop (run or teardown); asks the pacer for the next if more is left. */
  private continueChunk(ctx: Context<DriverMsg>): void {
    const run = this.current();
    if (this.phase === 'teardown') {
      this.teardownChunk(run, ctx);
      return;
    }
    if (this.phase !== 'run') fail(`driver: continue in phase ${this.phase}`);
    switch (run.name) {
      case 'fjthrput': {
        const { m } = run.params;
        const workers = this.reporters as Pid<FjWorkerMsg>[];
        const rounds = SEND_CHUNK;
        const end = Math.min(m, this.done + rounds);
        for (let k = this.done; k < end; k++) {
          for (const worker of workers) ctx.send(worker, 'msg');
        }
        this.done = end;
        if (end < m) this.next(ctx);
        break;
      }
      case 'fjcreate': {
        const { n } = run.params;
        const go = this.go ?? fail('fjcreate: no collector');
        const end = Math.min(n, this.done + SEND_CHUNK);
        for (let i = this.done; i < end; i++) ctx.send(ctx.spawn<FjcChildMsg>('fjcreate-child', undefined, this.place()), go);
        this.done = end;
        if (end < n) this.next(ctx);
        break;
      }
      case 'spawn': {
        const { n } = run.params;
        const serials = this.idleSerials ?? fail('spawn: no setup');
        const shards = this.idleShards ?? fail('spawn: no setup');
        const end = Math.min(n, this.done + SPAWN_CHUNK);
        for (let i = this.done; i < end; i++) {
          const pid = ctx.spawn<Control>('spawn-idle', undefined, this.place());
          serials[i] = pid.serial;
          shards[i] = pid.shard;
          this.lastOnShard[pid.shard] = pid;
        }
        this.done = end;
        if (end < n) {
          this.next(ctx, true);
          return;
        }
        // The last process spawned on each shard answers `sync` only after its shard has
        // handled every spawn before it (same sender, same ring or signal queue, in order).
        this.ask(
          this.lastOnShard.filter((pid) => pid !== undefined),
          'sync',
          ctx,
        );
        break;
      }
      default:
        fail(`driver: continue in case ${run.name}`);
    }
  }

  // ---- check and teardown ----------------------------------------------------------------------

  /** spawn: SPAWN_SAMPLES idle processes, evenly spread, each answer `report` with 1. */
  private checkSamples(ctx: Context<DriverMsg>): void {
    const serials = this.idleSerials ?? fail('spawn: no setup');
    const shards = this.idleShards ?? fail('spawn: no setup');
    const samples = spawnSampleIndices(serials.length).map((i) => this.idlePid(ctx, serials[i]!, shards[i]!));
    this.ask(samples, 'report', ctx);
  }

  private idlePid(ctx: Context<DriverMsg>, serial: number, shard: number): Pid {
    return { node: ctx.self.node, shard, serial };
  }

  private teardownChunk(run: SavinaRun, ctx: Context<DriverMsg>): void {
    if (run.name === 'spawn') {
      const serials = this.idleSerials ?? fail('spawn: no setup');
      const shards = this.idleShards ?? fail('spawn: no setup');
      const end = Math.min(serials.length, this.done + SPAWN_CHUNK);
      for (let i = this.done; i < end; i++) ctx.stop(this.idlePid(ctx, serials[i]!, shards[i]!), 'shutdown');
      this.done = end;
      if (end < serials.length) {
        this.next(ctx, true);
        return;
      }
    }
    for (const pid of this.members) ctx.stop(pid, 'shutdown');
    this.members = [];
    this.waitFor(0, ctx);
  }
}

// ---------------------------------------------------------------------------------------------
// The pacer: 'next' is answered with 'continue' (see Chunking and pacing above).

type PacerMsg = 'next' | Control;

class Pacer implements Process<PacerMsg> {
  receive(msg: PacerMsg | SystemMessage, ctx: Context<PacerMsg>): void {
    if (msg === 'next') ctx.reply(CONTINUE);
    else if (msg === 'sync') ctx.reply(0);
  }
}

// ---------------------------------------------------------------------------------------------
// pingpong: 2n messages (n pings, n pongs).

type PongMsg = 'ping' | Control;
type PingMsg = 'start' | 'pong' | Control;

class Pong implements Process<PongMsg> {
  private served = 0;

  receive(msg: PongMsg | SystemMessage, ctx: Context<PongMsg>): void {
    if (msg === 'ping') {
      this.served++;
      ctx.send(ctx.from as Pid<PingMsg>, 'pong');
    } else if (msg === 'sync') ctx.reply(0);
    else if (msg === 'report') ctx.reply(this.served);
  }
}

class Ping implements Process<PingMsg> {
  private readonly driver: Pid<DriverMsg>;
  private readonly pong: Pid<PongMsg>;
  private readonly n: number;
  /** Round trips still to start. */
  private left: number;

  constructor(args: { driver: Pid<DriverMsg>; pong: Pid<PongMsg>; n: number }) {
    this.driver = args.driver;
    this.pong = args.pong;
    this.n = args.n;
    this.left = args.n;
  }

  receive(msg: PingMsg | SystemMessage, ctx: Context<PingMsg>): void {
    if (msg === 'pong') {
      if (this.left === 0) ctx.send(this.driver, this.n);
      else {
        this.left--;
        ctx.send(this.pong, 'ping');
      }
    } else if (msg === 'start') {
      this.left--;
      ctx.send(this.pong, 'ping');
    } else if (msg === 'sync') ctx.reply(0);
  }
}

// ---------------------------------------------------------------------------------------------
// counting: n + 2 messages (n increments, the request for the total, the reply).

type CounterMsg = 'inc' | 'get' | Control;
type ProducerMsg = 'start' | 'continue' | { counter: Pid<CounterMsg>; pacer: Pid<PacerMsg> } | number | Control;

class Counter implements Process<CounterMsg> {
  private count = 0;

  receive(msg: CounterMsg | SystemMessage, ctx: Context<CounterMsg>): void {
    if (msg === 'inc') this.count++;
    else if (msg === 'get' || msg === 'report') ctx.reply(this.count);
    else if (msg === 'sync') ctx.reply(0);
  }
}

class Producer implements Process<ProducerMsg> {
  private readonly driver: Pid<DriverMsg>;
  private readonly n: number;
  private counter: Pid<CounterMsg> | undefined;
  private pacer: Pid<PacerMsg> | undefined;
  private sent = 0;

  constructor(args: { driver: Pid<DriverMsg>; n: number }) {
    this.driver = args.driver;
    this.n = args.n;
  }

  receive(msg: ProducerMsg | SystemMessage, ctx: Context<ProducerMsg>): void {
    if (msg === 'start' || msg === CONTINUE) {
      const counter = this.counter ?? fail('counting: producer has no counter');
      const end = Math.min(this.n, this.sent + SEND_CHUNK);
      for (let i = this.sent; i < end; i++) ctx.send(counter, 'inc');
      this.sent = end;
      if (end < this.n) ctx.send(this.pacer ?? fail('counting: producer has no pacer'), 'next');
      else ctx.send(counter, 'get');
    } else if (typeof msg === 'number') {
      // The counter's total: the end of the run.
      ctx.send(this.driver, msg);
    } else if (msg === 'sync') ctx.reply(0);
    else if (typeof msg === 'object' && 'counter' in msg) {
      this.counter = msg.counter;
      this.pacer = msg.pacer;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// threadring: n messages (every send of the token).

type RingMsg = number | { next: Pid<RingMsg> } | Control;

class RingNode implements Process<RingMsg> {
  private readonly driver: Pid<DriverMsg>;
  private next: Pid<RingMsg> | undefined;
  private received = 0;

  constructor(args: { driver: Pid<DriverMsg> }) {
    this.driver = args.driver;
  }

  receive(msg: RingMsg | SystemMessage, ctx: Context<RingMsg>): void {
    if (typeof msg === 'number') {
      this.received++;
      if (msg === 1) ctx.send(this.driver, 0);
      else ctx.send(this.next ?? fail('threadring: token reached an unlinked node'), msg - 1);
    } else if (msg === 'sync') ctx.reply(0);
    else if (msg === 'report') ctx.reply(this.received);
    else if (typeof msg === 'object' && 'next' in msg) this.next = msg.next;
  }
}

// ---------------------------------------------------------------------------------------------
// fjthrput: processes * m messages.

type FjWorkerMsg = 'msg' | Control;

class FjWorker implements Process<FjWorkerMsg> {
  private readonly driver: Pid<DriverMsg>;
  private readonly m: number;
  private received = 0;

  constructor(args: { driver: Pid<DriverMsg>; m: number }) {
    this.driver = args.driver;
    this.m = args.m;
  }

  receive(msg: FjWorkerMsg | SystemMessage, ctx: Context<FjWorkerMsg>): void {
    if (msg === 'msg') {
      if (++this.received === this.m) ctx.send(this.driver, 0);
    } else if (msg === 'sync') ctx.reply(0);
    else if (msg === 'report') ctx.reply(this.received);
  }
}

// ---------------------------------------------------------------------------------------------
// fjcreate: n messages (the one message each new process gets).

type FjcChildMsg = { collector: Pid<CollectorMsg> };
type CollectorMsg = 'ran' | Control;

/** Answers the collector named in its one message, then ends. */
class FjcChild implements Process<FjcChildMsg> {
  receive(msg: FjcChildMsg | SystemMessage, ctx: Context<FjcChildMsg>): void {
    if (isSystem(msg)) return;
    ctx.send(msg.collector, 'ran');
    ctx.exit('normal');
  }
}

class Collector implements Process<CollectorMsg> {
  private readonly driver: Pid<DriverMsg>;
  private readonly n: number;
  private answers = 0;

  constructor(args: { driver: Pid<DriverMsg>; n: number }) {
    this.driver = args.driver;
    this.n = args.n;
  }

  receive(msg: CollectorMsg | SystemMessage, ctx: Context<CollectorMsg>): void {
    if (msg === 'ran') {
      if (++this.answers === this.n) ctx.send(this.driver, 0);
    } else if (msg === 'sync') ctx.reply(0);
    else if (msg === 'report') ctx.reply(this.answers);
  }
}

// ---------------------------------------------------------------------------------------------
// big: 2 * workers * n messages (pings and pongs).

type BigMsg = 'ping' | 'pong' | 'start' | { neighbours: Pid<BigMsg>[] } | Control;

class BigWorker implements Process<BigMsg> {
  private readonly driver: Pid<DriverMsg>;
  /** 1 to workers, as in savina.erl. */
  private readonly id: number;
  private readonly workers: number;
  private neighbours: Pid<BigMsg>[] = [];
  /** Pongs still to wait for. */
  private left: number;
  /** xorshift32 state. */
  private rng: number;
  /** Pings answered. */
  private served = 0;

  constructor(args: { driver: Pid<DriverMsg>; id: number; workers: number; n: number }) {
    this.driver = args.driver;
    this.id = args.id;
    this.workers = args.workers;
    this.left = args.n;
    this.rng = bigSeed(args.id);
  }

  receive(msg: BigMsg | SystemMessage, ctx: Context<BigMsg>): void {
    switch (msg) {
      case 'ping':
        this.served++;
        ctx.send(ctx.from as Pid<BigMsg>, 'pong');
        return;
      case 'pong':
        if (--this.left === 0) ctx.send(this.driver, 0);
        else this.sendPing(ctx);
        return;
      case 'start':
        this.sendPing(ctx);
        return;
      case 'sync':
        ctx.reply(0);
        return;
      case 'report':
        ctx.reply(this.served);
        return;
    }
    if ('neighbours' in msg) this.neighbours = msg.neighbours;
  }

  private sendPing(ctx: Context<BigMsg>): void {
    this.rng = xorshift32(this.rng);
    const target = this.neighbours[bigNeighbour(this.rng, this.id, this.workers) - 1] ?? fail('big: no such neighbour');
    ctx.send(target, 'ping');
  }
}

// ---------------------------------------------------------------------------------------------
// chameneos: 4n + 2 * chameneos messages (requests chameneos + 2n, meets n, changes n, exits
// chameneos). A request is the requester's colour (the requester is ctx.from); a change is the
// new colour.

type MallMsg = number | Control;
type ChameneoMsg = 'start' | { other: Pid<ChameneoMsg>; colour: number } | number | 'exit' | Control;

class Mall implements Process<MallMsg> {
  private waiting: Pid<ChameneoMsg> | undefined;
  /** Meetings still to arrange, and arranged. */
  private left: number;
  private arranged = 0;
  /** Chameneos not yet sent exit. */
  private active: number;

  constructor(args: { n: number; chameneos: number }) {
    this.left = args.n;
    this.active = args.chameneos;
  }

  receive(msg: MallMsg | SystemMessage, ctx: Context<MallMsg>): void {
    if (typeof msg === 'number') {
      const from = ctx.from as Pid<ChameneoMsg>;
      if (this.left === 0) {
        if (--this.active < 0) fail('chameneos: more requests than chameneos after the last meeting');
        ctx.send(from, 'exit');
      } else if (this.waiting === undefined) {
        this.waiting = from;
      } else {
        ctx.send(this.waiting, { other: from, colour: msg });
        this.waiting = undefined;
        this.left--;
        this.arranged++;
      }
    } else if (msg === 'sync') ctx.reply(0);
    else if (msg === 'report') ctx.reply(this.arranged);
  }
}

class Chameneo implements Process<ChameneoMsg> {
  private readonly driver: Pid<DriverMsg>;
  private readonly mall: Pid<MallMsg>;
  private colour: number;
  private meetings = 0;

  constructor(args: { driver: Pid<DriverMsg>; mall: Pid<MallMsg>; colour: number }) {
    this.driver = args.driver;
    this.mall = args.mall;
    this.colour = args.colour;
  }

  receive(msg: ChameneoMsg | SystemMessage, ctx: Context<ChameneoMsg>): void {
    if (typeof msg === 'number') {
      this.colour = msg;
      this.meetings++;
    } else if (msg === 'start') {
      // first request below
    } else if (msg === 'exit') {
      ctx.send(this.driver, this.meetings);
      return;
    } else if (msg === 'sync') {
      ctx.reply(0);
      return;
    } else if (msg === 'report' || isSystem(msg)) {
      return;
    } else {
      this.colour = complement(this.colour, msg.colour);
      this.meetings++;
      ctx.send(msg.other, this.colour);
    }
    ctx.send(this.mall, this.colour);
  }
}

// ---------------------------------------------------------------------------------------------
// spawn: idle processes; they answer the driver's `sync` (the last of each shard) and `report`
// (the samples), and otherwise do nothing.

class Idle implements Process<Control> {
  receive(msg: Control | SystemMessage, ctx: Context<Control>): void {
    if (msg === 'sync') ctx.reply(0);
    else if (msg === 'report') ctx.reply(1);
  }
}

export const behaviours = defineBehaviours({
  'savina-driver': () => new Driver(),
  'savina-pacer': () => new Pacer(),
  'pingpong-ping': (args: { driver: Pid<DriverMsg>; pong: Pid<PongMsg>; n: number }) => new Ping(args),
  'pingpong-pong': () => new Pong(),
  'counting-producer': (args: { driver: Pid<DriverMsg>; n: number }) => new Producer(args),
  'counting-counter': () => new Counter(),
  'threadring-node': (args: { driver: Pid<DriverMsg> }) => new RingNode(args),
  'fjthrput-worker': (args: { driver: Pid<DriverMsg>; m: number }) => new FjWorker(args),
  'fjcreate-collector': (args: { driver: Pid<DriverMsg>; n: number }) => new Collector(args),
  'fjcreate-child': () => new FjcChild(),
  'big-worker': (args: { driver: Pid<DriverMsg>; id: number; workers: number; n: number }) => new BigWorker(args),
  'chameneos-mall': (args: { n: number; chameneos: number }) => new Mall(args),
  'chameneos-chameneo': (args: { driver: Pid<DriverMsg>; mall: Pid<MallMsg>; colour: number }) => new Chameneo(args),
  // A process object of its own each (an empty one), as a user would write it; not one shared object.
  'spawn-idle': () => new Idle(),
});
