/**
 * Elections, scripted: pre-vote keeps a rejoining member from deposing a healthy leader;
 * check-quorum makes a leader cut off in a minority step down; a crash loses only what storage had
 * not completed, never an acknowledged write; a leader's conflicting uncommitted suffix is
 * truncated when it rejoins, also while its own appends are still being written.
 */
import { describe, expect, it } from 'vitest';
import { checkLinearizable, kvModel } from '../../src/testkit/linearizability/index.js';
import { RaftSim } from '../support/raft-harness.js';

const three = ['a', 'b', 'c'];

function rejoin(preVote: boolean): { termBefore: number; termAfter: number; leaderBefore: string; leaderAfter: string | undefined; isolatedTerm: number } {
  const sim = new RaftSim({ seed: 11, members: three, core: { preVote } });
  const leaderBefore = sim.awaitLeader();
  const termBefore = sim.status(leaderBefore).term;
  const follower = three.find((m) => m !== leaderBefore)!;
  sim.isolate(follower);
  sim.run(300);
  const isolatedTerm = sim.status(follower).term;
  sim.heal();
  sim.run(200);
  const leaderAfter = sim.leader();
  return { termBefore, termAfter: leaderAfter === undefined ? -1 : sim.status(leaderAfter).term, leaderBefore, leaderAfter, isolatedTerm };
}

