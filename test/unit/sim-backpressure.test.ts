// Back pressure between a simulated node's rings and its cluster server, as production has it:
// while a peer cannot take more (here, a partition that holds the stream), the cluster server marks
// that node congested and the processes sending to it are parked after their send; the heal lets
// them go and everything arrives once, in order. The other way, a node whose rings from the main
// thread are congested stops reading its peers' streams until they drain.
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../../src/index.js';
import { behaviours, type FloodMsg, type SinkMsg, type SinkStats } from '../fixtures/sim-flood-behaviours.js';

const COUNT = 2_000;
const clusters: SimCluster[] = [];

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.stop()));
});

async function flood(options: { seed: number; maxPendingBytes?: number; channelCapacity?: number; partitionMs: number }) {
  const cluster = await SimCluster.start({ behaviours, nodes: 2, seed: options.seed, ...(options.maxPendingBytes === undefined ? {} : { maxPendingBytes: options.maxPendingBytes }), ...(options.channelCapacity === undefined ? {} : { channelCapacity: options.channelCapacity }) });
  clusters.push(cluster);
  const sink = cluster.spawn<SinkMsg>(2, 'sink');
  const flooder = cluster.spawn<FloodMsg>(1, 'flooder');
  const report = cluster.probe(1);
  const progress = (): number => Math.max(0, ...report.messages.map((m) => (m.payload as { sent: number }).sent));
  let overflowPeak = 0;
  const sample = (): void => {
    for (const size of Object.values(cluster.kit(2).channelSizes())) overflowPeak = Math.max(overflowPeak, size.overflow);
    if (cluster.now < 60_000) cluster.scheduler.after(0.05, sample, 'sample n2 channels');
  };
  sample();
  if (options.partitionMs > 0) cluster.partition([1], [2]);
  cluster.send(1, flooder, { type: 'go', to: sink, count: COUNT, bytes: 1_000, batch: 50, report: report.pid });
  await cluster.runFor(options.partitionMs);
  const duringPartition = progress();
  const stateDuring = cluster.memberState(1, 2);
  cluster.heal();
  await cluster.run({ until: () => progress() === COUNT, maxEvents: 5_000_000 });
  let stats = await cluster.ask<SinkStats>(1, sink, { type: 'stats' });
  for (let i = 0; i < 50 && stats.received < COUNT; i++) {
    await cluster.runFor(20);
    stats = await cluster.ask<SinkStats>(1, sink, { type: 'stats' });
  }
  return { duringPartition, stateDuring, stats, overflowPeak, deadLetters: cluster.deadLetters };
}

describe('SimCluster back pressure between rings and the cluster server', () => {
  it('parks the senders to a node whose queue passed maxPendingBytes, and lets them go when it drains', async () => {
    for (const seed of [1, 2, 3]) {
      const run = await flood({ seed, maxPendingBytes: 64 * 1024, channelCapacity: 64, partitionMs: 500 });
      // Held by the partition (shorter than the failure detector's timeout), the flooder stopped
      // after about maxPendingBytes of messages plus what the rings held, far short of its 2,000.
      expect(run.stateDuring).toBe('up');
      expect(run.duringPartition).toBeGreaterThan(0);
      expect(run.duringPartition).toBeLessThan(COUNT / 2);
      expect(run.stats).toEqual({ received: COUNT, inOrder: true });
      expect(run.deadLetters).toBe(0);
    }
  });

  it('without a tight limit the same flood is not held back (the test above can tell)', async () => {
    const run = await flood({ seed: 1, channelCapacity: 64, partitionMs: 500 });
    expect(run.duringPartition).toBe(COUNT);
    expect(run.stats).toEqual({ received: COUNT, inOrder: true });
  });

  it('stops reading peers while the rings from the main thread are congested: their overflow stays near one batch', async () => {
    const run = await flood({ seed: 4, channelCapacity: 16, partitionMs: 0 });
    expect(run.stats).toEqual({ received: COUNT, inOrder: true });
    // One batch (256 KiB of 1 KB messages) can land on top of a full ring; without the pause the
    // overflow would take whatever the network brought.
    expect(run.overflowPeak).toBeGreaterThan(0);
    expect(run.overflowPeak).toBeLessThanOrEqual(300);
  });
});
