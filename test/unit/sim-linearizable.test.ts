// The simulator and the linearizability checker together: concurrent clients on three simulated
// nodes read and write a register; the history they saw (in simulated time) is checked. One
// register process is linearizable under any seed and faults; replicas that acknowledge a write
// before the others have it (a planted bug) are caught, and swarm names the seed that shows it.
import { describe, expect, it } from 'vitest';
import { ErrorCode, SimCluster, isOutcomeUnknown, applyFaults, checkLinearizable, describeLinearizability, registerModel, swarm, type HistoryOperation, type Pid, type RegisterInput } from '../../src/index.js';
import { behaviours, type RegisterMsg, type ReplicaMsg } from '../fixtures/sim-register-behaviours.js';

const FILE = 'test/unit/sim-linearizable.test.ts';

/** Three clients per node, each doing `ops` reads and writes back to back; returns the history. */
async function clients(cluster: SimCluster, targetOf: (node: number) => Pid, ops: number): Promise<HistoryOperation<RegisterInput<number>, number | undefined>[]> {
  const history: HistoryOperation<RegisterInput<number>, number | undefined>[] = [];
  let next = 1;
  const client = async (node: number, clientId: number): Promise<void> => {
    for (let i = 0; i < ops; i++) {
      const input: RegisterInput<number> = cluster.scheduler.random.chance(0.5) ? { op: 'read' } : { op: 'write', value: next++ };
      const call = cluster.now;
      try {
        const answer = await cluster.request<number | 'ok'>(node, targetOf(node), input, 1_000);
        history.push({ clientId, input, call, return: cluster.now, output: answer === 'ok' ? undefined : answer });
      } catch (error) {
        if (!isOutcomeUnknown(error)) throw error;
        history.push({ clientId, input, call }); // timed out, or its node unreachable: unknown outcome
      }
    }
  };
  let done = false;
  const all = Promise.all(cluster.nodeIds.flatMap((node) => [0, 1, 2].map((k) => client(node, node * 10 + k)))).then(() => (done = true));
  await cluster.run({ until: () => done, maxEvents: 2_000_000 });
  await all;
  return history;
}

describe('linearizability under simulation', () => {
  it('one register process is linearizable for every seed, partitions included', async () => {
    // The check is exponential in the worst case: a history it cannot decide within its step
    // budget is inconclusive ('unknown'), never a pass. A few may be; none may be a violation.
    const inconclusive: number[] = [];
    await swarm({ seeds: 20, file: FILE, faults: () => [{ atMs: 5, fault: { kind: 'partition', side: [3], other: [1, 2], oneWay: false } }, { atMs: 400, fault: { kind: 'heal' } }] }, async (seed, faults) => {
      const cluster = await SimCluster.start({ behaviours, nodes: 3, seed });
      const register = cluster.spawn<RegisterMsg>(2, 'register');
      applyFaults(cluster, faults);
      const history = await clients(cluster, () => register, 15);
      await cluster.stop();
      const result = checkLinearizable(history, registerModel(0), { maxSteps: 3_000_000 });
      if (result.ok === 'unknown') inconclusive.push(seed);
      else if (result.ok !== true) throw new Error(describeLinearizability(result, registerModel(0)));
    });
    expect(inconclusive.length, `inconclusive seeds: ${inconclusive.join(', ')}`).toBeLessThanOrEqual(2);
  });

  it('finds the planted bug: swarm fails naming a seed and the command that replays it', async () => {
    const failing = swarm({ seeds: 20, file: FILE }, async (seed) => {
      const cluster = await SimCluster.start({ behaviours, nodes: 3, seed });
      const replicas = cluster.nodeIds.map((id) => cluster.spawn<ReplicaMsg>(id, 'replica'));
      for (const [i, replica] of replicas.entries()) cluster.send(i + 1, replica, { op: 'peers', peers: replicas.filter((r) => r !== replica) });
      await cluster.runFor(10);
      const history = await clients(cluster, (node) => replicas[node - 1]!, 15);
      await cluster.stop();
      const result = checkLinearizable(history, registerModel(0));
      if (result.ok !== true) throw new Error(describeLinearizability(result, registerModel(0)));
    });
    await expect(failing).rejects.toMatchObject({ code: ErrorCode.SIM_FAILED, message: expect.stringMatching(/^seed \d+ failed: [^]*replay: HORDE_SIM_SEED=\d+ npx vitest run test\/unit\/sim-linearizable\.test\.ts/) as unknown });
  });
});
