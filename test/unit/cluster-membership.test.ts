// Membership on the observed-remove set: transitive joins, leaves, a restarted node replacing its
// old incarnation everywhere, convergence under reordered/duplicated/dropped gossip, wire checks.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { type Member, Membership, MembershipDelta } from '../../src/cluster/membership.js';
import { throwsCode } from '../support/errors.js';

function member(name: string, incarnation: number, nodeId = `${name}-${incarnation}`): Member {
  return { name, host: '127.0.0.1', port: 4000 + name.charCodeAt(0), incarnation, executors: 2, nodeId };
}

/** A node's membership replica for one start (nodeId as `member` makes it). */
function start(name: string, incarnation: number, nodeId = `${name}-${incarnation}`): Membership {
  return new Membership({ name, incarnation, nodeId }, {});
}

describe('Membership', () => {
  it('joins transitively: a node that joined one member meets all', () => {
    const a = start('a', 1);
    const b = start('b', 1);
    const c = start('c', 1);
    a.join(member('a', 1, 'a-1'));
    b.join(member('b', 1, 'b-1'));
    c.join(member('c', 1, 'c-1'));
    b.merge(a.state()); // a and b connect
    a.merge(b.state());
    const changes = c.merge(b.state()); // c joins through b only
    expect(changes.joined.map((m) => m.name)).toEqual(['a', 'b']);
    a.merge(c.state());
    expect(a.members().map((m) => m.name)).toEqual(['a', 'b', 'c']);
    expect(c.members()).toEqual(a.members());
  });

  it('removes a member that leaves, and reports it', () => {
    const a = start('a', 1);
    const b = start('b', 1);
    b.merge(a.join(member('a', 1, 'a-1')));
    b.join(member('b', 1, 'b-1'));
    const bye = a.leave('a');
    const changes = b.merge(bye);
    expect(changes.left).toEqual([member('a', 1, 'a-1')]);
    expect(b.members().map((m) => m.name)).toEqual(['b']);
  });

  it('replaces a restarted node by its new incarnation on every node, also against late old gossip', () => {
    const a1 = start('a', 100, 'a-1');
    const b = start('b', 1);
    const c = start('c', 1);
    const oldJoin = a1.join(member('a', 100, 'a-1'));
    b.merge(oldJoin);
    c.merge(oldJoin);
    // a restarts: a fresh replica that knows nothing, with a higher incarnation.
    const a2 = start('a', 200, 'a-2');
    const newJoin = a2.join(member('a', 200, 'a-2'));
    const changes = b.merge(newJoin);
    expect(changes.joined).toEqual([member('a', 200, 'a-2')]);
    expect(changes.left).toEqual([member('a', 100, 'a-1')]);
    expect(changes.delta).toBeDefined();
    // c hears only b's cleanup, then the new join late; the old join arrives again afterwards.
    c.merge(changes.delta!);
    expect(c.members()).toEqual([]);
    c.merge(newJoin);
    const late = c.merge(oldJoin);
    expect(late.joined).toEqual([]);
    expect(c.members()).toEqual([member('a', 200, 'a-2')]);
    // a2 learns of its old incarnation from b's state and does not resurrect it.
    const own = a2.merge(b.state());
    expect(own.left).toEqual([]);
    expect(a2.members()).toEqual([member('a', 200, 'a-2')]);
    expect(a2.toWire()).toEqual(b.toWire());
  });

  it('converges under reordered, duplicated and dropped gossip, one incarnation per name', () => {
    const stepArb = fc.record({
      node: fc.integer({ min: 0, max: 2 }),
      kind: fc.constantFrom('join' as const, 'restart' as const, 'leave' as const),
      target: fc.integer({ min: 0, max: 2 }),
    });
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 25 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean())), (steps, schedule) => {
        const names = ['a', 'b', 'c'];
        const incarnations = [1, 1, 1];
        const nodes = names.map((n) => start(n, 1));
        const gossip: MembershipDelta[] = [];
        for (const step of steps) {
          const name = names[step.node]!;
          if (step.kind === 'restart') {
            incarnations[step.node]! += 1;
            nodes[step.node] = start(name, incarnations[step.node]!);
          }
          if (step.kind === 'leave') gossip.push(nodes[step.node]!.leave(names[step.target]!));
          else gossip.push(nodes[step.node]!.join(member(name, incarnations[step.node]!)));
        }
        const deliver = (to: Membership, delta: MembershipDelta) => {
          const { delta: cleanup } = to.merge(delta);
          if (cleanup !== undefined) gossip.push(cleanup);
        };
        for (const [which, to, dropped] of schedule) {
          if (!dropped && gossip.length > 0) deliver(nodes[to % 3]!, gossip[which % gossip.length]!);
        }
        // Anti-entropy rounds: full states both ways until nothing changes.
        for (let round = 0; round < 3; round++) {
          for (const x of nodes) for (const y of nodes) deliver(x, y.state());
        }
        const wire = nodes[0]!.toWire();
        for (const node of nodes) expect(node.toWire()).toEqual(wire);
        for (const m of nodes[0]!.members()) {
          expect(m.incarnation).toBeLessThanOrEqual(incarnations[names.indexOf(m.name)]!);
        }
        // After cleanup every name holds the dots of one incarnation only.
        for (const [, dots] of wire.set.entries) expect(new Set(dots.map((d) => JSON.stringify(d[2]))).size).toBe(1);
        // Superseded starts are pruned from the context: at most one replica per start not superseded.
        for (const [replica] of wire.set.vv) {
          const [name, incarnation] = replica.split('#');
          expect(Number(incarnation)).toBe(wire.floors.find(([n]) => n === name)![1]);
        }
      }),
      { numRuns: 200, seed: 21 },
    );
  });

  it('keeps an old incarnation out after the new one has left, wherever the old join arrives', () => {
    const oldJoin = start('a', 1).join(member('a', 1));
    const a2 = start('a', 2);
    const b = start('b', 1);
    b.merge(a2.join(member('a', 2)));
    b.merge(a2.leave('a'));
    expect(b.members()).toEqual([]);
    const late = b.merge(oldJoin);
    expect(late.joined).toEqual([]);
    expect(late.delta).toBeDefined(); // its removal, to gossip
    expect(b.members()).toEqual([]);
    const c = start('c', 1);
    c.merge(oldJoin);
    c.merge(b.state());
    expect(c.members()).toEqual([]);
    expect(c.toWire()).toEqual(b.toWire());
  });

  it('does not grow its causal context with every restart', () => {
    const b = start('b', 1);
    b.join(member('b', 1));
    for (let incarnation = 1; incarnation <= 200; incarnation++) {
      const a = start('a', incarnation);
      a.merge(b.state());
      const joined = a.join(member('a', incarnation));
      const { delta } = b.merge(joined);
      if (delta !== undefined) a.merge(delta);
    }
    expect(b.members().map((m) => [m.name, m.incarnation])).toEqual([['a', 200], ['b', 1]]);
    expect(b.replicaCount).toBe(2);
  });

  it('round-trips through JSON and refuses malformed input with HORDE_MALFORMED_FRAME only', () => {
    const a = start('a', 1);
    a.join(member('a', 1, 'a-1'));
    const wire = JSON.parse(JSON.stringify(a.toWire())) as ReturnType<Membership['toWire']>;
    expect(Membership.fromWire({ name: 'z', incarnation: 1, nodeId: 'z-1' }, wire).members()).toEqual(a.members());
    const bad = (entryValue: unknown) => ({ ...wire, set: { ...wire.set, entries: [['a', [['a#1#a-1', 1, entryValue]]]] } });
    throwsCode(() => MembershipDelta.fromWire(bad({ ...member('a', 1, 'a-1'), port: 70000 })), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => MembershipDelta.fromWire(bad({ ...member('b', 1, 'b-1') })), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => MembershipDelta.fromWire(bad({ ...member('a', 1, 'a-1'), extra: 1 })), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => MembershipDelta.fromWire(bad(null)), ErrorCode.MALFORMED_FRAME);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (garbage, value) => {
        for (const input of [garbage, bad(value)]) {
          try {
            MembershipDelta.fromWire(input);
          } catch (error) {
            expect(error).toBeInstanceOf(HordeError);
            expect((error as HordeError).code).toBe(ErrorCode.MALFORMED_FRAME);
          }
        }
      }),
      { numRuns: 300, seed: 22 },
    );
    throwsCode(() => a.join({ ...member('a', 1), port: -1 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => MembershipDelta.fromWire({ ...wire, floors: [['a', -1]] }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => MembershipDelta.fromWire({ set: wire.set }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => a.join(member('a', 2, 'a-1')), ErrorCode.INVALID_OPTION); // not this start
    throwsCode(() => start('a', 1, 'a#1'), ErrorCode.INVALID_OPTION);
    const full = new Membership({ name: 'x', incarnation: 1, nodeId: 'x-1' }, { maxMembers: 1 });
    full.join(member('x', 1, 'x-1'));
    throwsCode(() => full.merge(a.state()), ErrorCode.STATE_LIMIT);
    expect(full.members().map((m) => m.name)).toEqual(['x']);
  });
});
