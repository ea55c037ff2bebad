// Real nodes: executor worker threads loading a behaviour module, rings between them, the node API.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { startNode, type HordeNode } from '../../src/node/node.js';
import type { NodeOptions } from '../../src/node/options.js';
import type { Pid } from '../../src/process/pid.js';
import type { ChildInfo } from '../../src/process/supervisor.js';
import type { CounterMsg, FanoutMsg, PingMsg, StreamerMsg, WatcherMsg } from '../fixtures/behaviours.js';
import { rejectsWithCode } from '../support/errors.js';

const behaviours = new URL('../fixtures/behaviours.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
const nodes: HordeNode[] = [];

async function node(options: Partial<NodeOptions> = {}): Promise<HordeNode> {
  const started = await startNode({ behaviours: [behaviours], preload: [preload], executors: 2, ...options });
  nodes.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

/** Polls `check` (an async condition) every 20 ms until it holds; fails after `ms`. */
async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a node with two executors', () => {
  it('runs processes on different worker threads and answers asks', async () => {
    const n = await node();
    const a = await n.spawn<string>('where', undefined, { shard: 0 });
    const b = await n.spawn<string>('where', undefined, { shard: 1 });
    const threadA = await n.ask<number>(a, 'which');
    const threadB = await n.ask<number>(b, 'which');
    expect(threadA).toBeGreaterThan(0);
    expect(threadB).toBeGreaterThan(0);
    expect(threadA).not.toBe(threadB);
  });

  it('plays ping-pong across shards and counts messages in order', async () => {
    const n = await node();
    const a = await n.spawn<PingMsg>('player', undefined, { shard: 0 });
    const b = await n.spawn<PingMsg>('player', undefined, { shard: 1 });
    const counter = await n.spawn<CounterMsg>('counter', { start: 0 }, { shard: 1 });
    for (let i = 0; i < 10_000; i++) n.send(counter, { type: 'inc' });
    expect(await n.ask(counter, { type: 'get' })).toBe(10_000);
    // Every hop crosses threads; on a loaded 2-core machine that can take a while, so the ask
    // gets a generous timeout: this checks delivery, not speed.
    const done = await n.ask<{ done: number }>(a, { type: 'start', peer: b, rounds: 5_000 }, { timeoutMs: 60_000 });
    expect(done.done).toBeGreaterThanOrEqual(5_000);
  });

  it('rejects an unanswered ask with HORDE_TIMEOUT and an ask to a missing process with HORDE_NOPROC', async () => {
    const n = await node();
    const silent = await n.spawn<string>('where');
    await rejectsWithCode(n.ask(silent, 'ignore', { timeoutMs: 100 }), ErrorCode.TIMEOUT);
    const counter = await n.spawn<CounterMsg>('counter');
    n.exit(counter, 'kill');
    await rejectsWithCode(n.ask(counter, { type: 'get' }), ErrorCode.NOPROC);
    const crasher = await n.spawn<CounterMsg>('counter');
    const error = await rejectsWithCode(n.ask(crasher, { type: 'crash', why: 'on purpose' }), ErrorCode.NOPROC);
    expect(String((error.cause as Error | undefined)?.message)).toContain('on purpose');
  });

  it('refuses bad options and unknown kinds with codes that name the problem', async () => {
    await rejectsWithCode(startNode({ behaviours: [''] }), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(startNode({ behaviours: [behaviours], executors: 0 }), ErrorCode.INVALID_OPTION);
    await expect(startNode({ behaviours: [behaviours], ringCapacity: 1000 })).rejects.toThrow(/"ringCapacity"/);
    await rejectsWithCode(startNode({ behaviours: ['/no/such/module.js'], executors: 1 }), ErrorCode.WORKER_START_FAILED);
    const n = await node();
    await rejectsWithCode(n.spawn('no-such-kind'), ErrorCode.UNKNOWN_KIND);
    await rejectsWithCode(n.spawn('counter', undefined, { shard: 7 }), ErrorCode.INVALID_OPTION);
    await expect(n.spawn('bad-init')).rejects.toThrow(/init refuses/);
  });

  it('fires monitors and links across shards', async () => {
    const n = await node();
    const watcher = await n.spawn<WatcherMsg>('watcher', undefined, { shard: 0 });
    const linked = await n.spawn<WatcherMsg>('watcher', undefined, { shard: 0 });
    const victim = await n.spawn<CounterMsg>('counter', undefined, { shard: 1 });
    n.send(watcher, { type: 'watch', pid: victim });
    n.send(linked, { type: 'trap' });
    n.send(linked, { type: 'link', pid: victim });
    const downs: unknown[] = [];
    n.monitor(victim, (notice) => downs.push(notice.reason));
    // Make sure the monitor and link are in place before the crash (asks travel behind them).
    await n.ask(watcher, { type: 'seen' });
    await n.ask(linked, { type: 'seen' });
    n.send(victim, { type: 'crash', why: 'boom' });
    await eventually(async () => (await n.ask<unknown[]>(watcher, { type: 'seen' })).length > 0 && downs.length > 0);
    const seenByWatcher = await n.ask<{ type: string; reason: { message: string } }[]>(watcher, { type: 'seen' });
    expect(seenByWatcher[0]).toMatchObject({ type: 'DOWN', reason: { message: 'boom' } });
    await eventually(async () => (await n.ask<unknown[]>(linked, { type: 'seen' })).length > 0);
    const seenByLinked = await n.ask<{ type: string; reason: { message: string } }[]>(linked, { type: 'seen' });
    expect(seenByLinked[0]).toMatchObject({ type: 'EXIT', reason: { message: 'boom' } });
    expect(downs).toHaveLength(1);
  });

  it('delivers messages and monitors that overtake the spawns of their processes', async () => {
    const n = await node({ ringCapacity: 1 << 16 });
    const fanout = await n.spawn<FanoutMsg>('fanout', undefined, { shard: 0 });
    const sleeper = await n.spawn<string>('where', undefined, { shard: 1 });
    // Shard 1 spins for 300 ms: shard 0's 5,000 SPAWNs fill their 64 KiB ring and the rest wait in
    // shard 0's overflow, while the reply with the pids goes to main at once. Main's messages to
    // the last pids then reach shard 1 long before those pids' SPAWNs.
    const spun = n.ask(sleeper, 'spin');
    const last = await n.ask<Pid<CounterMsg>[]>(fanout, { type: 'spawn', count: 5_000, shard: 1, answer: 20 });
    const downs: unknown[] = [];
    for (const child of last) {
      n.monitor(child, (notice) => downs.push(notice.reason));
      n.send(child, { type: 'inc', by: 2 });
    }
    await spun;
    const counts = await Promise.all(last.map((child) => n.ask<number>(child, { type: 'get' })));
    expect(counts).toEqual(last.map(() => 2));
    expect(downs).toEqual([]);
    expect((await n.status()).deadLetters).toBe(0);
  });

  it('restarts a crashed child of a supervisor on another shard', async () => {
    const n = await node();
    const crashes: unknown[] = [];
    n.on('processCrashed', (detail) => crashes.push(detail));
    const supervisor = await n.spawn('horde.supervisor', {
      strategy: 'one_for_one',
      intensity: 5,
      children: [
        { id: 'a', kind: 'counter', shard: 1 },
        { id: 'b', kind: 'counter', shard: 1 },
      ],
    }, { shard: 0 });
    const before = await n.ask<ChildInfo[]>(supervisor, { type: 'which_children' });
    const child = before[0]!.pid as Pid<CounterMsg>;
    // The supervisor's SPAWN travels shard 0 -> shard 1 while this message goes main -> shard 1 and
    // may land first: shard 1 keeps it until the SPAWN arrives (see spawn-wait.ts).
    n.send(child, { type: 'crash', why: 'restart me' });
    await eventually(async () => (await n.ask<ChildInfo[]>(supervisor, { type: 'which_children' }))[0]!.restarts === 1);
    const after = await n.ask<ChildInfo[]>(supervisor, { type: 'which_children' });
    expect(after[0]!.pid).not.toEqual(child);
    expect(after[1]!.pid).toEqual(before[1]!.pid);
    // The restart's SPAWN may still be on its way to shard 1 too.
    const restarted = after[0]!.pid as Pid<CounterMsg>;
    expect(await n.ask(restarted, { type: 'get' })).toBe(0);
    expect(crashes).toHaveLength(1);
  });

  it('replaces an executor that dies; monitors see executor_crashed and supervisors restart', async () => {
    const n = await node();
    n.on('executorCrashed', () => undefined);
    const supervisor = await n.spawn('horde.supervisor', { strategy: 'one_for_one', children: [{ id: 'w', kind: 'where', shard: 1 }] }, { shard: 0 });
    const [child] = await n.ask<ChildInfo[]>(supervisor, { type: 'which_children' });
    const bystander = await n.spawn<CounterMsg>('counter', undefined, { shard: 0 });
    const downs: unknown[] = [];
    n.monitor(child!.pid!, (notice) => downs.push(notice.reason));
    // The supervisor's SPAWN travels to shard 1 on another ring than this ask: it may come later.
    const threadBefore = await n.ask<number>(child!.pid!, 'which');
    n.send(child!.pid as Pid<string>, 'exit-thread');
    await eventually(() => downs.length > 0);
    expect(downs).toEqual(['executor_crashed']);
    await eventually(async () => (await n.ask<ChildInfo[]>(supervisor, { type: 'which_children' }))[0]!.restarts === 1);
    const [restarted] = await n.ask<ChildInfo[]>(supervisor, { type: 'which_children' });
    // The restart's SPAWN may still be on its way to the replacement of shard 1, which waits for it.
    const threadAfter = await n.ask<number>(restarted!.pid!, 'which');
    expect(threadAfter).not.toBe(threadBefore);
    // The other shard served throughout.
    n.send(bystander, { type: 'inc' });
    expect(await n.ask(bystander, { type: 'get' })).toBe(1);
    expect((await n.status()).executorRestarts).toBe(1);
  });

  it('runs again a process that waited on the ring to an executor that died', async () => {
    const n = await node({ ringCapacity: 1 << 16 });
    const crashed = new Promise((resolve) => n.on('executorCrashed', resolve));
    const doomed = await n.spawn<string>('where', undefined, { shard: 1 });
    const sink = await n.spawn<CounterMsg>('counter', undefined, { shard: 1 });
    const streamer = await n.spawn<StreamerMsg>('streamer', undefined, { shard: 0 });
    // Shard 1 spins for 300 ms and then exits in the same turn, never reading its rings again:
    // the streamer fills its 64 KiB ring to shard 1 and waits on it.
    n.send(doomed, 'spin');
    n.send(doomed, 'exit-thread');
    n.send(streamer, { type: 'run', to: sink, batches: 200, size: 100 });
    // Asked while shard 1 spins and then dies, status() answers once the replacement runs.
    const statusDuring = n.status();
    await crashed;
    expect((await statusDuring).executors).toHaveLength(2);
    await eventually(async () => (await n.status()).executorRestarts === 1, 20_000);
    // The replacement's rings are new and the old overflow is gone: the streamer goes on.
    expect(await n.ask(streamer, { type: 'sent' }, { timeoutMs: 20_000 })).toBeGreaterThan(0);
    await eventually(async () => (await n.ask<number>(streamer, { type: 'sent' })) === 20_000, 20_000);
  });

  it('replaces an executor that runs out of memory under resourceLimits', async () => {
    const n = await node({ resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } });
    const failures: { code: number }[] = [];
    n.on('executorCrashed', (detail: { code: number }) => failures.push(detail));
    const hog = await n.spawn<string>('where', undefined, { shard: 1 });
    const survivor = await n.spawn<CounterMsg>('counter', undefined, { shard: 0 });
    const downs: unknown[] = [];
    n.monitor(hog, (notice) => downs.push(notice.reason));
    n.send(hog, 'hog');
    await eventually(() => downs.length > 0, 30_000);
    expect(downs).toEqual(['executor_crashed']);
    expect(failures).toHaveLength(1);
    n.send(survivor, { type: 'inc' });
    expect(await n.ask(survivor, { type: 'get' })).toBe(1);
    const fresh = await n.spawn<string>('where', undefined, { shard: 1 });
    expect(await n.ask<number>(fresh, 'which')).toBeGreaterThan(0);
  }, 60_000);

  it('fails a message no codec can carry at the sender, as that process’s crash', async () => {
    const n = await node();
    const crashes: { kind: string; reason: { code: string; message: string } }[] = [];
    n.on('processCrashed', (detail: { kind: string; reason: { code: string; message: string } }) => crashes.push(detail));
    const sender = await n.spawn<{ to: Pid }>('bad-sender', undefined, { shard: 0 });
    const target = await n.spawn<CounterMsg>('counter', undefined, { shard: 1 });
    n.send(sender, { to: target });
    await eventually(() => crashes.length === 1);
    expect(crashes[0]).toMatchObject({ kind: 'bad-sender', reason: { code: ErrorCode.UNENCODABLE_MESSAGE } });
    expect(crashes[0]!.reason.message).toContain('callback');
    expect(await n.ask(target, { type: 'get' })).toBe(0);
    expect(() => n.send(target, { fn: () => 1 } as unknown as CounterMsg)).toThrow(expect.objectContaining({ code: ErrorCode.UNENCODABLE_MESSAGE }) as Error);
  });

  it('counts messages to missing processes as dead letters', async () => {
    const n = await node();
    const counter = await n.spawn<CounterMsg>('counter', undefined, { shard: 1 });
    n.exit(counter, 'kill');
    await rejectsWithCode(n.ask(counter, { type: 'get' }), ErrorCode.NOPROC);
    for (let i = 0; i < 5; i++) n.send(counter, { type: 'inc' });
    await eventually(async () => (await n.status()).deadLetters >= 5);
  });

  it('answers monitors and links to another node\'s pid with noconnection when not clustered', async () => {
    const n = await node();
    const watcher = await n.spawn<WatcherMsg>('watcher', undefined, { shard: 0 });
    const elsewhere = { node: 7, shard: 0, serial: 65536 } as Pid;
    n.send(watcher, { type: 'trap' });
    n.send(watcher, { type: 'watch', pid: elsewhere });
    n.send(watcher, { type: 'link', pid: elsewhere });
    await eventually(async () => {
      const seen = await n.ask<{ type: string; reason: unknown }[]>(watcher, { type: 'seen' });
      return seen.some((s) => s.type === 'DOWN' && s.reason === 'noconnection') && seen.some((s) => s.type === 'EXIT' && s.reason === 'noconnection');
    });
    // Answered signals are not dead letters; a message that cannot go anywhere is.
    expect((await n.status()).deadLetters).toBe(0);
    n.send(elsewhere, 'lost');
    await eventually(async () => (await n.status()).deadLetters === 1);
  });

  it('keeps a neighbour of a flooding process responsive', async () => {
    const n = await node();
    const flooder = await n.spawn<{ type: 'go' }>('flooder', undefined, { shard: 0 });
    const neighbour = await n.spawn<CounterMsg>('counter', undefined, { shard: 0 });
    n.send(flooder, { type: 'go' });
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect(await n.ask(neighbour, { type: 'get' }, { timeoutMs: 5000 })).toBe(0);
    // Loose bound: 20 asks through a shard busy with a self-flood, on a loaded 2-core machine.
    expect(Date.now() - started).toBeLessThan(5000);
    const status = await n.status();
    expect(status.executors[0]!.messagesHandled).toBeGreaterThan(20);
  });

  it('reports a receive that runs longer than the threshold', async () => {
    const n = await node({ longReceiveMs: 50 });
    const reports: { kind?: string }[] = [];
    n.on('longReceive', (detail: { kind?: string }) => reports.push(detail));
    const slow = await n.spawn<string>('where');
    await n.ask(slow, 'spin');
    await eventually(() => reports.length > 0, 2000);
    expect(reports[0]!.kind).toBe('where');
  });

  it('registers names and frees them when the process ends', async () => {
    const n = await node();
    const counter = await n.spawn<CounterMsg>('counter');
    n.register('counter', counter);
    expect(n.whereis('counter')).toEqual(counter);
    expect(() => n.register('counter', counter)).toThrow(expect.objectContaining({ code: ErrorCode.NAME_TAKEN }) as Error);
    n.exit(counter, 'kill');
    await eventually(() => n.whereis('counter') === undefined);
  });

  it('stops gracefully: terminate runs, workers exit, calls after stop are refused', async () => {
    const n = await startNode({ behaviours: [behaviours], preload: [preload], executors: 2 });
    const counter = await n.spawn<CounterMsg>('counter');
    const pending = rejectsWithCode(n.ask(counter, 'never', { timeoutMs: 60_000 }), ErrorCode.NODE_STOPPED);
    await n.stop();
    await pending;
    expect(() => n.send(counter, { type: 'inc' })).toThrow(expect.objectContaining({ code: ErrorCode.NODE_STOPPED }) as Error);
  });
});
