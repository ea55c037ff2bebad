/**
 * The search of one part of a history: Wing and Gong's algorithm with Lowe's just-in-time
 * linearizability memo, as Porcupine does it.
 *
 * Events (each operation's call, and its return when it has one) sorted by time, calls before
 * returns at equal times, form a doubly linked list behind a head sentinel. Walking from the head,
 * a call event is a candidate: an operation every one of whose real-time predecessors is already
 * linearized. The search tries to linearize it: `model.step` with its input and output from the
 * current state. If the step is allowed and the pair (linearized set + this operation, new state)
 * has not been seen before, the operation is lifted out of the list (its call and return events),
 * pushed on a stack with the state before it, and the walk restarts at the head. Reaching a return
 * event means its operation had to be linearized by now and no candidate before it worked: pop the
 * last operation, put its events back (dancing links: the removed nodes keep their neighbours, so
 * undoing in reverse order restores the list exactly), restore the state and go on with the
 * candidate after it. The part is linearizable when every operation with a known outcome is
 * lifted; it is not when a return is reached with an empty stack.
 *
 * Operations with an unknown outcome have no return event: nothing forces them to be placed, and
 * the search is done without them when every completed one is placed (an operation placed after
 * all others is one that never took effect, as far as anyone saw).
 *
 * The memo is Lowe's observation: two search paths reaching the same set of linearized operations
 * and the same state have the same future, so the second is cut. It turns the usual case (few
 * operations overlap) from exponential to nearly linear. Worst case (many operations overlap,
 * states that differ): exponential in the overlap, which is why there is a budget.
 *
 * Costs: each step builds a memo key (linearized-set.ts: about the concurrency around the oldest
 * pending operation, in bits) plus the state's key; the memo keeps one key per distinct (set,
 * state) reached, at most one per step, so memory grows with the steps taken.
 *
 * The deepest point the search reached is kept for the report: the operations on the stack then
 * (a linearizable prefix) and the candidates that could not be placed after it.
 */
import type { Budget } from './budget.js';
import { isUnknownOutcome, type HistoryOperation } from './history.js';
import { LinearizedSet } from './linearized-set.js';
import { UNKNOWN_OUTPUT, stateKeyOf, type LinearizabilityModel } from './model.js';

/** How the search of one part ended; operations are indexes into the part's operations. */
export type SearchOutcome<S> =
  | { kind: 'linearizable' }
  | {
      kind: 'violation';
      /** The operations linearized at the deepest point, in linearization order. */
      prefix: number[];
      /** The candidates at that point, none of which could be linearized next. */
      unplaced: number[];
      /** The model's state after the prefix. */
      state: S;
    }
  | { kind: 'budget' };

const NIL = -1;

/** The event list: entries 0..events-1 are events, the last entry is the head sentinel. */
class EventList {
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The operation of each event. */
  readonly operationOf: Int32Array;
  /** 1 for a call event, 0 for a return event. */
  readonly isCall: Uint8Array;
  /** Each operation's call event and return event (NIL: unknown outcome). */
  readonly callOf: Int32Array;
  readonly returnOf: Int32Array;
  readonly head: number;

  constructor(operations: readonly HistoryOperation<unknown, unknown>[]) {
    const events: { time: number; call: boolean; operation: number }[] = [];
    operations.forEach((operation, index) => {
      events.push({ time: operation.call, call: true, operation: index });
      if (!isUnknownOutcome(operation)) events.push({ time: operation.return!, call: false, operation: index });
    });
    events.sort((a, b) => a.time - b.time || Number(b.call) - Number(a.call) || a.operation - b.operation);
    const size = events.length + 1;
    this.head = events.length;
    this.next = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.operationOf = new Int32Array(size).fill(NIL);
    this.isCall = new Uint8Array(size);
    this.callOf = new Int32Array(operations.length);
    this.returnOf = new Int32Array(operations.length).fill(NIL);
    events.forEach((event, index) => {
      this.operationOf[index] = event.operation;
      this.isCall[index] = event.call ? 1 : 0;
      if (event.call) this.callOf[event.operation] = index;
      else this.returnOf[event.operation] = index;
      this.next[index] = index + 1 < events.length ? index + 1 : NIL;
      this.prev[index] = index === 0 ? this.head : index - 1;
    });
    this.next[this.head] = events.length > 0 ? 0 : NIL;
    this.prev[this.head] = NIL;
  }

