/**
 * Suite `timers`: the poller's timer wheel (src/poller/wheel.ts) against Node's own timers and a
 * binary heap, every system measured in the same run, one thread, 1,000,000 timers whose delays
 * are drawn once (xorshift32, fixed seed) from 1 ms .. 1 hour and shared by every system.
 *
 * start-cancel-1M (ops_per_s): schedule the 1M timers, then cancel them all in scheduling order;
 *   one op is one schedule + cancel pair. `horde`: TimerWheel.schedule / cancel(id) on a fresh
 *   wheel (its columns grow from 1,024 to 2^20 slots during the round); `horde-reused`: the same on
 *   one wheel kept across rounds, as the poller's is (steady state, no growth); `setTimeout`:
 *   setTimeout(noop, delay) / clearTimeout (nothing fires: the loop never yields); `naive-heap`: an
 *   indexed binary min-heap (below) / remove(handle).
 *
 * Every case: one warm-up round, then ROUNDS rounds, each after a full collection (so no system
 * pays for the garbage of the one before), each with a fresh structure unless said otherwise; the
 * median round is reported and every round is logged on stderr.
 * advance-fire-1M (fires_per_s): the 1M timers are scheduled (not timed), then fired over a
 *   simulated hour; time from the first advance to the last fire. `horde` and `naive-heap` run the
 *   poller's loop: advance to nextDue() (the heap: pop all due at the top's time) until empty;
 *   `horde-1ms-steps` advances 1 ms at a time (3.6M advances), `horde-one-jump` in one call.
 *   Every fire adds its payload to a checksum that is checked.
 * pending-1M (bytes_per_timer): growth of heapUsed + arrayBuffers (the wheel's columns are typed
 *   arrays, outside heapUsed) with 1M timers pending, between two full collections, / 1M. The
 *   arrays that hold the handles exist before the first measurement and are not counted.
 *
 * A full collection needs gc: `globalThis.gc` when node runs with --expose-gc, otherwise the suite
 * turns the flag on at run time (v8.setFlagsFromString + vm) and says so on stderr; if neither
 * works the memory figures are taken without a collection and stderr says that too.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TimerWheel } from '../src/poller/wheel.js';
import { runLateness } from './timers-lateness.js';
import type { Report } from './support/report.js';
import { median } from './support/stats.js';

const TIMERS = 1_000_000;
const HOUR_MS = 3_600_000;
const ROUNDS = 5;
const SEED = 0x9e3779b9;

function note(text: string): void {
  process.stderr.write(`[timers] ${text}\n`);
}

function formatRate(perSecond: number): string {
  return `${(perSecond / 1e6).toFixed(2)}M/s`;
}

/** Delays 1 .. HOUR_MS, the same for every system. */
function makeDelays(): Float64Array {
  const delays = new Float64Array(TIMERS);
  let x = SEED >>> 0;
  for (let i = 0; i < TIMERS; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    delays[i] = 1 + (x % HOUR_MS);
  }
  return delays;
}

/** The expected checksum of firing every payload (payload = index). */
const CHECKSUM = (TIMERS * (TIMERS - 1)) / 2;

// ---- the naive peer: an indexed binary min-heap of entry objects ----

interface HeapEntry {
  due: number;
  seq: number;
  payload: number;
  pos: number;
}

class NaiveHeap {
  private readonly items: HeapEntry[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(due: number, payload: number): HeapEntry {
    const entry: HeapEntry = { due, seq: this.seq++, payload, pos: this.items.length };
    this.items.push(entry);
    this.up(entry.pos);
    return entry;
  }

  peek(): HeapEntry | undefined {
    return this.items[0];
  }

  pop(): HeapEntry | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Removes a pending entry; false if it is no longer in the heap. */
  remove(entry: HeapEntry): boolean {
    if (entry.pos < 0 || this.items[entry.pos] !== entry) return false;
    this.removeAt(entry.pos);
    return true;
  }

  private removeAt(pos: number): void {
    const items = this.items;
    const removed = items[pos]!;
    const last = items.pop()!;
    removed.pos = -1;
    if (last !== removed) {
      items[pos] = last;
      last.pos = pos;
      this.down(pos);
      this.up(last.pos);
    }
  }

  private less(a: HeapEntry, b: HeapEntry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private up(pos: number): void {
    const items = this.items;
    const entry = items[pos]!;
    while (pos > 0) {
      const parentPos = (pos - 1) >> 1;
      const parent = items[parentPos]!;
      if (!this.less(entry, parent)) break;
      items[pos] = parent;
      parent.pos = pos;
      pos = parentPos;
    }
    items[pos] = entry;
    entry.pos = pos;
  }

  private down(pos: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[pos]!;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.less(items[right]!, items[child]!)) child = right;
      const smaller = items[child]!;
      if (!this.less(smaller, entry)) break;
      items[pos] = smaller;
      smaller.pos = pos;
      pos = child;
    }
    items[pos] = entry;
    entry.pos = pos;
  }
}

