/**
 * Executor: the loop of one executor worker thread. It owns one Shard and moves envelopes between
 * the shard and the rings.
 *
 * One pass of the loop:
 *   1. poll every inbound ring fairly (InboundRings: round-robin, POLL_BUDGET records per ring),
 *      decoding each envelope into the shard (user messages to mailboxes, signals to its queue);
 *   2. run up to TURNS_PER_PASS process turns (each at most the shard's budget of messages);
 *   3. publish what the turns wrote to outbound rings (one store per ring per pass);
 *   4. move overflow back into rings that have room, and resume the processes that waited on them;
 *   5. if a control message waits, pump it and yield to the event loop once (see protocol.ts);
 *   6. if nothing was done, spin, then park on the doorbell until a ring, a freed ring or a
 *      control message wakes it.
 * Steps 1-2 alternate, so neither a flood on the rings nor a busy process starves the other.
 *
 * A full ring never blocks the loop (two executors waiting on each other would deadlock): the
 * envelope goes to Outbound's bounded overflow and the sender stops being run until it drains.
 *
 * Watchdog: before each turn the shard calls `turnStarted`, which bumps TURNS and records the
 * running pid and kind in the status block; the main thread reads them to report a receive that
 * runs longer than its threshold without ever timing a receive here.
 *
 * Tuning: POLL_BUDGET 256 and TURNS_PER_PASS 256 amortise the per-pass publish and poll (see
 * `npm run bench -- savina`); PASS_MS = 1 ends a pass of long turns early (the shard checks the
 * clock every 64 messages), which took timer lateness under a busy shard from 480 ms to a few ms
 * (`npm run bench -- timers`, case lateness, horde-loaded). A single turn is bounded by the
 * budget in messages and, when many wait, by about 1 ms (see shard.ts).
 *
 * Congested nodes: a send to another node whose bit is set in the shared NodePressure (the
 * cluster server sets it while that peer's queue is over its limit) is written as usual, then
 * parks its sender on NODE_BLOCK_BASE + node; each pass compares the pressure's epoch and resumes
 * the senders of nodes that cleared, so one slow peer holds back only the processes that send to
 * it.
 */

import { expose } from 'comlink';
import { getHeapStatistics } from 'node:v8';
import type { MessagePort } from 'node:worker_threads';
import { RECORD_ENVELOPES, Signal, decodeEnvelope, malformedRun } from '../codec/envelope.js';
import { walkEnvelopes } from '../codec/envelope-header.js';
import { ErrorCode, HordeError, errorToWire } from '../errors.js';
import type { Pid } from '../process/pid.js';
import type { Behaviours, ExitReason } from '../process/types.js';
import { Doorbell } from '../ring/doorbell.js';
import { InboundRings } from '../ring/inbound.js';
import type { RingHandle } from '../ring/ring.js';
import { pumpedEndpoint } from '../internal/control-endpoint.js';
import { mainIndex, participantOf } from '../participant/participants.js';
import { NodePressure } from '../internal/node-pressure.js';
import { nowMs, useClockOffset } from '../internal/clock.js';
import { Outbound, SendResult } from '../participant/outbound.js';
import { reassembling } from '../participant/chunks.js';
import { StatusSlot, type ControlResult, type ExecutorApi, type ExecutorStatus, type ExecutorWorkerData } from './protocol.js';
import { Shard, ROUTE_ACCEPTED, type ShardHost } from './shard.js';


