import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { MAIN_SHARD, pid, pidKey, type Pid } from '../../src/process/pid.js';
import type { ExitReason } from '../../src/process/types.js';
import { ROUTE_ACCEPTED, Shard, type ShardHost } from '../../src/executor/shard.js';
import { Signal } from '../../src/codec/envelope.js';
import { TestKit, type Probe } from '../../src/testkit/testkit.js';
import type { CounterMsg } from '../fixtures/behaviours.js';
import {
  unitBehaviours,
  type ActorArgs,
  type ActorEvent,
  type ActorMsg,
  type ChainMsg,
  type FeederMsg,
  type PusherMsg,
  type SinkMsg,
  type SinkStats,
  type TallyMsg,
} from '../fixtures/unit-behaviours.js';

function kitOf(shards = 2, seed = 1, budget?: number): TestKit {
  return new TestKit(budget === undefined ? { behaviours: unitBehaviours, shards, seed } : { behaviours: unitBehaviours, shards, seed, budget });
}

function events(probe: Probe): ActorEvent[] {
  return probe.messages.map((m) => m.payload as ActorEvent);
}

function actor(kit: TestKit, shard: number, args: ActorArgs = {}): Pid<ActorMsg> {
  return kit.spawn<ActorMsg>('actor', args, { shard });
}

const alive = (kit: TestKit, p: Pid): boolean => kit.shards[p.shard]!.has(p);

/** The reason a process ended with, as the kit's monitor from a probe sees it. */
function watch(kit: TestKit, target: Pid): () => ExitReason | undefined {
  const probe = kit.probe();
  const ref = kit.monitor(probe, target);
  return () => {
    const down = probe.messages.find((m) => m.signal === Signal.DOWN && m.ref === ref);
    return down?.payload as ExitReason | undefined;
  };
}

describe('a receive that throws', () => {
  it('ends the process with the error, in wire form, as its exit reason', () => {
    const kit = kitOf();
    const counter = kit.spawn<CounterMsg>('counter');
    const reason = watch(kit, counter);
    kit.run();
    kit.send(counter, { type: 'crash', why: 'bad input' });
    kit.run();
    expect(alive(kit, counter)).toBe(false);
    expect(reason()).toMatchObject({ code: ErrorCode.UNKNOWN, message: 'bad input', name: 'Error' });
    expect(kit.crashes).toEqual([{ pid: counter, kind: 'counter', reason: reason() }]);
  });

  it('keeps a thrown error code and turns a thrown non-error into a readable reason', () => {
    const kit = new TestKit({
      behaviours: {
        coded: () => ({
          receive() {
            throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
          },
        }),
        stringly: () => ({
          receive() {
            // eslint-disable-next-line @typescript-eslint/only-throw-error
            throw 'just a string';
          },
        }),
      },
    });
    const coded = kit.spawn('coded');
    const stringly = kit.spawn('stringly');
    const codedReason = watch(kit, coded);
    const stringlyReason = watch(kit, stringly);
    kit.send(coded, 'go');
    kit.send(stringly, 'go');
    kit.run();
    expect(codedReason()).toMatchObject({ code: 'ENOSPC', message: 'disk full' });
    expect(stringlyReason()).toEqual({ code: ErrorCode.UNKNOWN, message: 'just a string' });
  });

  it('carries out none of the effects it recorded before throwing', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const target = actor(kit, 1, { report: probe.pid, name: 'target' });
    const crasher = actor(kit, 0);
    kit.send(crasher, { type: 'send-then-crash', to: probe.pid, why: 'after recording' });
    kit.send(crasher, { type: 'send-then-crash', to: target, why: 'after recording' });
    kit.run();
    expect(alive(kit, crasher)).toBe(false);
    // Neither the send nor the link left the crashed receive.
    expect(probe.messages).toHaveLength(0);
    expect(kit.envelopes.filter((e) => e.from !== undefined && pidKey(e.from) === pidKey(crasher))).toHaveLength(0);
    expect(alive(kit, target)).toBe(true);
    // The second message was never handled: the process ended with the first error.
    expect(kit.crashes).toHaveLength(1);
  });

  it('keeps the effects of earlier receives in the same turn', () => {
    const kit = kitOf(1);
    const probe = kit.probe();
    const a = actor(kit, 0);
    kit.send(a, { type: 'send', to: probe.pid, msg: 'before' });
    kit.send(a, { type: 'crash', why: 'second message' });
    kit.send(a, { type: 'send', to: probe.pid, msg: 'after' });
    kit.run();
    expect(probe.messages.map((m) => m.payload)).toEqual(['before']);
    expect(kit.deadLetters).toHaveLength(0); // the queued third message died with the mailbox
  });
});

