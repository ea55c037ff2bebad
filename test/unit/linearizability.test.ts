// checkLinearizable on hand-made histories: classic linearizable and non-linearizable register
// histories, compare-and-swap, operations with an unknown outcome, per-key partitioning of the
// key-value model, the step and time budgets, malformed histories and the failure report.
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  checkLinearizable,
  describeLinearizability,
  kvModel,
  registerModel,
  type HistoryOperation,
  type KvInput,
  type KvOutput,
  type RegisterInput,
  type RegisterOutput,
} from '../../src/index.js';
import { rejectsWithCode } from '../support/errors.js';

type RegisterOp = HistoryOperation<RegisterInput<number>, RegisterOutput<number>>;
type KvOp = HistoryOperation<KvInput<string, number>, KvOutput<number>>;

const register = registerModel(0);
const kv = kvModel<string, number>();

/** A completed operation, [call, ret]. */
function done<I, O = never>(clientId: number, input: I, call: number, ret: number, output?: O): HistoryOperation<I, O> {
  return { clientId, input, call, return: ret, output };
}

/** An operation whose outcome is unknown (the client timed out). */
function timedOut<I>(clientId: number, input: I, call: number): HistoryOperation<I, never> {
  return { clientId, input, call };
}

const write = (value: number): RegisterInput<number> => ({ op: 'write', value });
const read: RegisterInput<number> = { op: 'read' };
const cas = (expected: number, value: number): RegisterInput<number> => ({ op: 'cas', expected, value });

function verdict(history: readonly RegisterOp[]): boolean | 'unknown' {
  return checkLinearizable(history, register).ok;
}

describe('checkLinearizable on a register', () => {
  it('accepts the empty history and a sequential one', () => {
    expect(checkLinearizable([], register)).toEqual({ ok: true, steps: 0, parts: 1 });
    expect(verdict([done(1, write(1), 0, 1), done(1, read, 2, 3, 1), done(2, write(2), 4, 5), done(2, read, 6, 7, 2)])).toBe(true);
  });

  it('rejects a stale read after a completed write, reporting the prefix and the read it could not place', () => {
    const w = done(1, write(1), 0, 10);
    const r = done(2, read, 20, 30, 0);
    const result = checkLinearizable([w, r], register);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.prefix).toEqual([w]);
    expect(result.unplaced).toEqual([r]);
    expect(result.state).toBe(1);
    expect(result.partition).toBeUndefined();
    const text = describeLinearizability(result, register);
    expect(text).toContain('not linearizable');
    expect(text).toContain('client 2: read -> 0 [20, 30]');
  });

  it('lets a read overlapping a write see the old or the new value', () => {
    expect(verdict([done(1, write(1), 0, 10), done(2, read, 5, 6, 0)])).toBe(true);
    expect(verdict([done(1, write(1), 0, 10), done(2, read, 5, 6, 1)])).toBe(true);
    expect(verdict([done(1, write(1), 0, 10), done(2, read, 5, 6, 2)])).toBe(false);
  });

  it('orders concurrent writes either way, but one way for everyone', () => {
    const writes = [done(1, write(1), 0, 100), done(2, write(2), 0, 100)];
    expect(verdict([...writes, done(3, read, 200, 210, 1)])).toBe(true);
    expect(verdict([...writes, done(3, read, 200, 210, 2)])).toBe(true);
    // Seen while the writes run: 1, then 2, then 1 again needs write 1 twice.
    expect(verdict([...writes, done(3, read, 10, 20, 1), done(3, read, 30, 40, 2), done(3, read, 50, 60, 1)])).toBe(false);
    // After both returned, two reads in sequence cannot disagree.
    expect(verdict([...writes, done(3, read, 200, 210, 1), done(4, read, 220, 230, 2)])).toBe(false);
  });

  it('rejects a new-old inversion: once a read saw the new value, a later read cannot see the old', () => {
    expect(verdict([done(1, write(1), 0, 100), done(2, read, 10, 20, 1), done(3, read, 30, 40, 0)])).toBe(false);
    expect(verdict([done(1, write(1), 0, 100), done(2, read, 10, 20, 0), done(3, read, 30, 40, 1)])).toBe(true);
  });

  it('checks compare-and-swap: two swaps from one value cannot both succeed', () => {
    expect(verdict([done(1, cas(0, 1), 0, 10, true), done(2, cas(0, 2), 5, 15, true)])).toBe(false);
    expect(verdict([done(1, cas(0, 1), 0, 10, true), done(2, cas(0, 2), 5, 15, false), done(3, read, 20, 30, 1)])).toBe(true);
    expect(verdict([done(1, cas(0, 1), 0, 10, false)])).toBe(false);
    expect(verdict([done(1, cas(0, 1), 0, 10, true), done(2, cas(1, 2), 5, 15, true), done(3, read, 20, 30, 2)])).toBe(true);
  });

  it('counts equal times as overlapping: a return and a call at one instant may be ordered either way', () => {
    expect(verdict([done(1, write(1), 0, 10), done(2, read, 10, 20, 0)])).toBe(true);
    expect(verdict([done(1, write(1), 0, 10), done(2, read, 11, 20, 0)])).toBe(false);
  });

  it('uses as few steps as the memo allows: 12 concurrent writes before a read of the first', () => {
    const writes = Array.from({ length: 12 }, (_, i) => done(i, write(i + 1), 0, 100));
    const result = checkLinearizable([...writes, done(99, read, 200, 210, 1)], register);
    expect(result.ok).toBe(true);
    // 12! (479 million) orders without the memo. With it, each of the 12 * 2^11 pairs (set of
    // writes, the last of them) is explored once and tries at most 12 candidates.
    expect(result.steps).toBeLessThanOrEqual(12 * 12 * 2 ** 11);
  });
});

