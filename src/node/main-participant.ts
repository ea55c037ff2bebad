/**
 * MainParticipant: the main thread's own participant (index `executors` in the topology), the
 * sender of `node.send`, `node.ask`, `node.monitor` and `node.every`, behind a small host
 * interface (`MainHost`) that HordeNode implements over its rings, timers and cluster bridge, and
 * that a simulator can implement over simulated ones. It never blocks and never reads a clock or
 * starts a timer itself: the host does both.
 *
 * Single-threaded (the main thread's event loop): everything here runs between two awaits, so its
 * maps need no locking. It has its own endpoint pid (shard MAIN_SHARD) and its own allocator of
 * pids and refs (MAIN_SPAWNER), so a ref it hands out is never mistaken for another's.
 *
 * ask: a MONITOR signal and then the message go out on the same ring, so the target's shard sees
 * them in order; the answer (a USER envelope with the ask's ref) or a DOWN (target gone: 'noproc',
 * or ended first) settles the promise, and a host timer rejects it with HORDE_TIMEOUT. One ref
 * names both the message (the reply carries it) and the monitor (its DOWN carries it).
 *
 * io: `io(service, request)` sends a request to a service thread of this node (the store's
 * `node.sql`) as a process's `ctx.io` does, and settles with its IO_REPLY; when that service is
 * replaced (`serviceLost`) the requests it had not answered reject with HORDE_WORKER_EXITED, as a
 * process's get an IoResult with that code.
 *
 * What cannot reach its process is answered as a process's shard would (answerToMissing, the one
 * owner of that rule): links and monitors learn 'noproc' ('noconnection' for another node when the
 * node is not clustered), and a user message is a dead letter.
 */

import { ErrorCode, HordeError, errorFromWire, isWireError } from '../errors.js';
import { Signal, encodeEnvelopeToBytes, type Envelope } from '../codec/envelope.js';
import { answerToMissing, answerToMissingAt, isDeadLetterWhenMissing, isDeadLetterWhenMissingAt } from '../codec/envelope-header.js';
import { MAIN_SHARD, MAIN_SPAWNER, SerialAllocator, formatPid, isPid, pid as makePid, type Pid } from '../process/pid.js';
import { TIMER_SERVICE, servicePid } from '../process/services.js';
import { advanceRepeat, type IoReply, type TimerRequest } from '../process/io.js';
import type { ExitReason } from '../process/types.js';
import { mainIndex, participantOf } from '../participant/participants.js';

/** What `node.monitor` hands its callback when the monitored process ends. */
export interface DownNotice {
  /** The process that ended. */
  pid: Pid;
  /** Its exit reason: 'noproc' if it did not exist, 'noconnection' if its node went down or is unreachable. */
  reason: ExitReason;
}

/** Asks that failed because their target's node became unreachable (their DOWN said 'noconnection'). */
const unreachable = new WeakSet<Error>();

/**
 * Whether the outcome of a failed `ask` is unknown: it timed out (`HORDE_TIMEOUT`), or its
 * target's node became unreachable before the answer came (`HORDE_NOPROC` with 'noconnection'),
 * so the message may or may not have been handled. Any other failure means it was not. A client
 * recording a history for `checkLinearizable` records such an operation without a return.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (!(error instanceof HordeError)) return false;
  return error.code === ErrorCode.TIMEOUT || unreachable.has(error);
}

/** A one-shot timer started by the host; `cancel` keeps it from firing. */
export interface HostTimer {
  cancel(): void;
}

/** What the main participant needs from the thread that drives it (HordeNode, or a simulator). */
export interface MainHost {
  readonly nodeId: number;
  /** Executor shards of the node (participants below `executors` are executors). */
  readonly executors: number;
  /** The largest envelope sent to another node. */
  readonly maxMessageBytes: number;
  /** The node clock, in ms (`every`'s due times). */
  now(): number;
  /** Calls `fire` once after `ms` (an ask's timeout). */
  startTimer(ms: number, fire: () => void): HostTimer;
  /** Runs `task` after the current one (an answer for this participant itself). */
  defer(task: () => void): void;
  /** Writes `envelope` into participant `index`'s ring (or its overflow); false when refused. */
  send(index: number, envelope: Envelope): boolean;
  /** True when the node is clustered: envelopes for other nodes go to `forward`. */
  clustered(): boolean;
  /** Envelope bytes for another node's process, to the cluster. */
  forward(bytes: Uint8Array, offset: number, length: number): void;
  /** True while the queue to node `nodeId` is over its limit (node-pressure.ts). */
  nodeCongested(nodeId: number): boolean;
  /** Envelopes that reached no one. */
  deadLetters(count: number): void;
  /** False once the node is stopping: cancelling a monitor or a tick then sends nothing. */
  running(): boolean;
}

