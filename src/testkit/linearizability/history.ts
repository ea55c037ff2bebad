/**
 * Histories: what a linearizability check reads, and how it is cut into independent parts.
 *
 * An operation is one client's call of the object under test: its input, when it was called, and,
 * if the client saw an answer, the answer and when it arrived. Times are plain numbers on one
 * clock (a monotonic one: `performance.now()`, `process.hrtime`, a simulated clock); only their
 * order matters. Operation A precedes operation B in real time when `A.return < B.call`; equal
 * times count as overlapping, the lenient reading (a check never fails because two events share a
 * timestamp).
 *
 * An operation without a `return` (a client timeout, a crash, a lost connection) has an unknown
 * outcome: it may have taken effect at any time after its call, or never. It is treated as
 * returning at +Infinity with an output that matches anything.
 *
 * Partitioning (Porcupine's `Partition`): when the model maps each input to a key and operations
 * on different keys never interact (a key-value map, per key), the history is linearizable exactly
 * when each key's sub-history is, and the checks are much smaller (the search is exponential in
 * the number of operations that overlap, per part).
 */
import { ErrorCode, HordeError } from '../../errors.js';

/** One operation of a history: a client's call, and its answer when the client saw one. */
export interface HistoryOperation<I, O> {
  /** Who made the call (a client, a connection); reported back, not used by the check. */
  clientId?: string | number;
  /** What was asked, in the model's input type. */
  input: I;
  /** When the call was made (any monotonic clock; only the order of times matters). */
  call: number;
  /** The answer the client saw; ignored when the outcome is unknown (`return` absent). */
  output?: O;
  /**
   * When the answer arrived. Absent (or `Infinity`) when the outcome is unknown: the operation may
   * have taken effect at any time after its call, or never.
   */
  return?: number;
}

/** The key of one independent part of a history, as a model's `partition` names it. */
export type PartitionKey = string | number;

/** One part of a history: the key its operations share, and the operations in history order. */
export interface HistoryPart<I, O> {
  /** The part's key; `undefined` when the history was not partitioned. */
  readonly key: PartitionKey | undefined;
  /** The part's operations. */
  readonly operations: readonly HistoryOperation<I, O>[];
}

/** True when the operation's outcome is unknown (no return time, or an infinite one). */
export function isUnknownOutcome(operation: HistoryOperation<unknown, unknown>): boolean {
  return operation.return === undefined || operation.return === Infinity;
}

/** Throws HORDE_INVALID_OPTION naming the first operation whose times are not a valid interval. */
export function validateHistory(history: readonly HistoryOperation<unknown, unknown>[]): void {
  const operations = history;
  if (!Array.isArray(history)) throw new HordeError(ErrorCode.INVALID_OPTION, 'checkLinearizable: the history must be an array of operations');
  operations.forEach((operation, index) => {
    const { call } = operation;
    if (typeof call !== 'number' || !Number.isFinite(call)) {
      throw new HordeError(ErrorCode.INVALID_OPTION, `checkLinearizable: operation ${index} has call time ${String(call)}; it must be a finite number`);
    }
    const end = operation.return;
    if (end !== undefined && (typeof end !== 'number' || Number.isNaN(end) || end < call)) {
      throw new HordeError(
        ErrorCode.INVALID_OPTION,
        `checkLinearizable: operation ${index} returns at ${String(end)}, before its call at ${call}; return must be a number >= call, or absent when the outcome is unknown`,
      );
    }
  });
}

/**
 * Splits a history by `keyOf(input)`, parts in the order their first operation appears, each
 * keeping history order. Without `keyOf`, the whole history is one part.
 */
export function partitionHistory<I, O>(
  history: readonly HistoryOperation<I, O>[],
  keyOf: ((input: I) => PartitionKey) | undefined,
): HistoryPart<I, O>[] {
  if (keyOf === undefined) return [{ key: undefined, operations: history }];
  const parts = new Map<PartitionKey, HistoryOperation<I, O>[]>();
  for (const operation of history) {
    const key = keyOf(operation.input);
    let part = parts.get(key);
    if (part === undefined) {
      part = [];
      parts.set(key, part);
    }
    part.push(operation);
  }
  return [...parts].map(([key, operations]) => ({ key, operations }));
}
