import { describe, expect, it } from 'vitest';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { MAIN_SHARD, pidKey, type Pid } from '../../src/process/pid.js';
import type { Context, Process, SystemMessage } from '../../src/process/types.js';
import { Signal } from '../../src/codec/envelope.js';
import { TestKit, type TracedEnvelope } from '../../src/testkit/testkit.js';
import type { CounterMsg, PingMsg } from '../fixtures/behaviours.js';
import { unitBehaviours, type ActorMsg, type ClientMsg } from '../fixtures/unit-behaviours.js';

/** Counters on every shard, clients on every shard hammering all counters, two ping-pong pairs. */
function scenario(seed: number): { kit: TestKit; totals: number[] } {
  const kit = new TestKit({ behaviours: unitBehaviours, shards: 3, seed, budget: 4 });
  const counters = [0, 1, 2].map((shard) => kit.spawn<CounterMsg>('counter', { start: 100 * shard }, { shard }));
  const clients = [0, 1, 2].map((shard) => kit.spawn<ClientMsg>('client', undefined, { shard }));
  const report = kit.probe();
  for (const client of clients) kit.send(client, { type: 'run', counters, rounds: 5, report: report.pid });
  const a = kit.spawn<PingMsg>('player', undefined, { shard: 0 });
  const b = kit.spawn<PingMsg>('player', undefined, { shard: 2 });
  kit.send(a, { type: 'start', peer: b, rounds: 40, report: report.pid });
  kit.run();
  const totals = counters.map((counter) => kit.ask<number>(counter, { type: 'get' }));
  return { kit, totals };
}

/** The order of envelopes without the step numbers. */
function order(envelopes: readonly TracedEnvelope[]): string[] {
  return envelopes.map((e) => `${e.signal} ${e.from === undefined ? '-' : pidKey(e.from)}>${pidKey(e.to)} ${e.ref} ${JSON.stringify(e.payload)}`);
}

describe('TestKit determinism', () => {
  it('replays the same seed envelope for envelope', () => {
    const first = scenario(7);
    const second = scenario(7);
    expect(first.kit.envelopes.length).toBeGreaterThan(100);
    expect(second.kit.envelopes).toEqual(first.kit.envelopes);
    expect(second.totals).toEqual(first.totals);
  });

  it('gives the same results under different seeds, through different interleavings', () => {
    const base = scenario(1);
    // Each counter got 1+2+3+4+5 from each of 3 clients.
    expect(base.totals).toEqual([45, 145, 245]);
    const baseOrder = order(base.kit.envelopes);
    let differing = 0;
    for (let seed = 2; seed <= 6; seed++) {
      const other = scenario(seed);
      expect(other.totals).toEqual(base.totals);
      // Same envelopes as a multiset (the same work was done)...
      expect([...order(other.kit.envelopes)].sort()).toEqual([...baseOrder].sort());
      // ...but in another order.
      if (order(other.kit.envelopes).join('\n') !== baseOrder.join('\n')) differing++;
    }
    expect(differing).toBeGreaterThan(0);
  });
});

describe('TestKit clock', () => {
  it('gives processes the simulated time and moves only forward', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, startMs: 1_000 });
    const actor = kit.spawn<ActorMsg>('actor');
    expect(kit.now).toBe(1_000);
    expect(kit.ask<number>(actor, { type: 'now' })).toBe(1_000);
    kit.advance(250);
    expect(kit.now).toBe(1_250);
    expect(kit.ask<number>(actor, { type: 'now' })).toBe(1_250);
    kit.advance(0);
    expect(kit.ask<number>(actor, { type: 'now' })).toBe(1_250);
    expect(() => kit.advance(-1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTION }));
    expect(() => kit.advance(Number.NaN)).toThrow(HordeError);
    expect(kit.now).toBe(1_250);
  });

  it('does not move the clock while running', () => {
    const kit = new TestKit({ behaviours: unitBehaviours });
    const a = kit.spawn<PingMsg>('player');
    const b = kit.spawn<PingMsg>('player');
    kit.send(a, { type: 'start', peer: b, rounds: 50, report: kit.probe().pid });
    expect(kit.run()).toBeGreaterThan(50);
    expect(kit.now).toBe(0);
  });
});

