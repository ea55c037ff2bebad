// The conformance suite: every scenario of scenarios.ts runs in SimCluster (several seeds) and on
// real `horde node` processes on loopback (kill -9, iptables partitions; needs `npm run build` and
// iptables as root), and the outcomes must equal each other and what the README promises.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropsInPlace, removeAllDrops, removeStaleDrops } from '../support/iptables.js';
import type { ConformanceCluster, StartCluster } from './driver.js';
import { startReal } from './real-driver.js';
import { scenarios, type Scenario } from './scenarios.js';
import { startSim } from './sim-driver.js';

const SEEDS = [1, 2, 3, 4, 5];
const running: ConformanceCluster[] = [];
/** Real clusters that scenarios which leave them whole hand on (starting one costs seconds), by size. */
const reusable = new Map<number, ConformanceCluster>();

async function outcome(scenario: Scenario, start: StartCluster, reuse = false): Promise<unknown> {
  const kept = reuse ? reusable.get(scenario.nodes) : undefined;
  if (kept !== undefined) reusable.delete(scenario.nodes);
  const cluster = kept ?? (await start(scenario.nodes));
  running.push(cluster);
  let whole = false;
  try {
    const result = await scenario.run(cluster);
    whole = scenario.leavesClusterWhole;
    return result;
  } finally {
    running.splice(running.indexOf(cluster), 1);
    if (reuse && whole) reusable.set(scenario.nodes, cluster);
    else await cluster.stop();
  }
}

// Rules a test process that was killed mid-partition left behind.
beforeAll(removeStaleDrops);

afterEach(async () => {
  // A scenario that threw mid-way: its cluster is stopped and its rules removed here.
  await Promise.all(running.splice(0).map((cluster) => cluster.stop()));
  await removeAllDrops();
});

afterAll(async () => {
  await Promise.all([...reusable.values()].map((cluster) => cluster.stop()));
  reusable.clear();
  await removeAllDrops();
  expect(dropsInPlace()).toBe(0);
});

describe('conformance: the simulation and real node processes agree', () => {
  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const started = Date.now();
      const sim: unknown[] = [];
      for (const seed of SEEDS) sim.push(await outcome(scenario, (nodes) => startSim(nodes, seed)));
      const simulated = Date.now();
      const real = await outcome(scenario, startReal, true);
      process.stderr.write(`conformance, ${scenario.name}: sim ${SEEDS.length} seeds ${simulated - started} ms, real processes ${Date.now() - simulated} ms\n`);
      for (const [i, got] of sim.entries()) expect(got, `sim seed ${SEEDS[i]}`).toEqual(scenario.expected);
      expect(real, 'real processes').toEqual(scenario.expected);
      expect(real).toEqual(sim[0]);
    });
  }
});
