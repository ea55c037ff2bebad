// The Raft log store in the deterministic simulator: a SimCluster node's ctx.io is served by the
// real file worker code over its SimDisk, Raft requests included. A process appends entries
// pipelined; the node crashes at a random time; after the restart the log holds a contiguous
// prefix 1..n of what was sent with every acknowledged entry, for every seed.
import { describe, expect, it } from 'vitest';
import { ErrorCode, SimCluster, swarm, type Pid } from '../../src/index.js';
import { behaviours, type RaftLedgerMsg } from '../fixtures/sim-raftlog-behaviours.js';

const FILE = 'test/unit/raft-log-sim.test.ts';

describe('Raft log store in SimCluster', () => {
  it('keeps a contiguous prefix with every acknowledged entry across a crash of the node, for every seed', async () => {
    const totals = { acked: 0, sent: 0, kept: 0 };
    await swarm({ seeds: 20, file: FILE }, async (seed) => {
      const cluster = await SimCluster.start({ behaviours, nodes: 2, seed, disks: true });
      let ledger: Pid<RaftLedgerMsg> = cluster.spawn<RaftLedgerMsg>(2, 'raft-ledger');
      let acked = 0;
      let sent = 0;
      cluster.scheduler.at(cluster.now + cluster.scheduler.random.between(1, 40), () => cluster.crash(2), 'crash n2');
      const increments = Array.from({ length: 40 }, async (_, i) => {
        await new Promise<void>((resolve) => cluster.scheduler.after(i, resolve, 'client inc'));
        if (!cluster.isRunning(2)) return;
        sent++;
        try {
          const answer = await cluster.request(1, ledger, { type: 'inc' }, 500);
          expect(answer).toBe('ok');
          acked = Math.max(acked, i + 1);
        } catch (error) {
          if ((error as { code?: string }).code !== ErrorCode.TIMEOUT) throw error;
        }
      });
      let done = false;
      void Promise.all(increments).then(() => (done = true));
      await cluster.run({ until: () => done, maxEvents: 2_000_000 });
      await cluster.restart(2);
      await cluster.run({ until: () => cluster.allUp(), maxEvents: 2_000_000 });
      ledger = cluster.spawn<RaftLedgerMsg>(2, 'raft-ledger');
      const kept = await cluster.ask<string[] | string>(1, ledger, { type: 'read' });
      await cluster.stop();
      if (typeof kept === 'string') throw new Error(`read answered ${kept}`);
      expect(kept).toEqual(kept.map((_, i) => String(i + 1)));
      expect(kept.length).toBeGreaterThanOrEqual(acked);
      expect(kept.length).toBeLessThanOrEqual(sent);
      totals.acked += acked;
      totals.sent += sent;
      totals.kept += kept.length;
    });
    if (process.env.HORDE_SIM_SEED === undefined) {
      expect(totals.acked).toBeGreaterThan(0);
      expect(totals.sent).toBeGreaterThan(totals.acked);
    }
    process.stderr.write(`[raft-log-sim] ${JSON.stringify(totals)}\n`);
  });
});
