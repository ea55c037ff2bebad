import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ProcessTable } from '../../src/executor/process-table.js';
import { SerialAllocator, serialFromParts, serialIndex, serialStream } from '../../src/process/pid.js';

// Fixed seeds: the property tests are deterministic (a failure prints its seed and path anyway).
const RUNS = { seed: 0x7ab1e, numRuns: 200 };

type TableOp = { op: 'set'; key: number } | { op: 'delete'; key: number } | { op: 'get'; key: number };

/** Serials as the shard sees them: a few allocators, mostly increasing counters, some stray values. */
const serial = fc.oneof(
  { weight: 8, arbitrary: fc.record({ stream: fc.nat(3), index: fc.nat(3_000) }).map(({ stream, index }) => serialFromParts(stream, index)) },
  { weight: 1, arbitrary: fc.maxSafeNat() },
);

const tableOp: fc.Arbitrary<TableOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), key: serial }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('delete' as const), key: serial }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), key: serial }) },
);

function contents(table: ProcessTable<string>): string[] {
  return [...table.values()].sort();
}

describe('ProcessTable', () => {
  it('behaves like a Map for any sequence of sets, deletes and gets', () => {
    fc.assert(
      fc.property(fc.array(tableOp, { maxLength: 400 }), (ops) => {
        const table = new ProcessTable<string>();
        const model = new Map<number, string>();
        ops.forEach(({ op, key }, step) => {
          if (op === 'set') {
            table.set(key, `${key}@${step}`);
            model.set(key, `${key}@${step}`);
          } else if (op === 'delete') {
            expect(table.delete(key)).toBe(model.delete(key));
          }
          expect(table.get(key)).toBe(model.get(key));
          expect(table.has(key)).toBe(model.has(key));
          expect(table.size).toBe(model.size);
        });
        expect(contents(table)).toEqual([...model.values()].sort());
        for (const [key, value] of model) expect(table.get(key)).toBe(value);
      }),
      RUNS,
    );
  });

  it('keeps long-lived processes among many short-lived ones without keeping their pages', () => {
    const table = new ProcessTable<number>();
    const serials = new SerialAllocator(3);
    const survivors: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      const s = serials.next();
      table.set(s, i);
      if (i % 1_000 === 0) survivors.push(s);
      else table.delete(s);
    }
    expect(table.size).toBe(survivors.length);
    survivors.forEach((s, k) => expect(table.get(s)).toBe(k * 1_000));
    // One page per survivor would be ~100 pages; dissolved pages leave only the newest.
    const pages = (table as unknown as { streams: Map<number, { pages: Map<number, unknown> }> }).streams.get(3)!.pages.size;
    expect(pages).toBe(1);
    for (const s of survivors) expect(table.delete(s)).toBe(true);
    expect(table.size).toBe(0);
    expect([...table.values()]).toEqual([]);
  });

  it('splits every serial into a stream and an index one to one', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (s) => {
        expect(serialFromParts(serialStream(s), serialIndex(s))).toBe(s);
      }),
      RUNS,
    );
  });
});
