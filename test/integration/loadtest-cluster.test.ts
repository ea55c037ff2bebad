// The load-test harness end to end on a tiny schedule: real `horde node` processes with gateways,
// the cluster target, throttling switched on the nodes, reports written.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLoadTest, writeReports } from '../../src/loadtest/index.js';
import { startLocalCluster } from '../../src/loadtest/local-cluster.js';

describe('horde loadtest against a local cluster', () => {
  it('drives two gateway nodes open-loop with throttling on and off and writes its reports', async () => {
    const cluster = await startLocalCluster(2);
    try {
      const target = await cluster.target({ costUs: 100 });
      try {
        const result = await runLoadTest({ compare: true, capacityRun: { concurrency: 8, durationMs: 1000 }, schedule: { multiples: [0.2, 2], stepMs: 1000 }, idleMs: 1000, cooldownMs: 500, progress: false }, target);
        expect(result.capacity.rate).toBeGreaterThan(0);
        expect(result.phases).toHaveLength(2);
        for (const phase of result.phases) {
          expect(phase.totals.offered).toBeGreaterThan(0);
          expect(phase.totals.completed).toBeGreaterThan(0);
          expect(phase.totals.errors).toBe(0);
        }
        const files = await writeReports(result, mkdtempSync(join(tmpdir(), 'horde-lt-')));
        expect(readFileSync(files.html, 'utf8')).toContain('"name":"throttling off"');
      } finally {
        await target.close();
      }
    } finally {
      await cluster.stop();
    }
  });
});