describe('operations with an unknown outcome', () => {
  it('may take effect at any time after their call', () => {
    expect(verdict([timedOut(1, write(1), 0), done(2, read, 100, 110, 1)])).toBe(true);
    expect(verdict([timedOut(1, write(1), 0), done(2, read, 100, 110, 0), done(2, read, 120, 130, 1)])).toBe(true);
  });

  it('may never take effect', () => {
    expect(verdict([timedOut(1, write(1), 0), done(2, read, 100, 110, 0), done(2, read, 120, 130, 0)])).toBe(true);
    expect(verdict([timedOut(1, write(1), 0)])).toBe(true);
  });

  it('cannot take effect before their call, nor be undone', () => {
    expect(verdict([done(2, read, 0, 10, 1), timedOut(1, write(1), 20)])).toBe(false);
    expect(verdict([timedOut(1, write(1), 0), done(2, read, 100, 110, 1), done(2, read, 120, 130, 0)])).toBe(false);
  });

  it('treats a return at Infinity as unknown, and a timed-out cas as swapping only from its expected value', () => {
    const unknownCas: RegisterOp = { clientId: 1, input: cas(0, 5), call: 0, return: Infinity, output: false };
    expect(verdict([unknownCas, done(2, read, 100, 110, 5)])).toBe(true);
    expect(verdict([done(3, write(7), 0, 1), { ...unknownCas, call: 2 }, done(2, read, 100, 110, 5)])).toBe(false);
  });
});

describe('the key-value model', () => {
  const put = (key: string, value: number): KvInput<string, number> => ({ op: 'put', key, value });
  const get = (key: string): KvInput<string, number> => ({ op: 'get', key });

  it('checks each key alone and names the key that failed', () => {
    const history: KvOp[] = [
      done(1, put('a', 1), 0, 10),
      done(2, put('b', 1), 0, 10),
      done(1, get('a'), 20, 30, 1),
      done(2, get('b'), 20, 30, 1),
      done(3, put('b', 2), 40, 50),
      done(3, get('b'), 60, 70, 1),
    ];
    const result = checkLinearizable(history, kv);
    expect(result.ok).toBe(false);
    if (result.ok !== false) return;
    expect(result.partition).toBe('b');
    expect(result.prefix.every((op) => op.input.key === 'b')).toBe(true);
    expect(result.unplaced).toEqual([history[5]]);
    expect(describeLinearizability(result, kv)).toContain('get "b" -> 1');
    expect(checkLinearizable(history.slice(0, 5), kv)).toMatchObject({ ok: true, parts: 2 });
    // The same verdicts on the whole history, unpartitioned.
    expect(checkLinearizable(history, kv, { partition: false }).ok).toBe(false);
    expect(checkLinearizable(history.slice(0, 5), kv, { partition: false })).toMatchObject({ ok: true, parts: 1 });
  });

  it('reads absent keys as undefined, deletes, and swaps from absent with expected undefined', () => {
    const history: KvOp[] = [
      done(1, get('a'), 0, 1, undefined),
      done(1, { op: 'cas', key: 'a', expected: undefined, value: 1 }, 2, 3, true),
      done(2, { op: 'cas', key: 'a', expected: undefined, value: 2 }, 4, 5, false),
      done(1, get('a'), 6, 7, 1),
      done(2, { op: 'delete', key: 'a' }, 8, 9),
      done(1, get('a'), 10, 11, undefined),
    ];
    expect(checkLinearizable(history, kv).ok).toBe(true);
    expect(checkLinearizable([...history, done(3, get('a'), 12, 13, 1)], kv).ok).toBe(false);
  });

  it('partitions large histories so each key is a small search', () => {
    const history: KvOp[] = [];
    for (let i = 0; i < 2_000; i++) {
      const key = `k${i % 50}`;
      history.push(done(i % 7, put(key, i), i * 10, i * 10 + 25), done((i + 3) % 7, get(key), i * 10 + 30, i * 10 + 35, i));
    }
    const result = checkLinearizable(history, kv);
    expect(result).toMatchObject({ ok: true, parts: 50 });
  });
});

