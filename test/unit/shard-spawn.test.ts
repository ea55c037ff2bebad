import { describe, expect, it } from 'vitest';
import { ROUTE_ACCEPTED, Shard, type ShardHost } from '../../src/executor/shard.js';
import { Signal } from '../../src/codec/envelope.js';
import { pid, samePid, type Pid } from '../../src/process/pid.js';
import { defineBehaviours, type Context, type ExitReason, type Process, type SystemMessage } from '../../src/process/types.js';

/** A host that keeps what leaves the shard: dead letters, crashes, and routed envelopes. */
function recordingHost(): ShardHost & { dead: unknown[]; crashes: { pid: Pid; reason: ExitReason }[]; routed: { signal: Signal; to: Pid; payload: unknown }[] } {
  const host = {
    dead: [] as unknown[],
    crashes: [] as { pid: Pid; reason: ExitReason }[],
    routed: [] as { signal: Signal; to: Pid; payload: unknown }[],
    now: () => 0,
    elapsedMs: () => 0,
    route: (signal: Signal, to: Pid, _from: Pid | undefined, _ref: number, payload: unknown) => {
      host.routed.push({ signal, to, payload });
      return ROUTE_ACCEPTED;
    },
    deadLetter: (signal: Signal, to: Pid, _from: Pid | undefined, payload: unknown) => {
      host.dead.push({ signal, to, payload });
    },
    crashed: (p: Pid, _kind: string, reason: ExitReason) => {
      host.crashes.push({ pid: p, reason });
    },
  };
  return host;
}

type SpawnerMsg = { spawn: number; then?: unknown } | 'report';

/** Spawns `spawn` idle children on its own shard, then sends each `then` (if given) at once. */
class Spawner implements Process<SpawnerMsg> {
  readonly children: Pid[] = [];
  receive(msg: SpawnerMsg | SystemMessage, ctx: Context<SpawnerMsg>): void {
    if (msg === 'report' || !('spawn' in msg)) return;
    for (let i = 0; i < msg.spawn; i++) {
      const child = ctx.spawn('idle');
      this.children.push(child);
      if (msg.then !== undefined) ctx.send(child, msg.then);
    }
  }
}

/** Answers `who` with its own pid, `count` with how many messages it had. */
class Idle implements Process<unknown> {
  handled = 0;
  receive(msg: unknown, ctx: Context<unknown>): void {
    this.handled++;
    if (msg === 'who') ctx.send(ctx.from!, ctx.self);
  }
}

/** Its terminate calls ctx.exit (which must change nothing) and sends one message. */
class ExitsInTerminate implements Process<unknown> {
  receive(): void {}
  terminate(_reason: ExitReason, ctx: Context<unknown>): void {
    ctx.exit('again');
    ctx.send(ctx.self, 'never read');
  }
}

/** Sends `msg.to` a message on every message it gets. */
class Relay implements Process<{ to: Pid }> {
  receive(msg: { to: Pid } | SystemMessage, ctx: Context<{ to: Pid }>): void {
    if ('to' in msg) ctx.send(msg.to, 'relayed');
  }
}

const spawners: Spawner[] = [];
const idles: Idle[] = [];
const behaviours = defineBehaviours({
  spawner: () => {
    const s = new Spawner();
    spawners.push(s);
    return s;
  },
  idle: () => {
    const i = new Idle();
    idles.push(i);
    return i;
  },
  'exits-in-terminate': () => new ExitsInTerminate(),
  relay: () => new Relay(),
});

function drain(shard: Shard): void {
  for (let i = 0; i < 1_000_000 && shard.hasWork(); i++) shard.runTurns(1_000);
  expect(shard.hasWork()).toBe(false);
}

