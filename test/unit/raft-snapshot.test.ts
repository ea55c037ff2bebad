/**
 * Snapshots: a follower behind the leader's compaction point catches up by a chunked snapshot
 * with flow control, even when the transfer takes many election timeouts (the follower keeps its
 * leader, nobody campaigns, and the transfer never restarts from zero); a member restarted after
 * compaction starts from its snapshot.
 */
import { describe, expect, it } from 'vitest';
import type { SnapshotChunk } from '../../src/index.js';
import { RaftSim } from '../support/raft-harness.js';

const three = ['a', 'b', 'c'];

describe('raft core: snapshots', () => {
  it('a follower behind the compaction point installs a chunked snapshot that takes longer than any election timeout', () => {
    const sim = new RaftSim({
      seed: 21,
      members: three,
      core: { electionTicks: 10, snapshotEntries: 20, compactionTrailing: 0, snapshotChunkBytes: 16, snapshotWindow: 1 },
      faults: { minDelay: 1, maxDelay: 1, persistMax: 0 },
    });
    const leader = sim.awaitLeader();
    const slow = three.find((m) => m !== leader)!;
    sim.isolate(slow);
    for (let i = 0; i < 60; i++) expect(sim.propose(leader, { client: 0, op: { op: 'put', key: `key-${i}`, value: i } }).ok).toBe(true);
    expect(sim.runUntil(() => sim.status(leader).logBase > sim.status(slow).lastIndex + 1)).toBe(true);
    const termBefore = sim.status(leader).term;
    const electionsBefore = three.reduce((n, m) => n + sim.status(m).elections, 0);
    // A slow link: every message takes 4 units; one chunk in flight at a time.
    sim.faults = { ...sim.faults, minDelay: 4, maxDelay: 4 };
    sim.traceMessages = true;
    sim.heal();
    const start = sim.now;
    expect(sim.runUntil(() => sim.status(slow).applied >= sim.status(leader).commit && sim.status(slow).snapshotIndex > 0, 5000)).toBe(true);
    const took = sim.now - start;
    const chunks = sim.trace.filter((m): m is SnapshotChunk => m.type === 'snapshot' && m.to === slow);
    const size = chunks[0]!.size;
    // The transfer took many election timeouts (at most 2 * 10 ticks each) ...
    expect(took).toBeGreaterThan(5 * 20);
    // ... yet nobody campaigned, the leader kept its term, and the transfer never restarted from zero.
    expect(sim.status(leader).term).toBe(termBefore);
    expect(three.reduce((n, m) => n + sim.status(m).elections, 0)).toBe(electionsBefore);
    expect(chunks.filter((c) => c.offset === 0)).toHaveLength(1);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil(size / 16) + 2);
    expect(sim.node(slow).sm).toEqual(sim.node(leader).sm);
    expect(sim.node(slow).sm.size).toBe(60);
  });

  it('chunks lost, duplicated and reordered are sent again from the offset the follower holds', () => {
    const sim = new RaftSim({
      seed: 22,
      members: three,
      core: { snapshotEntries: 10, compactionTrailing: 0, snapshotChunkBytes: 8, snapshotWindow: 4 },
      faults: { minDelay: 1, maxDelay: 1, persistMax: 1 },
    });
    const leader = sim.awaitLeader();
    const slow = three.find((m) => m !== leader)!;
    sim.isolate(slow);
    for (let i = 0; i < 30; i++) sim.propose(leader, { client: 0, op: { op: 'put', key: `key-${i}`, value: i } });
    expect(sim.runUntil(() => sim.status(leader).logBase > sim.status(slow).lastIndex + 1)).toBe(true);
    sim.faults = { ...sim.faults, minDelay: 1, maxDelay: 6, drop: 0.2, duplicate: 0.2 };
    sim.heal();
    expect(sim.runUntil(() => sim.status(slow).applied >= sim.status(leader).commit && sim.status(slow).snapshotIndex > 0, 5000)).toBe(true);
    expect(sim.node(slow).sm).toEqual(sim.node(leader).sm);
  });

  it('a member restarted after compaction starts from its snapshot and applies only what follows', () => {
    const sim = new RaftSim({ seed: 23, members: three, core: { snapshotEntries: 10, compactionTrailing: 2 } });
    const leader = sim.awaitLeader();
    for (let i = 0; i < 25; i++) sim.propose(leader, { client: 0, op: { op: 'put', key: 'k', value: i } });
    expect(sim.runUntil(() => three.every((m) => sim.status(m).snapshotIndex > 0 && sim.status(m).applied === sim.status(leader).commit))).toBe(true);
    sim.run(10);
    const member = three.find((m) => m !== leader)!;
    const snapshotIndex = sim.status(member).snapshotIndex;
    sim.crash(member);
    sim.restart(member);
    expect(sim.status(member).snapshotIndex).toBe(snapshotIndex);
    expect(sim.status(member).logBase).toBeGreaterThan(0);
    expect(sim.runUntil(() => sim.status(member).applied === sim.status(leader).commit)).toBe(true);
    expect(sim.node(member).sm.get('k')).toBe(24);
  });
});
