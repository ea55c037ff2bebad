// SimCluster: whole horde nodes (real shards, timer wheel and cluster servers) in one thread on a
// simulated network and clocks. Processes on different nodes talk; a partition that heals in
// time loses nothing; a long one, a crash or a pause brings monitors 'noconnection'; a crashed node
// restarts; and a seed replays its run event for event.
import { afterEach, describe, expect, it } from 'vitest';
import { Signal, SimCluster, type Pid } from '../../src/index.js';
import { behaviours, type CounterMsg, type PingMsg, type WatcherMsg } from '../fixtures/behaviours.js';

const clusters: SimCluster[] = [];

async function start(seed: number, nodes = 3): Promise<SimCluster> {
  const cluster = await SimCluster.start({ behaviours, nodes, seed });
  clusters.push(cluster);
  return cluster;
}

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stop()));
});

describe('SimCluster', () => {
  it('runs processes on different nodes that message, ask and play ping-pong across the simulated network', async () => {
    const cluster = await start(1);
    const counter = cluster.spawn<CounterMsg>(2, 'counter');
    for (let i = 0; i < 10; i++) cluster.send(1, counter, { type: 'inc' });
    cluster.send(3, counter, { type: 'inc', by: 5 });
    await cluster.runFor(50);
    expect(await cluster.ask(1, counter, { type: 'get' })).toBe(15);
    const ping = cluster.spawn<PingMsg>(1, 'player');
    const pong = cluster.spawn<PingMsg>(3, 'player');
    const result = await cluster.ask<{ done: number }>(1, ping, { type: 'start', peer: pong, rounds: 100 });
    expect(result.done).toBeGreaterThanOrEqual(100);
    expect(cluster.kit(1).crashes).toEqual([]);
  });

  it('loses nothing across a partition that heals before the failure detector gives up: once each, in order', async () => {
    const cluster = await start(2);
    const receiver = cluster.probe(2);
    for (let i = 0; i < 100; i++) cluster.send(1, receiver.pid, i);
    await cluster.runFor(5);
    cluster.partition([1], [2]);
    for (let i = 100; i < 200; i++) cluster.send(1, receiver.pid, i);
    await cluster.runFor(400);
    expect(cluster.memberState(1, 2)).not.toBe('down');
    cluster.heal();
    await cluster.runFor(500);
    expect(receiver.messages.map((m) => m.payload)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(cluster.memberEvents.filter((e) => e.state === 'down')).toEqual([]);
  });

  it('tells monitors and links on other nodes noconnection when a node crashes, and lets it restart', async () => {
    const cluster = await start(3);
    const target = cluster.spawn(3, 'counter');
    const watcher = cluster.spawn<WatcherMsg>(1, 'watcher');
    cluster.send(1, watcher, { type: 'watch', pid: target });
    const probe = cluster.probe(2);
    cluster.monitor(2, probe, target);
    await cluster.runFor(50);
    cluster.crash(3);
    await cluster.runFor(3_000);
    expect(cluster.memberState(1, 3)).toBe('down');
    const seen = await cluster.ask<{ type: string; pid: Pid; reason: unknown }[]>(1, watcher, { type: 'seen' });
    expect(seen).toMatchObject([{ type: 'DOWN', pid: target, reason: 'noconnection' }]);
    expect(probe.messages).toMatchObject([{ signal: Signal.DOWN, payload: 'noconnection' }]);
    await cluster.restart(3);
    await cluster.run({ until: () => cluster.allUp(), maxEvents: 1_000_000 });
    const again = cluster.spawn<CounterMsg>(3, 'counter', { start: 41 });
    cluster.send(1, again, { type: 'inc' });
    await cluster.runFor(20);
    expect(await cluster.ask(2, again, { type: 'get' })).toBe(42);
  });

  it('declares a paused node down; when it resumes, it comes back', async () => {
    const cluster = await start(4, 2);
    cluster.pause(2, 3_000);
    await cluster.runFor(2_500);
    expect(cluster.memberState(1, 2)).toBe('down');
    await cluster.run({ until: () => cluster.now > 3_000 && cluster.allUp(), maxEvents: 1_000_000 });
    // Resumed, it finds its own detector gave the others up and reconnects: the members flap for a
    // moment (an ask then fails with 'noconnection', as on real nodes). Then they settle.
    await cluster.runFor(1_000);
    await cluster.run({ until: () => cluster.allUp(), maxEvents: 1_000_000 });
    const counter = cluster.spawn<CounterMsg>(2, 'counter');
    expect(await cluster.ask(1, counter, { type: 'get' })).toBe(0);
  });

  it('replays a seed event for event, and another seed differs', async () => {
    const scenario = async (seed: number): Promise<{ hash: string; events: string[] }> => {
      const cluster = await SimCluster.start({ behaviours, nodes: 3, seed });
      const counter = cluster.spawn<CounterMsg>(2, 'counter');
      for (let n = 1; n <= 3; n++) for (let i = 0; i < 20; i++) cluster.send(n, counter, { type: 'inc' });
      cluster.partition([3], [1, 2]);
      await cluster.runFor(2_500);
      cluster.heal();
      await cluster.run({ until: () => cluster.allUp(), maxEvents: 1_000_000 });
      const count = await cluster.ask<number>(1, counter, { type: 'get' });
      const result = { hash: cluster.traceHash(), events: cluster.memberEvents.map((e) => `${e.at} n${e.node} ${e.member} ${e.state} ${count}`) };
      await cluster.stop();
      return result;
    };
    const first = await scenario(77);
    expect(await scenario(77)).toEqual(first);
    expect((await scenario(78)).hash).not.toBe(first.hash);
  });
});