describe('long histories', () => {
  it('checks one part of 40,000 operations in about one step per operation', () => {
    // Each write overlaps the next; each read follows its write. Linear in the length: the memo's
    // keys and the report of the deepest point cost no more than the operations around the frontier.
    const history: RegisterOp[] = [];
    for (let i = 0; i < 20_000; i++) history.push(done(1, write(i), i * 10, i * 10 + 15), done(2, read, i * 10 + 16, i * 10 + 18, i));
    const result = checkLinearizable(history, register);
    expect(result).toMatchObject({ ok: true, parts: 1 });
    expect(result.steps).toBeLessThan(2 * history.length);
    history.push(done(3, read, 1_000_000, 1_000_001, 7));
    const stale = checkLinearizable(history, register);
    expect(stale.ok).toBe(false);
    if (stale.ok !== false) return;
    expect(stale.prefix).toHaveLength(40_000);
    expect(stale.unplaced).toEqual([history[40_000]]);
  });
});

describe('the budget', () => {
  // 30 concurrent writes of distinct values, then a read of a value nobody wrote: every order of
  // every subset is a distinct (set, state) pair, so the search cannot finish.
  const hopeless: RegisterOp[] = [...Array.from({ length: 30 }, (_, i) => done(i, write(i + 1), 0, 100)), done(99, read, 200, 210, -1)];

  it('answers unknown past maxSteps, at the same step on every run', () => {
    const first = checkLinearizable(hopeless, register, { maxSteps: 5_000 });
    expect(first).toEqual({ ok: 'unknown', reason: 'steps', partition: undefined, partsChecked: 0, steps: 5_000 });
    expect(checkLinearizable(hopeless, register, { maxSteps: 5_000 })).toEqual(first);
    expect(describeLinearizability(first, register)).toContain('step budget');
  });

  it('answers unknown past timeoutMs, on the clock it is given', () => {
    let now = 0;
    const clock = (): number => (now += 1);
    const result = checkLinearizable(hopeless, register, { timeoutMs: 100, clock });
    expect(result.ok).toBe('unknown');
    if (result.ok !== 'unknown') return;
    expect(result.reason).toBe('time');
    // The clock is read every 256 steps: 100 readings of a clock that ticks once a reading.
    expect(result.steps).toBeLessThanOrEqual(100 * 256);
  });

  it('reports a violation found before the budget ran out in a later part', () => {
    const history: KvOp[] = [done(1, { op: 'put', key: 'a', value: 1 }, 0, 1), done(1, { op: 'get', key: 'a' }, 2, 3, 2)];
    const tiny = checkLinearizable(history, kv, { maxSteps: 1 });
    expect(tiny.ok).toBe('unknown');
    expect(checkLinearizable(history, kv, { maxSteps: 2 }).ok).toBe(false);
  });
});

describe('malformed input', () => {
  it('refuses a return before its call, a call that is not a finite number, and bad budgets', async () => {
    const bad = [{ input: read, call: 5, return: 4 }] as RegisterOp[];
    await rejectsWithCode(Promise.resolve().then(() => checkLinearizable(bad, register)), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(Promise.resolve().then(() => checkLinearizable([{ input: read, call: NaN }], register)), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(Promise.resolve().then(() => checkLinearizable([], register, { maxSteps: -1 })), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(Promise.resolve().then(() => checkLinearizable([], register, { timeoutMs: Number.NaN })), ErrorCode.INVALID_OPTION);
  });
});