describe.each([
  { where: 'on the same shard', a: 0, b: 0 },
  { where: 'across shards', a: 0, b: 1 },
])('links and monitors $where', ({ a: shardA, b: shardB }) => {
  it('a crash takes a non-trapping linked process with it, with the same reason', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const victim = actor(kit, shardA, { report: probe.pid, name: 'victim', reportTerminate: true });
    const crasher = actor(kit, shardB);
    kit.send(victim, { type: 'link', pid: crasher });
    kit.run();
    kit.send(crasher, { type: 'crash', why: 'boom' });
    kit.run();
    expect(alive(kit, victim)).toBe(false);
    expect(events(probe)).toEqual([{ name: 'victim', event: 'terminate', reason: expect.objectContaining({ message: 'boom' }) as unknown }]);
    expect(kit.crashes.map((c) => pidKey(c.pid)).sort()).toEqual([pidKey(crasher), pidKey(victim)].sort());
    expect(kit.crashes[0]!.reason).toEqual(kit.crashes[1]!.reason);
  });

  it('links both ways: the linked side crashing takes the linker with it', () => {
    const kit = kitOf();
    const linker = actor(kit, shardA);
    const other = actor(kit, shardB);
    kit.send(linker, { type: 'link', pid: other });
    kit.run();
    kit.send(linker, { type: 'crash', why: 'linker fails' });
    kit.run();
    expect(alive(kit, other)).toBe(false);
  });

  it('a trapping linked process gets an Exit message and lives on', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const trapper = actor(kit, shardA, { report: probe.pid, name: 'trapper', trap: true });
    const crasher = actor(kit, shardB);
    kit.send(trapper, { type: 'link', pid: crasher });
    kit.run();
    kit.send(crasher, { type: 'crash', why: 'boom' });
    kit.run();
    expect(alive(kit, trapper)).toBe(true);
    expect(events(probe)).toEqual([{ name: 'trapper', event: 'EXIT', pid: crasher, reason: expect.objectContaining({ message: 'boom' }) as unknown }]);
  });

  it('a normal exit does not end linked processes; trapping ones hear of it', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const plain = actor(kit, shardA);
    const trapper = actor(kit, shardA, { report: probe.pid, name: 'trapper', trap: true });
    const leaver = actor(kit, shardB);
    kit.send(plain, { type: 'link', pid: leaver });
    kit.send(trapper, { type: 'link', pid: leaver });
    kit.run();
    kit.send(leaver, { type: 'exit' });
    kit.run();
    expect(alive(kit, leaver)).toBe(false);
    expect(alive(kit, plain)).toBe(true);
    expect(events(probe)).toEqual([{ name: 'trapper', event: 'EXIT', pid: leaver, reason: 'normal' }]);
    expect(kit.crashes).toHaveLength(0);
  });

  it('an exit with a custom reason ends linked processes with that reason', () => {
    const kit = kitOf();
    const linked = actor(kit, shardA);
    const reason = watch(kit, linked);
    const leaver = actor(kit, shardB);
    kit.send(linked, { type: 'link', pid: leaver });
    kit.run();
    kit.send(leaver, { type: 'exit', reason: 'gave up' });
    kit.run();
    expect(reason()).toBe('gave up');
  });

  it('a monitor gets Down with the reason and its ref; the monitor fires once', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const watcher = actor(kit, shardA, { report: probe.pid, name: 'watcher' });
    const watched = actor(kit, shardB);
    kit.send(watcher, { type: 'monitor', pid: watched });
    kit.send(watcher, { type: 'monitor', pid: watched });
    kit.run();
    const refs = events(probe).flatMap((e) => (e.event === 'monitor' ? [e.ref] : []));
    expect(refs).toHaveLength(2);
    expect(refs[0]).not.toBe(refs[1]);
    probe.messages.length = 0;
    kit.send(watched, { type: 'exit', reason: 'done here' });
    kit.run();
    const downs = events(probe);
    expect(downs).toHaveLength(2);
    expect(downs).toEqual(
      expect.arrayContaining(refs.map((ref) => ({ name: 'watcher', event: 'DOWN', pid: watched, ref, reason: 'done here' }))),
    );
    expect(alive(kit, watcher)).toBe(true);
  });

  it('monitoring a pid that does not exist gives Down noproc', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const watcher = actor(kit, shardA, { report: probe.pid, name: 'watcher' });
    const gone = actor(kit, shardB);
    kit.send(gone, { type: 'exit' });
    kit.run();
    kit.send(watcher, { type: 'monitor', pid: gone });
    kit.run();
    const [monitor, down] = events(probe);
    expect(monitor).toMatchObject({ event: 'monitor' });
    expect(down).toEqual({ name: 'watcher', event: 'DOWN', pid: gone, ref: (monitor as { ref: number }).ref, reason: 'noproc' });
    // A probe's monitor of a missing pid too.
    const reason = watch(kit, gone);
    kit.run();
    expect(reason()).toBe('noproc');
  });

  it('linking to a pid that does not exist gives an exit noproc', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const trapper = actor(kit, shardA, { report: probe.pid, name: 'trapper', trap: true });
    const plain = actor(kit, shardA);
    const plainReason = watch(kit, plain);
    const gone = actor(kit, shardB);
    kit.send(gone, { type: 'exit' });
    kit.run();
    kit.send(trapper, { type: 'link', pid: gone });
    kit.send(plain, { type: 'link', pid: gone });
    kit.run();
    expect(events(probe)).toEqual([{ name: 'trapper', event: 'EXIT', pid: gone, reason: 'noproc' }]);
    expect(plainReason()).toBe('noproc');
  });

  it("'kill' cannot be trapped: the reason becomes 'killed' and links hear 'killed'", () => {
    const kit = kitOf();
    const probe = kit.probe();
    const target = actor(kit, shardA, { trap: true, report: probe.pid, name: 'target', reportTerminate: true });
    const reason = watch(kit, target);
    const friend = actor(kit, shardB, { trap: true, report: probe.pid, name: 'friend' });
    const killer = actor(kit, shardB);
    kit.send(friend, { type: 'link', pid: target });
    kit.run();
    kit.send(killer, { type: 'stop', pid: target, reason: 'kill' });
    kit.run();
    expect(alive(kit, target)).toBe(false);
    expect(reason()).toBe('killed');
    expect(events(probe)).toEqual([
      { name: 'target', event: 'terminate', reason: 'killed' },
      { name: 'friend', event: 'EXIT', pid: target, reason: 'killed' },
    ]);
  });

  it('ctx.stop with another reason is trappable, and ends a non-trapping process', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const trapper = actor(kit, shardA, { trap: true, report: probe.pid, name: 'trapper' });
    const plain = actor(kit, shardA);
    const plainReason = watch(kit, plain);
    const stopper = actor(kit, shardB);
    kit.send(stopper, { type: 'stop', pid: trapper, reason: 'please' });
    kit.send(stopper, { type: 'stop', pid: plain });
    kit.run();
    expect(alive(kit, trapper)).toBe(true);
    expect(events(probe)).toEqual([{ name: 'trapper', event: 'EXIT', pid: stopper, reason: 'please' }]);
    expect(plainReason()).toBe('shutdown');
    // A 'normal' stop request is ignored by a process that does not trap exits.
    const survivor = actor(kit, shardA);
    kit.send(stopper, { type: 'stop', pid: survivor, reason: 'normal' });
    kit.run();
    expect(alive(kit, survivor)).toBe(true);
  });

  it('demonitor stops the Down', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const watcher = actor(kit, shardA, { report: probe.pid, name: 'watcher' });
    const watched = actor(kit, shardB);
    const keptWatch = actor(kit, shardA, { report: probe.pid, name: 'kept' });
    kit.send(watcher, { type: 'monitor', pid: watched });
    kit.send(keptWatch, { type: 'monitor', pid: watched });
    kit.run();
    const ref = (events(probe).find((e) => e.name === 'watcher' && e.event === 'monitor') as { ref: number }).ref;
    kit.send(watcher, { type: 'demonitor', ref });
    kit.run();
    probe.messages.length = 0;
    kit.send(watched, { type: 'crash', why: 'unwatched' });
    kit.run();
    expect(events(probe).map((e) => [e.name, e.event])).toEqual([['kept', 'DOWN']]);
    // The watched side forgot the watcher: no Down was even sent to it.
    expect(kit.envelopes.filter((e) => e.signal === Signal.DOWN && pidKey(e.to) === pidKey(watcher))).toHaveLength(0);
  });

  it('demonitor after the Down was sent still drops it', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const watcher = actor(kit, shardA, { report: probe.pid, name: 'watcher' });
    const watched = actor(kit, shardB);
    kit.send(watcher, { type: 'monitor', pid: watched });
    kit.run();
    const ref = (events(probe)[0] as { ref: number }).ref;
    probe.messages.length = 0;
    // One receive of the watcher kills the watched and demonitors: the Down may be on its way
    // when the demonitor happens, and must not be delivered.
    kit.send(watcher, { type: 'batch', steps: [{ type: 'stop', pid: watched, reason: 'kill' }, { type: 'demonitor', ref }] });
    kit.run();
    expect(alive(kit, watched)).toBe(false);
    expect(events(probe)).toEqual([]);
  });

  it('unlink stops the exit', () => {
    const kit = kitOf();
    const a = actor(kit, shardA);
    const b = actor(kit, shardB);
    kit.send(a, { type: 'link', pid: b });
    kit.run();
    kit.send(a, { type: 'unlink', pid: b });
    kit.run();
    kit.send(b, { type: 'crash', why: 'alone' });
    kit.run();
    expect(alive(kit, a)).toBe(true);
    // and from the other side
    const c = actor(kit, shardB);
    kit.send(a, { type: 'link', pid: c });
    kit.run();
    kit.send(a, { type: 'unlink', pid: c });
    kit.run();
    kit.send(a, { type: 'crash', why: 'alone too' });
    kit.run();
    expect(alive(kit, c)).toBe(true);
    expect(kit.envelopes.filter((e) => e.signal === Signal.EXIT)).toHaveLength(0);
  });

  it('spawn of an unknown kind with link gives the parent an Exit with HORDE_UNKNOWN_KIND', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const parent = actor(kit, shardA, { report: probe.pid, name: 'parent', trap: true });
    kit.send(parent, { type: 'spawn', kind: 'no-such-kind', options: { link: true, shard: shardB } });
    kit.run();
    const [spawned, exit] = events(probe);
    expect(spawned).toMatchObject({ event: 'spawned' });
    const child = (spawned as { pid: Pid }).pid;
    expect(child.shard).toBe(shardB);
    expect(exit).toEqual({
      name: 'parent',
      event: 'EXIT',
      pid: child,
      reason: expect.objectContaining({ code: 'HORDE_UNKNOWN_KIND', message: expect.stringContaining('no-such-kind') as unknown }) as unknown,
    });
    expect(alive(kit, parent)).toBe(true);
    // Without trapping the parent dies of it.
    const plain = actor(kit, shardA);
    const reason = watch(kit, plain);
    kit.send(plain, { type: 'spawn', kind: 'no-such-kind', options: { link: true, shard: shardB } });
    kit.run();
    expect(reason()).toMatchObject({ code: 'HORDE_UNKNOWN_KIND' });
  });

  it('a spawned child whose factory or init throws sends its linked parent the error', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const parent = actor(kit, shardA, { report: probe.pid, name: 'parent', trap: true });
    kit.send(parent, { type: 'spawn', kind: 'failing', options: { link: true, shard: shardB } });
    kit.send(parent, { type: 'spawn', kind: 'bad-init', options: { link: true, shard: shardB } });
    kit.run();
    const exits = events(probe).filter((e) => e.event === 'EXIT');
    expect(exits.map((e) => (e as { reason: { message: string } }).reason.message).sort()).toEqual(['factory refuses', 'init refuses']);
    // Without link, nobody is told but the host.
    const loner = actor(kit, shardA);
    kit.send(loner, { type: 'spawn', kind: 'failing', options: { shard: shardB } });
    kit.run();
    expect(alive(kit, loner)).toBe(true);
    expect(kit.crashes.filter((c) => c.kind === 'failing')).toHaveLength(2);
  });

  it('terminate runs with the reason and its sends are carried out', () => {
    const kit = kitOf();
    const probe = kit.probe();
    const reasons: ExitReason[] = ['shutdown', 'normal', 'custom'];
    const stopper = actor(kit, shardA);
    const targets = reasons.map((_, i) => actor(kit, shardB, { report: probe.pid, name: `t${i}`, reportTerminate: true }));
    kit.send(stopper, { type: 'stop', pid: targets[0]! });
    kit.send(targets[1]!, { type: 'exit' });
    kit.send(targets[2]!, { type: 'exit', reason: 'custom' });
    const crasher = actor(kit, shardB, { report: probe.pid, name: 'crasher', reportTerminate: true });
    kit.send(crasher, { type: 'crash', why: 'terminal' });
    kit.run();
    expect(events(probe)).toEqual(
      expect.arrayContaining([
        { name: 't0', event: 'terminate', reason: 'shutdown' },
        { name: 't1', event: 'terminate', reason: 'normal' },
        { name: 't2', event: 'terminate', reason: 'custom' },
        { name: 'crasher', event: 'terminate', reason: expect.objectContaining({ message: 'terminal' }) as unknown },
      ]),
    );
    expect(probe.messages).toHaveLength(4);
    expect(probe.messages.every((m) => m.from !== undefined && m.from.shard === shardB)).toBe(true);
  });
});

