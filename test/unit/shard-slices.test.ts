// Slices: the shard's scheduling by elapsed time, against a host clock the test moves. Every
// expensive message advances the fake clock by its cost, so the rules are checked exactly: which
// messages run in which pass, and how often the scheduler reads the clock.
import { describe, expect, it } from 'vitest';
import { ROUTE_ACCEPTED, Shard, ClockChecks, type ShardHost } from '../../src/executor/shard.js';
import { Signal } from '../../src/codec/envelope.js';
import { pid, type Pid } from '../../src/process/pid.js';
import { defineBehaviours, type Context, type Process, type SystemMessage } from '../../src/process/types.js';

/** A host whose clock only moves when a process spends time; it counts the scheduler's reads. */
class ClockHost implements ShardHost {
  time = 0;
  reads = 0;
  readonly routed: { to: Pid; ref: number; payload: unknown }[] = [];
  now(): number {
    return this.time;
  }
  elapsedMs(): number {
    this.reads++;
    return this.time;
  }
  route(_signal: Signal, to: Pid, _from: Pid | undefined, ref: number, payload: unknown): number {
    this.routed.push({ to, ref, payload });
    return ROUTE_ACCEPTED;
  }
  deadLetter(): void {
    throw new Error('unexpected dead letter');
  }
  crashed(p: Pid, kind: string): void {
    throw new Error(`unexpected crash of ${kind} ${p.serial}`);
  }
}

type NeighbourMsg = 'work' | { start: number };

/**
 * The neighbour of the issue: it keeps `start` messages in its own mailbox; each costs `load.ms`
 * (it moves the host's clock) and sends itself the next.
 */
class Neighbour implements Process<NeighbourMsg> {
  constructor(
    private readonly host: ClockHost,
    private readonly load: Load,
  ) {}
  receive(msg: NeighbourMsg | SystemMessage, ctx: Context<NeighbourMsg>): void {
    if (typeof msg === 'object' && 'start' in msg) {
      for (let i = 0; i < msg.start; i++) ctx.send(ctx.self, 'work');
      return;
    }
    if (msg !== 'work') return;
    this.host.time += this.load.ms;
    this.load.ran++;
    ctx.send(ctx.self, 'work');
  }
}

interface Load {
  /** What each neighbour message costs. */
  ms: number;
  /** Neighbour messages handled. */
  ran: number;
}

/** Answers every message with how many neighbour messages had run when it was handled. */
class Echo implements Process<unknown> {
  constructor(private readonly load: Load) {}
  receive(_msg: unknown, ctx: Context<unknown>): void {
    ctx.reply(this.load.ran);
  }
}

/** Each message costs `load.ms`, and sends nothing. */
class Sip implements Process<'sip'> {
  constructor(
    private readonly host: ClockHost,
    private readonly load: Load,
  ) {}
  receive(msg: 'sip' | SystemMessage): void {
    if (msg === 'sip') this.host.time += this.load.ms;
  }
}

/** Cheap work: counts, answers 'get'. */
class Tally implements Process<'inc' | 'get'> {
  n = 0;
  receive(msg: 'inc' | 'get' | SystemMessage, ctx: Context<'inc' | 'get'>): void {
    if (msg === 'inc') this.n++;
    else if (msg === 'get') ctx.reply(this.n);
  }
}

const asker = pid(0, 9, 1);

function setup(clockChecks?: ClockChecks): { host: ClockHost; shard: Shard; load: Load; start: (kind: string) => Pid } {
  const host = new ClockHost();
  const load: Load = { ms: 0, ran: 0 };
  const behaviours = defineBehaviours({
    neighbour: () => new Neighbour(host, load),
    echo: () => new Echo(load),
    tally: () => new Tally(),
    sip: () => new Sip(host, load),
  });
  const shard = new Shard(host, behaviours, { node: 0, shard: 0, spawnerId: 1, ...(clockChecks === undefined ? {} : { clockChecks }) });
  return {
    host,
    shard,
    load,
    start: (kind) => {
      const p = shard.allocatePid();
      shard.spawn(p, { kind, args: undefined });
      return p;
    },
  };
}

/**
 * One pass of the executor's loop: what the "rings" hold is delivered, then a slice of turns (the
 * executor's slice is 0.25 ms; 1 ms here keeps the arithmetic of the costs below exact).
 */
const SLICE_MS = 1;

