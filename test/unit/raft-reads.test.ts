/**
 * ReadIndex: a leader cut off from its group (check-quorum off, so it still believes it leads)
 * must not answer a read from its stale state; once healed, the read is answered fresh.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable, kvModel } from '../../src/testkit/linearizability/index.js';
import { RaftSim } from '../support/raft-harness.js';

describe('raft core: ReadIndex', () => {
  it('a deposed leader in a minority never answers a stale read', () => {
    const sim = new RaftSim({ seed: 7, members: ['a', 'b', 'c'], core: { checkQuorum: false } });
    const old = sim.awaitLeader();
    const first = sim.invoke(0, { op: 'put', key: 'k', value: 1 }, old);
    expect(sim.runUntil(() => first.done)).toBe(true);
    sim.isolate(old);
    const oldTerm = sim.status(old).term;
    const fresh = sim.awaitLeader(2000, ['a', 'b', 'c'].filter((m) => m !== old));
    expect(fresh).not.toBe(old);
    expect(sim.status(fresh).term).toBeGreaterThan(oldTerm);
    const second = sim.invoke(1, { op: 'put', key: 'k', value: 2 }, fresh);
    expect(sim.runUntil(() => second.done)).toBe(true);
    const read = sim.invoke(2, { op: 'get', key: 'k' }, old);
    sim.run(100);
    expect(sim.status(old).role).toBe('leader');
    expect(read.done).toBe(false);
    sim.heal();
    expect(sim.runUntil(() => read.done)).toBe(true);
    expect(read.record.output).toBe(2);
    expect(checkLinearizable(sim.history, kvModel<string, number>()).ok).toBe(true);
  });

  it('a read on a follower is forwarded to the leader and answered once applied there', () => {
    const sim = new RaftSim({ seed: 8, members: ['a', 'b', 'c'] });
    const leader = sim.awaitLeader();
    const follower = ['a', 'b', 'c'].find((m) => m !== leader)!;
    const put = sim.invoke(0, { op: 'put', key: 'k', value: 5 }, leader);
    expect(sim.runUntil(() => put.done)).toBe(true);
    const before = sim.sent.get('readIndex') ?? 0;
    const read = sim.invoke(1, { op: 'get', key: 'k' }, follower);
    expect(sim.runUntil(() => read.done)).toBe(true);
    expect(read.record.output).toBe(5);
    expect(sim.sent.get('readIndex') ?? 0).toBe(before + 1);
  });
});
