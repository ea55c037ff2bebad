// The delta-state observed-remove set: add-wins semantics, convergence of replicas that exchange
// deltas in any order with duplicates and drops (repaired by a full-state merge), join laws, and
// strict validation of wire input.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { ORSet, ORSetDelta } from '../../src/cluster/orset.js';
import { throwsCode } from '../support/errors.js';

type Op = { replica: number; kind: 'add' | 'remove'; key: string; value: number };

const opArb = (replicas: number): fc.Arbitrary<Op> =>
  fc.record({
    replica: fc.integer({ min: 0, max: replicas - 1 }),
    kind: fc.constantFrom('add' as const, 'add' as const, 'remove' as const),
    key: fc.constantFrom('a', 'b', 'c', 'd', '__proto__'),
    value: fc.integer({ min: 0, max: 9 }),
  });

/** Runs ops on fresh replicas; each op sees only its own replica's state. Returns replicas and deltas. */
function run(ops: Op[], count: number): { sets: ORSet<number>[]; deltas: ORSetDelta<number>[] } {
  const sets = Array.from({ length: count }, (_, i) => new ORSet<number>(`r${i}`));
  const deltas = ops.map((op) => {
    const set = sets[op.replica]!;
    return op.kind === 'add' ? set.add(op.key, op.value) : set.remove(op.key);
  });
  return { sets, deltas };
}

