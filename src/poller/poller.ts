/**
 * Poller: the loop of the poller worker thread, which owns every timer of the node.
 *
 * Requests arrive on its inbound rings as envelopes: TIMER (start: `ref` names the timer, `from`
 * owns it, the payload carries the delay, whether it repeats and the message) and TIMER_CANCEL
 * (one ref, or with ref 0 the list of refs of a process that ended). Timer references are unique
 * in the node (see pid.ts), so they key the table directly. When a timer fires, a TIMER_FIRE
 * envelope goes to its owner's executor, which puts the message ahead of the owner's mailbox and
 * drops it if the owner cancelled the timer in the meantime (so a cancel racing a fire is exact).
 *
 * One pass: poll the rings, advance the wheel to nowMs() firing what is due, publish, move
 * overflow back into rings, pump control messages. Time is the node clock (src/internal/clock.ts). Then sleep on the doorbell until the next due
 * timer (Atomics.wait's timeout), a request, freed ring space or a control message wakes it.
 * Lateness is the wake-up latency of Atomics.wait plus the wheel's 1 ms tick; `npm run bench --
 * timers` measures it under load.
 */

import { expose } from 'comlink';
import type { MessagePort } from 'node:worker_threads';
import { Signal, decodeEnvelope } from '../codec/envelope.js';
import { errorToWire, type WireError } from '../errors.js';
import type { TimerRequest } from '../process/io.js';
import { POLLER_SHARD, pid as makePid, type Pid } from '../process/pid.js';
import { Doorbell } from '../ring/doorbell.js';
import { InboundRings } from '../ring/inbound.js';
import type { RingHandle } from '../ring/ring.js';
import { pumpedEndpoint } from '../internal/control-endpoint.js';
import { participantOf } from '../participant/participants.js';
import { nowMs, useClockOffset } from '../internal/clock.js';
import { Outbound, SendResult } from '../participant/outbound.js';
import { reassembling } from '../participant/chunks.js';
import { TimerWheel, type TimerId } from './wheel.js';

export interface PollerWorkerData {
  node: number;
  /** Number of executors; the main thread is participant `shards`, this poller `shards + 1`. */
  shards: number;
  bell: SharedArrayBuffer;
  /** The status block; its Int32 slot 0 is the control sequence (see executor/protocol.ts). */
  status: SharedArrayBuffer;
  inbound: (RingHandle | undefined)[];
  outbound: (RingHandle | undefined)[];
  overflowLimit: number;
  /** The largest message (envelope bytes) this thread sends or reassembles. */
  maxMessageBytes: number;
  /** The node clock's epoch offset (src/internal/clock.ts). */
  clockOffset: number;
}

export interface PollerStatus {
  timers: number;
  started: number;
  fired: number;
  cancelled: number;
  /** Fires that could not be delivered (destination overflow full, or an unknown destination). */
  deadLetters: number;
  malformed: number;
  /** Timer requests the wheel refused (full, or a bad delay); `lastError` says why. */
  refused: number;
  lastError?: WireError;
}

export interface PollerApi {
  status(): PollerStatus;
  /** Participant `index` was replaced: use these rings to and from it from now on. */
  replaceRings(index: number, inbound: RingHandle, outbound: RingHandle): void;
  stop(): void;
}

interface Timer {
  owner: Pid;
  ref: number;
  message: unknown;
  repeat: boolean;
}

export class Poller {
  private readonly data: PollerWorkerData;
  private readonly wheel: TimerWheel<Timer>;
  private readonly ids = new Map<number, TimerId>();
  private readonly inbound: InboundRings;
  private readonly outbound: Outbound;
  private readonly control: Int32Array;
  private readonly pump: () => void;
  private readonly self: Pid;
  private readonly stats: PollerStatus = { timers: 0, started: 0, fired: 0, cancelled: 0, deadLetters: 0, malformed: 0, refused: 0 };
  /** Reader index in `inbound` of each participant's ring. */
  private readonly positions: number[] = [];
  private controlSeen = 0;
  private lastError: WireError | undefined;
  private stopped = false;

