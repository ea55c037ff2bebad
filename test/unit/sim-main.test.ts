// A SimCluster's asks take the main thread's production path (the MainParticipant HordeNode
// drives): a MONITOR and the message under one ref, so an ask to a pid with no process answers
// at once with NOPROC instead of waiting for its timeout, an ask across a node that goes down
// fails with 'noconnection', and the timeout runs on the asking node's own clock.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SimCluster } from '../../src/index.js';
import { behaviours, type CounterMsg } from '../fixtures/behaviours.js';

const clusters: SimCluster[] = [];

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stop()));
});

async function start(seed: number): Promise<SimCluster> {
  const cluster = await SimCluster.start({ behaviours, nodes: 3, seed });
  clusters.push(cluster);
  return cluster;
}

describe('SimCluster asks through the main-thread participant', () => {
  it('answers an ask to a missing process with NOPROC (its monitor says noproc) long before the timeout', async () => {
    const cluster = await start(1);
    const counter = cluster.spawn<CounterMsg>(2, 'counter');
    const gone = cluster.spawn<CounterMsg>(2, 'counter');
    cluster.send(1, gone, { type: 'crash', why: 'planned' });
    await cluster.runFor(10);
    const asked = cluster.now;
    await expect(cluster.ask(1, gone, { type: 'get' }, 10_000)).rejects.toMatchObject({ code: ErrorCode.NOPROC, message: expect.stringContaining('noproc') as unknown });
    expect(cluster.now - asked).toBeLessThan(100);
    // The same node answers a real process.
    expect(await cluster.ask(1, counter, { type: 'get' })).toBe(0);
  });

  it('fails an ask whose target\'s node is declared down with noconnection, and times out on the asking node\'s clock', async () => {
    const cluster = await start(2);
    const counter = cluster.spawn<CounterMsg>(3, 'counter');
    expect(await cluster.ask(1, counter, { type: 'get' })).toBe(0);
    cluster.partition([3], [1, 2]);
    await expect(cluster.ask(1, counter, { type: 'get' }, 60_000)).rejects.toMatchObject({ code: ErrorCode.NOPROC, message: expect.stringContaining('noconnection') as unknown });
    cluster.heal();
    await cluster.run({ until: () => cluster.allUp(), maxEvents: 2_000_000 });
    // The timeout is the asking node's timer: paused (SIGSTOP) for 1 s, it fires only when the
    // node runs again, overdue, though the target (paused longer) never answered.
    const slow = cluster.spawn<CounterMsg>(2, 'counter');
    cluster.pause(2, 5_000);
    const asked = cluster.now;
    cluster.pause(1, 1_000);
    await expect(cluster.ask(1, slow, { type: 'get' }, 300)).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
    expect(cluster.now - asked).toBeGreaterThanOrEqual(999.9); // simulated ms, up to float rounding
    expect(cluster.now - asked).toBeLessThan(5_000);
  });
});
