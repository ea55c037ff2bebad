// checkLinearizable against a brute-force checker on small random histories (property tests).
//
// Histories come from a simulated execution: each operation takes effect at a random instant in
// its interval (an unknown outcome: at a random instant after its call, or never), outputs are
// what a sequential object answers in that order, and then, half the time, one output is
// corrupted. So both verdicts occur. The brute force knows nothing of the checker's event list,
// memo or models: it tries every order of the operations that respects real time (every completed
// operation, any subset of the unknown ones), with its own sequential specification of a register
// and of a key-value map, so the models' `step` is cross-checked too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkLinearizable,
  kvModel,
  registerModel,
  type HistoryOperation,
  type KvInput,
  type KvOutput,
  type RegisterInput,
  type RegisterOutput,
} from '../../src/index.js';

/** A sequential object: applies an input, answers the output and the next state. */
type Spec<S, I, O> = { init: S; apply(state: S, input: I): { state: S; output: O }; same(expected: O, seen: O | undefined, input: I): boolean };

const registerSpec: Spec<number, RegisterInput<number>, RegisterOutput<number>> = {
  init: 0,
  apply(state, input) {
    if (input.op === 'read') return { state, output: state };
    if (input.op === 'write') return { state: input.value, output: undefined };
    return state === input.expected ? { state: input.value, output: true } : { state, output: false };
  },
  same: (expected, seen, input) => input.op === 'write' || expected === seen,
};

type KvMap = Readonly<Record<string, number>>;
const kvSpec: Spec<KvMap, KvInput<string, number>, KvOutput<number>> = {
  init: {},
  apply(state, input) {
    const current = state[input.key];
    if (input.op === 'get') return { state, output: current };
    if (input.op === 'put') return { state: { ...state, [input.key]: input.value }, output: undefined };
    if (input.op === 'delete') {
      const rest = { ...state };
      delete rest[input.key];
      return { state: rest, output: undefined };
    }
    return current === input.expected ? { state: { ...state, [input.key]: input.value }, output: true } : { state, output: false };
  },
  same: (expected, seen, input) => input.op === 'put' || input.op === 'delete' || expected === seen,
};

/** Every real-time-respecting order, depth first, no memo: is there one the spec accepts? */
function bruteForce<S, I, O>(history: readonly HistoryOperation<I, O>[], spec: Spec<S, I, O>): boolean {
  const completed = (op: HistoryOperation<I, O>): boolean => op.return !== undefined && op.return !== Infinity;
  const placed = history.map(() => false);
  let remaining = history.filter(completed).length;
  const search = (state: S): boolean => {
    if (remaining === 0) return true;
    for (let i = 0; i < history.length; i++) {
      if (placed[i]) continue;
      const op = history[i]!;
      // op may go next only if no unplaced operation returned before op was called.
      if (history.some((other, j) => !placed[j] && j !== i && other.return !== undefined && other.return < op.call)) continue;
      const { state: next, output } = spec.apply(state, op.input);
      if (completed(op) && !spec.same(output, op.output, op.input)) continue;
      placed[i] = true;
      if (completed(op)) remaining--;
      const found = search(next);
      placed[i] = false;
      if (completed(op)) remaining++;
      if (found) return true;
    }
    return false;
  };
  return search(spec.init);
}

/** One operation of a random history, before outputs are known. */
const timing = fc.record({
  client: fc.integer({ min: 0, max: 3 }),
  call: fc.integer({ min: 0, max: 20 }),
  duration: fc.integer({ min: 0, max: 10 }),
  /** Where in its interval (or after its call, when unknown) it takes effect. */
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  unknown: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  never: fc.boolean(),
});

type Timing = typeof timing extends fc.Arbitrary<infer T> ? T : never;

/** Simulates the execution: outputs from applying inputs in effect order; then maybe corrupts one. */
function simulate<S, I, O>(
  timings: Timing[],
  inputs: I[],
  spec: Spec<S, I, O>,
  corrupt: { index: number; output: (o: O) => O } | undefined,
): HistoryOperation<I, O>[] {
  const history: HistoryOperation<I, O>[] = timings.map((t, i) => ({
    clientId: t.client,
    input: inputs[i]!,
    call: t.call,
    ...(t.unknown ? {} : { return: t.call + t.duration }),
  }));
  const effects = timings
    .map((t, i) => ({ i, at: t.unknown ? (t.never ? Infinity : t.call + t.at * 30) : t.call + t.at * t.duration }))
    .filter((e) => e.at !== Infinity)
    .sort((a, b) => a.at - b.at || a.i - b.i);
  let state = spec.init;
  for (const { i } of effects) {
    const { state: next, output } = spec.apply(state, history[i]!.input);
    state = next;
    if (!timings[i]!.unknown) history[i]!.output = output;
  }
  if (corrupt !== undefined) {
    const op = history[corrupt.index % history.length]!;
    if (op.return !== undefined) op.output = corrupt.output(op.output as O);
  }
  return history;
}