describe('exits, continued', () => {
  it('a terminate that throws is reported, and links and monitors still fire', () => {
    const kit = kitOf(1);
    const probe = kit.probe();
    const bad = kit.spawn('bad-terminate');
    const linked = actor(kit, 0, { report: probe.pid, name: 'linked', trap: true });
    const reason = watch(kit, bad);
    kit.send(linked, { type: 'link', pid: bad });
    kit.run();
    kit.send(bad, 'anything');
    kit.run();
    expect(reason()).toMatchObject({ message: 'receive fails' });
    expect(events(probe)).toEqual([{ name: 'linked', event: 'EXIT', pid: bad, reason: expect.objectContaining({ message: 'receive fails' }) as unknown }]);
    expect(kit.crashes.map((c) => (c.reason as { message: string }).message).sort()).toEqual(['receive fails', 'terminate fails too']);
  });

  it('ctx.exit ends the process after the receive, and what it sent before still goes out', () => {
    const kit = kitOf(1);
    const probe = kit.probe();
    const a = actor(kit, 0, { report: probe.pid, name: 'a', reportTerminate: true });
    kit.send(a, { type: 'batch', steps: [{ type: 'exit', reason: 'bye' }, { type: 'send', to: probe.pid, msg: 'sent after exit() in the same receive' }] });
    kit.send(a, { type: 'send', to: probe.pid, msg: 'never' });
    kit.run();
    expect(probe.messages.map((m) => m.payload)).toEqual(['sent after exit() in the same receive', { name: 'a', event: 'terminate', reason: 'bye' }]);
    expect(alive(kit, a)).toBe(false);
  });

  it('kit.spawn throws to the caller when the factory, the init or the kind fails', () => {
    const kit = kitOf();
    expect(() => kit.spawn('failing')).toThrow('factory refuses');
    expect(() => kit.spawn('bad-init')).toThrow('init refuses');
    expect(() => kit.spawn('no-such-kind')).toThrow(expect.objectContaining({ code: 'HORDE_UNKNOWN_KIND' }));
    // A failed init leaves no process behind.
    expect(kit.shards.reduce((n, shard) => n + shard.stats().processes, 0)).toBe(0);
  });

  it('a chain of 20,000 linked processes dies without overflowing the stack when its head crashes', () => {
    const kit = kitOf(1);
    const report = kit.probe();
    const head = kit.spawn<ChainMsg>('chain', undefined, { shard: 0 });
    kit.send(head, { type: 'build', remaining: 20_000, report: report.pid });
    kit.runUntil(() => report.messages.length > 0);
    const tail = (report.messages[0]!.payload as { built: Pid }).built;
    expect(kit.shards[0]!.stats().processes).toBe(20_001);
    const tailReason = watch(kit, tail);
    kit.send(head, { type: 'crash' });
    kit.run();
    expect(kit.shards[0]!.stats().processes).toBe(0);
    expect(tailReason()).toMatchObject({ message: 'chain head crashed' });
    expect(kit.crashes).toHaveLength(20_001);
  });

  it('a chain linked across shards dies the same way', () => {
    const kit = kitOf(3);
    const report = kit.probe();
    const head = kit.spawn<ChainMsg>('chain', undefined, { shard: 0 });
    kit.send(head, { type: 'build', remaining: 3_000, report: report.pid, shards: 3 });
    kit.runUntil(() => report.messages.length > 0);
    expect(kit.shards.map((s) => s.stats().processes)).toEqual([1_001, 1_000, 1_000]);
    kit.send(head, { type: 'crash' });
    kit.run();
    expect(kit.shards.map((s) => s.stats().processes)).toEqual([0, 0, 0]);
  });

  it('kit.stop ends a linked process with the reason, and a trapping one hears it as an Exit', () => {
    const kit = kitOf(1);
    const probe = kit.probe();
    const a = actor(kit, 0);
    const b = actor(kit, 0, { report: probe.pid, name: 'b', trap: true });
    const reason = watch(kit, a);
    kit.send(a, { type: 'link', pid: b });
    kit.run();
    kit.stop(a, 'enough');
    kit.run();
    expect(reason()).toBe('enough');
    expect(events(probe)).toEqual([{ name: 'b', event: 'EXIT', pid: a, reason: 'enough' }]);
    kit.stop(b);
    kit.run();
    expect(alive(kit, b)).toBe(true); // trapping: the stop is a message
    const exit = events(probe)[1] as { event: string; pid: Pid; reason: ExitReason };
    expect(exit).toMatchObject({ event: 'EXIT', reason: 'shutdown' });
    expect(exit.pid).toEqual(kit.self);
    expect(exit.pid.shard).toBe(MAIN_SHARD);
  });

  it('signals to a process that has ended are dropped, not dead-lettered; messages are dead-lettered', () => {
    const kit = kitOf(1);
    const a = actor(kit, 0);
    kit.send(a, { type: 'exit' });
    kit.run();
    kit.stop(a);
    kit.send(a, { type: 'note', n: 1 });
    kit.run();
    expect(kit.deadLetters.map((d) => d.signal)).toEqual([Signal.USER]);
  });
});

