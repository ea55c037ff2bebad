/**
 * Executor: one executor worker thread. It owns one Shard and moves envelopes between the shard
 * and the rings, as the work of a ParticipantLoop (src/participant/loop.ts), which publishes,
 * moves overflow, pumps control messages, spins and parks around it.
 *
 * The executor's part of one pass:
 *   1. poll every inbound ring fairly (InboundRings: round-robin, POLL_BUDGET records per ring),
 *      decoding each envelope into the shard (user messages to mailboxes, signals to its queue);
 *   2. run up to TURNS_PER_PASS process turns (each at most the shard's budget of messages), for
 *      at most PASS_MS by the shard's clock reads plus the message running then (see "Slices" in
 *      scheduler.ts);
 * then the loop publishes what the turns wrote, moves overflow back and resumes the processes
 * that waited on it (`drained`), and parks when the shard has nothing left. Steps 1-2 alternate,
 * so neither a flood on the rings nor a busy process starves the other.
 *
 * A full ring never blocks the loop (two executors waiting on each other would deadlock): the
 * envelope goes to Outbound's bounded overflow and the sender stops being run until it drains.
 *
 * Watchdog: before each turn the shard calls `turnStarted`, which bumps TURNS and records the
 * running pid and kind in the status block; the main thread reads them to report a receive that
 * runs longer than its threshold without ever timing a receive here.
 *
 * Tuning: POLL_BUDGET 256 and TURNS_PER_PASS 256 amortise the per-pass publish and poll (see
 * `npm run bench -- savina`). PASS_MS ends a pass of long turns: the shard returns at the first
 * clock read past it, and reads after every message once messages are expensive, so the rings
 * wait at most PASS_MS plus the message running. A turn cut by the end of a pass runs again after
 * what the poll delivered, and a process whose turns fill the slice gets a pass of its own, so an
 * ask to a cheap process beside a neighbour of 2 ms messages is answered after the message running
 * when it came (`npm run bench -- fairness`: p50 255 ms before, about 2.1 ms now). PASS_MS is the
 * slice: with 1 ms the echo's p50 beside a neighbour of 50 us messages was 1.09-1.11 ms, with
 * 0.5 ms 0.58-0.72 ms, with 0.25 ms 0.33-0.39 ms (two alternated runs on the loaded 2-core VM).
 * A pass costs its poll and publish, about a microsecond, so 0.25 ms passes cost long turns well
 * under 1%; cheap turns mostly end a pass by TURNS_PER_PASS before its time is up.
 * The shard's clock is `elapsedMs` of its host, performance.now() here; HORDE_CLOCK_CHECKS=every in
 * the environment makes it read the clock after every message, for comparisons.
 *
 * Counters: after each pass's ring publish the executor stores its O(1) figures (messages handled,
 * spawns, crashes, dead letters, processes, run queue, overflow) into its SharedCounters block
 * (src/internal/shared-counters.ts), which the main thread reads for `/metrics` without a round trip.
 *
 * Congested nodes: a send to another node whose bit is set in the shared NodePressure (the
 * cluster server sets it while that peer's queue is over its limit) is written as usual, then
 * parks its sender on NODE_BLOCK_BASE + node; each pass compares the pressure's epoch and resumes
 * the senders of nodes that cleared, so one slow peer holds back only the processes that send to
 * it.
 */

import { getHeapStatistics } from 'node:v8';
import type { MessagePort } from 'node:worker_threads';
import { RECORD_ENVELOPES, Signal, decodeEnvelope, malformedRun } from '../codec/envelope.js';
import { walkEnvelopes } from '../codec/envelope-header.js';
import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import type { Pid } from '../process/pid.js';
import type { Behaviours, ExitReason } from '../process/types.js';
import type { RingHandle } from '../ring/ring.js';
import { mainIndex, participantOf, serviceAt } from '../participant/participants.js';
import { ParticipantLoop } from '../participant/loop.js';
import { NodePressure } from '../internal/node-pressure.js';
import { nowMs, useClockOffset } from '../internal/clock.js';
import { SendResult, type Outbound } from '../participant/outbound.js';
import { CounterSlot, StatusSlot, type ControlResult, type ExecutorApi, type ExecutorStatus, type ExecutorWorkerData } from './protocol.js';
import { Shard, ROUTE_ACCEPTED, type ClockChecks, type ShardHost } from './shard.js';
import { NODE_BLOCK_BASE } from './shard-host.js';
import { SharedCounters } from '../internal/shared-counters.js';

