/**
 * RaftCore through the public exports, driven by hand: a one-member group (its host persists
 * synchronously with MemoryRaftPersistence.writeReady), refusals, bounds, and option checks.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, HordeError, MemoryRaftPersistence, RaftCore, SimRandom, type RaftReady } from '../../src/index.js';

function single(options: Partial<ConstructorParameters<typeof RaftCore>[0]> = {}): { core: RaftCore; storage: MemoryRaftPersistence; drain: () => RaftReady[] } {
  const storage = new MemoryRaftPersistence({ voters: ['solo'], learners: [] });
  const core = new RaftCore({ id: 'solo', random: new SimRandom(1), ...options }, storage.load());
  const drain = (): RaftReady[] => {
    const readies: RaftReady[] = [];
    while (core.hasReady()) {
      const ready = core.ready();
      storage.writeReady(ready);
      const last = ready.append?.entries[ready.append.entries.length - 1];
      if (last !== undefined) core.persisted(last.index, last.term);
      const applied = ready.committed[ready.committed.length - 1];
      if (applied !== undefined) core.applied(applied.index);
      readies.push(ready);
    }
    return readies;
  };
  return { core, storage, drain };
}

function elect(core: RaftCore, drain: () => RaftReady[]): void {
  for (let i = 0; i < 40 && core.role !== 'leader'; i++) {
    core.tick();
    drain();
  }
}

describe('RaftCore (public API)', () => {
  it('a one-member group elects itself, commits a proposal once persisted, and confirms reads at once', () => {
    const { core, storage, drain } = single();
    elect(core, drain);
    expect(core.role).toBe('leader');
    const answer = core.propose({ set: 1 });
    expect(answer).toMatchObject({ ok: true, index: 2 });
    const committed = drain().flatMap((r) => r.committed);
    expect(committed.map((e) => e.kind)).toEqual(['command']);
    expect(storage.lastIndex()).toBe(2);
    core.readIndex('r1');
    expect(drain().flatMap((r) => r.reads)).toEqual([{ id: 'r1', index: 2 }]);
    // A restart from storage hands the committed entries out again, to rebuild the state machine.
    const again = new RaftCore({ id: 'solo', random: new SimRandom(2) }, storage.load());
    const replay = again.ready().committed;
    expect(replay.map((e) => e.index)).toEqual([1, 2]);
  });

  it('a leader does not commit before its own storage acknowledges the entry', () => {
    const storage = new MemoryRaftPersistence({ voters: ['solo'], learners: [] });
    const core = new RaftCore({ id: 'solo', random: new SimRandom(1) }, storage.load());
    for (let i = 0; i < 40 && core.role !== 'leader'; i++) {
      core.tick();
      const ready = core.ready();
      const last = ready.append?.entries.at(-1);
      if (last !== undefined) core.persisted(last.index, last.term);
    }
    expect(core.ready().committed.map((e) => e.kind)).toEqual(['noop']);
    core.propose('x');
    const ready = core.ready();
    expect(ready.append?.entries.map((e) => e.index)).toEqual([2]);
    expect(ready.committed).toEqual([]);
    core.persisted(2, ready.append!.entries[0]!.term);
    expect(core.ready().committed.map((e) => e.index)).toEqual([2]);
  });

  it('refuses proposals on a follower (naming no leader yet) and past maxUncommitted', () => {
    const storage = new MemoryRaftPersistence({ voters: ['a', 'b', 'c'], learners: [] });
    const follower = new RaftCore({ id: 'a', random: new SimRandom(1) }, storage.load());
    expect(follower.propose('x')).toMatchObject({ ok: false, reason: 'notLeader', leader: undefined });
    follower.readIndex('r');
    expect(follower.ready().readFailures).toEqual([{ id: 'r', reason: 'noLeader' }]);
    const { core, drain } = single({ maxUncommitted: 2 });
    elect(core, drain);
    expect(core.propose(1).ok).toBe(true);
    expect(core.propose(2).ok).toBe(true);
    expect(core.propose(3)).toMatchObject({ ok: false, reason: 'overloaded' });
    drain();
    expect(core.propose(4).ok).toBe(true);
  });

  it('a read forwarded to the leader fails with timeout when no answer comes within two election timeouts', () => {
    const storage = new MemoryRaftPersistence({ voters: ['a', 'b', 'c'], learners: [] });
    const follower = new RaftCore({ id: 'a', random: new SimRandom(1), electionTicks: 10 }, storage.load());
    follower.receive({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0, round: 0 });
    expect(follower.status().leader).toBe('b');
    follower.ready();
    follower.readIndex('r');
    expect(follower.ready().messages).toContainEqual({ type: 'readIndex', from: 'a', to: 'b', term: 1, id: 'r' });
    const failures = [];
    for (let i = 0; i < 20; i++) {
      follower.tick();
      if (i === 5) follower.receive({ type: 'heartbeat', from: 'b', to: 'a', term: 1, commit: 0, round: 0 });
      failures.push(...follower.ready().readFailures);
    }
    expect(failures).toEqual([{ id: 'r', reason: 'timeout' }]);
  });

  it('refuses bad options with HORDE_INVALID_OPTION', () => {
    const state = new MemoryRaftPersistence().load();
    const make = (options: object) => () => new RaftCore({ id: 'a', random: new SimRandom(1), ...options }, state);
    for (const bad of [{ id: '' }, { electionTicks: 0 }, { heartbeatTicks: 10, electionTicks: 10 }, { maxInflight: 1.5 }, { compactionTrailing: -1 }]) {
      let error: unknown;
      try {
        make(bad)();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(HordeError);
      expect((error as HordeError).code).toBe(ErrorCode.INVALID_OPTION);
    }
  });
});
