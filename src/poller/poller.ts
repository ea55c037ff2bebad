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
 * It is the work of a ParticipantLoop (src/participant/loop.ts). Its part of one pass: advance
 * the wheel to nowMs() firing what is due, poll the rings, advance again; the loop then publishes,
 * moves overflow back into rings and pumps control messages. Time is the node clock
 * (src/internal/clock.ts). With no request waiting it parks without spinning until the next due
 * timer (Atomics.wait's timeout), a request, freed ring space or a control message wakes it.
 * Lateness is the wake-up latency of Atomics.wait plus the wheel's 1 ms tick; `npm run bench --
 * timers` measures it under load.
 *
 * It keeps nothing that cannot be rebuilt: when the thread dies its replacement starts with an
 * empty wheel, and the timers' owners send their pending timers again (Shard.serviceLost).
 */

import type { MessagePort } from 'node:worker_threads';
import { Signal, decodeEnvelope } from '../codec/envelope.js';
import { errorToWire, type WireError } from '../errors.js';
import type { TimerRequest } from '../process/io.js';
import type { Pid } from '../process/pid.js';
import { servicePid } from '../process/services.js';
import { participantOf } from '../participant/participants.js';
import { ParticipantLoop } from '../participant/loop.js';
import { nowMs, useClockOffset } from '../internal/clock.js';
import { SendResult } from '../participant/outbound.js';
import { stallThread, type ServiceApi, type ServiceWorkerData } from '../participant/service-protocol.js';
import { TimerWheel, type TimerId } from './wheel.js';

/**
 * The poller thread's figures (`status().services.poller`, with its `restarts`). Counters run from
 * the start of the running thread: a replacement starts from zero.
 */
export interface PollerStatus {
  /** Timers pending in the wheel now (a repeating one counts once). */
  timers: number;
  /** Timer requests put in the wheel (`ctx.startTimer`, `node.every`, and timers started again after a restart). */
  started: number;
  /** Fires sent to owners (every period of a repeating timer counts). */
  fired: number;
  /** Timers cancelled before they fired (a cancel that crossed the fire does not count). */
  cancelled: number;
  /** Fires that could not be delivered (destination overflow full, or an unknown destination). */
  deadLetters: number;
  /** Records from other threads that did not decode: a bug in the sender, counted and skipped. */
  malformed: number;
  /** Timer requests the wheel refused (full, or a bad delay); `lastError` says why. */
  refused: number;
  /** The error of the last refused or malformed request, if any. */
  lastError?: WireError;
}

export interface PollerApi extends ServiceApi {
  status(): PollerStatus;
  stop(): void;
}

interface Timer {
  owner: Pid;
  ref: number;
  message: unknown;
  repeat: boolean;
}

export class Poller {
  private readonly data: ServiceWorkerData;
  private readonly wheel: TimerWheel<Timer>;
  private readonly ids = new Map<number, TimerId>();
  private readonly loop: ParticipantLoop;
  private readonly self: Pid;
  private readonly stats: PollerStatus = { timers: 0, started: 0, fired: 0, cancelled: 0, deadLetters: 0, malformed: 0, refused: 0 };
  private lastError: WireError | undefined;

  constructor(data: ServiceWorkerData, controlPort: MessagePort) {
    this.data = data;
    useClockOffset(data.clockOffset);
    this.wheel = new TimerWheel<Timer>({ startMs: nowMs() });
    this.self = servicePid(data.node, data.service);
    this.loop = new ParticipantLoop(data, controlPort, (_kind, bytes, offset, length) => this.onRecord(bytes, offset, length), (error) => this.countMalformed(error));
    const api: PollerApi = {
      status: () => ({ ...this.stats, timers: this.wheel.size, ...(this.lastError === undefined ? {} : { lastError: this.lastError }) }),
      replaceRings: (index, inbound, outbound) => {
        this.stats.deadLetters += this.loop.replaceRings(index, inbound, outbound);
      },
      stop: () => this.loop.stop(),
      fail: (stallMs, code) => {
        stallThread(stallMs);
        process.exit(code);
      },
    };
    this.loop.expose(api);
  }

  run(): void {
    const fire = (timer: Timer, id: TimerId): void => this.fire(timer, id);
    const loop = this.loop;
    const wheel = this.wheel;
    loop.run({
      spin: 0,
      pass: () => {
        // Advance before reading requests too: a delay counts from now, not from when the wheel
        // last moved (the poller may have slept for a long time).
        wheel.advance(nowMs(), fire);
        loop.poll();
        wheel.advance(nowMs(), fire);
        return false;
      },
      // Fires that waited for room are sent; nothing here waits on them.
      drained: () => undefined,
      hasWork: () => loop.inbound.hasWork(),
      parkMs: () => {
        const due = wheel.nextDue();
        return due === undefined ? undefined : Math.max(0, due - nowMs());
      },
    });
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
    const result = this.loop.outbound.send(index, { signal: Signal.TIMER_FIRE, to: owner, from: this.self, ref: timer.ref, payload: timer.message });
    if (result === SendResult.REFUSED) this.stats.deadLetters++;
  }
}
