import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ProcessTable } from '../../src/executor/process-table.js';
import { SerialAllocator, serialFromParts, serialIndex, serialStream } from '../../src/process/pid.js';

// Fixed seeds: the property tests are deterministic (a failure prints its seed and path anyway).
const RUNS = { seed: 0x7ab1e, numRuns: 200 };

type TableOp = { op: 'set' | 'dormant' | 'delete' | 'get' | 'peek'; key: number };

/** Serials as the shard sees them: a few allocators, mostly increasing counters, some stray values. */
const serial = fc.oneof(
  { weight: 8, arbitrary: fc.record({ stream: fc.nat(3), index: fc.nat(3_000) }).map(({ stream, index }) => serialFromParts(stream, index)) },
  { weight: 1, arbitrary: fc.maxSafeNat() },
);

const tableOp: fc.Arbitrary<TableOp> = fc.record({
  op: fc.constantFrom<TableOp['op']>('set', 'set', 'dormant', 'dormant', 'delete', 'delete', 'get', 'peek'),
  key: serial,
});

/** Records are strings; a dormant process `p` of kind `k` wakes as "k:p". */
const wake = (_serial: number, kind: string, process: unknown): string => `${kind}:${String(process)}`;

function contents(table: ProcessTable<string>): string[] {
  return [...table.values()].sort();
}

describe('ProcessTable', () => {
  it('behaves like a Map, dormant entries waking on get, for any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(tableOp, { maxLength: 400 }), (ops) => {
        const table = new ProcessTable<string>(wake);
        // The value each key holds, and whether it is still dormant in the model's view.
        const model = new Map<number, string>();
        const dormant = new Set<number>();
        ops.forEach(({ op, key }, step) => {
          if (op === 'set') {
            table.set(key, `r${step}`);
            model.set(key, `r${step}`);
            dormant.delete(key);
          } else if (op === 'dormant') {
            table.setDormant(key, 'k', `p${step}`);
            model.set(key, `k:p${step}`);
            dormant.add(key);
          } else if (op === 'delete') {
            expect(table.delete(key)).toBe(model.delete(key));
            dormant.delete(key);
          } else if (op === 'get') {
            expect(table.get(key)).toBe(model.get(key));
            dormant.delete(key);
          } else {
            const peeked = table.peek(key);
            // A dormant entry may have been woken by the table itself (a dissolved page).
            if (!dormant.has(key)) expect(peeked).toBe(model.get(key));
            else if (peeked !== undefined) expect(peeked).toBe(model.get(key));
          }
          expect(table.has(key)).toBe(model.has(key));
          expect(table.size).toBe(model.size);
        });
        const records = contents(table);
        for (const record of records) expect([...model.values()]).toContain(record);
        for (const [key, value] of model) if (!dormant.has(key)) expect(records).toContain(value);
        expect(table.all().sort()).toEqual([...model.values()].sort());
        expect(contents(table)).toEqual([...model.values()].sort());
        for (const [key, value] of model) expect(table.get(key)).toBe(value);
      }),
      RUNS,
    );
  });

  it('keeps long-lived processes among many short-lived ones without keeping their pages', () => {
    const table = new ProcessTable<number>(() => -1);
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

  it('never takes a serial that is not a non-negative integer for a process', () => {
    const table = new ProcessTable<string>(wake);
    const serials = new SerialAllocator(0);
    const first = serials.next();
    table.set(first, 'first');
    for (const stray of [first + 0.5, first - 0.5, -first, first + 2 ** 32, Number.NaN]) {
      expect(table.get(stray)).toBeUndefined();
      expect(table.delete(stray)).toBe(false);
    }
    expect(table.get(first)).toBe('first');
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
