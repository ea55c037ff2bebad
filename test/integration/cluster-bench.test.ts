import { describe, expect, it } from 'vitest';
import type { ClusterBenchOptions } from '../../bench/cluster-cases.js';
import { runBeam } from '../../bench/cluster-beam.js';
import { runHorde } from '../../bench/cluster-horde.js';
import { runNaive } from '../../bench/cluster-naive.js';
import { findOnPath } from '../../bench/savina-beam.js';
import { BoundedChild } from '../../bench/support/child.js';
import type { BenchResult } from '../../bench/support/report.js';

// Small counts: these check that the peers run, count and stop, not how fast they are.
const SMALL: ClusterBenchOptions = {
  cases: [
    { name: 'oneway-64B', count: 20_000, warmup: 2_000, rounds: 2 },
    { name: 'ask-rtt', count: 200, warmup: 20, rounds: 1 },
  ],
};

const METRICS = ['oneway-64B msgs_per_s', 'ask-rtt rtt_p50_us', 'ask-rtt rtt_p99_us'];

function collect(): { results: Omit<BenchResult, 'suite'>[]; report: (r: Omit<BenchResult, 'suite'>) => void } {
  const results: Omit<BenchResult, 'suite'>[] = [];
  return { results, report: (r) => results.push(r) };
}

describe('cluster suite peers (real processes on loopback)', () => {
  it('naive-json: two Node processes over TCP report every metric of both cases', async () => {
    const { results, report } = collect();
    await runNaive(report, SMALL);
    expect(results.map((r) => `${r.case} ${r.metric}`)).toEqual(METRICS);
    for (const r of results) {
      expect(r.system).toBe('naive-json');
      expect(r.value).toBeGreaterThan(0);
    }
  });

  it('horde: two horde node processes report every metric of both cases, in each variant', async () => {
    for (const variant of ['horde', 'horde-nospin'] as const) {
      const { results, report } = collect();
      await runHorde(report, SMALL, variant);
      expect(results.map((r) => `${r.case} ${r.metric}`)).toEqual(METRICS);
      for (const r of results) {
        expect(r.system).toBe(variant);
        expect(r.value).toBeGreaterThan(0);
      }
    }
  });

  it('beam: two Erlang nodes report every metric when erl is installed, and nothing otherwise', async () => {
    const { results, report } = collect();
    await runBeam(report, SMALL);
    const installed = findOnPath('erl') !== undefined && findOnPath('erlc') !== undefined && findOnPath('epmd') !== undefined;
    expect(results.map((r) => `${r.case} ${r.metric}`)).toEqual(installed ? METRICS : []);
    for (const r of results) expect(r.value).toBeGreaterThan(0);
  });

  it('a bounded child is killed at its time limit', async () => {
    const child = new BoundedChild(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { name: 'test child', timeoutMs: 300 });
    const exit = await child.exited;
    expect(exit.timedOut).toBe(true);
    expect(exit.signal).toBe('SIGKILL');
  });

  it('a bounded child that prints nothing fails lineWithin, and stop kills it', async () => {
    const child = new BoundedChild(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { name: 'test child', timeoutMs: 30_000 });
    await expect(child.lineWithin(200, 'a port')).rejects.toThrow(/no a port within 200 ms/);
    const exit = await child.stop();
    expect(exit).toMatchObject({ signal: 'SIGKILL', timedOut: false });
  });

  it('a child that cannot start resolves exited with its error', async () => {
    const child = new BoundedChild('/nonexistent/horde-no-such-binary', [], { name: 'test child', timeoutMs: 30_000 });
    const exit = await child.exited;
    expect(exit.error?.message).toMatch(/ENOENT/);
  });
});