describe('TestKit ask, probes and runUntil', () => {
  it('ask returns the reply to that ask, on either shard', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 2 });
    const c0 = kit.spawn<CounterMsg>('counter', { start: 5 }, { shard: 0 });
    const c1 = kit.spawn<CounterMsg>('counter', { start: 9 }, { shard: 1 });
    kit.send(c0, { type: 'inc', by: 3 });
    expect(kit.ask<number>(c0, { type: 'get' })).toBe(8);
    expect(kit.ask<number>(c1, { type: 'get' })).toBe(9);
  });

  it('ask times out with HORDE_TIMEOUT when no reply comes', () => {
    const kit = new TestKit({ behaviours: unitBehaviours });
    const counter = kit.spawn<CounterMsg>('counter');
    // An 'inc' is never answered: the kit goes idle, then ask reports the missing reply.
    expect(() => kit.ask(counter, { type: 'inc' }, 1_000)).toThrow(expect.objectContaining({ code: ErrorCode.TIMEOUT }));
  });

  it('runUntil throws HORDE_TIMEOUT when maxSteps pass first', () => {
    const kit = new TestKit({ behaviours: unitBehaviours });
    const flooder = kit.spawn<{ type: 'go' }>('flooder');
    kit.send(flooder, { type: 'go' });
    let error: unknown;
    try {
      kit.runUntil(() => false, 200);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HordeError);
    expect((error as HordeError).code).toBe(ErrorCode.TIMEOUT);
    expect(() => kit.run(10)).toThrow(expect.objectContaining({ code: ErrorCode.TIMEOUT }));
    // When the condition holds, runUntil stops and reports the steps taken.
    expect(kit.runUntil(() => true, 0)).toBe(0);
  });

  it('runUntil returns once the condition holds, before the kit is idle', () => {
    const kit = new TestKit({ behaviours: unitBehaviours });
    const probe = kit.probe();
    const flooder = kit.spawn<{ type: 'go' }>('flooder', undefined, { shard: 0 });
    const actor = kit.spawn<ActorMsg>('actor', undefined, { shard: 0 });
    kit.send(flooder, { type: 'go' });
    kit.send(actor, { type: 'ping' }, probe);
    const steps = kit.runUntil(() => probe.messages.length > 0, 1_000);
    expect(steps).toBeGreaterThan(0);
    expect(probe.messages).toEqual([{ signal: Signal.USER, from: actor, ref: 0, payload: 'pong' }]);
    expect(kit.shards[0]!.hasWork()).toBe(true);
  });

  it('probes collect every message sent to them, in order per sender, with the sender', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 2 });
    const probe = kit.probe();
    const other = kit.probe();
    const actor = kit.spawn<ActorMsg>('actor', undefined, { shard: 1 });
    for (let n = 0; n < 20; n++) kit.send(actor, { type: 'send', to: n % 2 === 0 ? probe.pid : other.pid, msg: n });
    kit.run();
    expect(probe.messages.map((m) => m.payload)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(other.messages.map((m) => m.payload)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect(probe.messages.every((m) => m.signal === Signal.USER && m.from !== undefined && pidKey(m.from) === pidKey(actor))).toBe(true);
    expect(probe.pid.shard).toBe(MAIN_SHARD);
    expect(pidKey(probe.pid)).not.toBe(pidKey(other.pid));
  });

  it('refuses a spawn on a shard it does not have and an invalid shard count', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 2 });
    expect(() => kit.spawn('counter', undefined, { shard: 2 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTION }));
    expect(() => new TestKit({ behaviours: unitBehaviours, shards: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTION }));
    expect(() => new TestKit({ behaviours: { 'horde.supervisor': () => ({ receive() {} }) } })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_OPTION }),
    );
  });

  it('spreads kit.spawn round-robin over the shards', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 3 });
    const shards = Array.from({ length: 6 }, () => kit.spawn('counter').shard);
    expect(shards).toEqual([0, 1, 2, 0, 1, 2]);
  });
});

