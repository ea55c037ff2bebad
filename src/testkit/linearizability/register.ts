/**
 * The model of one register: read, write and compare-and-swap of a single value.
 *
 * Outputs as a client sees them: a read answers the value it read, a compare-and-swap answers
 * whether it swapped, a write's output is ignored. With an unknown outcome, a compare-and-swap
 * swaps exactly when the register held its expected value, as it would have had it run then.
 * Values compare as JSON (values.ts).
 */
import { UNKNOWN_OUTPUT, type LinearizabilityModel, type ModelStep } from './model.js';
import { sameValue, valueKey } from './values.js';

/** An operation on a register. */
export type RegisterInput<V> =
  | {
      /** Reads the value. */
      op: 'read';
    }
  | {
      /** Writes `value`. */
      op: 'write';
      /** The value written. */
      value: V;
    }
  | {
      /** Writes `value` if the register holds `expected`. */
      op: 'cas';
      /** The value the register must hold. */
      expected: V;
      /** The value written if it does. */
      value: V;
    };

/** What a register operation answered: the value for a read, whether it swapped for a cas, anything for a write. */
export type RegisterOutput<V> = V | boolean | undefined;

/** The register model, starting at `initial`: for `checkLinearizable`. */
export function registerModel<V>(initial: V): LinearizabilityModel<V, RegisterInput<V>, RegisterOutput<V>> {
  return {
    init: () => initial,
    step(state: V, input: RegisterInput<V>, output: RegisterOutput<V> | typeof UNKNOWN_OUTPUT): ModelStep<V> {
      switch (input.op) {
        case 'read':
          return output === UNKNOWN_OUTPUT || sameValue(output, state) ? { ok: true, state } : { ok: false };
        case 'write':
          return { ok: true, state: input.value };
        case 'cas': {
          const swaps = sameValue(state, input.expected);
          if (output !== UNKNOWN_OUTPUT && output !== swaps) return { ok: false };
          return { ok: true, state: swaps ? input.value : state };
        }
      }
    },
    key: valueKey,
    describeOperation(input, output) {
      const answer = output === UNKNOWN_OUTPUT ? '?' : valueKey(output);
      if (input.op === 'read') return `read -> ${answer}`;
      if (input.op === 'write') return `write ${valueKey(input.value)}`;
      return `cas ${valueKey(input.expected)} -> ${valueKey(input.value)} : ${answer}`;
    },
    describeState: valueKey,
  };
}
