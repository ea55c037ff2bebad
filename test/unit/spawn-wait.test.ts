// Envelopes that reach a shard before the SPAWN of their process (it comes from another shard on
// another ring) wait for it instead of becoming dead letters; see src/executor/spawn-wait.ts.
import { describe, expect, it } from 'vitest';
import { Signal } from '../../src/codec/envelope.js';
import { ROUTE_ACCEPTED, Shard, type ShardHost } from '../../src/executor/shard.js';
import { HOLD_LIMIT, HOLD_MS, SpawnWait, type SpawnFloors } from '../../src/executor/spawn-wait.js';
import { MAIN_SPAWNER, pid, serialFromParts, type Pid } from '../../src/process/pid.js';
import { defineBehaviours, type Context, type Process, type SystemMessage } from '../../src/process/types.js';
import { TestKit } from '../../src/testkit/testkit.js';

const OWN = 3;
const OTHER = 7;

interface Routed {
  signal: Signal;
  to: Pid;
  ref: number;
  payload: unknown;
}

function testHost(): ShardHost & { time: number; dead: { signal: Signal; to: Pid; payload: unknown }[]; routed: Routed[] } {
  const host = {
    time: 1_000,
    dead: [] as { signal: Signal; to: Pid; payload: unknown }[],
    routed: [] as Routed[],
    now: () => host.time,
    elapsedMs: () => host.time,
    route: (signal: Signal, to: Pid, _from: Pid | undefined, ref: number, payload: unknown) => {
      host.routed.push({ signal, to, ref, payload });
      return ROUTE_ACCEPTED;
    },
    deadLetter: (signal: Signal, to: Pid, _from: Pid | undefined, payload: unknown) => {
      host.dead.push({ signal, to, payload });
    },
    crashed: () => undefined,
  };
  return host;
}

/** Keeps every user message it gets; 'die' ends it with an error. */
class Keeper implements Process<string> {
  static last: Keeper | undefined;
  readonly seen: string[] = [];
  constructor() {
    Keeper.last = this;
  }
  receive(msg: string | SystemMessage): void {
    if (msg === 'die') throw new Error('asked to');
    if (typeof msg === 'string') this.seen.push(msg);
  }
  init(_ctx: Context<string>): void {}
}

/** Sends `msg` to `to` when asked: a sender on the awaiting shard itself. */
class Relay implements Process<{ to: Pid; msg: string }> {
  receive(msg: { to: Pid; msg: string } | SystemMessage, ctx: Context<{ to: Pid; msg: string }>): void {
    if ('to' in msg) ctx.send(msg.to as Pid<string>, msg.msg);
  }
}

const behaviours = defineBehaviours({ keeper: () => new Keeper(), relay: () => new Relay() });
/** A process on another shard that watches ours. */
const watcher = pid(0, 1, serialFromParts(OTHER, 1000));
const sender = pid(0, 1, serialFromParts(OTHER, 1001));

function shardWith(host: ShardHost, spawnFloors?: SpawnFloors): Shard {
  return new Shard(host, behaviours, { node: 0, shard: 0, spawnerId: OWN, ...(spawnFloors === undefined ? {} : { spawnFloors }) });
}

/** Pid `index` of allocator `stream`, on shard 0. */
function child(stream: number, index: number): Pid {
  return pid(0, 0, serialFromParts(stream, index));
}

function spawnArrives(shard: Shard, target: Pid): void {
  shard.deliver(Signal.SPAWN, target, sender, 0, { kind: 'keeper', args: undefined });
}

