/**
 * Membership changes one server at a time (learners first, promoted once caught up), removing
 * the leader, replacing every member one by one under load, and leadership transfer to a lagging
 * member while proposals arrive.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable, kvModel } from '../../src/testkit/linearizability/index.js';
import { RaftSim } from '../support/raft-harness.js';

const three = ['a', 'b', 'c'];

describe('raft core: membership', () => {
  it('adds a learner, refuses to promote it until it has caught up, then promotes it', () => {
    const sim = new RaftSim({ seed: 31, members: three, spares: ['d'], core: { promoteLag: 4 } });
    const leader = sim.awaitLeader();
    for (let i = 0; i < 30; i++) sim.propose(leader, { client: 0, op: { op: 'put', key: 'k', value: i } });
    sim.isolate('d');
    sim.changeMembership({ type: 'addLearner', member: 'd' });
    expect(sim.status(sim.leader()!).membership.learners).toEqual(['d']);
    const refused = sim.core(sim.leader()!).changeMembership({ type: 'promote', member: 'd' });
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toBe('invalid');
    // A learner never campaigns, however long it hears nothing.
    sim.run(200);
    expect(sim.status('d').elections).toBe(0);
    sim.heal();
    sim.changeMembership({ type: 'promote', member: 'd' });
    expect(sim.runUntil(() => ['a', 'b', 'c', 'd'].every((m) => sim.status(m).membership.voters.includes('d')))).toBe(true);
    expect(sim.runUntil(() => sim.node('d').sm.get('k') === 29)).toBe(true);
  });

  it('removes the leader: it steps down once the change commits and the others go on', () => {
    const sim = new RaftSim({ seed: 32, members: three });
    const leader = sim.awaitLeader();
    sim.changeMembership({ type: 'remove', member: leader });
    const others = three.filter((m) => m !== leader);
    const next = sim.awaitLeader(2000, others);
    expect(sim.status(next).membership.voters).toEqual(others);
    expect(sim.core(leader).role).not.toBe('leader');
    const put = sim.invoke(0, { op: 'put', key: 'k', value: 1 }, next);
    expect(sim.runUntil(() => put.done)).toBe(true);
    sim.run(300);
    expect(sim.core(leader).role).toBe('follower');
    expect(sim.leader()).toBe(next);
  });

  it('replaces every member one by one under load; the history stays linearizable', () => {
    const sim = new RaftSim({ seed: 33, members: three, spares: ['d', 'e', 'f'], core: { snapshotEntries: 30 }, faults: { maxDelay: 3, drop: 0.02 } });
    sim.awaitLeader();
    let value = 0;
    const load = (): void => {
      for (let c = 0; c < 3; c++) if (sim.random.chance(0.2)) sim.invoke(c, sim.random.chance(0.5) ? { op: 'get', key: 'k' } : { op: 'put', key: 'k', value: ++value });
    };
    const pairs: [string, string][] = [
      ['a', 'd'],
      ['b', 'e'],
      ['c', 'f'],
    ];
    for (const [old, fresh] of pairs) {
      sim.at(1, load);
      sim.changeMembership({ type: 'addLearner', member: fresh });
      for (let i = 0; i < 20; i++) sim.at(i, load);
      sim.changeMembership({ type: 'promote', member: fresh });
      sim.changeMembership({ type: 'remove', member: old });
      sim.run(30);
      sim.crash(old);
    }
    sim.run(300);
    const leader = sim.awaitLeader();
    expect([...sim.status(leader).membership.voters].sort()).toEqual(['d', 'e', 'f']);
    const read = sim.invoke(9, { op: 'get', key: 'k' }, leader);
    expect(sim.runUntil(() => read.done)).toBe(true);
    expect(value).toBeGreaterThan(0);
    expect(checkLinearizable(sim.history, kvModel<string, number>()).ok).toBe(true);
  });

  it('hands leadership to a lagging member while proposals arrive', () => {
    const sim = new RaftSim({ seed: 34, members: three });
    const leader = sim.awaitLeader();
    const target = three.find((m) => m !== leader)!;
    sim.isolate(target);
    for (let i = 0; i < 40; i++) sim.propose(leader, { client: 0, op: { op: 'put', key: 'k', value: i } });
    sim.run(20);
    sim.heal();
    const term = sim.status(leader).term;
    expect(sim.core(leader).transferLeadership(target).ok).toBe(true);
    let value = 100;
    const ops: ReturnType<RaftSim['invoke']>[] = [];
    for (let t = 0; t < 200 && sim.leader() !== target; t++) {
      ops.push(sim.invoke(t % 3, { op: 'put', key: 'k', value: ++value }, leader));
      sim.run(1);
    }
    expect(sim.leader()).toBe(target);
    // TimeoutNow lets the target campaign at once, in the next term, without a pre-vote round.
    expect(sim.status(target).term).toBe(term + 1);
    expect(sim.sent.get('timeoutNow')).toBeGreaterThanOrEqual(1);
    expect(sim.runUntil(() => ops.every((op) => op.done))).toBe(true);
    expect(checkLinearizable(sim.history, kvModel<string, number>()).ok).toBe(true);
  });
});
