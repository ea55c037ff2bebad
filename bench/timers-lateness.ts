/**
 * Case `lateness` of the `timers` suite: how late timers fire through a real node (executor ->
 * poller worker -> executor), idle and under load. A sampler process starts TIMERS timers with
 * delays spread over 1..MAX_DELAY_MS and records, for each firing, `ctx.now - due` (sub-ms clock);
 * `horde` runs it on an otherwise idle node, `horde-loaded` with a process on every executor
 * that keeps its shard busy (the sampler shares a shard with one). The peer is Node's own
 * setTimeout on the main thread, idle (`setTimeout`) and with the main thread busy in 1 ms
 * slices of CPU work (`setTimeout-loaded`). Metrics: `lateness_p50_us`, `lateness_p99_us`.
 */
import { startNode } from '../src/index.js';
import type { Report } from './support/report.js';
import { percentileOfSorted } from './support/stats.js';
import { TSX_PRELOAD } from './support/tsx-preload.js';

const TIMERS = 2000;
const MAX_DELAY_MS = 500;

async function horde(loaded: boolean): Promise<number[]> {
  const node = await startNode({ behaviours: [new URL('./timers-behaviours.ts', import.meta.url)], preload: [TSX_PRELOAD], executors: 2 });
  try {
    const sampler = await node.spawn('lateness-sampler', undefined, { shard: 0 });
    // Warm-up round (JIT, first wake-ups of each thread), not reported.
    await node.ask<number[]>(sampler, { type: 'run', timers: 200, maxDelayMs: 50 }, { timeoutMs: 60_000 });
    if (loaded) {
      const until = Date.now() + MAX_DELAY_MS + 2000;
      for (let shard = 0; shard < node.executorCount; shard++) node.send(await node.spawn('lateness-load', undefined, { shard }), { type: 'go', until });
    }
    return await node.ask<number[]>(sampler, { type: 'run', timers: TIMERS, maxDelayMs: MAX_DELAY_MS }, { timeoutMs: 60_000 });
  } finally {
    await node.stop();
  }
}

async function nodeTimers(loaded: boolean): Promise<number[]> {
  const lateness: number[] = [];
  let busyUntil = 0;
  if (loaded) {
    busyUntil = performance.now() + MAX_DELAY_MS + 200;
    const burn = (): void => {
      const sliceEnd = performance.now() + 1;
      while (performance.now() < sliceEnd);
      if (performance.now() < busyUntil) setImmediate(burn);
    };
    setImmediate(burn);
  }
  await new Promise<void>((resolve) => {
    let fired = 0;
    for (let i = 0; i < TIMERS; i++) {
      const delay = 1 + ((i * 7919) % MAX_DELAY_MS);
      const due = performance.now() + delay;
      setTimeout(() => {
        lateness.push(Math.max(0, (performance.now() - due) * 1000));
        if (++fired === TIMERS) resolve();
      }, delay);
    }
  });
  return lateness;
}

export async function runLateness(report: Report): Promise<void> {
  const systems: [string, () => Promise<number[]>][] = [
    ['horde', () => horde(false)],
    ['horde-loaded', () => horde(true)],
    ['setTimeout', () => nodeTimers(false)],
    ['setTimeout-loaded', () => nodeTimers(true)],
  ];
  for (const [system, measure] of systems) {
    const samples = (await measure()).sort((a, b) => a - b);
    if (samples.length !== TIMERS) throw new Error(`${system}: ${samples.length} of ${TIMERS} timers fired`);
    report({ case: 'lateness', system, metric: 'lateness_p50_us', value: Math.round(percentileOfSorted(samples, 0.5)) });
    report({ case: 'lateness', system, metric: 'lateness_p99_us', value: Math.round(percentileOfSorted(samples, 0.99)) });
  }
}