describe('effects of nested callbacks', () => {
  it('a same-shard child with an init runs its init effects as its own, and the parent continues', () => {
    const kit = kitOf(1);
    const probe = kit.probe();
    const parent = actor(kit, 0, { report: probe.pid, name: 'parent' });
    kit.send(parent, {
      type: 'batch',
      steps: [
        { type: 'spawn', kind: 'actor', args: { announce: true, report: probe.pid, name: 'child' } satisfies ActorArgs },
        { type: 'send', to: probe.pid, msg: 'parent goes on' },
      ],
    });
    kit.run();
    const child = (events(probe).find((e) => e.event === 'spawned') as { pid: Pid }).pid;
    const seen = probe.messages.map((m) => [m.from === undefined ? '-' : pidKey(m.from), m.payload]);
    expect(seen).toEqual(
      expect.arrayContaining([
        [pidKey(child), { name: 'child', event: 'init' }],
        [pidKey(parent), { name: 'parent', event: 'spawned', pid: child }],
        [pidKey(parent), 'parent goes on'],
      ]),
    );
    expect(seen).toHaveLength(3);
    // The parent's own effects keep their order.
    expect(seen.filter(([from]) => from === pidKey(parent)).map(([, payload]) => payload)).toEqual([
      { name: 'parent', event: 'spawned', pid: child },
      'parent goes on',
    ]);
    expect(kit.shards[0]!.stats().spawned).toBe(2);
    expect(kit.crashes).toHaveLength(0);
  });

  it.each([
    { where: 'on the same shard', shard: 0 },
    { where: 'on another shard', shard: 1 },
  ])('a message sent to a child right after spawning it $where reaches the child', ({ shard }) => {
    for (let seed = 1; seed <= 10; seed++) {
      const kit = kitOf(2, seed);
      const probe = kit.probe();
      const parent = actor(kit, 0, { report: probe.pid, name: 'parent' });
      for (let n = 0; n < 3; n++) {
        kit.send(parent, {
          type: 'spawn-and-send',
          kind: 'actor',
          args: { report: probe.pid, name: `child${n}`, verbose: true, announce: true } satisfies ActorArgs,
          options: { shard },
          msg: { type: 'note', n } satisfies ActorMsg,
        });
      }
      kit.run();
      expect(kit.deadLetters, `seed ${seed}`).toEqual([]);
      const got = events(probe).filter((e) => e.event === 'got' || e.event === 'init');
      // Each child ran its init, then got its message.
      for (let n = 0; n < 3; n++) {
        expect(got.filter((e) => e.name === `child${n}`).map((e) => e.event)).toEqual(['init', 'got']);
      }
    }
  });

  it('ctx.self stays right for the next message of a turn after a same-shard spawn with init', () => {
    const kit = kitOf(1);
    const probe = kit.probe();
    const parent = actor(kit, 0);
    kit.send(parent, { type: 'spawn', kind: 'actor', args: { announce: true } satisfies ActorArgs });
    kit.send(parent, { type: 'self' }, probe);
    kit.run();
    expect(kit.crashes).toHaveLength(0);
    expect(probe.messages.map((m) => m.payload)).toEqual([parent]);
  });

  it('a same-shard child whose init throws does not discard the rest of the parent outbox', () => {
    const kit = kitOf(1);
    const probe = kit.probe();
    const parent = actor(kit, 0, { report: probe.pid, name: 'parent', trap: true });
    kit.send(parent, {
      type: 'batch',
      steps: [
        { type: 'spawn', kind: 'bad-init', options: { link: true } },
        { type: 'send', to: probe.pid, msg: 'after the spawn' },
      ],
    });
    kit.run();
    const got = events(probe);
    expect(got.map((e) => (typeof e === 'string' ? e : e.event))).toEqual(['spawned', 'after the spawn', 'EXIT']);
    expect(got[2]).toMatchObject({ reason: { message: 'init refuses' } });
  });

  it('a terminate run while the parent outbox is carried out sends as the ended process', () => {
    const kit = kitOf(1);
    const probe = kit.probe();
    const parent = actor(kit, 0);
    const victim = actor(kit, 0, { report: probe.pid, name: 'victim', reportTerminate: true });
    kit.send(parent, {
      type: 'batch',
      steps: [
        { type: 'stop', pid: victim, reason: 'kill' },
        { type: 'spawn', kind: 'counter' },
        { type: 'send', to: probe.pid, msg: 'from the parent' },
      ],
    });
    kit.run();
    const from = probe.messages.map((m) => [pidKey(m.from!), m.payload]);
    expect(from).toEqual(
      expect.arrayContaining([
        [pidKey(victim), { name: 'victim', event: 'terminate', reason: 'killed' }],
        [pidKey(parent), 'from the parent'],
      ]),
    );
    expect(from).toHaveLength(2);
    expect(kit.shards[0]!.stats().spawned).toBe(3);
  });
});