interface PendingAsk {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: HostTimer;
  target: Pid;
}

interface PendingIo {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** The service's index in SERVICES. */
  service: number;
}

interface MainMonitor {
  target: Pid;
  onDown(notice: DownNotice): void;
}

/** A `node.every` tick: its callback, and its timer request (kept due at its next tick, for a replacement poller). */
interface Tick {
  tick: () => void;
  request: TimerRequest;
}

export class MainParticipant {
  /** The main thread's own pid (shard MAIN_SHARD): the sender of what it posts. */
  readonly self: Pid;
  private readonly host: MainHost;
  private readonly serials: SerialAllocator;
  private readonly asks = new Map<number, PendingAsk>();
  private readonly monitors = new Map<number, MainMonitor>();
  private readonly ticks = new Map<number, Tick>();
  /** io requests sent and not answered yet: ref → their promise's settlers and the service asked. */
  private readonly ios = new Map<number, PendingIo>();

  constructor(host: MainHost, spawnerId = MAIN_SPAWNER) {
    this.host = host;
    this.serials = new SerialAllocator(spawnerId);
    this.self = makePid(host.nodeId, MAIN_SHARD, this.serials.next());
  }

  /** A new pid on `shard` of this node, from the main thread's allocator (node.spawn). */
  allocatePid<M = unknown>(shard: number): Pid<M> {
    return makePid<M>(this.host.nodeId, shard, this.serials.next());
  }

  /** `node.ask` calls still waiting for their reply. */
  get pendingAsks(): number {
    return this.asks.size;
  }

  /** Monitors held: `node.monitor` calls not cancelled. */
  get monitorCount(): number {
    return this.monitors.size;
  }

  /** Sends `msg` and resolves with the reply; rejects with HORDE_TIMEOUT after `timeoutMs`. */
  ask<R>(to: Pid, msg: unknown, timeoutMs: number): Promise<R> {
    const ref = this.serials.next();
    return new Promise<R>((resolve, reject) => {
      const timer = this.host.startTimer(timeoutMs, () => {
        this.settleAsk(ref, new HordeError(ErrorCode.TIMEOUT, `ask to ${formatPid(to)} got no reply within ${timeoutMs} ms`));
      });
      this.asks.set(ref, { resolve, reject, timer, target: to });
      let monitored = false;
      try {
        this.post(Signal.MONITOR, to, ref, undefined, true);
        monitored = true;
        this.post(Signal.USER, to, ref, msg);
      } catch (error) {
        if (monitored) this.postQuietly(Signal.DEMONITOR, to, ref, undefined);
        this.settleAsk(ref, error as Error);
      }
    });
  }

  /** Calls `onDown` once when `target` ends; returns the function that cancels the monitor. */
  monitor(target: Pid, onDown: (notice: DownNotice) => void): () => void {
    const ref = this.serials.next();
    this.monitors.set(ref, { target, onDown });
    this.post(Signal.MONITOR, target, ref, undefined);
    return () => {
      if (this.monitors.delete(ref) && this.host.running()) this.postQuietly(Signal.DEMONITOR, target, ref, undefined);
    };
  }

  /** Calls `tick` every `ms` from the poller's timer wheel; returns the function that stops it. */
  every(ms: number, tick: () => void): () => void {
    const ref = this.serials.next();
    const poller = servicePid(this.host.nodeId, TIMER_SERVICE);
    const request: TimerRequest = { dueMs: this.host.now() + ms, delayMs: ms, repeat: true, message: null };
    this.ticks.set(ref, { tick, request });
    this.post(Signal.TIMER, poller, ref, request);
    return () => {
      if (this.ticks.delete(ref) && this.host.running()) this.postQuietly(Signal.TIMER_CANCEL, poller, ref, undefined);
    };
  }

