import { describe, expect, it } from 'vitest';
import { checkLinearizable, kvModel } from '../../src/testkit/linearizability/index.js';
import { RaftSim } from '../support/raft-harness.js';

describe('raft core: basics', () => {
  it('elects one leader and commits proposals on every member', () => {
    const sim = new RaftSim({ seed: 1, members: ['a', 'b', 'c'] });
    const leader = sim.awaitLeader();
    for (let i = 0; i < 20; i++) {
      const op = sim.invoke(i % 3, { op: 'put', key: 'k', value: i });
      expect(sim.runUntil(() => op.done)).toBe(true);
    }
    sim.run(20);
    for (const id of ['a', 'b', 'c']) expect(sim.status(id).commit).toBe(sim.status(leader).commit);
    const read = sim.invoke(0, { op: 'get', key: 'k' });
    expect(sim.runUntil(() => read.done)).toBe(true);
    expect(read.record.output).toBe(19);
    expect(checkLinearizable(sim.history, kvModel<string, number>()).ok).toBe(true);
  });
});
