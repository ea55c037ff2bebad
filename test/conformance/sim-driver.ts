// The conformance driver over SimCluster: nodes 1..N in one thread from a seed, the test's sends
// and asks made on the target's node (or the first running one), time simulated.
import type { MemberState, Pid } from '../../src/index.js';
import { SimCluster } from '../../src/testkit/index.js';
import { behaviours } from '../fixtures/conformance-behaviours.js';
import { HEARTBEAT_MS, type ConformanceCluster } from './driver.js';

/** Simulated time `until` waits at most, and the step between its checks. */
const UNTIL_LIMIT_MS = 60_000;
const UNTIL_STEP_MS = 10;

/** Starts a SimCluster of `nodes` nodes with `seed`, wrapped as a ConformanceCluster. */
export async function startSim(nodes: number, seed: number): Promise<ConformanceCluster> {
  const cluster = await SimCluster.start({ behaviours, nodes, seed, heartbeatMs: HEARTBEAT_MS });
  // The test acts from the target's node when it runs, else from the first node that does.
  const from = (to: Pid): number => (cluster.isRunning(to.node) ? to.node : cluster.nodeIds.find((id) => cluster.isRunning(id))!);
  return {
    world: `sim seed ${seed}`,
    size: nodes,
    spawn: <M>(node: number, kind: string, args?: unknown) => Promise.resolve(cluster.spawn<M>(node, kind, args)),
    send: (to, msg) => {
      cluster.send(from(to), to, msg);
      return Promise.resolve();
    },
    ask: <R>(to: Pid, msg: unknown) => cluster.ask<R>(from(to), to, msg),
    partition: (side, other) => {
      cluster.partition(side, other);
      return Promise.resolve();
    },
    heal: () => {
      cluster.heal();
      return Promise.resolve();
    },
    kill: (node) => {
      cluster.crash(node);
      return Promise.resolve();
    },
    sleep: async (ms) => {
      await cluster.runFor(ms);
    },
    until: async (what, check) => {
      const deadline = cluster.now + UNTIL_LIMIT_MS;
      while (!(await check())) {
        if (cluster.now > deadline) throw new Error(`${what}: not within ${UNTIL_LIMIT_MS} simulated ms (sim seed ${seed})`);
        await cluster.runFor(UNTIL_STEP_MS);
      }
    },
    memberState: (observer, member): Promise<MemberState | undefined> => Promise.resolve(cluster.memberState(observer, member)),
    deadLetters: () => Promise.resolve(cluster.deadLetters),
    stop: () => cluster.stop(),
  };
}