const POLL_BUDGET = 256;
const TURNS_PER_PASS = 256;
/** Passes between two readings of the heap for the counters (a reading costs about a microsecond). */
const HEAP_EVERY_PASSES = 1024;
/**
 * A pass of turns ends after about this long (the slice), so rings (timer fires, replies, asks)
 * are read promptly: see Tuning.
 */
const PASS_MS = 0.25;

/**
 * The environment variable that switches the shard's clock checks (ClockChecks) for comparisons:
 * `every` reads the clock after every message; unset or `adaptive` is the default.
 */
export const CLOCK_CHECKS_ENV = 'HORDE_CLOCK_CHECKS';

function clockChecksFromEnv(): ClockChecks | undefined {
  const value = process.env[CLOCK_CHECKS_ENV];
  // The shard refuses any other value with HORDE_INVALID_OPTION.
  return value === undefined || value === '' ? undefined : (value as ClockChecks);
}

export interface ExecutorEvents {
  /** A process ended abnormally (its links and monitors were told too). */
  crashed(pid: Pid, kind: string, reason: ExitReason): void;
  /** An inbound record that did not decode (a bug in a peer thread: it is counted and skipped). */
  malformed(error: unknown): void;
  /** A message over maxMessageBytes was refused at its sender (counted as a dead letter; the sender goes on). */
  refused(from: Pid | undefined, to: Pid, error: HordeError): void;
}

export class Executor {
  readonly shard: Shard;
  private readonly data: ExecutorWorkerData;
  private readonly loop: ParticipantLoop;
  /** The loop's outbound rings (the hot path of every send). */
  private readonly outbound: Outbound;
  private readonly pressure: NodePressure;
  private pressureEpoch: number;
  /** Nodes some sender here is parked on (their blocked id is NODE_BLOCK_BASE + node). */
  private readonly parkedOnNodes = new Set<number>();
  private readonly status: Float64Array;
  private readonly kindIndex: Map<string, number>;
  private readonly events: ExecutorEvents;
  private lastKind = '';
  private lastKindIndex = -1;
  private deadLetters = 0;
  /** The counters `/metrics` reads (see publishCounters). */
  private readonly counters: SharedCounters;
  private passesToHeap = 0;
  /** Whether the last publish wrote non-zero overflow (it writes the zeros once more after). */
  private overflowShown = false;

  constructor(data: ExecutorWorkerData, behaviours: Behaviours, controlPort: MessagePort, events: ExecutorEvents) {
    this.data = data;
    this.events = events;
    useClockOffset(data.clockOffset);
    this.status = new Float64Array(data.status);
    this.status[StatusSlot.RUNNING_SERIAL] = -1;
    this.status[StatusSlot.SPAWNER_ID] = data.spawnerId;
    this.counters = new SharedCounters(data.counters);
    this.kindIndex = new Map(Object.keys(behaviours).sort().map((kind, index) => [kind, index]));
    this.shard = new Shard(this.host(), behaviours, {
      node: data.node,
      shard: data.shard,
      spawnerId: data.spawnerId,
      spawnFloors: data.spawnFloors,
      runningServices: data.runningServices,
      budget: data.budget,
      mailboxLimit: data.mailboxLimit,
      clockChecks: clockChecksFromEnv(),
    });
    const runs = { index: mainIndex(data.shards), localNode: data.node };
    this.loop = new ParticipantLoop(data, controlPort, (kind, bytes, offset, length) => this.onRecord(kind, bytes, offset, length), (error) => this.malformed(error), runs);
    this.outbound = this.loop.outbound;
    this.pressure = new NodePressure(data.nodePressure);
    this.pressureEpoch = this.pressure.epoch;
    this.loop.expose(this.api());
  }