// ---- start-cancel-1M ----

const noop = (): void => undefined;

type StartCancelSystem = 'horde' | 'horde-reused' | 'setTimeout' | 'naive-heap';

/** One round: seconds to schedule and cancel every timer. */
function startCancelRound(
  system: StartCancelSystem,
  delays: Float64Array,
  ids: Float64Array,
  handles: unknown[],
  reused: TimerWheel<number>,
): number {
  const started = process.hrtime.bigint();
  let cancelled = 0;
  switch (system) {
    case 'horde':
    case 'horde-reused': {
      const wheel = system === 'horde' ? new TimerWheel<number>({ startMs: 0 }) : reused;
      for (let i = 0; i < TIMERS; i++) ids[i] = wheel.schedule(delays[i]!, i);
      for (let i = 0; i < TIMERS; i++) if (wheel.cancel(ids[i]!)) cancelled++;
      if (wheel.size !== 0) throw new Error(`start-cancel horde: ${wheel.size} timers left`);
      break;
    }
    case 'setTimeout': {
      for (let i = 0; i < TIMERS; i++) handles[i] = setTimeout(noop, delays[i]);
      for (let i = 0; i < TIMERS; i++) {
        clearTimeout(handles[i] as NodeJS.Timeout);
        cancelled++;
      }
      break;
    }
    case 'naive-heap': {
      const heap = new NaiveHeap();
      for (let i = 0; i < TIMERS; i++) handles[i] = heap.push(delays[i]!, i);
      for (let i = 0; i < TIMERS; i++) if (heap.remove(handles[i] as HeapEntry)) cancelled++;
      if (heap.size !== 0) throw new Error(`start-cancel naive-heap: ${heap.size} timers left`);
      break;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (cancelled !== TIMERS) throw new Error(`start-cancel ${system}: cancelled ${cancelled} of ${TIMERS}`);
  handles.fill(undefined);
  return seconds;
}

function startCancelCase(report: Report, gc: Collect, delays: Float64Array, ids: Float64Array, handles: unknown[]): void {
  const reused = new TimerWheel<number>({ startMs: 0 });
  for (const system of ['horde', 'horde-reused', 'setTimeout', 'naive-heap'] as const) {
    const rates: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      collect(gc);
      const seconds = startCancelRound(system, delays, ids, handles, reused);
      const rate = TIMERS / seconds;
      note(`start-cancel-1M ${system} round ${round}${round === 0 ? ' (warm-up)' : ''}: ${(seconds * 1e3).toFixed(1)} ms = ${formatRate(rate)} pairs`);
      if (round > 0) rates.push(rate);
    }
    report({ case: 'start-cancel-1M', system, metric: 'ops_per_s', value: Math.round(median(rates)) });
  }
}

// ---- advance-fire-1M ----

type AdvanceSystem = 'horde' | 'horde-1ms-steps' | 'horde-one-jump' | 'naive-heap';

/** One round: seconds from the first advance to the last fire, and how many advances it took. */
function advanceRound(system: AdvanceSystem, delays: Float64Array): { seconds: number; advances: number } {
  let sum = 0;
  let fired = 0;
  let advances = 0;
  const fire = (payload: number): void => {
    sum += payload;
  };
  let started: bigint;
  if (system === 'naive-heap') {
    const heap = new NaiveHeap();
    for (let i = 0; i < TIMERS; i++) heap.push(delays[i]!, i);
    started = process.hrtime.bigint();
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      const now = top.due;
      advances++;
      for (let entry = heap.peek(); entry !== undefined && entry.due <= now; entry = heap.peek()) {
        heap.pop();
        fire(entry.payload);
        fired++;
      }
    }
  } else {
    const wheel = new TimerWheel<number>({ startMs: 0 });
    for (let i = 0; i < TIMERS; i++) wheel.schedule(delays[i]!, i);
    started = process.hrtime.bigint();
    if (system === 'horde') {
      for (let due = wheel.nextDue(); due !== undefined; due = wheel.nextDue()) {
        fired += wheel.advance(due, fire);
        advances++;
      }
    } else if (system === 'horde-1ms-steps') {
      for (let now = 1; now <= HOUR_MS; now++) fired += wheel.advance(now, fire);
      advances = HOUR_MS;
    } else {
      fired = wheel.advance(HOUR_MS, fire);
      advances = 1;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (fired !== TIMERS || sum !== CHECKSUM) throw new Error(`advance-fire ${system}: fired ${fired} (checksum ${sum}, expected ${CHECKSUM})`);
  return { seconds, advances };
}

function advanceCase(report: Report, gc: Collect, delays: Float64Array): void {
  for (const system of ['horde', 'horde-1ms-steps', 'horde-one-jump', 'naive-heap'] as const) {
    const rates: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      collect(gc);
      const { seconds, advances } = advanceRound(system, delays);
      const rate = TIMERS / seconds;
      note(`advance-fire-1M ${system} round ${round}${round === 0 ? ' (warm-up)' : ''}: ${advances} advances, ${(seconds * 1e3).toFixed(1)} ms = ${formatRate(rate)} fires`);
      if (round > 0) rates.push(rate);
    }
    report({ case: 'advance-fire-1M', system, metric: 'fires_per_s', value: Math.round(median(rates)) });
  }
}

// ---- pending-1M ----

type Collect = (() => void) | undefined;

/** A full collection, or undefined when gc cannot be had. */
function findGc(): Collect {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') {
    note('gc: globalThis.gc (node --expose-gc)');
    return exposed;
  }
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc === 'function') {
      note('gc: not exposed by the command line; enabled at run time with v8.setFlagsFromString("--expose-gc")');
      return gc as () => void;
    }
  } catch (error) {
    note(`gc: could not enable --expose-gc at run time (${String(error)})`);
  }
  note('gc: unavailable; memory figures are taken without a full collection and are approximate');
  return undefined;
}

