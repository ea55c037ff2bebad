/**
 * What `checkLinearizable` answers, and a readable account of it for test failures.
 *
 * Three answers: linearizable; not linearizable, with the part (key) that failed, the deepest
 * linearizable prefix the search found there and the operations it could not place after that
 * prefix; or unknown, when a budget ran out before the search could decide. Operations in a
 * result are the history's own objects, so a caller can find them by identity.
 */
import type { BudgetExhausted } from './budget.js';
import type { HistoryOperation, PartitionKey } from './history.js';
import { UNKNOWN_OUTPUT, stateKeyOf, type LinearizabilityModel } from './model.js';
import { isUnknownOutcome } from './history.js';

/** The history is linearizable. */
export interface Linearizable {
  /** Always true. */
  ok: true;
  /** `model.step` calls the search made, over all parts. */
  steps: number;
  /** Parts checked (1 when the model does not partition). */
  parts: number;
}

/** The history is not linearizable: some part has no linearization. */
export interface NotLinearizable<S, I, O> {
  /** Always false. */
  ok: false;
  /** The key of the part that failed; `undefined` when the history was not partitioned. */
  partition: PartitionKey | undefined;
  /**
   * The longest linearizable prefix the search found in that part: operations in the order they
   * were linearized, at the deepest point the search reached.
   */
  prefix: HistoryOperation<I, O>[];
  /**
   * The operations that could not be placed after `prefix`: every candidate at that point (an
   * operation whose real-time predecessors are all in the prefix), none of which the model allows
   * next without repeating a state already explored.
   */
  unplaced: HistoryOperation<I, O>[];
  /** The model's state after `prefix`. */
  state: S;
  /** `model.step` calls the search made, over all parts. */
  steps: number;
}

/** The search ran out of budget before it could decide. */
export interface LinearizabilityUnknown {
  /** Always 'unknown'. */
  ok: 'unknown';
  /** Which budget ran out: `maxSteps` ('steps') or `timeoutMs` ('time'). */
  reason: BudgetExhausted;
  /** The key of the part being searched when it ran out; `undefined` when not partitioned. */
  partition: PartitionKey | undefined;
  /** Parts found linearizable before it ran out. */
  partsChecked: number;
  /** `model.step` calls the search made, over all parts. */
  steps: number;
}

/** The answer of `checkLinearizable`: `ok` is true, false or 'unknown'. */
export type LinearizabilityResult<S, I, O> = Linearizable | NotLinearizable<S, I, O> | LinearizabilityUnknown;

/**
 * A readable account of a result, several lines for a failure (the failing part, its prefix, the
 * state after it and the operations that could not be placed), using the model's `describe*`
 * functions when it has them.
 */
export function describeLinearizability<S, I, O>(result: LinearizabilityResult<S, I, O>, model: LinearizabilityModel<S, I, O>): string {
  if (result.ok === true) return `linearizable (${result.parts} part(s), ${result.steps} steps)`;
  if (result.ok === 'unknown') {
    const budget = result.reason === 'steps' ? 'step budget (maxSteps)' : 'time budget (timeoutMs)';
    return `unknown: the ${budget} ran out after ${result.steps} steps, in part ${String(result.partition)} (${result.partsChecked} part(s) linearizable before it)`;
  }
  const operation = (op: HistoryOperation<I, O>): string => {
    const unknown = isUnknownOutcome(op);
    const output = unknown ? UNKNOWN_OUTPUT : (op.output as O);
    const text = model.describeOperation?.(op.input, output) ?? `${JSON.stringify(op.input)} -> ${unknown ? '?' : JSON.stringify(op.output)}`;
    const client = op.clientId === undefined ? '' : `client ${String(op.clientId)}: `;
    return `  ${client}${text} [${op.call}, ${unknown ? '∞' : String(op.return)}]`;
  };
  return [
    `not linearizable: part ${String(result.partition)}`,
    `longest linearizable prefix (${result.prefix.length} operations):`,
    ...result.prefix.map(operation),
    `state after it: ${model.describeState?.(result.state) ?? stateKeyOf(model, result.state)}`,
    `operations that could not be placed next (${result.unplaced.length}):`,
    ...result.unplaced.map(operation),
  ].join('\n');
}
