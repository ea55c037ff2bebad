/**
 * Signal rules: what a link, monitor, exit, down, timer fire or io reply does to the process it
 * reaches, and which signals a process's end sends. Pure rules over a Slot; they act through
 * `SignalEffects` (the shard), which owns the queues, the mailboxes and the host.
 *
 * Exits never recurse: ending a process queues signals to its links and monitors (through
 * `emit`, into the shard's signal queue for local pids), and the shard drains that queue
 * iteratively, so a chain of 100k linked processes cannot overflow the stack.
 *
 * The answer to a signal for a process that does not exist has one owner, answerToMissing
 * (src/codec/envelope-header.ts); the shard calls it.
 */

import { Signal } from '../codec/envelope.js';
import { IoResult, advanceRepeat, type IoReply } from '../process/io.js';
import { pidKey, type Pid } from '../process/pid.js';
import { Down, Exit, type ExitReason } from '../process/types.js';
import type { SignalQueue } from './signal-queue.js';
import { extrasOf, type Slot } from './slot.js';

/** What the rules act through: the shard holding the process. */
export interface SignalEffects {
  /** A user message into `slot`'s mailbox. */
  enqueue(slot: Slot, message: unknown, from: Pid | undefined, ref: number): void;
  /** A system message (Exit, Down, a timer's message) ahead of `slot`'s mailbox. */
  deliverSystem(slot: Slot, message: unknown): void;
  /** Ends `slot` (terminate, then endSignals). */
  end(slot: Slot, reason: ExitReason): void;
  /** A signal from this shard: queued if local, routed otherwise. */
  emit(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void;
  /** A signal nobody takes. */
  deadLetter(signal: Signal, to: Pid, from: Pid | undefined, payload: unknown): void;
  /** The host's wall clock, in ms. */
  clock(): number;
}

/** A signal (not a SPAWN) for live process `slot`, which it addresses as `to`. */
export function applySignal(effects: SignalEffects, slot: Slot, signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): void {
  switch (signal) {
    case Signal.USER:
      effects.enqueue(slot, payload, from, ref);
      break;
    case Signal.EXIT:
      exitSignal(effects, slot, from!, payload as ExitReason);
      break;
    case Signal.DOWN:
      if (slot.extras?.monitors?.delete(ref) === true) effects.deliverSystem(slot, new Down(ref, from!, payload as ExitReason));
      break;
    case Signal.LINK:
      addLink(slot, from!);
      break;
    case Signal.UNLINK:
      slot.extras?.links?.delete(pidKey(from!));
      break;
    case Signal.MONITOR:
      (extrasOf(slot).watchers ??= new Map()).set(ref, from!);
      break;
    case Signal.DEMONITOR:
      slot.extras?.watchers?.delete(ref);
      break;
    case Signal.KILL:
      effects.end(slot, payload as ExitReason);
      break;
    case Signal.TIMER_FIRE: {
      // Only timers the process still holds: a cancel that crossed the fire in flight wins.
      const timers = slot.extras?.timers;
      const request = timers?.get(ref);
      if (request === undefined) break;
      if (!request.repeat) timers!.delete(ref);
      else advanceRepeat(request, effects.clock());
      effects.deliverSystem(slot, payload);
      break;
    }
    case Signal.IO_REPLY: {
      const reply = payload as IoReply;
      effects.enqueue(slot, new IoResult(ref, reply.ok, reply.ok ? reply.value : undefined, reply.ok ? undefined : reply.error), from, 0);
      break;
    }
    default:
      effects.deadLetter(signal, to, from, payload);
  }
}

/**
 * An exit signal from `from` (a link, or ctx.stop): 'kill' ends the process as 'killed'; a process
 * trapping exits gets an Exit message; otherwise 'normal' is ignored and any other reason ends it.
 */
export function exitSignal(effects: SignalEffects, slot: Slot, from: Pid, reason: ExitReason): void {
  const extras = slot.extras;
  extras?.links?.delete(pidKey(from));
  if (reason === 'kill') {
    effects.end(slot, 'killed');
    return;
  }
  if (extras !== undefined && extras.trapExits) {
    effects.deliverSystem(slot, new Exit(from, reason));
    return;
  }
  // 'normal' from a linked process, or a 'normal' stop request, is ignored; any other reason
  // ends the process, whether it came from a link or from ctx.stop.
  if (reason === 'normal') return;
  effects.end(slot, reason);
}

export function addLink(slot: Slot, other: Pid): void {
  (extrasOf(slot).links ??= new Map()).set(pidKey(other), other);
}

/**
 * What the end of process `slot` (pid `self`) sends: an exit signal to each link, DOWN to each
 * watcher, DEMONITOR for each monitor it held, and one TIMER_CANCEL to `timerService` for all of
 * its timers (timers die with their process). Forgets its timers and system messages.
 */
export function endSignals(effects: SignalEffects, slot: Slot, self: Pid, reason: ExitReason, timerService: Pid): void {
  const extras = slot.extras;
  if (extras === undefined) return;
  if (extras.links !== undefined) {
    for (const linked of extras.links.values()) effects.emit(Signal.EXIT, linked, self, 0, reason);
  }
  if (extras.watchers !== undefined) {
    for (const [ref, watcher] of extras.watchers) effects.emit(Signal.DOWN, watcher, self, ref, reason);
  }
  if (extras.monitors !== undefined) {
    for (const [ref, watched] of extras.monitors) effects.emit(Signal.DEMONITOR, watched, self, ref, undefined);
  }
  if (extras.timers !== undefined && extras.timers.size > 0) {
    effects.emit(Signal.TIMER_CANCEL, timerService, self, 0, [...extras.timers.keys()]);
    extras.timers = undefined;
  }
  extras.system = undefined;
}

/**
 * Every process of shard `shard` on node `node` is gone: the links and monitors process `slot`
 * (its pid: `pidOf(slot)`) held on them fire with `reason`, queued into `queue` as if they came
 * from there.
 */
export function lostShardSignals(queue: SignalQueue, slot: Slot, pidOf: (slot: Slot) => Pid, node: number, shard: number, reason: ExitReason): void {
  const extras = slot.extras;
  if (extras === undefined) return;
  if (extras.links !== undefined) {
    for (const linked of extras.links.values()) {
      if (linked.node === node && linked.shard === shard) queue.push(Signal.EXIT, pidOf(slot), linked, 0, reason);
    }
  }
  if (extras.monitors !== undefined) {
    for (const [ref, watched] of extras.monitors) {
      if (watched.node === node && watched.shard === shard) queue.push(Signal.DOWN, pidOf(slot), watched, ref, reason);
    }
  }
}
