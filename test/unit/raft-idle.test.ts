/**
 * Idle groups (`heartbeatsWhenIdle: false`): once every follower has everything, the group sends
 * nothing at all; followers do not campaign on silence, only when the host reports the leader's
 * node down (horde's node failure detector, later), and then elect a new leader.
 */
import { describe, expect, it } from 'vitest';
import { RaftSim } from '../support/raft-harness.js';

const three = ['a', 'b', 'c'];
const total = (sim: RaftSim): number => [...sim.sent.values()].reduce((a, b) => a + b, 0);

describe('raft core: idle groups', () => {
  it('an idle group sends no messages; a follower campaigns only after leaderNodeDown()', () => {
    const sim = new RaftSim({ seed: 41, members: three, core: { heartbeatsWhenIdle: false } });
    const leader = sim.awaitLeader();
    const put = sim.invoke(0, { op: 'put', key: 'k', value: 1 }, leader);
    expect(sim.runUntil(() => put.done)).toBe(true);
    sim.run(50);
    const before = total(sim);
    sim.run(500);
    expect(total(sim)).toBe(before);
    // Work wakes it up.
    const again = sim.invoke(0, { op: 'put', key: 'k', value: 2 }, leader);
    expect(sim.runUntil(() => again.done)).toBe(true);
    sim.run(50);
    sim.crash(leader);
    sim.run(500);
    expect(sim.leader()).toBeUndefined();
    const others = three.filter((m) => m !== leader);
    for (const m of others) {
      sim.core(m).leaderNodeDown();
      sim.process(sim.node(m));
    }
    const next = sim.awaitLeader(500, others);
    expect(others).toContain(next);
  });

  it('with heartbeats on (the default) the same idle group keeps sending heartbeats', () => {
    const sim = new RaftSim({ seed: 41, members: three });
    sim.awaitLeader();
    sim.run(50);
    const before = sim.sent.get('heartbeat') ?? 0;
    sim.run(100);
    expect(sim.sent.get('heartbeat') ?? 0).toBeGreaterThan(before);
  });
});