describe('Shard spawning', () => {
  it('spawns 100,000 local processes; each gets the message sent right after its spawn, and all stop', () => {
    spawners.length = 0;
    idles.length = 0;
    const host = recordingHost();
    const shard = new Shard(host, behaviours, { node: 0, shard: 3, spawnerId: 5 });
    const parent = shard.allocatePid();
    shard.spawn(parent, { kind: 'spawner', args: undefined });
    // Messages sent right after each spawn, in the same receive, reach the child (not dead letters).
    for (let chunk = 0; chunk < 10; chunk++) {
      shard.deliver(Signal.USER, parent, undefined, 0, { spawn: 10_000, then: 'hello' });
      drain(shard);
    }
    expect(shard.stats().processes).toBe(100_001);
    expect(host.dead).toEqual([]);
    expect(idles.every((i) => i.handled === 1)).toBe(true);
    const children = spawners[0]!.children;
    expect(new Set(children.map((c) => c.serial)).size).toBe(100_000);
    for (const child of children) expect(shard.has(child)).toBe(true);
    shard.stopAll('shutdown');
    expect(shard.stats().processes).toBe(0);
    expect(host.crashes).toEqual([]);
  });

  it("a child's ctx.self is the very pid its parent's ctx.spawn returned", () => {
    const host = recordingHost();
    const shard = new Shard(host, behaviours, { node: 2, shard: 1, spawnerId: 70 });
    const parent = shard.allocatePid();
    spawners.length = 0;
    shard.spawn(parent, { kind: 'spawner', args: undefined });
    shard.deliver(Signal.USER, parent, undefined, 0, { spawn: 3 });
    drain(shard);
    const outside = pid(2, 9, 1);
    for (const child of spawners[0]!.children) shard.deliver(Signal.USER, child, outside, 0, 'who');
    drain(shard);
    expect(host.routed).toHaveLength(3);
    host.routed.forEach(({ signal, to, payload }, k) => {
      expect(signal).toBe(Signal.USER);
      expect(samePid(to, outside)).toBe(true);
      expect(samePid(payload as Pid, spawners[0]!.children[k]!)).toBe(true);
    });
  });

  it('a ctx.exit recorded in terminate does not end the next process that records effects', () => {
    const host = recordingHost();
    const shard = new Shard(host, behaviours, { node: 0, shard: 0, spawnerId: 1 });
    const quitter = shard.allocatePid();
    shard.spawn(quitter, { kind: 'exits-in-terminate', args: undefined });
    const relay = shard.allocatePid();
    shard.spawn(relay, { kind: 'relay', args: undefined });
    const sink = pid(0, 7, 1);
    shard.deliver(Signal.KILL, quitter, undefined, 0, 'shutdown');
    drain(shard);
    expect(shard.has(quitter)).toBe(false);
    shard.deliver(Signal.USER, relay, undefined, 0, { to: sink });
    shard.deliver(Signal.USER, relay, undefined, 0, { to: sink });
    drain(shard);
    expect(shard.has(relay)).toBe(true);
    expect(host.routed.filter((r) => samePid(r.to, sink))).toHaveLength(2);
  });

  it('a kind named like an Object.prototype property is unknown, not a factory', () => {
    const shard = new Shard(recordingHost(), behaviours, { node: 0, shard: 0, spawnerId: 1 });
    for (const kind of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(() => shard.spawn(shard.allocatePid(), { kind, args: undefined })).toThrow(expect.objectContaining({ code: 'HORDE_UNKNOWN_KIND' }));
    }
    expect(shard.stats().processes).toBe(0);
  });

  it('a spawn for another shard travels as a SPAWN request with kind, args and link', () => {
    const host = recordingHost();
    const shard = new Shard(host, defineBehaviours({ remote: () => new RemoteSpawner() }), { node: 0, shard: 0, spawnerId: 1 });
    const parent = shard.allocatePid();
    shard.spawn(parent, { kind: 'remote', args: undefined });
    shard.deliver(Signal.USER, parent, undefined, 0, 'go');
    drain(shard);
    expect(host.routed.map((r) => [r.signal, r.to.shard, r.payload])).toEqual([
      [Signal.SPAWN, 4, { kind: 'idle', args: { a: 1 } }],
      [Signal.SPAWN, 4, { kind: 'idle', args: undefined, link: parent }],
    ]);
  });
});