const registerInput: fc.Arbitrary<RegisterInput<number>> = fc.oneof(
  fc.constant({ op: 'read' as const }),
  fc.record({ op: fc.constant('write' as const), value: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('cas' as const), expected: fc.integer({ min: 0, max: 2 }), value: fc.integer({ min: 0, max: 2 }) }),
);

const kvInput: fc.Arbitrary<KvInput<string, number>> = fc.oneof(
  fc.record({ op: fc.constant('get' as const), key: fc.constantFrom('a', 'b') }),
  fc.record({ op: fc.constant('put' as const), key: fc.constantFrom('a', 'b'), value: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom('a', 'b') }),
  fc.record({
    op: fc.constant('cas' as const),
    key: fc.constantFrom('a', 'b'),
    expected: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    value: fc.integer({ min: 0, max: 2 }),
  }),
);

/** A different output of the same kind: another value, or the other boolean. */
function otherOutput(output: number | boolean | undefined): number | boolean | undefined {
  if (typeof output === 'boolean') return !output;
  if (output === undefined) return 0;
  return output === 2 ? undefined : output + 1;
}

const corruption = fc.option(fc.nat(), { nil: undefined });
const RUNS = 400;

/** Operations spread over a longer time, so few overlap: longer histories the brute force can still search. */
const spreadTiming = timing.chain((t) => fc.integer({ min: 0, max: 80 }).map((call) => ({ ...t, call })));

describe('checkLinearizable agrees with a brute-force checker', () => {
  it('on random register histories of up to 7 operations, linearizable or not (property)', () => {
    const verdicts = { true: 0, false: 0 };
    fc.assert(
      fc.property(fc.array(fc.tuple(timing, registerInput), { minLength: 1, maxLength: 7 }), corruption, (ops, corrupt) => {
        const history = simulate(
          ops.map(([t]) => t),
          ops.map(([, input]) => input),
          registerSpec,
          corrupt === undefined ? undefined : { index: corrupt, output: (o) => otherOutput(o) as RegisterOutput<number> },
        );
        const expected = bruteForce(history, registerSpec);
        const result = checkLinearizable(history, registerModel(0));
        expect(result.ok).toBe(expected);
        verdicts[String(expected) as 'true' | 'false']++;
        if (result.ok === false) {
          // The prefix is itself linearizable, and contains no operation it reports unplaced.
          expect(bruteForce(result.prefix, registerSpec)).toBe(true);
          expect(result.unplaced.length).toBeGreaterThan(0);
          expect(result.unplaced.some((op) => result.prefix.includes(op))).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
    expect(verdicts.true).toBeGreaterThan(RUNS / 10);
    expect(verdicts.false).toBeGreaterThan(RUNS / 10);
  });

  it('on longer register histories (up to 16 operations) where few overlap (property)', () => {
    const verdicts = { true: 0, false: 0 };
    fc.assert(
      fc.property(fc.array(fc.tuple(spreadTiming, registerInput), { minLength: 8, maxLength: 16 }), corruption, (ops, corrupt) => {
        const history = simulate(
          ops.map(([t]) => t),
          ops.map(([, input]) => input),
          registerSpec,
          corrupt === undefined ? undefined : { index: corrupt, output: (o) => otherOutput(o) as RegisterOutput<number> },
        );
        const expected = bruteForce(history, registerSpec);
        expect(checkLinearizable(history, registerModel(0)).ok).toBe(expected);
        verdicts[String(expected) as 'true' | 'false']++;
      }),
      { numRuns: RUNS / 2 },
    );
    expect(verdicts.true).toBeGreaterThan(RUNS / 20);
    expect(verdicts.false).toBeGreaterThan(RUNS / 20);
  });

  it('on random key-value histories over two keys, partitioned by the checker, whole for the brute force (property)', () => {
    const verdicts = { true: 0, false: 0 };
    fc.assert(
      fc.property(fc.array(fc.tuple(timing, kvInput), { minLength: 1, maxLength: 7 }), corruption, (ops, corrupt) => {
        const history = simulate(
          ops.map(([t]) => t),
          ops.map(([, input]) => input),
          kvSpec,
          corrupt === undefined ? undefined : { index: corrupt, output: (o) => otherOutput(o) },
        );
        const expected = bruteForce(history, kvSpec);
        expect(checkLinearizable(history, kvModel<string, number>()).ok).toBe(expected);
        expect(checkLinearizable(history, kvModel<string, number>(), { partition: false }).ok).toBe(expected);
        verdicts[String(expected) as 'true' | 'false']++;
      }),
      { numRuns: RUNS },
    );
    expect(verdicts.true).toBeGreaterThan(RUNS / 10);
    expect(verdicts.false).toBeGreaterThan(RUNS / 10);
  });
});
