/**
 * Mailbox: one process's queue of user messages, each with its sender and reference.
 *
 * A circular buffer of (message, from, ref) triples in one array, so queueing a message allocates
 * nothing once the buffer has grown to the process's working size, and an idle process holds the
 * shared empty array. Capacity is a power of two (in triples) and only grows. The bound on a
 * mailbox is enforced by the shard (see shard.ts `enqueue`), not here.
 *
 * Fields and functions rather than a class: the shard's process record carries these fields itself
 * and is made by one object literal (see slot.ts `newSlot`), one object per process.
 */

import type { Pid } from '../process/pid.js';

const INITIAL_TRIPLES = 4;
/** Shared by every empty mailbox (never written: the first push grows into a real array). */
export const NO_SLOTS: unknown[] = [];

export interface Mailbox {
  /** Triples (message, from, ref); `NO_SLOTS` while the mailbox has never held a message. */
  slots: unknown[];
  head: number;
  /** Messages held. */
  count: number;
  /** Capacity in triples minus one (-1 while `slots` is NO_SLOTS). */
  mask: number;
}

/** An empty mailbox on its own (the shard embeds the same fields in its process records). */
export function newMailbox(): Mailbox {
  return { slots: NO_SLOTS, head: 0, count: 0, mask: -1 };
}

export function mailboxPush(box: Mailbox, message: unknown, from: Pid | undefined, ref: number): void {
  if (box.count === box.mask + 1) grow(box);
  const base = ((box.head + box.count) & box.mask) * 3;
  const slots = box.slots;
  slots[base] = message;
  slots[base + 1] = from;
  slots[base + 2] = ref;
  box.count++;
}

/** Index of the oldest triple's first element; read message/from/ref there, then `mailboxDrop`. */
export function mailboxBase(box: Mailbox): number {
  return box.head * 3;
}

export function mailboxMessage(box: Mailbox, base: number): unknown {
  return box.slots[base];
}

export function mailboxFrom(box: Mailbox, base: number): Pid | undefined {
  return box.slots[base + 1] as Pid | undefined;
}

export function mailboxRef(box: Mailbox, base: number): number {
  return box.slots[base + 2] as number;
}

/** Removes the oldest triple (clearing references so the message can be collected). */
export function mailboxDrop(box: Mailbox): void {
  const base = box.head * 3;
  const slots = box.slots;
  slots[base] = undefined;
  slots[base + 1] = undefined;
  box.head = (box.head + 1) & box.mask;
  box.count--;
}

export function mailboxClear(box: Mailbox): void {
  box.slots = NO_SLOTS;
  box.head = 0;
  box.count = 0;
  box.mask = -1;
}

function grow(box: Mailbox): void {
  const oldCapacity = box.mask + 1;
  const capacity = oldCapacity === 0 ? INITIAL_TRIPLES : oldCapacity * 2;
  const next = new Array<unknown>(capacity * 3);
  for (let i = 0; i < box.count; i++) {
    const from = ((box.head + i) & box.mask) * 3;
    next[i * 3] = box.slots[from];
    next[i * 3 + 1] = box.slots[from + 1];
    next[i * 3 + 2] = box.slots[from + 2];
  }
  box.slots = next;
  box.head = 0;
  box.mask = capacity - 1;
}