describe('fair scheduling', () => {
  it('a flooding process does not starve a counter on its shard: asks are answered in a few steps', () => {
    const kit = kitOf(2, 3);
    const flooder = kit.spawn<{ type: 'go' }>('flooder', undefined, { shard: 0 });
    const counter = kit.spawn<CounterMsg>('counter', undefined, { shard: 0 });
    kit.send(flooder, { type: 'go' });
    for (let i = 0; i < 50; i++) kit.step();
    const probe = kit.probe();
    const handledBefore = kit.shards[0]!.stats().messagesHandled;
    let worst = 0;
    for (let i = 1; i <= 30; i++) {
      kit.send(counter, { type: 'inc' });
      kit.send(counter, { type: 'get' }, probe);
      worst = Math.max(worst, kit.runUntil(() => probe.messages.length === i, 100));
      expect(probe.messages[i - 1]!.payload).toBe(i);
    }
    // The flooder never runs out of work; without fair turns the counter would never run.
    expect(worst).toBeLessThanOrEqual(40);
    // Meanwhile the flooder kept going.
    expect(kit.shards[0]!.stats().messagesHandled - handledBefore).toBeGreaterThan(30 * 64);
  });

  it('a turn spends at most `budget` units (a message handled and each effect recorded), then the next process runs', () => {
    const kit = kitOf(1, 1, 3);
    const probe = kit.probe();
    const a = kit.spawn<TallyMsg>('tally', { name: 'A', report: probe.pid });
    const b = kit.spawn<TallyMsg>('tally', { name: 'B', report: probe.pid });
    const feeder = kit.spawn<TallyMsg>('tally', { name: 'feeder', report: probe.pid });
    kit.send(feeder, { type: 'feed', to: [a, b], count: 7 });
    kit.run();
    const seen = probe.messages.map((m) => {
      const { name, n } = m.payload as { name: string; n: number };
      return `${name}${n}`;
    });
    // Each tally message costs 2 units (handling it, and the report it sends): with a budget of 3 a
    // turn handles two messages.
    expect(seen).toEqual(['A0', 'A1', 'B0', 'B1', 'A2', 'A3', 'B2', 'B3', 'A4', 'A5', 'B4', 'B5', 'A6', 'B6']);
  });

  it('system messages overtake a backlog of 10,000 user messages (same shard)', () => {
    const kit = kitOf(1);
    const sink = kit.spawn<SinkMsg>('sink');
    const victim = actor(kit, 0);
    const feeder = kit.spawn<FeederMsg>('feeder');
    kit.send(sink, { type: 'watch', pid: victim });
    kit.run();
    kit.send(feeder, { type: 'flood', to: sink, n: 10_000, kill: victim });
    kit.run();
    const stats = kit.ask<SinkStats>(sink, { type: 'stats' });
    expect(stats.handled).toBe(10_000);
    expect(stats.downReason).toBe('killed');
    expect(stats.handledBeforeDown).toBe(0);
  });

  it('system messages overtake a backlog of 10,000 user messages (from another shard)', () => {
    const kit = kitOf(2, 5);
    const sink = kit.spawn<SinkMsg>('sink', undefined, { shard: 0 });
    const victim = actor(kit, 1);
    const feeder = kit.spawn<FeederMsg>('feeder', undefined, { shard: 0 });
    kit.send(sink, { type: 'watch', pid: victim });
    kit.run();
    kit.send(feeder, { type: 'flood', to: sink, n: 10_000, kill: victim });
    kit.run();
    const stats = kit.ask<SinkStats>(sink, { type: 'stats' });
    expect(stats.handled).toBe(10_000);
    expect(stats.downReason).toBe('killed');
    // The Down crossed two channels while the sink worked; it still came before most of the backlog.
    expect(stats.handledBeforeDown).toBeLessThan(1_000);
  });
});