const POLL_BUDGET = 256;
/** Blocked ids from here on name a congested node (below it: a participant's ring). */
const NODE_BLOCK_BASE = 1 << 20;
const TURNS_PER_PASS = 256;
/** A pass of turns ends after about this long, so rings (timer fires, replies) are read promptly. */
const PASS_MS = 1;

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
  private readonly inbound: InboundRings;
  private readonly outbound: Outbound;
  private readonly pressure: NodePressure;
  private pressureEpoch: number;
  /** Nodes some sender here is parked on (their blocked id is NODE_BLOCK_BASE + node). */
  private readonly parkedOnNodes = new Set<number>();
  private readonly control: Int32Array;
  private readonly status: Float64Array;
  private readonly kindIndex: Map<string, number>;
  private readonly pump: () => void;
  /** Reader index in `inbound` of each participant's ring. */
  private readonly positions: number[] = [];
  private readonly events: ExecutorEvents;
  private controlSeen = 0;
  private lastKind = '';
  private lastKindIndex = -1;
  private deadLetters = 0;
  private stopped = false;

  constructor(data: ExecutorWorkerData, behaviours: Behaviours, controlPort: MessagePort, events: ExecutorEvents) {
    this.data = data;
    this.events = events;
    useClockOffset(data.clockOffset);
    this.control = new Int32Array(data.status, 0, 2);
    this.status = new Float64Array(data.status);
    this.status[StatusSlot.RUNNING_SERIAL] = -1;
    this.status[StatusSlot.SPAWNER_ID] = data.spawnerId;
    this.kindIndex = new Map(Object.keys(behaviours).sort().map((kind, index) => [kind, index]));
    this.shard = new Shard(this.host(), behaviours, {
      node: data.node,
      shard: data.shard,
      spawnerId: data.spawnerId,
      spawnFloors: data.spawnFloors,
      budget: data.budget,
      mailboxLimit: data.mailboxLimit,
    });
    const visit = reassembling((_ring, kind, bytes, offset, length) => this.onRecord(kind, bytes, offset, length), data.maxMessageBytes, (error) => this.malformed(error));
    this.inbound = new InboundRings(new Doorbell(data.bell), visit);
    data.inbound.forEach((handle, participant) => {
      if (handle !== undefined) this.positions[participant] = this.inbound.add(handle);
    });
    this.outbound = new Outbound(data.outbound, data, { index: mainIndex(data.shards), localNode: data.node });
    this.pressure = new NodePressure(data.nodePressure);
    this.pressureEpoch = this.pressure.epoch;
    const control = pumpedEndpoint(controlPort);
    this.pump = control.pump;
    expose(this.api(), control.endpoint);
  }

  /** Runs passes until a control message or a stop; see the design note for one pass. */
  run(): void {
    const inbound = this.inbound;
    const shard = this.shard;
    const outbound = this.outbound;
    const ready = (): boolean => this.controlPending() || outbound.canFlush() || this.pressureChanged();
    const resume = (index: number): void => shard.resume(index);
    for (;;) {
      if (this.pressureChanged()) this.resumeNodes();
      const polled = inbound.poll(POLL_BUDGET);
      const handled = shard.runTurns(TURNS_PER_PASS, performance.now() + PASS_MS);
      outbound.publish();
      this.status[StatusSlot.PIDS_ALLOCATED] = shard.pidsAllocated;
      if (outbound.congested) outbound.flushOverflow(resume);
      if (this.controlPending()) {
        this.pumpControl();
        if (!this.stopped) setImmediate(() => this.run());
        return;
      }
      if (polled === 0 && handled === 0 && !shard.hasWork()) {
        this.status[StatusSlot.RUNNING_SERIAL] = -1;
        const giveUp = shard.nextSpawnWaitDeadline();
        inbound.waitForWork({ spin: this.data.spin, ready, timeoutMs: giveUp === Number.POSITIVE_INFINITY ? undefined : Math.max(1, giveUp - nowMs()) });
      }
    }
  }

  private host(): ShardHost {
    return {
      now: nowMs,
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

  private controlPending(): boolean {
    return Atomics.load(this.control, StatusSlot.CONTROL_SEQ) !== this.controlSeen;
  }

  private pumpControl(): void {
    this.controlSeen = Atomics.load(this.control, StatusSlot.CONTROL_SEQ);
    this.pump();
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
          this.deadLetters += this.outbound.replace(index, outbound);
          this.inbound.replace(this.positions[index]!, inbound);
          // Processes parked on the old ring's overflow (dropped with it) run again.
          this.shard.resume(index);
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
          this.stopped = true;
        }),
    };
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
