/**
 * SignalQueue: a shard's queue of signals (exit, down, link, monitor, spawn, ...) waiting to be
 * handled, as records of (signal, to, from, ref, payload, kind) in one circular array, so queueing
 * a signal allocates nothing once the array has grown (a million spawns are a million signals).
 * `kind` is only used by local spawns (the process kind; their payload is the spawn's args).
 * Unbounded here: the shard drains it before every turn, and what fills it is bounded by the
 * budget of the turns and by the rings that feed the shard. It only grows while it holds records;
 * once emptied, a queue past SHRINK_ABOVE records goes back to its initial size.
 */

import type { Pid } from '../process/pid.js';

const FIELDS = 6;
const INITIAL_RECORDS = 16;
/** An emptied queue larger than this many records goes back to its initial size (after a burst). */
const SHRINK_ABOVE = 1 << 16;

export class SignalQueue {
  private items: unknown[] = new Array<unknown>(INITIAL_RECORDS * FIELDS).fill(undefined);
  private head = 0;
  private count = 0;
  private mask = INITIAL_RECORDS - 1;

  get size(): number {
    return this.count;
  }

  push(signal: number, to: Pid, from: Pid | undefined, ref: number, payload: unknown, kind?: string): void {
    if (this.count === this.mask + 1) this.grow();
    const base = ((this.head + this.count) & this.mask) * FIELDS;
    const items = this.items;
    items[base] = signal;
    items[base + 1] = to;
    items[base + 2] = from;
    items[base + 3] = ref;
    items[base + 4] = payload;
    items[base + 5] = kind;
    this.count++;
  }

  /** Index of the oldest record's first field; read it with the accessors, then `drop()`. */
  peekBase(): number {
    return this.head * FIELDS;
  }

  signal(base: number): number {
    return this.items[base] as number;
  }

  to(base: number): Pid {
    return this.items[base + 1] as Pid;
  }

  from(base: number): Pid | undefined {
    return this.items[base + 2] as Pid | undefined;
  }

  ref(base: number): number {
    return this.items[base + 3] as number;
  }

  payload(base: number): unknown {
    return this.items[base + 4];
  }

  kind(base: number): string | undefined {
    return this.items[base + 5] as string | undefined;
  }

  /** Removes the oldest record, clearing its references. */
  drop(): void {
    const base = this.head * FIELDS;
    const items = this.items;
    items[base + 1] = undefined;
    items[base + 2] = undefined;
    items[base + 4] = undefined;
    items[base + 5] = undefined;
    this.head = (this.head + 1) & this.mask;
    if (--this.count === 0 && this.mask >= SHRINK_ABOVE) {
      this.items = new Array<unknown>(INITIAL_RECORDS * FIELDS).fill(undefined);
      this.head = 0;
      this.mask = INITIAL_RECORDS - 1;
    }
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const next = new Array<unknown>(capacity * FIELDS).fill(undefined);
    for (let i = 0; i < this.count; i++) {
      const from = ((this.head + i) & this.mask) * FIELDS;
      for (let f = 0; f < FIELDS; f++) next[i * FIELDS + f] = this.items[from + f];
    }
    this.items = next;
    this.head = 0;
    this.mask = capacity - 1;
  }
}