  constructor(data: PollerWorkerData, controlPort: MessagePort) {
    this.data = data;
    useClockOffset(data.clockOffset);
    this.wheel = new TimerWheel<Timer>({ startMs: nowMs() });
    this.self = makePid(data.node, POLLER_SHARD, 0);
    this.control = new Int32Array(data.status, 0, 1);
    const visit = reassembling((_ring, _kind, bytes, offset, length) => this.onRecord(bytes, offset, length), data.maxMessageBytes, (error) => this.countMalformed(error));
    this.inbound = new InboundRings(new Doorbell(data.bell), visit);
    data.inbound.forEach((handle, participant) => {
      if (handle !== undefined) this.positions[participant] = this.inbound.add(handle);
    });
    this.outbound = new Outbound(data.outbound, data);
    const endpoint = pumpedEndpoint(controlPort);
    this.pump = endpoint.pump;
    const api: PollerApi = {
      status: () => ({ ...this.stats, timers: this.wheel.size, ...(this.lastError === undefined ? {} : { lastError: this.lastError }) }),
      replaceRings: (index, inbound, outbound) => {
        this.stats.deadLetters += this.outbound.replace(index, outbound);
        this.inbound.replace(this.positions[index]!, inbound);
      },
      stop: () => {
        this.stopped = true;
      },
    };
    expose(api, endpoint.endpoint);
  }

  run(): void {
    const fire = (timer: Timer, id: TimerId): void => this.fire(timer, id);
    const ready = (): boolean => this.controlPending() || this.outbound.canFlush();
    for (;;) {
      // Advance before reading requests too: a delay counts from now, not from when the wheel
      // last moved (the poller may have slept for a long time).
      this.wheel.advance(nowMs(), fire);
      this.inbound.poll();
      this.wheel.advance(nowMs(), fire);
      this.outbound.publish();
      if (this.outbound.congested) this.outbound.flushOverflow(() => undefined);
      if (this.controlPending()) {
        this.controlSeen = Atomics.load(this.control, 0);
        this.pump();
        if (!this.stopped) setImmediate(() => this.run());
        return;
      }
      if (this.inbound.hasWork()) continue;
      const due = this.wheel.nextDue();
      const wait = due === undefined ? undefined : Math.max(0, due - nowMs());
      if (wait === 0) continue;
      this.inbound.waitForWork(wait === undefined ? { spin: 0, ready } : { spin: 0, ready, timeoutMs: wait });
    }
  }

  private onRecord(bytes: Uint8Array, offset: number, length: number): void {
    let envelope;
    try {
      envelope = decodeEnvelope(bytes, offset, length);
    } catch (error) {
      this.countMalformed(error);
      return;
    }
    const { signal, from, ref, payload } = envelope;
    if (signal === Signal.TIMER && from !== undefined) {
      const request = payload as TimerRequest;
      const timer = { owner: from, ref, message: request.message, repeat: request.repeat };
      try {
        this.ids.set(ref, this.wheel.schedule(Math.max(0, request.dueMs - this.wheel.now), timer, request.repeat ? request.delayMs : undefined));
        this.stats.started++;
      } catch (error) {
        // The wheel is full (TIMER_CAPACITY) or the request is malformed: not started, counted.
        this.stats.refused++;
        this.lastError = errorToWire(error);
      }
    } else if (signal === Signal.TIMER_CANCEL) {
      if (ref !== 0) this.cancel(ref);
      else if (Array.isArray(payload)) for (const each of payload as number[]) this.cancel(each);
    } else {
      this.stats.deadLetters++;
    }
  }

  /** A record that does not decode (or a broken chunk stream) is a bug in a peer thread: counted, and the rest go on. */
  private countMalformed(error: unknown): void {
    this.stats.malformed++;
    this.lastError = errorToWire(error);
  }

  private cancel(ref: number): void {
    const id = this.ids.get(ref);
    if (id === undefined) return;
    this.ids.delete(ref);
    if (this.wheel.cancel(id)) this.stats.cancelled++;
  }

  private fire(timer: Timer, _id: TimerId): void {
    if (!timer.repeat) this.ids.delete(timer.ref);
    this.stats.fired++;
    const owner = timer.owner;
    const index = participantOf(owner, this.data.node, this.data.shards);
    if (index === undefined) {
      this.stats.deadLetters++;
      return;
    }
    const result = this.outbound.send(index, { signal: Signal.TIMER_FIRE, to: owner, from: this.self, ref: timer.ref, payload: timer.message });
    if (result === SendResult.REFUSED) this.stats.deadLetters++;
  }

  private controlPending(): boolean {
    return Atomics.load(this.control, 0) !== this.controlSeen;
  }
}
