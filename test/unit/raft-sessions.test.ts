/**
 * Client sessions (exactly-once commands): the table on its own, and a retried command through a
 * group whose leader crashed after committing it: applied once, answered with its first answer.
 */
import { describe, expect, it } from 'vitest';
import { ClientSessions, ErrorCode, HordeError, type RaftAnswer } from '../../src/index.js';
import { RaftSim } from '../support/raft-harness.js';

const three = ['a', 'b', 'c'];

/** The index of an accepted proposal. */
function at(answer: RaftAnswer): number {
  if (!answer.ok || answer.index === undefined) throw new Error(`refused: ${JSON.stringify(answer)}`);
  return answer.index;
}

describe('raft client sessions', () => {
  it('runs each operation id once, keeps its answer, and refuses ids outside the arc or forgotten', () => {
    const sessions = new ClientSessions({ answersPerSession: 2 });
    let runs = 0;
    const run = (command: unknown): string => `${String(command)}#${++runs}`;
    const open = sessions.apply(1, { type: 'open' }, run);
    expect(open).toEqual({ ok: true, session: 1 });
    expect(sessions.apply(2, { type: 'grant', session: 1, size: 3 }, run)).toEqual({ ok: true, start: 0, end: 3 });
    expect(sessions.apply(3, { type: 'op', session: 1, opId: 0, command: 'x' }, run)).toEqual({ ok: true, reply: 'x#1', duplicate: false });
    expect(sessions.apply(4, { type: 'op', session: 1, opId: 0, command: 'x' }, run)).toEqual({ ok: true, reply: 'x#1', duplicate: true });
    expect(sessions.apply(5, { type: 'op', session: 1, opId: 3, command: 'y' }, run)).toEqual({ ok: false, error: 'outsideArc' });
    // A new grant revokes the unused ids of the old arc; answered ones still answer.
    expect(sessions.apply(6, { type: 'grant', session: 1, size: 3 }, run)).toEqual({ ok: true, start: 3, end: 6 });
    expect(sessions.apply(7, { type: 'op', session: 1, opId: 1, command: 'z' }, run)).toEqual({ ok: false, error: 'outsideArc' });
    expect(sessions.apply(8, { type: 'op', session: 1, opId: 0, command: 'x' }, run)).toMatchObject({ ok: true, duplicate: true });
    sessions.apply(9, { type: 'op', session: 1, opId: 3, command: 'a' }, run);
    sessions.apply(10, { type: 'op', session: 1, opId: 4, command: 'b' }, run);
    // Only two answers are kept: id 0's is forgotten, and it is refused rather than run again.
    expect(sessions.apply(11, { type: 'op', session: 1, opId: 0, command: 'x' }, run)).toEqual({ ok: false, error: 'answerForgotten' });
    expect(runs).toBe(3);
    expect(sessions.apply(12, { type: 'op', session: 99, opId: 0, command: 'x' }, run)).toEqual({ ok: false, error: 'unknownSession' });
  });

  it('expires sessions through the log, identically after a snapshot and restore', () => {
    const a = new ClientSessions({ expireAfterEntries: 8 });
    const run = (): number => 1;
    a.apply(1, { type: 'open' }, run);
    a.apply(2, { type: 'grant', session: 1, size: 10 }, run);
    const b = new ClientSessions({ expireAfterEntries: 8 });
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    for (const table of [a, b]) {
      expect(table.apply(6, { type: 'op', session: 1, opId: 0, command: 'x' }, run)).toMatchObject({ ok: true });
      expect(table.apply(30, { type: 'op', session: 1, opId: 1, command: 'x' }, run)).toEqual({ ok: false, error: 'unknownSession' });
      expect(table.size).toBe(0);
    }
    const full = new ClientSessions({ maxSessions: 1 });
    full.apply(1, { type: 'open' }, run);
    expect(full.apply(2, { type: 'open' }, run)).toEqual({ ok: false, error: 'tooManySessions' });
    for (const bad of [{ maxSessions: 0 }, { answersPerSession: -1 }, { expireAfterEntries: 1.5 }]) {
      let error: unknown;
      try {
        new ClientSessions(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(HordeError);
      expect((error as HordeError).code).toBe(ErrorCode.INVALID_OPTION);
    }
  });

  it('a command retried on a new leader after the first one committed is applied once and answers its first answer', () => {
    const sim = new RaftSim({ seed: 51, members: three });
    const committed = (leader: string, index: number): boolean => sim.status(leader).commit >= index && sim.status(leader).applied >= index;
    const first = sim.awaitLeader();
    const open = sim.propose(first, { sessions: { type: 'open' } });
    expect(sim.runUntil(() => committed(first, at(open)))).toBe(true);
    const session = at(open);
    const grant = sim.propose(first, { sessions: { type: 'grant', session, size: 16 } });
    expect(sim.runUntil(() => committed(first, at(grant)))).toBe(true);
    const op = { type: 'op' as const, session, opId: 0, command: { op: 'cas', key: 'k', expected: undefined, value: 1 } };
    const attempt = sim.propose(first, { sessions: op });
    // The command commits, but its leader crashes before the client hears the answer.
    expect(sim.runUntil(() => sim.status(first).commit >= at(attempt))).toBe(true);
    sim.crash(first);
    const second = sim.awaitLeader(2000, three.filter((m) => m !== first));
    const retry = sim.propose(second, { sessions: op });
    expect(sim.runUntil(() => committed(second, at(retry)))).toBe(true);
    expect(sim.node(second).sessionReplies.get(at(attempt))).toEqual({ ok: true, reply: true, duplicate: false });
    expect(sim.node(second).sessionReplies.get(at(retry))).toEqual({ ok: true, reply: true, duplicate: true });
    expect(sim.node(second).sm.get('k')).toBe(1);
  });
});