  /** Removes an operation's call and return events (call first). */
  lift(operation: number): void {
    this.unlink(this.callOf[operation]!);
    const ret = this.returnOf[operation]!;
    if (ret !== NIL) this.unlink(ret);
  }

  /** Puts back what `lift` removed, in reverse order. */
  unlift(operation: number): void {
    const ret = this.returnOf[operation]!;
    if (ret !== NIL) this.relink(ret);
    this.relink(this.callOf[operation]!);
  }

  private unlink(event: number): void {
    const before = this.prev[event]!;
    const after = this.next[event]!;
    this.next[before] = after;
    if (after !== NIL) this.prev[after] = before;
  }

  private relink(event: number): void {
    const before = this.prev[event]!;
    const after = this.next[event]!;
    this.next[before] = event;
    if (after !== NIL) this.prev[after] = event;
  }
}

/** Searches one part for a linearization; see the file's comment. */
export function searchPart<S, I, O>(operations: readonly HistoryOperation<I, O>[], model: LinearizabilityModel<S, I, O>, budget: Budget): SearchOutcome<S> {
  const list = new EventList(operations);
  const linearized = new LinearizedSet(operations);
  const seen = new Set<string>();
  const stackOperations: number[] = [];
  const stackStates: S[] = [];
  let pending = operations.reduce((count, operation) => count + (isUnknownOutcome(operation) ? 0 : 1), 0);
  let state = model.init();
  // The deepest point: its prefix shares stack[0..common) with the current stack, so recording a
  // deeper point copies only what was pushed since (amortised O(1) a step, not O(depth)).
  let deepest: Extract<SearchOutcome<S>, { kind: 'violation' }> | undefined;
  let common = 0;
  let event = list.next[list.head]!;

  while (pending > 0) {
    if (event !== NIL && list.isCall[event] === 1) {
      const index = list.operationOf[event]!;
      const operation = operations[index]!;
      const unknown = list.returnOf[index] === NIL;
      if (!budget.spend()) return { kind: 'budget' };
      const result = model.step(state, operation.input, unknown ? UNKNOWN_OUTPUT : (operation.output as O));
      if (result.ok) {
        linearized.add(index);
        const key = `${linearized.key()}\u0000${stateKeyOf(model, result.state)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stackOperations.push(index);
          stackStates.push(state);
          state = result.state;
          list.lift(index);
          if (!unknown) pending--;
          event = list.next[list.head]!;
          continue;
        }
        linearized.remove(index);
      }
      event = list.next[event]!;
      continue;
    }
    // A return event (or the end of the list): no candidate before it could be linearized.
    if (deepest === undefined || stackOperations.length > deepest.prefix.length) {
      const prefix = deepest?.prefix ?? [];
      prefix.length = common;
      for (let i = common; i < stackOperations.length; i++) prefix.push(stackOperations[i]!);
      common = stackOperations.length;
      deepest = { kind: 'violation', prefix, unplaced: candidatesBefore(list, event), state };
    }
    const index = stackOperations.pop();
    if (index === undefined) return deepest;
    common = Math.min(common, stackOperations.length);
    state = stackStates.pop()!;
    linearized.remove(index);
    list.unlift(index);
    if (list.returnOf[index] !== NIL) pending++;
    event = list.next[list.callOf[index]!]!;
  }
  return { kind: 'linearizable' };
}

/** The operations whose call events lie between the head and `stop`: the candidates there, `stop`'s own among them. */
function candidatesBefore(list: EventList, stop: number): number[] {
  const candidates: number[] = [];
  for (let event = list.next[list.head]!; event !== NIL && event !== stop; event = list.next[event]!) {
    if (list.isCall[event] === 1) candidates.push(list.operationOf[event]!);
  }
  return candidates;
}