describe('ORSet', () => {
  it('adds, reads and removes keys with values', () => {
    const set = new ORSet<{ port: number } | null>('n1');
    set.add('x', { port: 1 });
    set.add('y');
    expect(set.has('x')).toBe(true);
    expect(set.get('x')).toEqual({ port: 1 });
    expect(set.get('y')).toBeNull();
    set.add('x', { port: 2 });
    expect(set.dots('x')).toHaveLength(1);
    expect(set.get('x')).toEqual({ port: 2 });
    set.remove('x');
    expect(set.has('x')).toBe(false);
    expect(set.keys()).toEqual(['y']);
    expect([...set.values()]).toEqual([['y', null]]);
  });

  it('lets a concurrent add win over a remove, and a remove take what it observed', () => {
    const a = new ORSet('a');
    const b = new ORSet('b');
    b.merge(a.add('k', 1));
    const removed = b.remove('k');
    const readded = a.add('k', 2); // concurrent with the remove
    a.merge(removed);
    b.merge(readded);
    expect(a.get('k')).toBe(2);
    expect(b.toWire()).toEqual(a.toWire());
    const gone = a.remove('k');
    b.merge(gone);
    expect(b.has('k')).toBe(false);
  });

  it('converges whatever the order, duplication and loss of deltas, once full states are merged', () => {
    fc.assert(
      fc.property(
        fc.array(opArb(3), { maxLength: 40 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 120 }),
        (ops, schedule) => {
          const { sets, deltas } = run(ops, 3);
          // Deliver deltas to other replicas in a random order, with duplicates and drops.
          const receivers = sets.map((_, i) => ORSet.fromWire<number>(`copy${i}`, sets[i]!.toWire()));
          for (const [which, to, dropped] of schedule) {
            if (dropped || deltas.length === 0) continue;
            receivers[to % 3]!.merge(deltas[which % deltas.length]!);
          }
          // Anti-entropy: every receiver merges every replica's full state.
          for (const receiver of receivers) for (const set of sets) receiver.merge(set.state());
          const reference = new ORSet<number>('ref');
          for (const set of sets) reference.merge(set.state());
          for (const receiver of receivers) expect(receiver.toWire()).toEqual(reference.toWire());
          // Merging every delta (no loss) gives the same state as merging the full states.
          const fromDeltas = new ORSet<number>('deltas');
          for (const delta of [...deltas].reverse()) fromDeltas.merge(delta);
          expect(fromDeltas.toWire()).toEqual(reference.toWire());
        },
      ),
      { numRuns: 200, seed: 5 },
    );
  });

  it('matches a plain map when one replica does everything', () => {
    fc.assert(
      fc.property(fc.array(opArb(1), { maxLength: 60 }), (ops) => {
        const { sets } = run(ops, 1);
        const model = new Map<string, number>();
        for (const op of ops) {
          if (op.kind === 'add') model.set(op.key, op.value);
          else model.delete(op.key);
        }
        expect([...sets[0]!.values()]).toEqual([...model].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
      }),
      { numRuns: 200, seed: 6 },
    );
  });

  it('merges as a join: idempotent, commutative, associative (also for joined deltas)', () => {
    fc.assert(
      fc.property(fc.array(opArb(3), { maxLength: 30 }), fc.array(opArb(3), { maxLength: 30 }), (ops1, ops2) => {
        const [a, b, c] = run(ops1, 3).sets.map((s) => s.state()) as [ORSetDelta<number>, ORSetDelta<number>, ORSetDelta<number>];
        const wire = (...parts: ORSetDelta<number>[]) => {
          const set = new ORSet<number>('x');
          for (const part of parts) set.merge(part);
          return set.toWire();
        };
        expect(wire(a, a)).toEqual(wire(a));
        expect(wire(a, b)).toEqual(wire(b, a));
        expect(wire(ORSetDelta.join(a, b), c)).toEqual(wire(a, ORSetDelta.join(b, c)));
        const deltas = run(ops2, 3).deltas;
        const grouped = deltas.reduce((acc, d) => ORSetDelta.join(acc, d), ORSetDelta.fromWire<number>({ entries: [], vv: [], cloud: [] }));
        expect(wire(grouped)).toEqual(wire(...deltas));
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('round-trips its wire form through JSON', () => {
    fc.assert(
      fc.property(fc.array(opArb(3), { maxLength: 40 }), fc.nat(), (ops, cut) => {
        const { sets, deltas } = run(ops, 3);
        const some = deltas.slice(0, cut % (deltas.length + 1));
        const target = new ORSet<number>('t');
        for (const d of some) target.merge(ORSetDelta.fromWire<number>(JSON.parse(JSON.stringify(d.toWire()))));
        for (const s of sets) target.merge(ORSetDelta.fromWire<number>(JSON.parse(JSON.stringify(s.state().toWire()))));
        const direct = new ORSet<number>('u');
        for (const s of sets) direct.merge(s.state());
        expect(target.toWire()).toEqual(direct.toWire());
      }),
      { numRuns: 100, seed: 8 },
    );
  });

  it('keeps minting fresh dots after a merge brings back its own older dots', () => {
    const a = new ORSet('a');
    const snapshot = a.add('k', 1);
    const copy = ORSet.fromWire('a', a.toWire()); // same replica id, e.g. restored state
    copy.merge(snapshot);
    const next = copy.add('j', 2);
    expect(next.toWire().entries[0]![1][0]![1]).toBe(2);
  });

  it('refuses a change over a limit whole, with HORDE_STATE_LIMIT', () => {
    const set = new ORSet('a', { maxKeys: 2, maxValueBytes: 16 });
    set.add('x');
    set.add('y');
    throwsCode(() => set.add('z'), ErrorCode.STATE_LIMIT);
    throwsCode(() => set.add('x', 'a long value, longer than 16 bytes'), ErrorCode.STATE_LIMIT);
    throwsCode(() => set.add('x', 'é'.repeat(8)), ErrorCode.STATE_LIMIT); // 10 characters of JSON, 18 bytes
    set.add('x', 'é'.repeat(7)); // 16 bytes of JSON: fits
    expect(set.keys()).toEqual(['x', 'y']);
    const other = new ORSet('b');
    const z = other.add('z');
    throwsCode(() => set.merge(z), ErrorCode.STATE_LIMIT);
    expect(set.keys()).toEqual(['x', 'y']);
    throwsCode(() => new ORSet('a', { maxKeys: 0 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => set.add('', 1), ErrorCode.INVALID_OPTION);
    throwsCode(() => set.add('q', (() => 1) as unknown as number), ErrorCode.INVALID_OPTION);
  });

  it('refuses malformed wire input with HORDE_MALFORMED_FRAME and nothing else', () => {
    const valid = (() => {
      const a = new ORSet('a');
      a.add('k', { n: 1 });
      a.add('j', [1, 2]);
      a.remove('j');
      const b = new ORSet('b');
      b.merge(a.state());
      b.add('k', 'v');
      return b.state().toWire();
    })();
    const check = (input: unknown) => {
      try {
        ORSetDelta.fromWire(input, { limits: { maxKeys: 50, maxValueBytes: 200 } });
      } catch (error) {
        expect(error).toBeInstanceOf(HordeError);
        expect((error as HordeError).code).toBe(ErrorCode.MALFORMED_FRAME);
      }
    };
    fc.assert(fc.property(fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withDate: true, withBigInt: true }), check), { numRuns: 500, seed: 9 });
    // Mutations of a valid state reach the deeper checks.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.anything())), (mutations) => {
        const copy = JSON.parse(JSON.stringify(valid)) as unknown;
        for (const [at, replacement] of mutations) mutate(copy, at, replacement);
        check(copy);
      }),
      { numRuns: 500, seed: 10 },
    );
    throwsCode(() => ORSetDelta.fromWire({ entries: [['k', [['a', 5, null]]]], vv: [], cloud: [] }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => ORSetDelta.fromWire({ ...valid, vv: [['a', -1]] }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => ORSetDelta.fromWire({ entries: [], vv: [], cloud: [['a', [1]], ['a', [2]]] }, { limits: { maxCloudDots: 1 } }), ErrorCode.MALFORMED_FRAME);
  });
});

/** Replaces the `at`-th node (depth-first) of a JSON tree with `replacement`. */
function mutate(tree: unknown, at: number, replacement: unknown): void {
  let n = at;
  const walk = (node: unknown): boolean => {
    if (typeof node !== 'object' || node === null) return false;
    const container = node as Record<string, unknown>;
    for (const key of Object.keys(container)) {
      if (n-- === 0) {
        container[key] = replacement;
        return true;
      }
      if (walk(container[key])) return true;
    }
    return false;
  };
  walk(tree);
}
