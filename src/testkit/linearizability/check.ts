/**
 * `checkLinearizable(history, model)`: cuts the history into parts (when the model partitions),
 * searches each part in order of its first operation (search.ts) against one shared budget, and
 * maps the outcome back to the history's own operations. The first part that fails is the answer;
 * when the budget runs out first, the answer is 'unknown' even if a later part would fail.
 */
import { invalidOption } from '../../errors.js';
import { Budget, DEFAULT_MAX_STEPS } from './budget.js';
import { partitionHistory, validateHistory, type HistoryOperation } from './history.js';
import type { LinearizabilityModel } from './model.js';
import type { LinearizabilityResult } from './result.js';
import { searchPart } from './search.js';

/** Options of `checkLinearizable`. */
export interface LinearizabilityOptions {
  /**
   * At most this many `model.step` calls, over all parts; past it the answer is 'unknown'.
   * Deterministic, so prefer it in tests. Default 1,000,000 (about a second with the shipped
   * models; more with a model whose `step` or `key` is slow).
   */
  maxSteps?: number;
  /** At most this many milliseconds (on `clock`); past it the answer is 'unknown'. Default: no limit. */
  timeoutMs?: number;
  /** The clock `timeoutMs` is measured on, in milliseconds. Default: the node's monotonic clock. */
  clock?: () => number;
  /** Set to false to check the history whole even when the model partitions it. Default true. */
  partition?: boolean;
}

/**
 * Checks whether a concurrent history is linearizable with respect to a sequential model: whether
 * its operations can be ordered, each at one instant between its call and its return (any time
 * after its call, or never, when its outcome is unknown), so that the model accepts every
 * operation's output in that order.
 *
 * The search is Wing and Gong's, with Lowe's memo (as in Porcupine), per part when the model
 * partitions. Its cost is exponential in the worst case (many operations overlapping in time);
 * on histories from real runs, where few operations overlap, it is close to linear. `maxSteps`
 * (default 1,000,000) and `timeoutMs` bound it: past them the answer is `{ ok: 'unknown' }`.
 *
 * @throws HordeError HORDE_INVALID_OPTION for a malformed history (a call time that is not a
 * finite number, a return before its call) or option.
 */
export function checkLinearizable<S, I, O>(
  history: readonly HistoryOperation<I, O>[],
  model: LinearizabilityModel<S, I, O>,
  options: LinearizabilityOptions = {},
): LinearizabilityResult<S, I, O> {
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  if (!(maxSteps >= 0)) invalidOption('maxSteps', 'a number >= 0', maxSteps);
  if (options.timeoutMs !== undefined && !(options.timeoutMs >= 0)) invalidOption('timeoutMs', 'a number >= 0', options.timeoutMs);
  validateHistory(history);
  const budget = new Budget(maxSteps, options.timeoutMs, options.clock);
  const partitioner = options.partition === false ? undefined : model.partition?.bind(model);
  const parts = partitionHistory(history, partitioner);
  let checked = 0;
  for (const part of parts) {
    const outcome = budget.checkTime() ? searchPart(part.operations, model, budget) : { kind: 'budget' as const };
    if (outcome.kind === 'budget') {
      return { ok: 'unknown', reason: budget.exhausted ?? 'steps', partition: part.key, partsChecked: checked, steps: budget.steps };
    }
    if (outcome.kind === 'violation') {
      return {
        ok: false,
        partition: part.key,
        prefix: outcome.prefix.map((index) => part.operations[index]!),
        unplaced: outcome.unplaced.map((index) => part.operations[index]!),
        state: outcome.state,
        steps: budget.steps,
      };
    }
    checked++;
  }
  return { ok: true, steps: budget.steps, parts: parts.length };
}