describe('slices: a neighbour whose messages are expensive', () => {
  for (const cost of [0.0625, 2]) {
    it(`(${cost} ms each) holds the thread for at most a slice plus one message a pass, and an echo asked meanwhile answers before any more of them`, () => {
      const { host, shard, load, start } = setup();
      const neighbour = start('neighbour');
      const echo = start('echo');
      load.ms = cost;
      shard.deliver(Signal.USER, neighbour, undefined, 0, { start: 200 });
      // The first pass may run up to the clock interval (64 messages) before it reads the clock:
      // that is all the neighbour gets before the scheduler knows it is expensive.
      shard.runTurns(256, SLICE_MS);
      expect(load.ran).toBeLessThanOrEqual(64);
      for (let ask = 1; ask <= 20; ask++) {
        // Passes without an ask: each returns to the rings within the slice plus the message running.
        for (let pass = 0; pass < 3; pass++) {
          const t0 = host.time;
          shard.runTurns(256, SLICE_MS);
          expect(host.time - t0).toBeGreaterThan(0);
          expect(host.time - t0).toBeLessThanOrEqual(SLICE_MS + cost);
        }
        // The ask was written into a ring while that pass ran; the loop delivers it now.
        shard.deliver(Signal.USER, echo, asker, ask, 'ping');
        const before = load.ran;
        // The echo runs first (the neighbour, cut by the end of the last pass, queues behind it),
        // and the pass ends after it, so its answer is published before the neighbour's next message.
        expect(shard.runTurns(256, SLICE_MS)).toBe(1);
        expect(host.routed).toHaveLength(ask);
        expect(host.routed[ask - 1]).toEqual({ to: asker, ref: ask, payload: before });
      }
      expect(shard.stats().queuedMessages).toBe(200);
    });
  }

  it('is read after every message of its turn, and cheap messages beside it are not', () => {
    const { host, shard, load, start } = setup();
    const neighbour = start('neighbour');
    const tally = start('tally');
    load.ms = 0.25;
    shard.deliver(Signal.USER, neighbour, undefined, 0, { start: 50 });
    for (let i = 0; i < 10; i++) shard.runTurns(256, SLICE_MS);
    // The neighbour is timed now: 4 messages of 0.25 ms fill its slice, with a read after each.
    let reads = host.reads;
    let ran = load.ran;
    expect(shard.runTurns(256, SLICE_MS)).toBe(4);
    expect(load.ran - ran).toBe(4);
    expect(host.reads - reads).toBe(1 + 4);
    // 6,400 cheap messages to the tally: its turns (64 messages each) alternate with the
    // neighbour's passes. After each neighbour message the interval is back to one message, and it
    // doubles with each cheap read: 6 reads (after 1, 2, 4, 8, 16 and 32 messages) take it back
    // to 64, so a turn of 64 cheap messages costs at most 7 reads, not 64.
    for (let i = 0; i < 6_400; i++) shard.deliver(Signal.USER, tally, undefined, 0, 'inc');
    reads = host.reads;
    ran = load.ran;
    let handled = 0;
    let passes = 0;
    while (shard.stats().queuedMessages > 50) {
      handled += shard.runTurns(256, SLICE_MS);
      passes++;
    }
    const neighbourMessages = load.ran - ran;
    const cheap = handled - neighbourMessages;
    expect(cheap).toBe(6_400);
    expect(host.reads - reads - passes - neighbourMessages).toBeLessThanOrEqual((cheap / 64) * 7);
  });

  it('turns too short to be cut still read the clock often enough to end the pass within 0.05 ms of its slice', () => {
    const { host, shard, load, start } = setup();
    // Three processes of 1/64 ms messages: a turn (32 messages, each sending one) takes half a
    // slice and ends on its budget, so none is timed; the adaptive interval settles at 2 messages
    // (1/32 ms between reads).
    load.ms = 1 / 64;
    for (let i = 0; i < 3; i++) shard.deliver(Signal.USER, start('neighbour'), undefined, 0, { start: 100 });
    shard.runTurns(256, SLICE_MS);
    for (let pass = 0; pass < 50; pass++) {
      const t0 = host.time;
      shard.runTurns(256, SLICE_MS);
      expect(host.time - t0).toBeGreaterThanOrEqual(SLICE_MS);
      expect(host.time - t0).toBeLessThanOrEqual(SLICE_MS + 0.05);
    }
  });

  it('a pass of one turn ends after the message that fills its slice; a cheap turn runs its whole budget', () => {
    const { shard, load, start } = setup();
    const neighbour = start('neighbour');
    load.ms = 0.3;
    shard.deliver(Signal.USER, neighbour, undefined, 0, { start: 20 });
    // Its 'start', then two turns of 32 and 31 messages before the first read: timed from then on.
    for (let turn = 0; turn < 3; turn++) shard.runTurns(1, SLICE_MS);
    expect(load.ran).toBe(63);
    // 0.3 + 0.3 + 0.3 < 1 ms: the fourth message fills the slice.
    const ran = load.ran;
    expect(shard.runTurns(1, SLICE_MS)).toBe(4);
    expect(load.ran - ran).toBe(4);
    const tally = start('tally');
    for (let i = 0; i < 100; i++) shard.deliver(Signal.USER, tally, undefined, 0, 'inc');
    expect(shard.runTurns(1, SLICE_MS), 'the tally, behind the neighbour cut by the end of the pass: its whole budget').toBe(64);
    expect(load.ran - ran).toBe(4);
  });

  for (const [before, timed] of [
    [7, false],
    [2, true],
  ] as const) {
    it(`a turn cut by the end of the pass after ${8 - before} eighths of the slice is ${timed ? '' : 'not '}timed`, () => {
      const { shard, load, start } = setup();
      load.ms = 1 / 8;
      // 64 messages of 1/8 ms bring the clock interval down to one message.
      const warm = start('sip');
      for (let i = 0; i < 64; i++) shard.deliver(Signal.USER, warm, undefined, 0, 'sip');
      expect(shard.runTurns(256, SLICE_MS)).toBe(64);
      const first = start('sip');
      const second = start('sip');
      const tally = start('tally');
      for (let i = 0; i < before; i++) shard.deliver(Signal.USER, first, undefined, 0, 'sip');
      for (let i = 0; i < 20; i++) shard.deliver(Signal.USER, second, undefined, 0, 'sip');
      // The first sips `before` eighths of the slice, the second the rest.
      expect(shard.runTurns(256, SLICE_MS)).toBe(8);
      // The second, cut, queues behind the tally; if timed, it waits for a pass of its own.
      for (let i = 0; i < 10; i++) shard.deliver(Signal.USER, tally, undefined, 0, 'inc');
      expect(shard.runTurns(256, SLICE_MS)).toBe(timed ? 10 : 10 + 8);
    });
  }

  it('a process timed after one long turn is untimed once a turn of it ends early', () => {
    const { host, shard, load, start } = setup();
    const neighbour = start('neighbour');
    load.ms = 3;
    shard.deliver(Signal.USER, neighbour, undefined, 0, { start: 10 });
    shard.runTurns(256, SLICE_MS);
    let reads = host.reads;
    let ran = load.ran;
    shard.runTurns(256, SLICE_MS);
    expect(load.ran - ran, 'timed: one 3 ms message fills the slice').toBe(1);
    expect(host.reads - reads).toBe(2);
    // Its messages turn cheap: the next turn runs its whole budget (64 units: 32 messages, each
    // sending one), reading the clock after every message, and ends on the budget.
    load.ms = 0;
    reads = host.reads;
    ran = load.ran;
    shard.runTurns(1, SLICE_MS);
    expect(load.ran - ran).toBe(32);
    expect(host.reads - reads).toBe(1 + 32);
    // Untimed from then on: the interval grows back (reads after 2, 4, 8, 16 messages) and then a
    // whole turn costs the pass's read and at most one more.
    reads = host.reads;
    shard.runTurns(1, SLICE_MS);
    expect(host.reads - reads).toBeLessThanOrEqual(1 + 4);
    shard.runTurns(1, SLICE_MS);
    shard.runTurns(1, SLICE_MS);
    reads = host.reads;
    shard.runTurns(1, SLICE_MS);
    expect(host.reads - reads).toBeLessThanOrEqual(2);
  });
});

