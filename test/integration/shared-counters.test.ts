// SharedCounters across real threads: a reader racing a writer only ever sees whole publishes.
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { SharedCounters } from '../../src/internal/shared-counters.js';
import { nextMessage, startFixtureWorker } from '../support/workers.js';

const fixture = new URL('../fixtures/counters-writer.ts', import.meta.url);
const running: Worker[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((worker) => worker.terminate()));
});

describe('SharedCounters', () => {
  it('gives a reader on another thread consistent copies while the writer publishes', async () => {
    const counters = new SharedCounters(16);
    const publishes = 2_000_000;
    const worker = startFixtureWorker(fixture, { buffer: counters.buffer, publishes });
    running.push(worker);
    let done = false;
    const finished = nextMessage(worker, 'done').then(() => {
      done = true;
    });
    let readings = 0;
    let last = 0;
    for (let loops = 1; !done; loops++) {
      const copy = counters.read();
      if (copy !== undefined) {
        // Every slot from one publish, and publishes only move forward.
        for (const value of copy) expect(value).toBe(copy[0]);
        expect(copy[0]).toBeGreaterThanOrEqual(last);
        last = copy[0]!;
        readings++;
      }
      // Let the 'done' message in now and then.
      if (loops % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await finished;
    expect(counters.read()).toEqual(new Float64Array(16).fill(publishes));
    expect(readings).toBeGreaterThan(0);
  });
});
