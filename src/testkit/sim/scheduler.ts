/**
 * SimScheduler: the simulator's event loop. Simulated time only moves from one event to the next,
 * so a run goes as fast as the CPU allows, and one seeded generator (`random`) decides every
 * choice, so a seed names a run.
 *
 * Concurrency design: everything runs on one thread. An event is a callback due at a simulated
 * time and owned by a node (or by nobody); events of equal time run in the order they were
 * scheduled. The code under test awaits its own promises, so after each event the scheduler
 * waits until the microtask queue is empty: it takes the next event in a `process.nextTick`
 * callback queued from a microtask queued after the event, and Node runs such a callback only
 * once the microtask queue has drained (every promise continuation the event set off, and theirs,
 * has run, as before the next macrotask of a real event loop). Every 64 events and whenever no event is due it also lets one macrotask turn
 * pass (one `setImmediate`: code that yields with `setImmediate`, as the file log's appenders do,
 * goes on; nothing else runs then because nothing real, no socket, file or timer, is in play).
 * The same events give the same interleaving of promise continuations, so a run stays
 * deterministic. A paused node's events
 * (SIGSTOP) wait aside and run, in order, when it resumes; other nodes go on meanwhile. Every
 * event that runs is added to `trace` (its time, owner, label and detail, hashed without building text),
 * so two runs can be compared event for event.
 *
 * Bounded: `run` stops after `maxEvents` events (a run that never settles is reported, not
 * looped on).
 */

import { ErrorCode, HordeError } from '../../errors.js';
import { SimRandom } from './random.js';
import { TraceHash } from './trace.js';

/** A scheduled callback; pass it to `cancel` to drop it. */
export interface SimEvent {
  /** Simulated time it is due, in ms. */
  readonly at: number;
  /** Scheduling order: the tie-breaker between events of equal time. */
  readonly seq: number;
  /** The node it belongs to (its events wait while it is paused), or undefined. */
  readonly owner: string | undefined;
  /** What it is, for the trace: "deliver a>b 120", "timer", ... */
  readonly label: string;
  /** A number that goes with the label in the trace (a packet's size, ...), or 0. */
  readonly detail: number;
  /** False once cancelled or run. */
  pending: boolean;
  /** @internal */
  readonly run: () => void;
}

/** Limits of one `run`. */
export interface RunLimits {
  /** Stop once simulated time would pass this (ms); events due later stay queued. */
  untilMs?: number;
  /** Stop as soon as this is true (checked after each event). */
  until?: () => boolean;
  /** At most this many events (default 10,000,000); past it `run` throws HORDE_SIM_STALLED. */
  maxEvents?: number;
}

/** Events between two macrotask turns. */
const DRAIN_EVERY = 64;
/** Queues a microtask by `SETTLED.then` (queueMicrotask makes an async resource and a bound function each time). */
const SETTLED = Promise.resolve();


/** The event loop of a simulated run. */
export class SimScheduler {
  /** Simulated time now, in ms. */
  now = 0;
  /** The run's only generator: every random choice of the simulation is drawn from it. */
  readonly random: SimRandom;
  /** The hash of every event run so far. */
  readonly trace = new TraceHash();
  private readonly heap: SimEvent[] = [];
  private readonly deferred = new Map<string, SimEvent[]>();
  private seq = 0;

  /**
   * An event loop at simulated time 0.
   * @param seed The run's seed.
   */
  constructor(seed: number) {
    this.random = new SimRandom(seed);
  }

  /** Schedules `run` at simulated time `at` (not before now); `label` and `detail` describe it in the trace. */
  at(at: number, run: () => void, label: string, owner?: string, detail = 0): SimEvent {
    const event: SimEvent = { at: Math.max(at, this.now), seq: this.seq++, owner, label, detail, pending: true, run };
    this.push(event);
    return event;
  }

  /** Schedules `run` `ms` from now. */
  after(ms: number, run: () => void, label: string, owner?: string): SimEvent {
    return this.at(this.now + Math.max(0, ms), run, label, owner);
  }

  /** Drops an event that has not run; an event that ran or was cancelled is ignored. */
  cancel(event: SimEvent | undefined): void {
    if (event !== undefined) event.pending = false;
  }

  /** From now on `owner`'s events wait until `resume(owner)`. */
  pause(owner: string): void {
    if (!this.deferred.has(owner)) this.deferred.set(owner, []);
  }

  /** Runs `owner`'s waiting events now, in their order, and lets its later events run when due. */
  resume(owner: string): void {
    const waiting = this.deferred.get(owner);
    if (waiting === undefined) return;
    this.deferred.delete(owner);
    for (const event of waiting) if (event.pending) this.push({ ...event, at: this.now, seq: this.seq++ });
  }

  /** True while `owner` is paused. */
  isPaused(owner: string): boolean {
    return this.deferred.has(owner);
  }

  /** Events waiting to run (paused nodes' included). */
  get pendingEvents(): number {
    let n = 0;
    for (const event of this.heap) if (event.pending) n++;
    for (const waiting of this.deferred.values()) for (const event of waiting) if (event.pending) n++;
    return n;
  }

  /** Runs the next due event (or sets one of a paused node aside); false when none is queued. */
  step(untilMs = Infinity): boolean {
    for (;;) {
      const event = this.heap[0];
      if (event === undefined || event.at > untilMs) return false;
      this.pop();
      if (!event.pending) continue;
      if (event.owner !== undefined) {
        const waiting = this.deferred.get(event.owner);
        if (waiting !== undefined) {
          waiting.push(event);
          continue;
        }
      }
      this.now = event.at;
      event.pending = false;
      this.trace.addEvent(event.at, event.owner, event.label, event.detail);
      event.run();
      return true;
    }
  }

  /**
   * Runs events in order, letting the code's promises settle after each, until `limits.until`
   * holds, simulated time reaches `limits.untilMs` (then `now` is that time), or nothing is left.
   * Returns the number of events run.
   */
  run(limits: RunLimits = {}): Promise<number> {
    const untilMs = limits.untilMs ?? Infinity;
    const maxEvents = limits.maxEvents ?? 10_000_000;
    let events = 0;
    let looked = false;
    return new Promise<number>((resolve, reject) => {
      // One event per call of `next`; the next call waits until the microtask queue is empty (or,
      // every DRAIN_EVERY events, for an immediate), so every promise continuation the event set
      // off runs in between, and no promise is made per event. A tick queued from a microtask runs
      // only once the queue drained (a tick queued from a tick would run before it).
      const afterMicrotasks = (): void => process.nextTick(next);
      const next = (): void => {
        try {
          if (events >= maxEvents) throw new HordeError(ErrorCode.SIM_STALLED, `the simulation ran ${events} events without reaching its goal (simulated time ${this.now} ms)`);
          if (limits.until !== undefined && limits.until()) {
            resolve(events);
            return;
          }
          if (this.step(untilMs)) {
            looked = false;
            events++;
            if (events % DRAIN_EVERY === 0) setImmediate(next);
            else void SETTLED.then(afterMicrotasks);
            return;
          }
          if (!looked) {
            // Nothing due: let every promise settle, then look again (settling may schedule events).
            looked = true;
            setImmediate(next);
            return;
          }
          if (untilMs !== Infinity) this.now = Math.max(this.now, untilMs);
          resolve(events);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      };
      setImmediate(next);
    });
  }

  // A binary min-heap by (at, seq); sifting moves the hole, not pairs (no swaps, no allocation).
  private push(event: SimEvent): void {
    const heap = this.heap;
    let i = heap.length;
    heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (!before(event, above)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = event;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    const length = heap.length;
    if (length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