// ---- the Shard on its own, with a host the test controls ----------------------------------------

interface Routed {
  signal: Signal;
  to: Pid;
  from: Pid | undefined;
  payload: unknown;
}

class TestHost implements ShardHost {
  time = 0;
  readonly congested = new Set<number>();
  readonly routed: Routed[] = [];
  readonly dead: Routed[] = [];
  readonly crashes: { pid: Pid; kind: string; reason: ExitReason }[] = [];
  now(): number {
    return this.time;
  }
  elapsedMs(): number {
    return this.time;
  }
  /** Congestion is per destination shard: the shard number is the id resume() takes. */
  route(signal: Signal, to: Pid, from: Pid | undefined, _ref: number, payload: unknown): number {
    this.routed.push({ signal, to, from, payload });
    return this.congested.has(to.shard) ? to.shard : ROUTE_ACCEPTED;
  }
  deadLetter(signal: Signal, to: Pid, from: Pid | undefined, payload: unknown): void {
    this.dead.push({ signal, to, from, payload });
  }
  crashed(p: Pid, kind: string, reason: ExitReason): void {
    this.crashes.push({ pid: p, kind, reason });
  }
  pushed(from: Pid): unknown[] {
    return this.routed.filter((r) => r.from !== undefined && pidKey(r.from) === pidKey(from)).map((r) => (r.payload as { pushed: number }).pushed);
  }
}