describe('raft core: elections', () => {
  it('with pre-vote, a member cut off for a long time rejoins without deposing the leader', () => {
    const run = rejoin(true);
    expect(run.isolatedTerm).toBe(run.termBefore);
    expect(run.leaderAfter).toBe(run.leaderBefore);
    expect(run.termAfter).toBe(run.termBefore);
  });

  it('without pre-vote the same member raises its term and deposes the leader (the control)', () => {
    const run = rejoin(false);
    expect(run.isolatedTerm).toBeGreaterThan(run.termBefore);
    expect(run.termAfter).toBeGreaterThan(run.termBefore);
  });

  it('with check-quorum, a leader cut off in a minority steps down; the majority elects another', () => {
    const sim = new RaftSim({ seed: 12, members: ['a', 'b', 'c', 'd', 'e'] });
    const old = sim.awaitLeader();
    sim.isolate(old);
    const others = ['a', 'b', 'c', 'd', 'e'].filter((m) => m !== old);
    const fresh = sim.awaitLeader(2000, others);
    expect(sim.runUntil(() => sim.core(old).role !== 'leader', 100)).toBe(true);
    expect(sim.status(fresh).term).toBeGreaterThan(sim.status(old).term);
  });

  it('a crash loses only entries storage had not completed; every acknowledged write survives crashes of any member', () => {
    const sim = new RaftSim({ seed: 13, members: three, faults: { persistMax: 6 } });
    let lostUnpersisted = 0;
    let value = 0;
    for (let round = 0; round < 12; round++) {
      const leader = sim.awaitLeader();
      for (let i = 0; i < 5; i++) sim.invoke(i, { op: 'put', key: 'k', value: ++value });
      sim.run(3);
      const victim = round % 2 === 0 ? leader : three.find((m) => m !== leader)!;
      const before = sim.status(victim);
      sim.crash(victim);
      sim.restart(victim);
      const after = sim.status(victim);
      // What a restarted core holds is exactly what storage completed.
      expect(after.lastIndex).toBe(sim.node(victim).storage.lastIndex());
      expect(after.lastIndex).toBeLessThanOrEqual(before.lastIndex);
      if (before.persisted < before.lastIndex) lostUnpersisted++;
      sim.run(10);
    }
    const read = sim.invoke(99, { op: 'get', key: 'k' });
    expect(sim.runUntil(() => read.done)).toBe(true);
    expect(lostUnpersisted).toBeGreaterThan(0);
    expect(checkLinearizable(sim.history, kvModel<string, number>()).ok).toBe(true);
  });

  it("a leader's conflicting uncommitted suffix is truncated when it rejoins, also while its own writes are pending", () => {
    const sim = new RaftSim({ seed: 14, members: three, faults: { persistMax: 8 } });
    const old = sim.awaitLeader();
    sim.isolate(old);
    for (let i = 0; i < 6; i++) expect(sim.propose(old, { client: 0, op: { op: 'put', key: 'k', value: 100 + i } }).ok).toBe(true);
    const stale = sim.status(old).lastIndex;
    const others = three.filter((m) => m !== old);
    const fresh = sim.awaitLeader(2000, others);
    for (let i = 0; i < 10; i++) expect(sim.propose(fresh, { client: 1, op: { op: 'put', key: 'k', value: i } }).ok).toBe(true);
    expect(sim.runUntil(() => sim.status(fresh).commit >= sim.status(fresh).lastIndex)).toBe(true);
    sim.heal();
    expect(sim.runUntil(() => sim.status(old).commit === sim.status(fresh).commit && sim.status(old).lastIndex === sim.status(fresh).lastIndex)).toBe(true);
    sim.run(20);
    for (let i = 1; i <= sim.status(fresh).lastIndex; i++) expect(sim.core(old).entryAt(i)).toEqual(sim.core(fresh).entryAt(i));
    // The old leader's own entries were overwritten in its storage as well.
    const stored = sim.node(old).storage.load().entries;
    for (const entry of stored) expect(entry).toEqual(sim.core(fresh).entryAt(entry.index));
    expect(stale).toBeGreaterThan(0);
    expect(sim.node(old).sm.get('k')).toBe(9);
  });

  it('a member that crashes while truncating a stale suffix does not apply that suffix after a restart', () => {
    const five = ['a', 'b', 'c', 'd', 'e'];
    const sim = new RaftSim({ seed: 15, members: five, faults: { persistMax: 0 } });
    const old = sim.awaitLeader();
    const follower = five.find((m) => m !== old)!;
    const majority = five.filter((m) => m !== old && m !== follower);
    sim.partition([old, follower], majority);
    for (let i = 0; i < 4; i++) sim.propose(old, { client: 0, op: { op: 'put', key: 'k', value: 100 + i } });
    const stale = sim.status(old).lastIndex;
    expect(sim.runUntil(() => sim.status(follower).persisted >= stale)).toBe(true);
    const fresh = sim.awaitLeader(2000, majority);
    for (let i = 0; i < 6; i++) sim.propose(fresh, { client: 1, op: { op: 'put', key: 'k', value: i } });
    expect(sim.runUntil(() => sim.status(fresh).commit >= stale + 2)).toBe(true);
    // The follower rejoins the majority with slow storage: it truncates its stale suffix and learns
    // the commit index in memory, then crashes before the truncation is written.
    sim.faults = { ...sim.faults, persistMax: 50 };
    sim.heal();
    sim.isolate(old);
    expect(sim.runUntil(() => sim.status(follower).commit >= stale && sim.core(follower).termAt(stale) === sim.core(fresh).termAt(stale))).toBe(true);
    expect(sim.node(follower).storage.load().entries.find((e) => e.index === stale)?.term).toBe(sim.core(old).termAt(stale));
    sim.crash(follower);
    sim.faults = { ...sim.faults, persistMax: 0 };
    // On restart it applies only entries it knows committed (the harness checks every member applies the same entry at each index).
    sim.restart(follower);
    expect(sim.status(follower).commit).toBeLessThan(stale);
    sim.heal();
    expect(sim.runUntil(() => sim.node(follower).applied === sim.status(fresh).commit)).toBe(true);
    expect(sim.node(follower).sm.get('k')).toBe(5);
  });

  it('a disk that stalls longer than the election timeout, on a follower or on the leader, deposes nobody and loses nothing', () => {
    const sim = new RaftSim({ seed: 16, members: three, core: { electionTicks: 10 } });
    const leader = sim.awaitLeader();
    const term = sim.status(leader).term;
    const follower = three.find((m) => m !== leader)!;
    let value = 0;
    for (const stalled of [follower, leader]) {
      sim.diskStalledUntil.set(stalled, sim.now + 150);
      const puts: ReturnType<RaftSim['invoke']>[] = [];
      for (let i = 0; i < 10; i++) {
        puts.push(sim.invoke(0, { op: 'put', key: 'k', value: ++value }, leader));
        sim.run(5);
      }
      // The other two members are a majority: writes commit while the stalled disk holds its member back.
      expect(sim.runUntil(() => puts.every((op) => op.done), 100)).toBe(true);
      expect(sim.status(stalled).persisted).toBeLessThan(sim.status(leader).commit);
      sim.run(150);
      expect(sim.runUntil(() => sim.status(stalled).persisted === sim.status(leader).lastIndex)).toBe(true);
    }
    expect(sim.leader()).toBe(leader);
    expect(sim.status(leader).term).toBe(term);
    expect(three.reduce((n, m) => n + sim.status(m).elections, 0)).toBe(1);
    expect(checkLinearizable(sim.history, kvModel<string, number>()).ok).toBe(true);
  });
});