describe('SpawnWait', () => {
  it('awaits pids above their allocator\'s frontier, never its own or the main thread\'s', () => {
    const wait = new SpawnWait(OWN);
    expect(wait.mayArrive(serialFromParts(OTHER, 1))).toBe(true);
    expect(wait.mayArrive(serialFromParts(OWN, 1))).toBe(false);
    expect(wait.mayArrive(serialFromParts(MAIN_SPAWNER, 1))).toBe(false);
    expect(wait.arrived(serialFromParts(OTHER, 5))).toBeUndefined();
    expect(wait.mayArrive(serialFromParts(OTHER, 4))).toBe(false);
    expect(wait.mayArrive(serialFromParts(OTHER, 5))).toBe(false);
    expect(wait.mayArrive(serialFromParts(OTHER, 6))).toBe(true);
    // Long-form allocator ids split the same way.
    expect(wait.mayArrive(serialFromParts(70_000, 2))).toBe(true);
    wait.arrived(serialFromParts(70_000, 2));
    expect(wait.mayArrive(serialFromParts(70_000, 2))).toBe(false);
  });

  it('follows the floors of a replacement: listed allocators from their counter, gone ones never', () => {
    const wait = new SpawnWait(12, { floorsBelow: 12, floors: [[OTHER, 3]] });
    expect(wait.mayArrive(serialFromParts(OTHER, 3))).toBe(false);
    expect(wait.mayArrive(serialFromParts(OTHER, 4))).toBe(true);
    expect(wait.mayArrive(serialFromParts(8, 1))).toBe(false);
    expect(wait.mayArrive(serialFromParts(13, 1))).toBe(true);
  });

  it('hands back what waited in arrival order and expires the rest at their deadline', () => {
    const wait = new SpawnWait(OWN);
    const a = child(OTHER, 1);
    const b = child(OTHER, 2);
    const held = (to: Pid, payload: string) => ({ signal: Signal.USER, to, from: undefined, ref: 0, payload });
    expect(wait.hold(held(a, 'a1'), 0)).toBe(true);
    expect(wait.hold(held(b, 'b1'), 10)).toBe(true);
    expect(wait.hold(held(a, 'a2'), 20)).toBe(true);
    expect(wait.size).toBe(3);
    expect(wait.nextDeadline()).toBe(HOLD_MS);
    expect(wait.arrived(a.serial)?.map((envelope) => envelope.payload)).toEqual(['a1', 'a2']);
    expect(wait.nextDeadline()).toBe(10 + HOLD_MS);
    expect(wait.expire(10 + HOLD_MS - 1)).toEqual([]);
    expect(wait.expire(10 + HOLD_MS).map((envelope) => envelope.payload)).toEqual(['b1']);
    expect(wait.size).toBe(0);
    expect(wait.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
  });

  it('holds at most HOLD_LIMIT envelopes, and many released pids do not hide an old one', () => {
    const wait = new SpawnWait(OWN);
    const envelope = (index: number) => ({ signal: Signal.USER, to: child(OTHER, index), from: undefined, ref: 0, payload: index });
    expect(wait.hold(envelope(1), 0)).toBe(true);
    // Three limits' worth of pids wait and are released again, one after another.
    for (let index = 2; index < 3 * HOLD_LIMIT; index++) {
      expect(wait.hold(envelope(index), 1)).toBe(true);
      expect(wait.arrived(serialFromParts(OTHER, index))).toHaveLength(1);
    }
    expect(wait.size).toBe(1);
    for (let index = 0; index < HOLD_LIMIT - 1; index++) expect(wait.hold(envelope(1_000_000 + index), 2)).toBe(true);
    expect(wait.hold(envelope(2_000_000), 2)).toBe(false);
    expect(wait.size).toBe(HOLD_LIMIT);
    expect(wait.expire(HOLD_MS).map((held) => held.payload)).toEqual([1]);
    expect(wait.expire(2 + HOLD_MS)).toHaveLength(HOLD_LIMIT - 1);
    expect(wait.size).toBe(0);
  });
});

describe('a shard and spawns still on their way', () => {
  it('answers in the testkit too, once HOLD_MS has passed on its clock', () => {
    const kit = new TestKit({ behaviours, shards: 2 });
    // A pid on shard 1 from shard 0's allocator whose SPAWN never comes.
    const ghost = pid(0, 1, serialFromParts(kit.shards[0]!.spawnerId, 50));
    const probe = kit.probe();
    kit.monitor(probe, ghost);
    kit.run();
    expect(kit.shards[1]!.stats().awaitingSpawn).toBe(1);
    expect(probe.messages).toEqual([]);
    kit.advance(HOLD_MS);
    kit.run();
    expect(kit.shards[1]!.stats().awaitingSpawn).toBe(0);
    expect(probe.messages.map((m) => [m.signal, m.payload])).toEqual([[Signal.DOWN, 'noproc']]);
  });

  it('delivers messages and a monitor that came before the SPAWN once it arrives, in order', () => {
    const host = testHost();
    const shard = shardWith(host);
    const target = child(OTHER, 1);
    shard.deliver(Signal.USER, target, sender, 0, 'first');
    shard.deliver(Signal.MONITOR, target, watcher, 42, undefined);
    shard.deliver(Signal.USER, target, sender, 0, 'second');
    shard.runTurns(100);
    expect(host.dead).toEqual([]);
    expect(host.routed).toEqual([]);
    expect(shard.stats().awaitingSpawn).toBe(3);
    spawnArrives(shard, target);
    shard.deliver(Signal.USER, target, sender, 0, 'third');
    shard.runTurns(100);
    expect(Keeper.last!.seen).toEqual(['first', 'second', 'third']);
    expect(shard.stats().awaitingSpawn).toBe(0);
    // The monitor was set up: the process's end reaches the watcher.
    shard.deliver(Signal.USER, target, sender, 0, 'die');
    shard.runTurns(100);
    expect(host.routed).toHaveLength(1);
    expect(host.routed[0]).toMatchObject({ signal: Signal.DOWN, to: watcher, ref: 42, payload: { message: 'asked to' } });
    expect(host.dead).toEqual([]);
  });

  it('answers what waited as missing when the SPAWN does not come within HOLD_MS', () => {
    const host = testHost();
    const shard = shardWith(host);
    const target = child(OTHER, 9);
    shard.deliver(Signal.USER, target, sender, 0, 'lost');
    shard.deliver(Signal.MONITOR, target, watcher, 7, undefined);
    shard.runTurns(100);
    expect(shard.nextSpawnWaitDeadline()).toBe(1_000 + HOLD_MS);
    host.time += HOLD_MS - 1;
    shard.runTurns(100);
    expect(host.dead).toEqual([]);
    host.time += 1;
    shard.runTurns(100);
    expect(host.dead).toEqual([{ signal: Signal.USER, to: target, payload: 'lost' }]);
    expect(host.routed).toEqual([{ signal: Signal.DOWN, to: watcher, ref: 7, payload: 'noproc' }]);
    expect(shard.nextSpawnWaitDeadline()).toBe(Number.POSITIVE_INFINITY);
  });

  it('answers at once for a process that existed, and for pids of its own or the main thread\'s allocator', () => {
    const host = testHost();
    const shard = shardWith(host);
    const gone = child(OTHER, 2);
    spawnArrives(shard, gone);
    shard.deliver(Signal.USER, gone, sender, 0, 'die');
    shard.runTurns(100);
    const earlier = child(OTHER, 1);
    const own = child(OWN, 50);
    const mains = child(MAIN_SPAWNER, 50);
    for (const target of [gone, earlier, own, mains]) shard.deliver(Signal.USER, target, sender, 0, 'late');
    shard.deliver(Signal.MONITOR, gone, watcher, 5, undefined);
    shard.runTurns(100);
    expect(host.dead.map((letter) => letter.to)).toEqual([gone, earlier, own, mains]);
    expect(host.routed).toEqual([{ signal: Signal.DOWN, to: watcher, ref: 5, payload: 'noproc' }]);
    expect(shard.stats().awaitingSpawn).toBe(0);
  });

  it('answers at once for a replacement\'s pids that its predecessor held, and past HOLD_LIMIT', () => {
    const host = testHost();
    const shard = shardWith(host, { floorsBelow: 10, floors: [[OTHER, 100]] });
    shard.deliver(Signal.USER, child(OTHER, 100), sender, 0, 'predecessor');
    shard.deliver(Signal.USER, child(9, 1), sender, 0, 'gone allocator');
    expect(host.dead.map((letter) => letter.payload)).toEqual(['predecessor', 'gone allocator']);
    for (let index = 0; index < HOLD_LIMIT; index++) shard.deliver(Signal.USER, child(OTHER, 101 + index), sender, 0, 'waits');
    shard.deliver(Signal.USER, child(OTHER, 101 + HOLD_LIMIT), sender, 0, 'over the limit');
    expect(host.dead.map((letter) => letter.payload)).toEqual(['predecessor', 'gone allocator', 'over the limit']);
    expect(shard.stats().awaitingSpawn).toBe(HOLD_LIMIT);
  });

  it('holds a message from a process of the awaiting shard itself, in order with the others', () => {
    const host = testHost();
    const shard = shardWith(host);
    const relay = child(MAIN_SPAWNER, 1);
    shard.spawn(relay, { kind: 'relay', args: undefined });
    const target = child(OTHER, 1);
    shard.deliver(Signal.USER, target, sender, 0, 'from another shard');
    shard.runTurns(100);
    shard.deliver(Signal.USER, relay, sender, 0, { to: target, msg: 'from this shard' });
    shard.runTurns(100);
    spawnArrives(shard, target);
    shard.runTurns(100);
    expect(host.dead).toEqual([]);
    expect(Keeper.last!.seen).toEqual(['from another shard', 'from this shard']);
  });

  it('at the limit, gives up on the pid whole: a held LINK is answered noproc with its refused UNLINK', () => {
    const host = testHost();
    const shard = shardWith(host);
    for (let index = 0; index < HOLD_LIMIT - 1; index++) shard.deliver(Signal.USER, child(OTHER, 100 + index), sender, 0, 'waits');
    const target = child(OTHER, 1);
    shard.deliver(Signal.LINK, target, watcher, 0, undefined);
    shard.deliver(Signal.UNLINK, target, watcher, 0, undefined);
    shard.runTurns(100);
    expect(host.routed).toEqual([{ signal: Signal.EXIT, to: watcher, ref: 0, payload: 'noproc' }]);
    expect(shard.stats().awaitingSpawn).toBe(HOLD_LIMIT - 1);
    // The process comes after all, unlinked: its crash reaches no one.
    spawnArrives(shard, target);
    shard.deliver(Signal.USER, target, sender, 0, 'die');
    shard.runTurns(100);
    expect(host.routed).toHaveLength(1);
  });

  it('answers what waited as missing when the SPAWN fails', () => {
    const host = testHost();
    const shard = shardWith(host);
    const target = child(OTHER, 3);
    shard.deliver(Signal.LINK, target, watcher, 0, undefined);
    shard.runTurns(100);
    shard.deliver(Signal.SPAWN, target, sender, 0, { kind: 'no-such-kind', args: undefined });
    shard.runTurns(100);
    expect(host.routed).toEqual([{ signal: Signal.EXIT, to: watcher, ref: 0, payload: 'noproc' }]);
  });
});