function shardWith(budget = 64): { host: TestHost; shard: Shard; start: (kind: string, args?: unknown) => Pid } {
  const host = new TestHost();
  const shard = new Shard(host, unitBehaviours, { node: 0, shard: 0, spawnerId: 1, budget });
  return {
    host,
    shard,
    start: (kind, args) => {
      const p = shard.allocatePid();
      shard.spawn(p, { kind, args });
      return p;
    },
  };
}

const tick = (shard: Shard, to: Pid, n: number): void => shard.deliver(Signal.USER, to, undefined, 0, { type: 'tick', n } satisfies PusherMsg);

describe('Shard turns', () => {
  it('runTurns(1) handles exactly `budget` messages of one process', () => {
    const { shard, start } = shardWith(4);
    const counter = start('counter');
    for (let i = 0; i < 10; i++) shard.deliver(Signal.USER, counter, undefined, 0, { type: 'inc' });
    expect(shard.stats().queuedMessages).toBe(10);
    expect(shard.runTurns(1)).toBe(4);
    expect(shard.stats().queuedMessages).toBe(6);
    expect(shard.runTurns(1)).toBe(4);
    expect(shard.runTurns(1)).toBe(2);
    expect(shard.hasWork()).toBe(false);
    expect(shard.runTurns(10)).toBe(0);
  });

  it('a counter behind a flooder is answered after at most one flooder turn', () => {
    const { host, shard, start } = shardWith(8);
    const flooder = start('flooder');
    const counter = start('counter');
    const asker = pid(0, 5, 1);
    shard.deliver(Signal.USER, flooder, undefined, 0, { type: 'go' });
    shard.runTurns(3);
    for (let i = 0; i < 20; i++) {
      shard.deliver(Signal.USER, counter, asker, i, { type: 'get' });
      let turns = 0;
      while (host.routed.length === i) {
        expect(shard.runTurns(1)).toBeLessThanOrEqual(8);
        turns++;
      }
      expect(turns).toBeLessThanOrEqual(2);
      expect(host.routed[i]).toMatchObject({ to: asker, payload: 0 });
    }
    expect(shard.hasWork()).toBe(true);
  });

  it('stopAll ends every process with the reason, running terminate', () => {
    const { host, shard, start } = shardWith();
    const report = pid(0, 7, 99);
    const a = start('actor', { report, name: 'a', reportTerminate: true } satisfies ActorArgs);
    start('actor', { report, name: 'b', reportTerminate: true } satisfies ActorArgs);
    expect(shard.has(a)).toBe(true);
    expect(shard.kindOf(a)).toBe('actor');
    shard.stopAll('shutdown');
    expect(shard.stats().processes).toBe(0);
    expect(host.routed.map((r) => r.payload)).toEqual([
      { name: 'a', event: 'terminate', reason: 'shutdown' },
      { name: 'b', event: 'terminate', reason: 'shutdown' },
    ]);
  });
});

