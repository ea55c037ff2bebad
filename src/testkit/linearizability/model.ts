/**
 * What a linearizability check checks against: a sequential specification of the object.
 *
 * A model is a state machine. `step(state, input, output)` says whether `input` applied to
 * `state` may answer `output` and, if so, the state it leaves. States are values: `step` must
 * not change the state it is given (the search keeps old states to backtrack to). When an
 * operation's outcome is unknown the checker passes `UNKNOWN_OUTPUT` as its output: the step must then
 * accept and return the state the operation would leave had it taken effect (whether it did is
 * the search's choice: it may also place the operation after everything else, or not at all).
 *
 * The search memoises (set of operations linearized, state) pairs; `key(state)` names a state
 * for that memo. Two states with one key must be interchangeable for every later step. The
 * default key is `JSON.stringify(state)`, which suits plain data (not Maps or Sets: give `key`).
 * A key that tells equal states apart is safe, only slower; one that merges different states
 * is a bug that can hide a violation.
 */
import type { PartitionKey } from './history.js';

/** The output the checker passes to `model.step` for an operation whose outcome is unknown. */
export const UNKNOWN_OUTPUT: unique symbol = Symbol('horde.linearizability.unknown');

/** The type of `UNKNOWN_OUTPUT`. */
export type UnknownOutput = typeof UNKNOWN_OUTPUT;

/** What `model.step` answers: the state after the operation, or that it cannot answer so here. */
export type ModelStep<S> =
  | {
      /** The operation may answer so from the given state. */
      ok: true;
      /** The state it leaves. */
      state: S;
    }
  | {
      /** The operation cannot answer so from the given state. */
      ok: false;
    };

/** A sequential specification: states `S`, operation inputs `I`, outputs `O`. */
export interface LinearizabilityModel<S, I, O> {
  /** The state before any operation. */
  init(): S;
  /**
   * Whether `input` applied to `state` may answer `output` (anything, when `output` is
   * `UNKNOWN_OUTPUT`), and the state it then leaves. Must not modify `state`.
   */
  step(state: S, input: I, output: O | UnknownOutput): ModelStep<S>;
  /** A string that names a state for the memo; equal states, equal keys. Default `JSON.stringify`. */
  key?(state: S): string;
  /**
   * The independent part an input belongs to (a key of a map). When given, the history is checked
   * part by part; operations of different parts must never affect each other.
   */
  partition?(input: I): PartitionKey;
  /** Describes an operation for reports. Default: JSON of its input and output. */
  describeOperation?(input: I, output: O | UnknownOutput): string;
  /** Describes a state for reports. Default: the state's key. */
  describeState?(state: S): string;
}

/** The memo key of a state: the model's `key`, or JSON. */
export function stateKeyOf<S>(model: LinearizabilityModel<S, never, never>, state: S): string {
  return model.key === undefined ? String(JSON.stringify(state)) : model.key(state);
}