describe('TestKit envelope trace', () => {
  it('records every envelope sent: user messages, spawns, links, monitors, exits and downs', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 2 });
    const probe = kit.probe();
    const a = kit.spawn<ActorMsg>('actor', { report: probe.pid, name: 'a', trap: true }, { shard: 0 });
    const b = kit.spawn<ActorMsg>('actor', { name: 'b' }, { shard: 1 });
    kit.send(a, { type: 'link', pid: b });
    kit.send(a, { type: 'monitor', pid: b });
    kit.run();
    const monitorRef = (probe.messages.find((m) => (m.payload as { event: string }).event === 'monitor')!.payload as { ref: number }).ref;
    kit.send(b, { type: 'crash', why: 'b fails' });
    kit.send(a, { type: 'spawn', kind: 'counter', options: { shard: 1 } });
    kit.run();
    const child = (probe.messages.find((m) => (m.payload as { event: string }).event === 'spawned')!.payload as { pid: Pid }).pid;

    const sent = kit.envelopes;
    const find = (signal: number, from: Pid | undefined, to: Pid) =>
      sent.filter((e) => e.signal === signal && pidKey(e.to) === pidKey(to) && (from === undefined ? e.from === undefined : e.from !== undefined && pidKey(e.from) === pidKey(from)));

    // The kit's own sends are traced, sender-less ones without `from`.
    expect(find(Signal.USER, undefined, a).map((e) => (e.payload as ActorMsg).type)).toEqual(['link', 'monitor', 'spawn']);
    expect(find(Signal.USER, probe.pid, a)).toHaveLength(0);
    // Process-to-process signals, with their refs and payloads.
    expect(find(Signal.LINK, a, b)).toHaveLength(1);
    const monitor = find(Signal.MONITOR, a, b);
    expect(monitor).toHaveLength(1);
    expect(monitor[0]!.ref).toBe(monitorRef);
    const exits = find(Signal.EXIT, b, a);
    expect(exits).toHaveLength(1);
    expect(exits[0]!.payload).toMatchObject({ message: 'b fails' });
    const downs = find(Signal.DOWN, b, a);
    expect(downs).toHaveLength(1);
    expect(downs[0]!.ref).toBe(monitorRef);
    expect(downs[0]!.payload).toMatchObject({ message: 'b fails' });
    const spawns = find(Signal.SPAWN, a, child);
    expect(spawns).toHaveLength(1);
    expect(spawns[0]!.payload).toEqual({ kind: 'counter', args: undefined });
    // Reports to the probe are user messages from a.
    expect(find(Signal.USER, a, probe.pid).length).toBeGreaterThanOrEqual(4);
    // Steps never go back.
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.step).toBeGreaterThanOrEqual(sent[i - 1]!.step);
  });

  it('traces spawns on the same shard as well as across shards', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 2 });
    const probe = kit.probe();
    const a = kit.spawn<ActorMsg>('actor', { report: probe.pid }, { shard: 0 });
    kit.send(a, { type: 'spawn', kind: 'counter', args: { start: 1 } });
    kit.send(a, { type: 'spawn', kind: 'counter', args: { start: 2 }, options: { shard: 1 } });
    kit.run();
    const spawns = kit.envelopes.filter((e) => e.signal === Signal.SPAWN);
    expect(spawns.map((e) => [e.to.shard, e.payload])).toEqual([
      [0, { kind: 'counter', args: { start: 1 } }],
      [1, { kind: 'counter', args: { start: 2 } }],
    ]);
    expect(spawns.every((e) => e.from !== undefined && pidKey(e.from) === pidKey(a))).toBe(true);
  });

  it('keeps a dead letter for each message to a pid that does not exist', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 2 });
    const a = kit.spawn<ActorMsg>('actor', undefined, { shard: 0 });
    const b = kit.spawn<ActorMsg>('actor', undefined, { shard: 1 });
    const doomed = kit.spawn<ActorMsg>('actor', undefined, { shard: 0 });
    kit.send(doomed, { type: 'exit' });
    kit.run();
    expect(kit.deadLetters).toHaveLength(0);
    kit.send(doomed, { type: 'note', n: 1 }); // from the kit
    kit.send(a, { type: 'send', to: doomed, msg: 'same shard' });
    kit.send(b, { type: 'send', to: doomed, msg: 'other shard' });
    kit.run();
    expect(kit.deadLetters.map((d) => [d.signal, pidKey(d.to), d.payload])).toEqual(
      expect.arrayContaining([
        [Signal.USER, pidKey(doomed), { type: 'note', n: 1 }],
        [Signal.USER, pidKey(doomed), 'same shard'],
        [Signal.USER, pidKey(doomed), 'other shard'],
      ]),
    );
    expect(kit.deadLetters).toHaveLength(3);
  });
});

