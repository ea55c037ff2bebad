/**
 * The set of operations linearized so far, as the search's memo needs it: add and remove in
 * O(1), and an exact string key, in size proportional to the concurrency around the search's
 * frontier rather than to the history.
 *
 * Completed operations are ranked by call time. Let f be the lowest rank not in the set (the
 * frontier): every rank below f is in. A member x above f was linearized while f was not, so x
 * was a candidate with f pending: f's return event came after x's call event, that is
 * `x.call <= f.return` (calls sort before returns at equal times). So every member above f lies
 * in f's window, the ranks called no later than f returned, and the set is exactly (f, the bits
 * of f's window). Operations with an unknown outcome never return, so they have no window; they
 * get a plain bit each. The key is f (two 16-bit characters), the window's bits, then the unknown
 * operations' bits, 16 to a character: its layout depends only on f, so it is injective. No hash
 * that could merge two sets and hide a violation.
 *
 * Costs: a key is O(window/16 + unknown/16) characters. On histories from real runs the window
 * is the handful of operations concurrent with the oldest pending one; one very long operation
 * widens it to everything called while it ran (still exact, only bigger).
 */
import { isUnknownOutcome, type HistoryOperation } from './history.js';

/** Characters built per String.fromCharCode call (well below engines' argument limits). */
const CHUNK = 8192;

export class LinearizedSet {
  /** For each operation: its rank among completed operations by call, or -1 - its unknown slot. */
  private readonly slotOf: Int32Array;
  private readonly inRank: Uint8Array;
  private readonly inUnknown: Uint8Array;
  /** For each rank: the last rank called no later than it returned (its window's end). */
  private readonly windowEnd: Int32Array;
  private frontier = 0;
  private readonly buffer: Uint16Array;

  constructor(operations: readonly HistoryOperation<unknown, unknown>[]) {
    const completed: number[] = [];
    this.slotOf = new Int32Array(operations.length);
    let unknown = 0;
    operations.forEach((operation, index) => {
      if (isUnknownOutcome(operation)) this.slotOf[index] = -1 - unknown++;
      else completed.push(index);
    });
    completed.sort((a, b) => operations[a]!.call - operations[b]!.call || a - b);
    completed.forEach((index, rank) => (this.slotOf[index] = rank));
    this.inRank = new Uint8Array(completed.length + 1);
    this.inUnknown = new Uint8Array(unknown);
    this.windowEnd = new Int32Array(completed.length);
    let end = 0;
    for (let rank = 0; rank < completed.length; rank++) {
      const returns = operations[completed[rank]!]!.return!;
      end = Math.max(end, rank);
      while (end + 1 < completed.length && operations[completed[end + 1]!]!.call <= returns) end++;
      this.windowEnd[rank] = end;
    }
    let widest = 0;
    for (let rank = 0; rank < completed.length; rank++) widest = Math.max(widest, this.windowEnd[rank]! - rank);
    this.buffer = new Uint16Array(2 + Math.ceil(widest / 16) + Math.ceil(unknown / 16));
  }

  add(operation: number): void {
    const slot = this.slotOf[operation]!;
    if (slot < 0) {
      this.inUnknown[-1 - slot] = 1;
      return;
    }
    this.inRank[slot] = 1;
    while (this.inRank[this.frontier] === 1) this.frontier++;
  }

  remove(operation: number): void {
    const slot = this.slotOf[operation]!;
    if (slot < 0) {
      this.inUnknown[-1 - slot] = 0;
      return;
    }
    this.inRank[slot] = 0;
    if (slot < this.frontier) this.frontier = slot;
  }

  /** The set as a string, exact: equal sets, equal keys, and only they. */
  key(): string {
    const buffer = this.buffer;
    let length = 0;
    buffer[length++] = this.frontier & 0xffff;
    buffer[length++] = this.frontier >>> 16;
    const f = this.frontier;
    const end = f < this.windowEnd.length ? this.windowEnd[f]! : f;
    length = packBits(this.inRank, f + 1, end + 1, buffer, length);
    length = packBits(this.inUnknown, 0, this.inUnknown.length, buffer, length);
    let key = '';
    for (let start = 0; start < length; start += CHUNK) {
      key += String.fromCharCode(...buffer.subarray(start, Math.min(length, start + CHUNK)));
    }
    return key;
  }
}

/** Writes flags[from..to) into `out` from `at`, 16 to a character; returns the new length. */
function packBits(flags: Uint8Array, from: number, to: number, out: Uint16Array, at: number): number {
  let length = at;
  for (let start = from; start < to; start += 16) {
    let word = 0;
    const stop = Math.min(to, start + 16);
    for (let i = start; i < stop; i++) word |= flags[i]! << (i - start);
    out[length++] = word;
  }
  return length;
}
