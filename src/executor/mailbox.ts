/**
 * Mailbox: one process's queue of user messages, each with its sender and reference.
 *
 * A circular buffer of (message, from, ref) triples in one array, so queueing a message allocates
 * nothing once the buffer has grown to the process's working size, and an idle process holds an
 * empty array. Capacity is a power of two (in triples) and only grows. The bound on a mailbox is
 * enforced by the shard (see shard.ts), not here.
 */

import type { Pid } from '../process/pid.js';

const INITIAL_TRIPLES = 4;
/** Shared by every empty mailbox (never written: the first push grows into a real array). */
const NO_SLOTS: unknown[] = [];

export class Mailbox {
  private slots: unknown[] = NO_SLOTS;
  private head = 0;
  private count = 0;
  private mask = -1;

  get size(): number {
    return this.count;
  }

  push(message: unknown, from: Pid | undefined, ref: number): void {
    if (this.count === this.mask + 1) this.grow();
    const base = ((this.head + this.count) & this.mask) * 3;
    const slots = this.slots;
    slots[base] = message;
    slots[base + 1] = from;
    slots[base + 2] = ref;
    this.count++;
  }

  /** Index of the oldest triple's first element; read message/from/ref there, then `drop()`. */
  peekBase(): number {
    return this.head * 3;
  }

  message(base: number): unknown {
    return this.slots[base];
  }

  from(base: number): Pid | undefined {
    return this.slots[base + 1] as Pid | undefined;
  }

  ref(base: number): number {
    return this.slots[base + 2] as number;
  }

  /** Removes the oldest triple (clearing references so the message can be collected). */
  drop(): void {
    const base = this.head * 3;
    const slots = this.slots;
    slots[base] = undefined;
    slots[base + 1] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
  }

  clear(): void {
    this.slots = NO_SLOTS;
    this.head = 0;
    this.count = 0;
    this.mask = -1;
  }

  private grow(): void {
    const oldCapacity = this.mask + 1;
    const capacity = oldCapacity === 0 ? INITIAL_TRIPLES : oldCapacity * 2;
    const next = new Array<unknown>(capacity * 3);
    for (let i = 0; i < this.count; i++) {
      const from = ((this.head + i) & this.mask) * 3;
      next[i * 3] = this.slots[from];
      next[i * 3 + 1] = this.slots[from + 1];
      next[i * 3 + 2] = this.slots[from + 2];
    }
    this.slots = next;
    this.head = 0;
    this.mask = capacity - 1;
  }
}
