/**
 * The Raft paper's Figure 8: a leader must not commit an entry of an earlier term by counting its
 * replicas, because a later leader may still overwrite it. Scripted with crashes and message
 * filters over the harness (appends carry one entry each, so an old entry can reach a majority on
 * its own).
 */
import { describe, expect, it } from 'vitest';
import { RaftSim } from '../support/raft-harness.js';

describe('raft core: Figure 8', () => {
  it('an entry of an earlier term on a majority is not committed until an entry of the current term is', () => {
    const members = ['s1', 's2', 's3', 's4', 's5'];
    const sim = new RaftSim({ seed: 3, members, core: { maxEntriesPerMessage: 1 }, faults: { minDelay: 1, maxDelay: 1, persistMax: 0 } });
    const first = sim.awaitLeader();
    const second = members.find((m) => m !== first)!;
    const rest = members.filter((m) => m !== first && m !== second);
    // (a) The first leader's entry X reaches only `second`.
    sim.dropIf = (m) => m.from === first && m.type === 'append' && m.to !== second;
    const x = sim.propose(first, { client: 0, op: { op: 'put', key: 'k', value: 1 } });
    if (!x.ok) throw new Error('the leader refused');
    const xIndex = x.index!;
    expect(sim.runUntil(() => sim.core(second).termAt(xIndex) === x.term && sim.status(second).persisted >= xIndex)).toBe(true);
    // (b) Both crash; the other three elect a leader whose entry at X's index reaches nobody.
    sim.crash(first);
    sim.crash(second);
    sim.dropIf = (m) => m.type === 'append' && m.entries.length > 0;
    const third = sim.awaitLeaderOf(rest);
    const overwriter = sim.core(third).entryAt(xIndex);
    expect(overwriter?.term).toBeGreaterThan(x.term!);
    sim.crash(third);
    // (c) The first two come back; one of them leads and copies X (of an earlier term) to a majority,
    // while its own entries (of its term) are dropped.
    sim.restart(first);
    sim.restart(second);
    // (Only appends that would be accepted are dropped: rejected probes still find the match. The
    // other two are kept from campaigning, so one of the first two wins.)
    const accepted = (m: { to: string; prevIndex: number; prevTerm: number }): boolean => sim.core(m.to).termAt(m.prevIndex) === m.prevTerm;
    sim.dropIf = (m) =>
      (m.type === 'append' && m.entries.some((e) => e.term > x.term!) && accepted(m)) || ((m.type === 'preVote' || m.type === 'vote') && rest.includes(m.from));
    const fourth = sim.awaitLeaderOf([first, second]);
    const holders = (): number => members.filter((m) => sim.isUp(m) && sim.core(m).termAt(xIndex) === x.term).length;
    expect(sim.runUntil(() => holders() >= 3)).toBe(true);
    sim.run(30);
    // X is on a majority of five, yet not committed: it is not of the leader's term.
    expect(sim.status(fourth).commit).toBeLessThan(xIndex);
    // (d) The leader crashes before an entry of its term commits; the third member comes back and
    // overwrites X on the majority it wins with: had X been committed, a committed entry would be lost.
    sim.crash(fourth);
    for (const m of [first, second]) if (sim.isUp(m)) sim.crash(m);
    sim.dropIf = undefined;
    sim.restart(third);
    const fifth = sim.awaitLeaderOf([third]);
    expect(fifth).toBe(third);
    expect(sim.runUntil(() => rest.every((m) => sim.core(m).termAt(xIndex) === overwriter?.term))).toBe(true);
  });
});
