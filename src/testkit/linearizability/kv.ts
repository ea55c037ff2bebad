/**
 * The model of a key-value map: get, put, delete and compare-and-swap per key, partitioned per
 * key (operations on different keys never interact, so each key's history is checked alone).
 *
 * Outputs as a client sees them: a get answers the value, `undefined` when the key is absent; a
 * compare-and-swap answers whether it swapped (`expected: undefined` swaps only when the key is
 * absent); the outputs of put and delete are ignored. The state is a Map, replaced (never
 * changed) by each step; its memo key lists entries sorted by key. Values compare as JSON.
 */
import type { PartitionKey } from './history.js';
import { UNKNOWN_OUTPUT, type LinearizabilityModel, type ModelStep } from './model.js';
import { sameValue, valueKey } from './values.js';

/** An operation on a key-value map. */
export type KvInput<K extends PartitionKey, V> =
  | {
      /** Reads the key's value. */
      op: 'get';
      /** The key. */
      key: K;
    }
  | {
      /** Sets the key's value. */
      op: 'put';
      /** The key. */
      key: K;
      /** The value. */
      value: V;
    }
  | {
      /** Removes the key. */
      op: 'delete';
      /** The key. */
      key: K;
    }
  | {
      /** Sets the key's value if it holds `expected`. */
      op: 'cas';
      /** The key. */
      key: K;
      /** The value the key must hold; `undefined`: the key must be absent. */
      expected: V | undefined;
      /** The value set if it does. */
      value: V;
    };

/** What a map operation answered: the value for a get (`undefined`: absent), whether it swapped for a cas, anything for put and delete. */
export type KvOutput<V> = V | boolean | undefined;

/** A map's state in the model: never modified, replaced by each step. */
export type KvState<K extends PartitionKey, V> = ReadonlyMap<K, V>;

/** The key-value map model, starting empty and partitioned per key: for `checkLinearizable`. */
export function kvModel<K extends PartitionKey = string, V = unknown>(): LinearizabilityModel<KvState<K, V>, KvInput<K, V>, KvOutput<V>> {
  const key = (state: KvState<K, V>): string =>
    [...state]
      .map(([k, v]) => `${JSON.stringify(k)}:${valueKey(v)}`)
      .sort()
      .join(',');
  return {
    init: () => new Map<K, V>(),
    step(state: KvState<K, V>, input: KvInput<K, V>, output: KvOutput<V> | typeof UNKNOWN_OUTPUT): ModelStep<KvState<K, V>> {
      const current = state.get(input.key);
      switch (input.op) {
        case 'get':
          return output === UNKNOWN_OUTPUT || sameValue(output, current) ? { ok: true, state } : { ok: false };
        case 'put':
          return { ok: true, state: new Map(state).set(input.key, input.value) };
        case 'delete': {
          if (!state.has(input.key)) return { ok: true, state };
          const next = new Map(state);
          next.delete(input.key);
          return { ok: true, state: next };
        }
        case 'cas': {
          const swaps = sameValue(current, input.expected);
          if (output !== UNKNOWN_OUTPUT && output !== swaps) return { ok: false };
          return { ok: true, state: swaps ? new Map(state).set(input.key, input.value) : state };
        }
      }
    },
    key,
    partition: (input) => input.key,
    describeOperation(input, output) {
      const answer = output === UNKNOWN_OUTPUT ? '?' : valueKey(output);
      const k = JSON.stringify(input.key);
      if (input.op === 'get') return `get ${k} -> ${answer}`;
      if (input.op === 'put') return `put ${k} ${valueKey(input.value)}`;
      if (input.op === 'delete') return `delete ${k}`;
      return `cas ${k} ${valueKey(input.expected)} -> ${valueKey(input.value)} : ${answer}`;
    },
    describeState: (state) => `{${key(state)}}`,
  };
}