describe('Shard back pressure', () => {
  it('parks a sender whose destination is congested until resume, while others keep running', () => {
    const { host, shard, start } = shardWith();
    const blockedTarget = pid(0, 1, 12345);
    const freeTarget = pid(0, 2, 777);
    const p = start('pusher', { target: blockedTarget });
    const q = start('pusher', { target: freeTarget });
    for (let n = 0; n < 5; n++) tick(shard, p, n);
    for (let n = 0; n < 5; n++) tick(shard, q, n);
    host.congested.add(1);

    shard.runTurns(100);
    // p sent once (the host took the envelope and said "congested"), then stopped running.
    expect(host.pushed(p)).toEqual([0]);
    expect(host.pushed(q)).toEqual([0, 1, 2, 3, 4]);
    expect(shard.stats().blockedProcesses).toBe(1);
    expect(shard.hasWork()).toBe(false);

    // New messages do not wake it, nor does another destination's resume.
    tick(shard, p, 5);
    tick(shard, q, 5);
    shard.runTurns(100);
    shard.resume(2);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0]);
    expect(host.pushed(q)).toEqual([0, 1, 2, 3, 4, 5]);

    // Still congested: after resume it sends one more and parks again.
    shard.resume(1);
    expect(shard.hasWork()).toBe(true);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0, 1]);
    expect(shard.stats().blockedProcesses).toBe(1);

    host.congested.clear();
    shard.resume(1);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(shard.stats().blockedProcesses).toBe(0);
    expect(shard.hasWork()).toBe(false);
  });

  it('parks a process whose init sent to a congested destination, and resume runs it', () => {
    const { host, shard, start } = shardWith();
    host.congested.add(1);
    const p = start('pusher', { target: pid(0, 1, 12345), pushOnInit: true });
    expect(host.pushed(p)).toEqual([-1]);
    expect(shard.stats().blockedProcesses).toBe(1);
    tick(shard, p, 0);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([-1]);
    host.congested.clear();
    shard.resume(1);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([-1, 0]);
    expect(shard.stats().blockedProcesses).toBe(0);
  });

  it('a sender parked on its last message runs again after resume', () => {
    const { host, shard, start } = shardWith();
    const p = start('pusher', { target: pid(0, 1, 12345) });
    host.congested.add(1);
    tick(shard, p, 0);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0]);
    expect(shard.stats().blockedProcesses).toBe(1);
    // While parked and idle, a message arrives: it waits.
    tick(shard, p, 1);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0]);
    host.congested.clear();
    shard.resume(1);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0, 1]);
    // Resumed while idle, then a message: it runs.
    host.congested.add(1);
    tick(shard, p, 2);
    shard.runTurns(100);
    host.congested.clear();
    shard.resume(1);
    shard.runTurns(100);
    tick(shard, p, 3);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0, 1, 2, 3]);
    expect(shard.stats().blockedProcesses).toBe(0);
  });

  it('a resume between two single turns is not lost', () => {
    const { host, shard, start } = shardWith();
    const p = start('pusher', { target: pid(0, 1, 12345) });
    host.congested.add(1);
    tick(shard, p, 0);
    tick(shard, p, 1);
    shard.runTurns(1); // p sends 0 and parks with work left
    host.congested.clear();
    shard.resume(1);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0, 1]);
  });

  it('a parked process can still be ended; resume does not revive it', () => {
    const { host, shard, start } = shardWith();
    const p = start('pusher', { target: pid(0, 1, 12345) });
    host.congested.add(1);
    tick(shard, p, 0);
    tick(shard, p, 1);
    shard.runTurns(100);
    shard.deliver(Signal.EXIT, p, pid(0, 3, 1), 0, 'kill');
    shard.runTurns(100);
    expect(shard.has(p)).toBe(false);
    expect(host.crashes.map((c) => c.reason)).toEqual(['killed']);
    host.congested.clear();
    shard.resume(1);
    shard.runTurns(100);
    expect(host.pushed(p)).toEqual([0]);
    expect(shard.stats().blockedProcesses).toBe(0);
  });
});

describe('a mailbox at its limit', () => {
  it('dead-letters the message that finds it full and ends the process with mailbox_overflow', () => {
    const kit = new TestKit({ behaviours: unitBehaviours, shards: 1, seed: 1, mailboxLimit: 10 });
    const counter = kit.spawn<CounterMsg>('counter', undefined, { shard: 0 });
    const reasonOf = watch(kit, counter);
    kit.run();
    // Delivered straight into the shard, no turn in between: the 11th and 12th find it full.
    for (let i = 0; i < 12; i++) kit.shards[0]!.deliver(Signal.USER, counter, undefined, 0, { type: 'inc' });
    kit.run();
    expect(reasonOf()).toBe('mailbox_overflow');
    expect(kit.deadLetters.filter((d) => d.signal === Signal.USER)).toHaveLength(2);
    expect(alive(kit, counter)).toBe(false);
  });
});
