/**
 * ParticipantLoop: the loop of a participant thread that runs synchronously and parks when idle
 * (an executor, the poller), around the thread's own work (a LoopWork). It owns what every such
 * thread needs: its inbound rings (InboundRings: fair polling, spin-then-park), its outbound rings
 * (Outbound: encoding, bounded overflow, publishing), the pumped control plane, and the switch to
 * a replaced participant's rings.
 *
 * One pass:
 *   1. the thread's work (`LoopWork.pass`): it polls the inbound rings (`poll`) and does what
 *      they and its own state ask for (process turns, due timers), and says whether it found any;
 *   2. publish every outbound ring written in the pass (one store per ring per pass), then
 *      `LoopWork.published`;
 *   3. move overflow back into rings that have the room it waits for (`LoopWork.drained` for each
 *      destination that emptied, so the thread resumes what waited on it);
 *   4. if a control message waits (the main thread bumped CONTROL_SEQ in the status block and
 *      rang the doorbell, see executor/protocol.ts), pump the control port and return to the event
 *      loop once, so comlink's answer goes out; the loop goes on from the next macrotask unless the
 *      control call stopped it;
 *   5. if the pass found nothing and `LoopWork.hasWork` says nothing is left, spin for
 *      `LoopWork.spin` checks, then park on the doorbell until a ring gets records, a full ring
 *      frees space, a control message or the thread's own `ready` wakes it, or `parkMs` passes
 *      (0: go on at once, such as a timer due now).
 *
 * A full ring never blocks the loop: the envelope goes to the bounded overflow and the thread
 * decides what waits for it. Nothing here allocates per pass.
 */

import { expose } from 'comlink';
import type { MessagePort } from 'node:worker_threads';
import { pumpedEndpoint } from '../internal/control-endpoint.js';
import { Doorbell } from '../ring/doorbell.js';
import { InboundRings } from '../ring/inbound.js';
import type { RecordVisitor, RingHandle } from '../ring/ring.js';
import { Outbound } from './outbound.js';
import { reassembling } from './chunks.js';

/** What a loop thread starts with (ExecutorWorkerData and ServiceWorkerData have these). */
export interface LoopData {
  bell: SharedArrayBuffer;
  /** The status block; its Int32 slot 0 is the control sequence (see executor/protocol.ts). */
  status: SharedArrayBuffer;
  /** inbound[i]: the ring from participant i (undefined for itself). */
  inbound: (RingHandle | undefined)[];
  /** outbound[i]: the ring to participant i (undefined for itself). */
  outbound: (RingHandle | undefined)[];
  overflowLimit: number;
  /** The largest message (envelope bytes) this thread sends or reassembles (see chunks.ts). */
  maxMessageBytes: number;
}

/** The thread's own part of each pass. */
export interface LoopWork {
  /** Checks an idle thread spins before it parks (0: park at once). */
  readonly spin: number;
  /** One pass of the thread's work, polling the rings with `ParticipantLoop.poll`; true when it found any. */
  pass(): boolean;
  /** The pass's records are published. */
  published?(): void;
  /** Destination `index`'s overflow went back into its ring: what waited on it may go on. */
  drained(index: number): void;
  /** Whether work is left after the pass (then the loop does not park). */
  hasWork(): boolean;
  /** About to park: the longest it may (ms; undefined: until woken; 0: not at all). */
  parkMs(): number | undefined;
  /** Another reason to wake, besides rings, freed space and control messages (re-checked after announcing the park). */
  ready?(): boolean;
}

/** The Int32 slot of the status block that holds the control sequence. */
export const CONTROL_SEQ_SLOT = 0;

export class ParticipantLoop {
  readonly inbound: InboundRings;
  readonly outbound: Outbound;
  private readonly control: Int32Array;
  private readonly pump: () => void;
  private readonly endpoint: ReturnType<typeof pumpedEndpoint>['endpoint'];
  /** Reader index in `inbound` of each participant's ring. */
  private readonly positions: number[] = [];
  private work: LoopWork | undefined;
  private controlSeen = 0;
  private stopped = false;

  /**
   * `visit` gets every record (a large message's chunks already put together, see chunks.ts);
   * `malformed` a chunk stream that breaks its own rules (a bug in a peer thread).
   */
  constructor(data: LoopData, controlPort: MessagePort, visit: RecordVisitor, malformed: (error: unknown) => void, runs?: ConstructorParameters<typeof Outbound>[2]) {
    this.control = new Int32Array(data.status, 0, 1);
    this.inbound = new InboundRings(new Doorbell(data.bell), reassembling((_ring, kind, bytes, offset, length) => visit(kind, bytes, offset, length), data.maxMessageBytes, malformed));
    data.inbound.forEach((handle, participant) => {
      if (handle !== undefined) this.positions[participant] = this.inbound.add(handle);
    });
    this.outbound = new Outbound(data.outbound, data, runs);
    const control = pumpedEndpoint(controlPort);
    this.pump = control.pump;
    this.endpoint = control.endpoint;
  }

  /** Serves `api` on the control port (answered between passes). */
  expose(api: object): void {
    expose(api, this.endpoint);
  }

  /** One fair pass over the inbound rings, at most `budget` records from each. */
  poll(budget?: number): number {
    return this.inbound.poll(budget);
  }

  /** Participant `index` was replaced: read from and write to its new rings. Returns the envelopes dropped with the old overflow. */
  replaceRings(index: number, inbound: RingHandle, outbound: RingHandle): number {
    const dropped = this.outbound.replace(index, outbound);
    this.inbound.replace(this.positions[index]!, inbound);
    return dropped;
  }

  /** Ends the loop after the control call being answered. */
  stop(): void {
    this.stopped = true;
  }

  /** Runs passes of `work` until a control message or a stop; see the design note for one pass. */
  run(work: LoopWork): void {
    this.work = work;
    this.loop();
  }

  private loop(): void {
    const work = this.work!;
    const inbound = this.inbound;
    const outbound = this.outbound;
    const ready = (): boolean => this.controlPending() || outbound.canFlush() || work.ready?.() === true;
    const drained = (index: number): void => work.drained(index);
    for (;;) {
      const found = work.pass();
      outbound.publish();
      work.published?.();
      if (outbound.congested) outbound.flushOverflow(drained);
      if (this.controlPending()) {
        this.controlSeen = Atomics.load(this.control, CONTROL_SEQ_SLOT);
        this.pump();
        if (!this.stopped) setImmediate(() => this.loop());
        return;
      }
      if (found || work.hasWork()) continue;
      const parkMs = work.parkMs();
      if (parkMs === 0) continue;
      inbound.waitForWork(parkMs === undefined ? { spin: work.spin, ready } : { spin: work.spin, ready, timeoutMs: parkMs });
    }
  }

  private controlPending(): boolean {
    return Atomics.load(this.control, CONTROL_SEQ_SLOT) !== this.controlSeen;
  }
}