/** No init: stays dormant until something reaches it. Tells `report` when it terminates. */
class Quiet implements Process<unknown> {
  constructor(private readonly report: Pid) {}
  receive(): void {}
  terminate(reason: ExitReason, ctx: Context<unknown>): void {
    ctx.send(this.report, { terminated: reason });
  }
}

describe('Dormant processes (spawned, never reached yet)', () => {
  const report = pid(0, 9, 1);
  const quietBehaviours = defineBehaviours({ quiet: (args: { report: Pid }) => new Quiet(args.report), relay: () => new Relay() });

  function setup(): { shard: Shard; host: ReturnType<typeof recordingHost>; pids: Pid[] } {
    const host = recordingHost();
    const shard = new Shard(host, quietBehaviours, { node: 0, shard: 0, spawnerId: 1 });
    const pids: Pid[] = [];
    for (let i = 0; i < 1_000; i++) {
      const p = shard.allocatePid();
      shard.spawn(p, { kind: 'quiet', args: { report } });
      pids.push(p);
    }
    return { shard, host, pids };
  }

  it('count, exist and hold no messages, and wake for a monitor, a link or an exit signal', () => {
    const { shard, host, pids } = setup();
    expect(shard.stats()).toMatchObject({ processes: 1_000, queuedMessages: 0, runQueue: 0 });
    for (const p of pids) expect(shard.has(p)).toBe(true);
    const watcher = pid(0, 5, 1);
    const linker = pid(0, 6, 1);
    shard.deliver(Signal.MONITOR, pids[10]!, watcher, 77, undefined);
    shard.deliver(Signal.LINK, pids[20]!, linker, 0, undefined);
    shard.deliver(Signal.EXIT, pids[10]!, watcher, 0, 'bye');
    shard.deliver(Signal.EXIT, pids[20]!, watcher, 0, 'kill');
    shard.deliver(Signal.EXIT, pids[30]!, watcher, 0, 'normal');
    drain(shard);
    expect(shard.has(pids[10]!)).toBe(false);
    expect(shard.has(pids[20]!)).toBe(false);
    expect(shard.has(pids[30]!)).toBe(true);
    expect(shard.stats().processes).toBe(998);
    expect(host.routed.filter((r) => samePid(r.to, watcher)).map((r) => [r.signal, r.payload])).toEqual([[Signal.DOWN, 'bye']]);
    expect(host.routed.filter((r) => samePid(r.to, linker)).map((r) => [r.signal, r.payload])).toEqual([[Signal.EXIT, 'killed']]);
    expect(host.routed.filter((r) => samePid(r.to, report)).map((r) => r.payload)).toEqual([{ terminated: 'bye' }, { terminated: 'killed' }]);
  });

  it('stopAll runs terminate in every one of them', () => {
    const { shard, host } = setup();
    shard.stopAll('shutdown');
    expect(shard.stats().processes).toBe(0);
    expect(host.routed.filter((r) => samePid(r.to, report))).toHaveLength(1_000);
    expect(host.crashes).toEqual([]);
  });

  it('take a message like any process and send as themselves afterwards', () => {
    const { shard, host, pids } = setup();
    const relay = shard.allocatePid();
    shard.spawn(relay, { kind: 'relay', args: undefined });
    // The relay (dormant too) gets { to } and sends 'relayed' to a dormant quiet process.
    shard.deliver(Signal.USER, relay, undefined, 0, { to: pids[999]! });
    drain(shard);
    expect(host.dead).toEqual([]);
    shard.deliver(Signal.KILL, pids[999]!, undefined, 0, 'done');
    drain(shard);
    expect(host.routed.filter((r) => samePid(r.to, report)).map((r) => r.payload)).toEqual([{ terminated: 'done' }]);
    expect(host.crashes.map((c) => [c.pid.serial, c.reason])).toEqual([[pids[999]!.serial, 'done']]);
  });
});

class RemoteSpawner implements Process<unknown> {
  receive(_msg: unknown, ctx: Context<unknown>): void {
    ctx.spawn('idle', { a: 1 }, { shard: 4 });
    ctx.spawn('idle', undefined, { shard: 4, link: true });
  }
}