describe('slices: cheap messages', () => {
  it('read the clock once a pass and once every 64 messages, not once a message', () => {
    const { host, shard, start } = setup();
    const tally = start('tally');
    for (let i = 0; i < 10_000; i++) shard.deliver(Signal.USER, tally, undefined, 0, 'inc');
    const reads = host.reads;
    expect(shard.runTurns(1_000, SLICE_MS)).toBe(10_000);
    expect(host.reads - reads).toBeLessThanOrEqual(1 + Math.ceil(10_000 / 64));
  });

  it(`read it after every message with clockChecks '${ClockChecks.EVERY_MESSAGE}'`, () => {
    const { host, shard, start } = setup(ClockChecks.EVERY_MESSAGE);
    const tally = start('tally');
    for (let i = 0; i < 1_000; i++) shard.deliver(Signal.USER, tally, undefined, 0, 'inc');
    const reads = host.reads;
    expect(shard.runTurns(1_000, SLICE_MS)).toBe(1_000);
    expect(host.reads - reads).toBe(1 + 1_000);
  });

  it('an idle shard does not read the clock at all', () => {
    const { host, shard } = setup();
    const reads = host.reads;
    expect(shard.runTurns(256, SLICE_MS)).toBe(0);
    expect(host.reads).toBe(reads);
  });

  it('an unknown clockChecks is refused with HORDE_INVALID_OPTION', () => {
    expect(() => setup('sometimes' as ClockChecks)).toThrow(expect.objectContaining({ code: 'HORDE_INVALID_OPTION' }));
  });
});