  /** Runs passes until a control message or a stop; see the design note for one pass. */
  run(): void {
    const loop = this.loop;
    const shard = this.shard;
    loop.run({
      spin: this.data.spin,
      pass: () => {
        if (this.pressureChanged()) this.resumeNodes();
        const polled = loop.poll(POLL_BUDGET);
        const handled = shard.runTurns(TURNS_PER_PASS, PASS_MS);
        return polled !== 0 || handled !== 0;
      },
      published: () => {
        this.status[StatusSlot.PIDS_ALLOCATED] = shard.pidsAllocated;
        this.publishCounters(false);
      },
      drained: (index) => shard.resume(index),
      hasWork: () => shard.hasWork(),
      parkMs: () => {
        this.status[StatusSlot.RUNNING_SERIAL] = -1;
        this.publishCounters(true);
        const giveUp = shard.nextSpawnWaitDeadline();
        return giveUp === Number.POSITIVE_INFINITY ? undefined : Math.max(1, giveUp - nowMs());
      },
      ready: () => this.pressureChanged(),
    });
  }

  private host(): ShardHost {
    return {
      now: nowMs,
      elapsedMs: () => performance.now(),
      route: (signal, to, from, ref, payload) => this.route(signal, to, from, ref, payload),
      deadLetter: () => {
        this.deadLetters++;
      },
      crashed: (pid, kind, reason) => this.events.crashed(pid, kind, reason),
      turnStarted: (pid, kind) => {
        const status = this.status;
        status[StatusSlot.TURNS]!++;
        status[StatusSlot.RUNNING_SERIAL] = pid.serial;
        // Consecutive turns are often of one kind: skip the map lookup then (it was 5% of `big`).
        if (kind !== this.lastKind) {
          this.lastKind = kind;
          this.lastKindIndex = this.kindIndex.get(kind) ?? -1;
        }
        status[StatusSlot.RUNNING_KIND] = this.lastKindIndex;
      },
    };
  }

  private route(signal: Signal, to: Pid, from: Pid | undefined, ref: number, payload: unknown): number {
    const index = participantOf(to, this.data.node, this.data.shards);
    if (index === undefined || this.data.outbound[index] === undefined) {
      this.deadLetters++;
      return ROUTE_ACCEPTED;
    }
    let result: SendResult;
    try {
      result = this.outbound.send(index, { signal, to, from, ref, payload });
    } catch (error) {
      // Over maxMessageBytes: this send is refused and the sender goes on (a message no codec can
      // encode still fails its sender, through the shard). A file request is answered with the
      // error, as the file worker would answer it, so its process does not wait for ever.
      if (!(error instanceof HordeError) || error.code !== ErrorCode.MESSAGE_TOO_LARGE) throw error;
      this.deadLetters++;
      this.events.refused(from, to, error);
      if (signal === Signal.IO && from !== undefined) this.shard.deliver(Signal.IO_REPLY, from, to, ref, { ok: false, error: errorToWire(error) });
      return ROUTE_ACCEPTED;
    }
    if (result === SendResult.WRITTEN) {
      // Accepted; but if its node is congested, the sender waits (see node-pressure.ts).
      if (to.node === this.data.node || !this.pressure.isCongested(to.node)) return ROUTE_ACCEPTED;
      this.parkedOnNodes.add(to.node);
      return NODE_BLOCK_BASE + to.node;
    }
    if (result === SendResult.REFUSED) this.deadLetters++;
    return index;
  }

  /** True when the main thread changed some node's congestion since the last look. */
  private pressureChanged(): boolean {
    return this.parkedOnNodes.size > 0 && this.pressure.epoch !== this.pressureEpoch;
  }

  /** Resumes the senders parked on nodes that are no longer congested. */
  private resumeNodes(): void {
    this.pressureEpoch = this.pressure.epoch;
    for (const node of this.parkedOnNodes) {
      if (this.pressure.isCongested(node)) continue;
      this.parkedOnNodes.delete(node);
      this.shard.resume(NODE_BLOCK_BASE + node);
    }
  }

