/**
 * Slot: one process of a shard that something has reached (its mailbox and scheduling state), and
 * what only some processes use (`SlotExtras`: links, monitors, timers, system messages). A process
 * nothing has reached yet has no Slot at all (it is dormant in the table, see process-table.ts).
 */

import type { Pid } from '../process/pid.js';
import type { TimerRequest } from '../process/io.js';
import type { Process } from '../process/types.js';
import { NO_SLOTS, type Mailbox } from './mailbox.js';
import { ROUTE_ACCEPTED } from './shard-host.js';

export const SlotState = {
  /** Neither in the run queue nor blocked: a message schedules it. */
  IDLE: 0,
  /** In the run queue or in `blocked`. */
  SCHEDULED: 1,
  /** Ended (it may still sit in the run queue; it is skipped there). */
  DEAD: 2,
} as const;
export type SlotState = (typeof SlotState)[keyof typeof SlotState];

/**
 * One process that something has reached: its mailbox (a Slot carries the Mailbox fields itself)
 * and scheduling state. Spawning is bound by allocation, so a Slot holds only what every running
 * process needs: its pid is made on first use (`Shard.pidOf`), and links, monitors, timers and
 * system messages live in `extras`, made on first use. Slots are made by one object literal
 * (`newSlot`), not a class: V8 can allocate objects of a literal whose objects survive straight in
 * the old generation (allocation-site pretenuring; never class instances), though in an executor's
 * smaller heap it seldom decides to (bench/README.md, savina).
 */
export interface Slot extends Mailbox {
  readonly serial: number;
  readonly kind: string;
  readonly process: Process<unknown>;
  /** The pid, once made (see Shard.pidOf). */
  self: Pid | undefined;
  state: SlotState;
  /** Congested destination this process waits on (back pressure), or ROUTE_ACCEPTED. */
  blockedOn: number;
  extras: SlotExtras | undefined;
}

export function newSlot(serial: number, kind: string, process: unknown): Slot {
  return {
    slots: NO_SLOTS,
    head: 0,
    count: 0,
    mask: -1,
    serial,
    kind,
    process: process as Process<unknown>,
    self: undefined,
    state: SlotState.IDLE,
    blockedOn: ROUTE_ACCEPTED,
    extras: undefined,
  };
}

/** True when the process has a message or a system message to handle. */
export function hasWork(slot: Slot): boolean {
  return slot.count > 0 || (slot.extras !== undefined && slot.extras.hasSystem());
}

export function extrasOf(slot: Slot): SlotExtras {
  return (slot.extras ??= new SlotExtras());
}

/** What only some processes use. */
export class SlotExtras {
  /** Messages ahead of the mailbox: Exit, Down and timer messages. */
  system: unknown[] | undefined = undefined;
  /**
   * Pending timers: ref → its request, whose `dueMs` is kept at the next fire not yet delivered
   * (so a replacement poller gets them due when they were due; see Shard.serviceLost).
   */
  timers: Map<number, TimerRequest> | undefined = undefined;
  links: Map<string, Pid> | undefined = undefined;
  /** Monitors this process holds: ref → watched pid. */
  monitors: Map<number, Pid> | undefined = undefined;
  /** Monitors on this process: ref → watcher. */
  watchers: Map<number, Pid> | undefined = undefined;
  trapExits = false;
  /** Its mailbox hit the limit; it is being ended with 'mailbox_overflow'. */
  overflowed = false;
  /**
   * Its last turn ran out of time after using at least half a slice: its turns read the clock
   * after every message and begin a pass of their own (see "Slices" in scheduler.ts).
   */
  timed = false;

  hasSystem(): boolean {
    return this.system !== undefined && this.system.length > 0;
  }
}
