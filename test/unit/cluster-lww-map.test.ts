// Cluster metadata as last-writer-wins registers under HLC timestamps: ties by node name,
// tombstones, convergence under any delivery order, catch-up by version, limits, wire checks.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { HybridClock, compareHlc, type Hlc } from '../../src/cluster/hlc.js';
import { LwwDelta, LwwMap } from '../../src/cluster/lww-map.js';
import { throwsCode } from '../support/errors.js';

const ts = (wall: number, node: string, logical = 0): Hlc => ({ wall, logical, node });

describe('LwwMap', () => {
  it('keeps the latest write, and a delete wins over an older set that arrives later', () => {
    const map = new LwwMap();
    map.set('k', { v: 1 }, ts(10, 'a'));
    expect(map.get('k')).toEqual({ v: 1 });
    expect(map.set('k', 'old', ts(5, 'b')).isEmpty).toBe(true);
    expect(map.get('k')).toEqual({ v: 1 });
    map.delete('k', ts(20, 'a'));
    expect(map.has('k')).toBe(false);
    expect(map.merge(new LwwMap().set('k', 'late', ts(15, 'c')))).toEqual([]);
    expect(map.get('k')).toBeUndefined();
    expect(map.entry('k')?.deleted).toBe(true);
    map.set('k', 'newer', ts(21, 'a'));
    expect(map.entries()).toEqual([['k', 'newer']]);
  });

  it('breaks a tie of wall and logical time by node name, on every replica alike', () => {
    const fromA = new LwwMap().set('k', 'from a', ts(10, 'a', 3));
    const fromB = new LwwMap().set('k', 'from b', ts(10, 'b', 3));
    const x = new LwwMap();
    const y = new LwwMap();
    x.merge(fromA);
    x.merge(fromB);
    y.merge(fromB);
    y.merge(fromA);
    expect(x.get('k')).toBe('from b');
    expect(y.toWire()).toEqual(x.toWire());
    // A caller reusing one timestamp: the tombstone wins, on both sides.
    const set = new LwwMap().set('j', 1, ts(7, 'a'));
    const del = new LwwMap().delete('j', ts(7, 'a'));
    const p = new LwwMap();
    p.merge(set);
    p.merge(del);
    const q = new LwwMap();
    q.merge(del);
    q.merge(set);
    expect(p.has('j')).toBe(false);
    expect(q.toWire()).toEqual(p.toWire());
  });

  it('converges to the latest write per key under reordered, duplicated and dropped deltas plus catch-up', () => {
    const opArb = fc.record({
      node: fc.integer({ min: 0, max: 2 }),
      key: fc.constantFrom('a', 'b', 'c', '__proto__'),
      del: fc.boolean(),
      value: fc.integer({ min: 0, max: 5 }),
      wall: fc.integer({ min: 0, max: 30 }),
    });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean())), (ops, schedule) => {
        const names = ['a', 'b', 'c'];
        const clocks = names.map((n) => new HybridClock(n));
        const maps = names.map(() => new LwwMap());
        const deltas: LwwDelta[] = [];
        const written: { key: string; ts: Hlc; del: boolean; value: number }[] = [];
        for (const op of ops) {
          const stamp = clocks[op.node]!.now(1000 + op.wall);
          written.push({ key: op.key, ts: stamp, del: op.del, value: op.value });
          deltas.push(op.del ? maps[op.node]!.delete(op.key, stamp) : maps[op.node]!.set(op.key, op.value, stamp));
        }
        const receivers = names.map(() => new LwwMap());
        for (const [which, to, dropped] of schedule) {
          if (!dropped && deltas.length > 0) receivers[to % 3]!.merge(deltas[which % deltas.length]!);
        }
        // Catch-up: each receiver asks each replica for everything after version 0.
        for (const receiver of receivers) for (const map of maps) receiver.merge(map.deltaSince(0).delta);
        const expected = new Map<string, (typeof written)[number]>();
        for (const w of written) {
          const best = expected.get(w.key);
          if (best === undefined || compareHlc(w.ts, best.ts) > 0) expected.set(w.key, w);
        }
        const model = [...expected.values()]
          .filter((w) => !w.del)
          .map((w): [string, number] => [w.key, w.value])
          .sort((x, y) => (x[0] < y[0] ? -1 : 1));
        for (const receiver of receivers) {
          expect(receiver.entries()).toEqual(model);
          expect(receiver.toWire()).toEqual(receivers[0]!.toWire());
        }
      }),
      { numRuns: 200, seed: 41 },
    );
  });

  it('hands out exactly the changes after a version, merged ones included', () => {
    const map = new LwwMap();
    map.set('a', 1, ts(1, 'n'));
    const { version } = map.deltaSince(0);
    expect(version).toBe(1);
    map.set('b', 2, ts(2, 'n'));
    map.merge(new LwwMap().set('c', 3, ts(3, 'm')));
    map.set('a', 4, ts(4, 'n'));
    const later = map.deltaSince(version);
    expect(later.delta.entries.map((e) => e.key)).toEqual(['a', 'b', 'c']);
    expect(later.version).toBe(4);
    expect(map.deltaSince(later.version).delta.isEmpty).toBe(true);
    expect(later.delta.latest).toEqual(ts(4, 'n'));
  });

  it('refuses changes over its limits whole, with HORDE_STATE_LIMIT', () => {
    const map = new LwwMap({ maxKeys: 2, maxEntries: 3, maxValueBytes: 8 });
    map.set('a', 1, ts(1, 'n'));
    map.set('b', 1, ts(1, 'n'));
    throwsCode(() => map.set('c', 1, ts(2, 'n')), ErrorCode.STATE_LIMIT);
    throwsCode(() => map.set('a', 'longer than eight', ts(2, 'n')), ErrorCode.STATE_LIMIT);
    map.delete('b', ts(3, 'n')); // a tombstone: 1 live key, 2 entries
    map.set('c', 1, ts(4, 'n'));
    const other = new LwwMap();
    other.set('d', 1, ts(5, 'm'));
    other.set('e', 1, ts(5, 'm'));
    throwsCode(() => map.merge(other.state()), ErrorCode.STATE_LIMIT);
    expect(map.entries()).toEqual([['a', 1], ['c', 1]]);
    expect(map.pruneTombstones(ts(3, 'n'))).toBe(0);
    expect(map.pruneTombstones(ts(3, 'z'))).toBe(1);
    expect(map.entryCount).toBe(2);
    throwsCode(() => new LwwMap({ maxKeys: 5, maxEntries: 4 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => map.set('x', undefined as unknown as number, ts(9, 'n')), ErrorCode.INVALID_OPTION);
  });

  it('hands out frozen values, so the replicated state cannot be changed in place', () => {
    const map = new LwwMap();
    const value = { list: [1, 2] };
    map.set('k', value, ts(1, 'n'));
    value.list.push(3);
    expect(map.get('k')).toEqual({ list: [1, 2] });
    expect(Object.isFrozen((map.get('k') as { list: number[] }).list)).toBe(true);
  });

  it('round-trips through JSON and refuses malformed input with HORDE_MALFORMED_FRAME only', () => {
    const map = new LwwMap();
    map.set('a', { deep: [null, 'x'] }, ts(1, 'n'));
    map.set('n', null, ts(2, 'n'));
    map.delete('z', ts(3, 'n'));
    const copy = LwwMap.fromWire(JSON.parse(JSON.stringify(map.toWire())));
    expect(copy.toWire()).toEqual(map.toWire());
    expect(copy.has('n')).toBe(true);
    throwsCode(() => LwwDelta.fromWire({ entries: [['a', [1, 0, 'n']], ['a', [2, 0, 'n']]] }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => LwwDelta.fromWire({ entries: [['a']] }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => LwwDelta.fromWire({ entries: [['a', [1, 0, 'n'], 'v', 'extra']] }), ErrorCode.MALFORMED_FRAME);
    throwsCode(() => LwwDelta.fromWire({ entries: [['a', [1, 0, 'n'], 'x'.repeat(20)]] }, { maxValueBytes: 10 }), ErrorCode.MALFORMED_FRAME);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (garbage, stamp, value) => {
        for (const input of [garbage, { entries: [garbage] }, { entries: [['k', stamp, value]] }]) {
          try {
            LwwDelta.fromWire(input);
          } catch (error) {
            expect(error).toBeInstanceOf(HordeError);
            expect((error as HordeError).code).toBe(ErrorCode.MALFORMED_FRAME);
          }
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});