  /** One envelope, or a run of them (RECORD_ENVELOPES), each delivered on its own. */
  private onRecord(kind: number, bytes: Uint8Array, offset: number, length: number): void {
    if (kind !== RECORD_ENVELOPES) {
      this.onEnvelopeBytes(bytes, offset, length);
      return;
    }
    const stop = walkEnvelopes(bytes, offset, offset + length, this.visitEnvelope);
    if (stop !== offset + length) this.malformed(malformedRun(stop - offset, length));
  }

  /** An inbound record that does not decode (or a broken chunk stream): counted and reported. */
  private malformed(error: unknown): void {
    this.deadLetters++;
    this.events.malformed(error);
  }

  private readonly visitEnvelope = (bytes: Uint8Array, offset: number, length: number): void => this.onEnvelopeBytes(bytes, offset, length);

  private onEnvelopeBytes(bytes: Uint8Array, offset: number, length: number): void {
    let envelope;
    try {
      envelope = decodeEnvelope(bytes, offset, length);
    } catch (error) {
      this.malformed(error);
      return;
    }
    this.shard.deliver(envelope.signal, envelope.to, envelope.from, envelope.ref, envelope.payload);
  }

  private api(): ExecutorApi {
    const attempt = (action: () => void): ControlResult<null> => {
      try {
        action();
        this.outbound.publish();
        return { ok: true, value: null };
      } catch (error) {
        return { ok: false, error: errorToWire(error) };
      }
    };
    return {
      spawn: (pid, kind, args) => attempt(() => this.shard.spawn(pid, { kind, args })),
      status: () => this.statusReport(),
      replaceRings: (index: number, inbound: RingHandle, outbound: RingHandle) =>
        attempt(() => {
          this.deadLetters += this.loop.replaceRings(index, inbound, outbound);
          // Processes parked on the old ring's overflow (dropped with it) run again.
          this.shard.resume(index);
          // A replaced service lost what it held: answered or sent again here, in the same step
          // as the switch, so nothing is answered twice or left out.
          const service = serviceAt(this.data.shards, index);
          if (service !== undefined) this.shard.serviceLost(service);
        }),
      collectGarbage: () => {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc === undefined) return false;
        gc();
        return true;
      },
      shardLost: (lost, reason) => attempt(() => this.shard.shardLost(lost, reason)),
      stop: () =>
        attempt(() => {
          this.shard.stopAll('shutdown');
          this.loop.stop();
        }),
    };
  }

  /**
   * Publishes the O(1) counters into the SharedCounters block: a few stores per pass. The heap
   * (getHeapStatistics, about a microsecond) only every HEAP_EVERY_PASSES passes and before parking;
   * the overflow sizes only while some destination overflows (and once more to show the zeros).
   */
  private publishCounters(parking: boolean): void {
    const counters = this.counters;
    const slots = counters.slots;
    counters.begin();
    this.shard.publishCounters(slots);
    slots[CounterSlot.DEAD_LETTERS] = this.deadLetters;
    slots[CounterSlot.TURNS] = this.status[StatusSlot.TURNS]!;
    if (parking || --this.passesToHeap <= 0) {
      this.passesToHeap = HEAP_EVERY_PASSES;
      slots[CounterSlot.HEAP_USED] = getHeapStatistics().used_heap_size;
    }
    const congested = this.outbound.congested;
    if (congested || this.overflowShown) {
      this.overflowShown = congested;
      const sizes = this.outbound.overflowSizes();
      for (let index = 0; index < sizes.length; index++) slots[CounterSlot.OVERFLOW_BASE + index] = sizes[index]!;
    }
    counters.end();
  }

  private statusReport(): ExecutorStatus {
    return {
      ...this.shard.stats(),
      shard: this.data.shard,
      deadLetters: this.deadLetters,
      overflow: this.outbound.overflowSizes(),
      ringUsedBytes: this.outbound.ringUsedBytes(),
      heapUsedBytes: getHeapStatistics().used_heap_size,
    };
  }
}
