// The directory of business cards: per-key versioned deltas applied in any order, duplicates and
// stale incarnations ignored, snapshots relayed by third nodes, deterministic whereis, wire checks.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { pid } from '../../src/process/pid.js';
import { Directory, DirectoryDelta } from '../../src/cluster/directory.js';
import { throwsCode } from '../support/errors.js';

const card = (port: number, services: string[] = []) => ({ address: `127.0.0.1:${port}`, executors: 2, services });

/** Shuffles with a list of random numbers (fast-check drives it). */
function permute<T>(items: T[], keys: number[]): T[] {
  return items
    .map((item, i) => ({ item, key: keys[i % Math.max(keys.length, 1)] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map((x) => x.item);
}

describe('Directory', () => {
  it('carries a card and its registered names to a peer, and forgets unregistered ones', () => {
    const a = new Directory({ name: 'a', incarnation: 1 });
    const b = new Directory({ name: 'b', incarnation: 1 });
    expect(b.apply(a.setCard(card(4001, ['kv'])))).toBe(true);
    expect(b.apply(a.setName('a', 'db', pid(1, 0, 7)))).toBe(true);
    expect(b.whereis('db')).toEqual(pid(1, 0, 7));
    const [remote] = b.cards();
    expect(remote).toMatchObject({ name: 'a', incarnation: 1, address: '127.0.0.1:4001', executors: 2, services: ['kv'] });
    expect([...remote!.names]).toEqual([['db', pid(1, 0, 7)]]);
    b.apply(a.setName('a', 'db', undefined));
    expect(b.whereis('db')).toBeUndefined();
    expect(b.state().map((d) => d.toWire().names)).toEqual([[]]); // no tombstone left after in-order delivery
    throwsCode(() => b.setName('a', 'x', pid(1, 0, 1)), ErrorCode.INVALID_OPTION);
  });

  it('ends with the owner card whatever the order, duplication or relay of deltas', () => {
    const opArb = fc.oneof(
      fc.record({ kind: fc.constant('name' as const), name: fc.constantFrom('x', 'y', 'z', '__proto__'), serial: fc.option(fc.integer({ min: 0, max: 9 })) }),
      fc.record({ kind: fc.constant('card' as const), port: fc.integer({ min: 1, max: 9 }) }),
    );
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 30 }),
        fc.array(fc.nat(100)),
        fc.array(fc.integer({ min: 0, max: 3 })),
        (ops, order, routes) => {
          const owner = new Directory({ name: 'o', incarnation: 5 });
          const deltas = [owner.setCard(card(4000))];
          for (const op of ops) {
            if (op.kind === 'card') deltas.push(owner.setCard(card(4000 + op.port, [`s${op.port}`])));
            else deltas.push(owner.setName('o', op.name, op.serial === null ? undefined : pid(0, 1, op.serial)));
          }
          // Route 0: direct to the receiver; 1: through a relay; 2: both (a duplicate); 3: twice direct.
          const receiver = new Directory({ name: 'r', incarnation: 1 });
          const relay = new Directory({ name: 'm', incarnation: 1 });
          const direct: DirectoryDelta[] = [];
          deltas.forEach((delta, i) => {
            const route = routes[i % Math.max(routes.length, 1)] ?? 0;
            if (route !== 1) direct.push(delta);
            if (route === 3) direct.push(delta);
            if (route === 1 || route === 2) relay.apply(delta);
          });
          const arrivals = permute([...direct, ...relay.state()], order);
          for (const delta of arrivals) receiver.apply(DirectoryDelta.fromWire(JSON.parse(JSON.stringify(delta.toWire()))));
          const mine = owner.cards();
          expect(receiver.cards().filter((c) => c.name === 'o')).toEqual(mine);
          for (const name of ['x', 'y', 'z', '__proto__']) expect(receiver.whereis(name)).toEqual(owner.whereis(name));
          // All delivered: nothing pending, no tombstones kept.
          const relayed = receiver.state().find((d) => d.node === 'o')!;
          expect(relayed.seen).toEqual([]);
          expect(relayed.toWire().names.every(([, , p]) => p !== null)).toBe(true);
        },
      ),
      { numRuns: 300, seed: 51 },
    );
  });

  it('keeps a tombstone while an older write may still come, and drops it once the gap closes', () => {
    const owner = new Directory({ name: 'o', incarnation: 1 });
    const receiver = new Directory({ name: 'r', incarnation: 1 });
    const first = owner.setCard(card(1));
    const register = owner.setName('o', 'n', pid(0, 0, 1));
    const unregister = owner.setName('o', 'n', undefined);
    receiver.apply(first);
    expect(receiver.apply(unregister)).toBe(true);
    expect(receiver.state().find((d) => d.node === 'o')!.toWire().names).toEqual([['n', 3, null]]);
    expect(receiver.apply(register)).toBe(true); // a version not seen yet, but older than the tombstone
    expect(receiver.whereis('n')).toBeUndefined(); // so not resurrected
    expect(receiver.apply(register)).toBe(false); // and now a duplicate
    expect(receiver.state().find((d) => d.node === 'o')!.toWire().names).toEqual([]);
  });

  it('does not bring back a name from a relay that missed its removal', () => {
    const owner = new Directory({ name: 'o', incarnation: 1 });
    const v1 = owner.setCard(card(1));
    const v2 = owner.setName('o', 'n', pid(0, 0, 1));
    const v3 = owner.setName('o', 'n', undefined);
    const v4 = owner.setName('o', 'm', pid(0, 0, 2));
    const relay = new Directory({ name: 'relay', incarnation: 1 });
    for (const d of [v1, v2, v4]) relay.apply(d); // v3 lost on the way to the relay
    const receiver = new Directory({ name: 'r', incarnation: 1 });
    for (const d of [v1, v2, v3]) receiver.apply(d);
    const relayed = relay.state().find((d) => d.node === 'o')!;
    expect([relayed.base, relayed.seen]).toEqual([2, [4]]);
    expect(receiver.apply(relayed)).toBe(true);
    expect(receiver.whereis('n')).toBeUndefined();
    expect(receiver.whereis('m')).toEqual(pid(0, 0, 2));
    expect(receiver.cards()).toEqual(owner.cards().filter((c) => c.name === 'o'));
  });

  it('replaces a card by a new incarnation, ignores older ones, and ignores a removed node', () => {
    const old = new Directory({ name: 'a', incarnation: 1 });
    const restarted = new Directory({ name: 'a', incarnation: 2 });
    const b = new Directory({ name: 'b', incarnation: 1 });
    const oldCard = old.setCard(card(1));
    const oldName = old.setName('a', 'n', pid(0, 0, 1));
    b.apply(oldCard);
    b.apply(oldName);
    expect(b.apply(restarted.setCard(card(2)))).toBe(true);
    expect(b.whereis('n')).toBeUndefined();
    expect(b.apply(old.setName('a', 'm', pid(0, 0, 2)))).toBe(false);
    expect(b.cards().map((c) => [c.name, c.incarnation, c.address])).toEqual([['a', 2, '127.0.0.1:2']]);
    expect(b.removeNode('a')).toBe(true);
    expect(b.apply(restarted.setName('a', 'late', pid(0, 0, 3)))).toBe(false);
    expect(b.cards()).toEqual([]);
    const third = new Directory({ name: 'a', incarnation: 3 });
    expect(b.apply(third.setCard(card(3)))).toBe(true);
  });

  it('answers whereis for a name on two nodes with the first node by name, everywhere', () => {
    const a = new Directory({ name: 'alpha', incarnation: 1 });
    const z = new Directory({ name: 'zulu', incarnation: 1 });
    const m = new Directory({ name: 'mike', incarnation: 1 });
    a.apply(z.setCard(card(3)));
    z.apply(a.setCard(card(1)));
    m.apply(a.snapshot());
    m.apply(z.snapshot());
    const za = z.setName('zulu', 'leader', pid(3, 0, 1));
    const aa = a.setName('alpha', 'leader', pid(1, 0, 1));
    a.apply(za);
    z.apply(aa);
    m.apply(za);
    m.apply(aa);
    for (const d of [a, z, m]) expect(d.whereis('leader')).toEqual(pid(1, 0, 1));
    expect(m.whereisAll('leader')).toEqual([['alpha', pid(1, 0, 1)], ['zulu', pid(3, 0, 1)]]);
  });

  it('refuses a delta over a limit whole, with HORDE_STATE_LIMIT', () => {
    const owner = new Directory({ name: 'o', incarnation: 1 });
    const receiver = new Directory({ name: 'r', incarnation: 1 }, { maxNames: 2, maxNodes: 1 });
    receiver.apply(owner.setCard(card(1)));
    receiver.apply(owner.setName('o', 'a', pid(0, 0, 1)));
    receiver.apply(owner.setName('o', 'b', pid(0, 0, 2)));
    throwsCode(() => receiver.apply(owner.setName('o', 'c', pid(0, 0, 3))), ErrorCode.STATE_LIMIT);
    expect([...receiver.cards()[0]!.names.keys()]).toEqual(['a', 'b']);
    throwsCode(() => receiver.apply(new Directory({ name: 'p', incarnation: 1 }).setCard(card(2))), ErrorCode.STATE_LIMIT);
    const small = new Directory({ name: 's', incarnation: 1 }, { maxNames: 1 });
    small.setName('s', 'a', pid(0, 0, 1));
    throwsCode(() => small.setName('s', 'b', pid(0, 0, 2)), ErrorCode.STATE_LIMIT);
    throwsCode(() => small.setName('s', 'c', { node: -1, shard: 0, serial: 0 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => small.setCard({ address: '', executors: 1 }), ErrorCode.INVALID_OPTION);
  });

  it('refuses malformed wire input with HORDE_MALFORMED_FRAME only', () => {
    const owner = new Directory({ name: 'o', incarnation: 1 });
    owner.setCard(card(1, ['svc']));
    owner.setName('o', 'n', pid(0, 0, 1));
    const valid = owner.snapshot().toWire();
    expect(DirectoryDelta.fromWire(JSON.parse(JSON.stringify(valid))).toWire()).toEqual(valid);
    throwsCode(() => DirectoryDelta.fromWire({ ...valid, base: 0, seen: [] }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => DirectoryDelta.fromWire({ ...valid, seen: [1] }), ErrorCode.MALFORMED_FRAME); // not above base
    throwsCode(() => DirectoryDelta.fromWire({ ...valid, names: [['n', 1, [70000, 0, 0]]] }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => DirectoryDelta.fromWire({ ...valid, names: [['n', 1, null], ['n', 2, null]] }), ErrorCode.MALFORMED_FRAME);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.constantFrom('node', 'incarnation', 'base', 'seen', 'address', 'executors', 'services', 'names'), (garbage, value, key) => {
        for (const input of [garbage, { ...valid, [key]: value }, { ...valid, names: [['n', 1, value]] }]) {
          try {
            DirectoryDelta.fromWire(input);
          } catch (error) {
            expect(error).toBeInstanceOf(HordeError);
            expect((error as HordeError).code).toBe(ErrorCode.MALFORMED_FRAME);
          }
        }
      }),
      { numRuns: 300, seed: 52 },
    );
  });
});