describe('TestKit crashShard', () => {
  it('fires links and monitors on other shards with executor_crashed and dead-letters old pids', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 2 });
    const probe = kit.probe();
    const lost = kit.spawn<ActorMsg>('actor', { name: 'lost' }, { shard: 1 });
    const lostToo = kit.spawn<ActorMsg>('actor', { name: 'lost-too' }, { shard: 1 });
    const watcher = kit.spawn<ActorMsg>('actor', { report: probe.pid, name: 'watcher', trap: true }, { shard: 0 });
    const linked = kit.spawn<ActorMsg>('actor', { report: probe.pid, name: 'linked', reportTerminate: true }, { shard: 0 });
    const bystander = kit.spawn<CounterMsg>('counter', undefined, { shard: 0 });
    kit.send(watcher, { type: 'monitor', pid: lost });
    kit.send(watcher, { type: 'link', pid: lostToo });
    kit.send(linked, { type: 'link', pid: lost });
    kit.run();
    probe.messages.length = 0;

    kit.crashShard(1);
    kit.run();
    const events = probe.messages.map((m) => m.payload as { name: string; event: string; pid?: Pid; reason?: unknown });
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'watcher', event: 'DOWN', pid: lost, reason: 'executor_crashed' }),
        expect.objectContaining({ name: 'watcher', event: 'EXIT', pid: lostToo, reason: 'executor_crashed' }),
        { name: 'linked', event: 'terminate', reason: 'executor_crashed' },
      ]),
    );
    expect(events).toHaveLength(3);
    expect(kit.shards[0]!.has(linked)).toBe(false);
    expect(kit.shards[0]!.has(watcher)).toBe(true);
    expect(kit.crashes.some((c) => pidKey(c.pid) === pidKey(linked) && c.reason === 'executor_crashed')).toBe(true);

    // The replacement shard does not know the old pids; new ones never collide with them.
    kit.send(lost, { type: 'note', n: 1 });
    kit.send(watcher, { type: 'send', to: lostToo, msg: 'hello?' });
    kit.run();
    expect(kit.deadLetters.map((d) => pidKey(d.to)).sort()).toEqual([pidKey(lost), pidKey(lostToo)].sort());
    const fresh = kit.spawn<CounterMsg>('counter', { start: 4 }, { shard: 1 });
    expect([pidKey(lost), pidKey(lostToo)]).not.toContain(pidKey(fresh));
    expect(kit.ask<number>(fresh, { type: 'get' })).toBe(4);
    expect(kit.ask<number>(bystander, { type: 'get' })).toBe(0);
  });
});

describe('typed messages (checked by tsc)', () => {
  it('refuses messages a pid does not accept', () => {
    const kit = new TestKit({ behaviours: unitBehaviours });
    const counter = kit.spawn<CounterMsg>('counter');
    const untyped: Pid = counter;
    const typeChecks = (): void => {
      // @ts-expect-error 'nope' is not a CounterMsg
      kit.send(counter, { type: 'nope' });
      // @ts-expect-error 'by' must be a number
      kit.send(counter, { type: 'inc', by: 'one' });
      // @ts-expect-error a PingMsg pid does not take a CounterMsg
      kit.send(kit.spawn<PingMsg>('player'), { type: 'inc' });
      // A plain Pid accepts anything; a typed one accepts its own messages.
      kit.send(untyped, { anything: true });
      kit.send(counter, { type: 'inc', by: 2 });
    };
    class Typed implements Process<{ type: 'go'; to: Pid<CounterMsg> }> {
      receive(msg: { type: 'go'; to: Pid<CounterMsg> } | SystemMessage, ctx: Context<{ type: 'go'; to: Pid<CounterMsg> }>): void {
        if (msg.type !== 'go') return;
        ctx.send(msg.to, { type: 'get' });
        // @ts-expect-error ctx.send checks the message against the pid too
        ctx.send(msg.to, { type: 'get', extra: 1 });
        // @ts-expect-error a process's own pid takes only its own messages
        ctx.send(ctx.self, { type: 'inc' });
      }
    }
    expect(typeof typeChecks).toBe('function');
    expect(typeof Typed).toBe('function');
    // At run time a pid is a plain value: the counter simply ignores what it does not know.
    kit.send(untyped, { type: 'nope' });
    kit.send(counter, { type: 'inc', by: 2 });
    expect(kit.ask<number>(counter, { type: 'get' })).toBe(2);
  });
});

describe('TestKit records', () => {
  it('keeps each record within recordLimit, dropping the oldest half and counting what it dropped', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 1, seed: 1, recordLimit: 10 });
    const counter = kit.spawn<CounterMsg>('counter');
    for (let i = 1; i <= 25; i++) kit.send(counter, { type: 'inc', by: i });
    kit.run();
    expect(kit.envelopes.length).toBeLessThanOrEqual(10);
    expect(kit.recordsDropped).toBe(25 - kit.envelopes.length);
    // The latest are kept, in order.
    expect(kit.envelopes.map((e) => (e.payload as { by: number }).by)).toEqual(Array.from({ length: kit.envelopes.length }, (_, i) => 26 - kit.envelopes.length + i));
    expect(kit.ask<number>(counter, { type: 'get' })).toBe((25 * 26) / 2);
    expect(() => new TestKit({ behaviours: unitBehaviours, recordLimit: 1 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTION }));
  });
});