function collect(gc: Collect): void {
  if (gc !== undefined) {
    gc();
    gc();
  }
}

function heapBytes(gc: Collect): number {
  collect(gc);
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

function pendingCase(report: Report, gc: Collect, delays: Float64Array, ids: Float64Array, handles: unknown[]): void {
  for (const system of ['horde', 'setTimeout', 'naive-heap'] as const) {
    handles.fill(undefined);
    const before = heapBytes(gc);
    let release: () => void;
    let detail = '';
    switch (system) {
      case 'horde': {
        const wheel = new TimerWheel<number>({ startMs: 0 });
        for (let i = 0; i < TIMERS; i++) ids[i] = wheel.schedule(delays[i]!, i);
        detail = `, wheel capacity ${wheel.capacity}`;
        release = () => {
          for (let i = 0; i < TIMERS; i++) wheel.cancel(ids[i]!);
        };
        break;
      }
      case 'setTimeout':
        for (let i = 0; i < TIMERS; i++) handles[i] = setTimeout(noop, delays[i]);
        release = () => {
          for (let i = 0; i < TIMERS; i++) clearTimeout(handles[i] as NodeJS.Timeout);
        };
        break;
      case 'naive-heap': {
        const heap = new NaiveHeap();
        for (let i = 0; i < TIMERS; i++) handles[i] = heap.push(delays[i]!, i);
        release = () => {
          for (let i = 0; i < TIMERS; i++) heap.remove(handles[i] as HeapEntry);
        };
        break;
      }
    }
    const after = heapBytes(gc);
    release();
    const perTimer = (after - before) / TIMERS;
    note(`pending-1M ${system}: heapUsed + arrayBuffers grew by ${((after - before) / 2 ** 20).toFixed(1)} MiB = ${perTimer.toFixed(1)} bytes/timer${detail}`);
    report({ case: 'pending-1M', system, metric: 'bytes_per_timer', value: Math.round(perTimer * 10) / 10 });
  }
  handles.fill(undefined);
}

export async function run(report: Report): Promise<void> {
  const delays = makeDelays();
  // Handle storage shared by every system and allocated once, outside every measurement.
  const ids = new Float64Array(TIMERS);
  const handles = new Array<unknown>(TIMERS).fill(undefined);
  const gc = findGc();
  startCancelCase(report, gc, delays, ids, handles);
  advanceCase(report, gc, delays);
  pendingCase(report, gc, delays, ids, handles);
  await runLateness(report);
}