  /**
   * Sends io request `request` to service `service` (its index in SERVICES) of this node; resolves
   * with what it answers, rejects with its error (HORDE_OVERLOADED when the ring there is full).
   */
  io(service: number, request: unknown): Promise<unknown> {
    const ref = this.serials.next();
    return new Promise<unknown>((resolve, reject) => {
      this.ios.set(ref, { resolve, reject, service });
      try {
        this.post(Signal.IO, servicePid(this.host.nodeId, service), ref, request);
      } catch (error) {
        this.ios.delete(ref);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** io requests still waiting for their answer. */
  get pendingIo(): number {
    return this.ios.size;
  }

  /** Service `service` was replaced (its thread died): what it had not answered rejects with HORDE_WORKER_EXITED. */
  serviceLost(service: number, name: string): void {
    for (const [ref, pending] of [...this.ios]) {
      if (pending.service !== service) continue;
      this.ios.delete(ref);
      pending.reject(new HordeError(ErrorCode.WORKER_EXITED, `the ${name} thread exited before it answered (the request may or may not have been carried out)`));
    }
  }

  /** The timer service was replaced: every tick starts again on it, due at its next tick. */
  restartTicks(): void {
    const poller = servicePid(this.host.nodeId, TIMER_SERVICE);
    for (const [ref, { request }] of this.ticks) this.postQuietly(Signal.TIMER, poller, ref, request);
  }

  /**
   * Sends from the main thread. Throws HORDE_OVERLOADED when the ring to a local participant and
   * its overflow are full and, with `refuseIfCongested` (node.send, an ask's first envelope), when
   * the pid's node is congested (its queue is over `maxPendingBytes`).
   */
  post(signal: Signal, to: Pid, ref: number, payload: unknown, refuseIfCongested = false): void {
    if (!isPid(to)) throw new HordeError(ErrorCode.INVALID_OPTION, `not a pid: ${JSON.stringify(to)}`);
    const host = this.host;
    if (to.node !== host.nodeId && host.clustered()) {
      if (refuseIfCongested && host.nodeCongested(to.node)) {
        throw new HordeError(ErrorCode.OVERLOADED, `the queue to node ${to.node} is over maxPendingBytes (the peer reads too slowly); retry later`);
      }
      const bytes = encodeEnvelopeToBytes({ signal, to, from: this.self, ref, payload }, host.maxMessageBytes);
      host.forward(bytes, 0, bytes.length);
      return;
    }
    const index = to.node === host.nodeId ? participantOf(to, host.nodeId, host.executors) : undefined;
    if (index === undefined || index === mainIndex(host.executors)) {
      this.answerMissing(signal, to, this.self, ref);
      return;
    }
    if (!host.send(index, { signal, to, from: this.self, ref, payload })) {
      throw new HordeError(ErrorCode.OVERLOADED, `the ring to participant ${index} and its overflow are full`);
    }
  }

  /**
   * Housekeeping that follows something already accepted (a DEMONITOR after a reply, a timer's
   * cancel, a 'noproc' answer): never throws into the code that reads the rings; refused (the
   * ring's overflow is full), it is counted as a dead letter.
   */
  postQuietly(signal: Signal, to: Pid, ref: number, payload: unknown): void {
    try {
      this.post(signal, to, ref, payload);
    } catch (error) {
      if (!(error instanceof HordeError) || error.code !== ErrorCode.OVERLOADED) throw error;
      this.host.deadLetters(1);
    }
  }

  /** An envelope for the main thread: a reply, a DOWN, a tick. */
  onEnvelope(envelope: Envelope): void {
    const { signal, ref } = envelope;
    if (signal === Signal.USER) {
      const ask = this.asks.get(ref);
      if (ask === undefined) {
        this.host.deadLetters(1);
        return;
      }
      this.asks.delete(ref);
      ask.timer.cancel();
      this.postQuietly(Signal.DEMONITOR, ask.target, ref, undefined);
      ask.resolve(envelope.payload);
      return;
    }
    if (signal === Signal.DOWN && envelope.from !== undefined) {
      this.fireDown(ref, envelope.from, envelope.payload as ExitReason);
      return;
    }
    if (signal === Signal.TIMER_FIRE) {
      const tick = this.ticks.get(ref);
      if (tick === undefined) return;
      advanceRepeat(tick.request, this.host.now());
      tick.tick();
      return;
    }
    if (signal === Signal.IO_REPLY) {
      const pending = this.ios.get(ref);
      if (pending === undefined) {
        this.host.deadLetters(1);
        return;
      }
      this.ios.delete(ref);
      const reply = envelope.payload as IoReply;
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(errorFromWire(reply.error));
      return;
    }
    if (signal === Signal.EXIT || signal === Signal.SPAWN) return;
    this.host.deadLetters(1);
  }

  /**
   * Delivers an envelope made on this thread (an answer for a sender), whatever the overflow
   * holds: to a local participant, or through the cluster to a peer's process.
   */
  deliverAnswer(envelope: Envelope): void {
    const host = this.host;
    if (envelope.to.node !== host.nodeId && host.clustered()) {
      const bytes = encodeEnvelopeToBytes(envelope);
      host.forward(bytes, 0, bytes.length);
      return;
    }
    const index = participantOf(envelope.to, host.nodeId, host.executors);
    if (index === mainIndex(host.executors)) {
      host.defer(() => this.onEnvelope(envelope));
      return;
    }
    if (index === undefined || !host.send(index, envelope)) host.deadLetters(1);
  }

  /** The envelope at `offset` cannot reach its process: a dead letter, or its answer to the sender. */
  answerMissingAt(bytes: Uint8Array, offset: number, reason: 'noproc' | 'noconnection'): void {
    if (isDeadLetterWhenMissingAt(bytes, offset)) this.host.deadLetters(1);
    const answer = answerToMissingAt(bytes, offset, reason);
    if (answer !== undefined) this.deliverAnswer(answer);
  }

  /** Every process of this node's shard `shard` is gone: its monitors and asks there fire with `reason`. */
  shardLost(shard: number, reason: ExitReason): void {
    // Only this node's pids on that shard: a remote node's shard of the same number is unaffected.
    const lost = (target: Pid): boolean => target.shard === shard && target.node === this.host.nodeId;
    for (const [ref, monitor] of [...this.monitors]) {
      if (lost(monitor.target)) this.fireDown(ref, monitor.target, reason);
    }
    for (const [ref, ask] of [...this.asks]) {
      if (lost(ask.target)) this.fireDown(ref, ask.target, reason);
    }
  }

  /** The node stops: every pending ask and io request rejects with HORDE_NODE_STOPPED. */
  stop(): void {
    for (const ref of [...this.asks.keys()]) this.settleAsk(ref, new HordeError(ErrorCode.NODE_STOPPED, 'the node stopped before the reply arrived'));
    const ios = [...this.ios.values()];
    this.ios.clear();
    for (const pending of ios) pending.reject(new HordeError(ErrorCode.NODE_STOPPED, 'the node stopped before the answer arrived'));
  }

  /** A signal from this thread for a pid no participant holds: answered as missing (answerToMissing). */
  private answerMissing(signal: Signal, to: Pid, from: Pid, ref: number): void {
    if (isDeadLetterWhenMissing(signal, from)) this.host.deadLetters(1);
    const answer = answerToMissing(signal, to, from, ref, 'noproc');
    if (answer !== undefined) this.deliverAnswer(answer);
  }

  private fireDown(ref: number, from: Pid, reason: ExitReason): void {
    const monitor = this.monitors.get(ref);
    if (monitor !== undefined) {
      this.monitors.delete(ref);
      monitor.onDown({ pid: from, reason });
      return;
    }
    if (this.asks.has(ref)) {
      const error = new HordeError(ErrorCode.NOPROC, `${formatPid(from)} ended before it replied (${describeReason(reason)})`, {
        cause: isWireError(reason) ? errorFromWire(reason) : undefined,
      });
      if (reason === 'noconnection') unreachable.add(error);
      this.settleAsk(ref, error);
    }
  }

  private settleAsk(ref: number, error: Error): void {
    const ask = this.asks.get(ref);
    if (ask === undefined) return;
    this.asks.delete(ref);
    ask.timer.cancel();
    ask.reject(error);
  }
}

function describeReason(reason: ExitReason): string {
  return typeof reason === 'string' ? reason : `${reason.code}: ${reason.message}`;
}
