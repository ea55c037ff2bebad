/**
 * The Raft core's swarm: many seeds, each a group of 3 or 5 members under random faults (message
 * loss, duplication, reordering, partitions, crashes and restarts, slow storage), with clients
 * writing, reading and compare-and-swapping two keys. Every seed's history must be linearizable,
 * the harness's invariants must hold after every event, and the group must make progress once
 * the faults stop. A failing seed names itself and the command that replays it alone.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable, describeLinearizability, kvModel, type KvInput } from '../../src/testkit/linearizability/index.js';
import { RaftSim } from '../support/raft-harness.js';

const SEEDS = Number(process.env.RAFT_SEEDS ?? 200);
const ONLY = process.env.RAFT_SEED === undefined ? undefined : Number(process.env.RAFT_SEED);
const REPLAY = 'RAFT_SEED=<seed> npx vitest run test/unit/raft-swarm.test.ts';

interface SeedResult {
  operations: number;
  answered: number;
  elections: number;
  snapshots: number;
  chunks: number;
}

function runSeed(seed: number): SeedResult {
  const random = new RaftSim({ seed, members: ['x'] }).random;
  const size = random.chance(0.5) ? 3 : 5;
  const members = ['a', 'b', 'c', 'd', 'e'].slice(0, size);
  const sim = new RaftSim({
    seed,
    members,
    core: {
      electionTicks: 10,
      // Without check-quorum a deposed leader lingers: ReadIndex alone must keep reads fresh.
      checkQuorum: random.chance(0.6),
      preVote: random.chance(0.8),
      heartbeatTicks: 2,
      snapshotEntries: 5 + random.int(40),
      compactionTrailing: random.int(6),
      snapshotChunkBytes: 32,
      snapshotWindow: 2,
      maxInflight: 1 + random.int(4),
      maxEntriesPerMessage: 1 + random.int(8),
    },
    faults: { minDelay: 1, maxDelay: 1 + random.int(5), drop: random.next() * 0.1, duplicate: random.next() * 0.1, persistMax: random.int(4) },
    opTimeout: 150,
  });
  const clients = 3 + random.int(3);
  const current: (ReturnType<RaftSim['invoke']> | undefined)[] = Array.from({ length: clients }, () => undefined);
  let value = 0;
  const issue = (): void => {
    for (let c = 0; c < clients; c++) {
      const op = current[c];
      if (op !== undefined && !op.done && op.deadline > sim.now) continue;
      if (!sim.random.chance(0.3)) continue;
      const key = sim.random.pick(['p', 'q']);
      const kind = sim.random.int(3);
      const input: KvInput<string, number> =
        kind === 0 ? { op: 'get', key } : kind === 1 ? { op: 'put', key, value: ++value } : { op: 'cas', key, expected: value - sim.random.int(3), value: ++value };
      current[c] = sim.invoke(c, input);
    }
  };
  const down = new Set<string>();
  for (let t = 0; t < 400; t++) {
    issue();
    if (sim.random.chance(0.01)) {
      const side = members.filter(() => sim.random.chance(0.4));
      sim.partition(side, members.filter((m) => !side.includes(m)));
    }
    const leader = sim.leader();
    if (leader !== undefined && sim.random.chance(0.01)) sim.isolate(leader);
    if (leader !== undefined && sim.random.chance(0.005)) {
      sim.core(leader).transferLeadership(sim.random.pick(members));
      sim.process(sim.node(leader));
    }
    if (sim.random.chance(0.015)) sim.heal();
    if (sim.random.chance(0.01) && down.size < (size - 1) / 2) {
      const victim = sim.random.pick(members.filter((m) => !down.has(m)));
      sim.crash(victim);
      down.add(victim);
    }
    if (down.size > 0 && sim.random.chance(0.03)) {
      const back = sim.random.pick([...down]);
      sim.restart(back);
      down.delete(back);
    }
    sim.run(1);
  }
  sim.heal();
  for (const id of down) sim.restart(id);
  const healedAt = sim.now;
  for (let t = 0; t < 200; t++) {
    issue();
    sim.run(1);
  }
  sim.run(200);
  const answeredAfterHeal = sim.history.filter((op) => op.return !== undefined && op.call >= healedAt).length;
  if (answeredAfterHeal === 0) throw new Error(`no operation answered in the 400 units after the faults stopped`);
  const model = kvModel<string, number>();
  const result = checkLinearizable(sim.history, model);
  if (result.ok !== true) throw new Error(`history not linearizable:\n${describeLinearizability(result, model)}`);
  let elections = 0;
  let snapshots = 0;
  for (const id of members) {
    elections += sim.status(id).elections;
    if (sim.status(id).snapshotIndex > 0) snapshots++;
  }
  return {
    operations: sim.history.length,
    answered: sim.history.filter((op) => op.return !== undefined).length,
    elections,
    snapshots,
    chunks: sim.sent.get('snapshot') ?? 0,
  };
}

describe('raft core swarm', () => {
  it(`keeps ${ONLY === undefined ? SEEDS : 1} seeded runs with random faults linearizable`, () => {
    const seeds = ONLY === undefined ? Array.from({ length: SEEDS }, (_, i) => i + 1) : [ONLY];
    let operations = 0;
    let answered = 0;
    let snapshots = 0;
    let chunks = 0;
    for (const seed of seeds) {
      let result: SeedResult;
      try {
        result = runSeed(seed);
      } catch (error) {
        throw new Error(`raft swarm seed ${seed} failed: ${(error as Error).message}\nreplay: ${REPLAY.replace('<seed>', String(seed))}`, { cause: error });
      }
      operations += result.operations;
      answered += result.answered;
      snapshots += result.snapshots;
      chunks += result.chunks;
    }
    // The runs did something: most operations were answered, snapshots were taken and sent.
    expect(answered).toBeGreaterThan(operations / 2);
    expect(snapshots).toBeGreaterThan(0);
    if (ONLY === undefined) expect(chunks).toBeGreaterThan(0);
    if (process.env.RAFT_STATS !== undefined) console.log({ seeds: seeds.length, operations, answered, snapshots, chunks });
  });
});
