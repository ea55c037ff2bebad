// SimCluster with disks: a node's ctx.io is served by the real file worker code over its SimDisk,
// so durable code runs in the simulation with crashes that lose what was not fsynced. A ledger
// process acknowledges an increment once its record is appended (after fsync); whatever the seed
// and wherever the crash falls, every acknowledged increment is in the log the restarted node
// reads, and nothing that was never sent.
import { describe, expect, it } from 'vitest';
import { ErrorCode, SimCluster, isOutcomeUnknown, applyFaults, randomFaults, swarm, type Pid } from '../../src/index.js';
import { behaviours, type LedgerMsg } from '../fixtures/sim-ledger-behaviours.js';

const FILE = 'test/unit/sim-disks.test.ts';

describe('SimCluster with disks', () => {
  it('serves ctx.io from each node\'s disk: a durable log written from another node reads back whole', async () => {
    const cluster = await SimCluster.start({ behaviours, nodes: 2, seed: 3, disks: true });
    const ledger = cluster.spawn<LedgerMsg>(2, 'ledger');
    for (let i = 0; i < 5; i++) expect(await cluster.ask(1, ledger, { type: 'inc' })).toBe('ok');
    expect(await cluster.ask(1, ledger, { type: 'count' })).toBe(5);
    expect(cluster.disk(2).usedBytes).toBeGreaterThan(0);
    await cluster.stop();
  });

  it('slowDisk stalls a node\'s disk for the simulated time given: an append started then is answered only after it', async () => {
    const cluster = await SimCluster.start({ behaviours, nodes: 2, seed: 4, disks: true });
    const ledger = cluster.spawn<LedgerMsg>(2, 'ledger');
    expect(await cluster.ask(1, ledger, { type: 'inc' })).toBe('ok');
    const quick = cluster.now;
    expect(await cluster.ask(1, ledger, { type: 'inc' })).toBe('ok');
    const normalMs = cluster.now - quick;
    const stalledAt = cluster.now;
    cluster.slowDisk(2, 3_000);
    expect(await cluster.ask(1, ledger, { type: 'inc' }, 10_000)).toBe('ok');
    expect(cluster.now - stalledAt).toBeGreaterThanOrEqual(3_000);
    expect(normalMs).toBeLessThan(3_000);
    // Past an ask's timeout its outcome is unknown to the client; the append still lands once the disk speeds up.
    cluster.slowDisk(2, 3_000);
    await expect(cluster.ask(1, ledger, { type: 'inc' }, 1_000)).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
    await cluster.runFor(3_000);
    expect(await cluster.ask(1, ledger, { type: 'count' })).toBe(4);
    expect(() => cluster.slowDisk(2, -1)).toThrow(/ms >= 0/);
    await cluster.stop();
  });

  it('keeps every acknowledged append across failed fsyncs, stalled disks and a crash of the node, for every seed', async () => {
    const totals = { acked: 0, sent: 0, counted: 0, failed: 0 };
    const faults = (random: Parameters<NonNullable<Parameters<typeof swarm>[0]['faults']>>[0]) => randomFaults(random, { nodes: 2, withinMs: 40, kinds: ['fsyncFail', 'slowDisk'], maxFaults: 3 });
    await swarm({ seeds: 25, file: FILE, faults }, async (seed, schedule) => {
      const cluster = await SimCluster.start({ behaviours, nodes: 2, seed, disks: true });
      applyFaults(cluster, schedule);
      let ledger: Pid<LedgerMsg> = cluster.spawn<LedgerMsg>(2, 'ledger');
      let acked = 0;
      let sent = 0;
      const crashAt = cluster.now + cluster.scheduler.random.between(1, 40);
      cluster.scheduler.at(crashAt, () => cluster.crash(2), 'crash n2');
      const increments = Array.from({ length: 40 }, async (_, i) => {
        await new Promise<void>((resolve) => cluster.scheduler.after(i, resolve, 'client inc'));
        if (!cluster.isRunning(2)) return;
        sent++;
        try {
          const answer = await cluster.request(1, ledger, { type: 'inc' }, 500);
          if (answer === 'ok') acked++;
          else totals.failed++;
        } catch (error) {
          if (!isOutcomeUnknown(error)) throw error;
        }
      });
      let done = false;
      void Promise.all(increments).then(() => (done = true));
      // The crash may come after the last increment was answered: run until both happened.
      await cluster.run({ until: () => done && !cluster.isRunning(2), maxEvents: 2_000_000 });
      await cluster.restart(2);
      await cluster.run({ until: () => cluster.allUp(), maxEvents: 2_000_000 });
      ledger = cluster.spawn<LedgerMsg>(2, 'ledger');
      // Fsync failures still due (up to 9) make the log's reopen fail (EIO): the reader tries
      // again, and each attempt uses one up.
      let count: number | string = 'not asked';
      for (let attempt = 0; attempt < 20 && typeof count !== 'number'; attempt++) count = await cluster.ask<number | string>(1, ledger, { type: 'count' });
      if (typeof count !== 'number') throw new Error(`count answered ${count}`);
      await cluster.stop();
      expect(count).toBeGreaterThanOrEqual(acked);
      expect(count).toBeLessThanOrEqual(sent);
      totals.acked += acked;
      totals.sent += sent;
      totals.counted += count;
    });
    // Not vacuous: appends were acknowledged before crashes, some failed with their fsync, and
    // some sent were never acknowledged.
    if (process.env.HORDE_SIM_SEED === undefined) {
      expect(totals.acked).toBeGreaterThan(0);
      expect(totals.failed).toBeGreaterThan(0);
      expect(totals.sent).toBeGreaterThan(totals.acked);
    }
    process.stderr.write(`[sim-disks] ${JSON.stringify(totals)}\n`);
  });
});
