// Service threads that die are replaced like executors: what they held is answered or started
// again, durable logs reopen, restarts are counted and bounded. Real nodes through the public API.
import { describe, expect, it } from 'vitest';
import { ErrorCode, HordeError, type HordeNode } from '../../src/index.js';
import type { IoRequest, LogReadAnswer } from '../../src/process/io.js';
import type { Pid } from '../../src/process/pid.js';
import type { TimerClientMsg } from '../fixtures/behaviours.js';
import { eventually } from '../support/cluster.js';
import { testNodes } from '../support/nodes.js';
import { rejectsWithCode } from '../support/errors.js';

const behaviours = new URL('../fixtures/behaviours.ts', import.meta.url);
const computeModule = new URL('../fixtures/compute.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
const { node } = testNodes('horde-service-restart-', { behaviours: [behaviours], preload: [preload], computeModules: [computeModule], computeThreads: 1, executors: 2 });

type IoAnswer = { ok: boolean; value: unknown; error?: { code: string; message: string } };

function io(n: HordeNode, client: Pid<IoRequest>, request: IoRequest): Promise<IoAnswer> {
  return n.ask<IoAnswer>(client, request, { timeoutMs: 30_000 });
}

function record(i: number): string {
  return `record-${String(i).padStart(6, '0')}-`.padEnd(64, 'x');
}

async function appendAll(n: HordeNode, client: Pid<IoRequest>, log: string, from: number, count: number): Promise<void> {
  // In batches well under the file worker's 4,096 requests in flight.
  for (let start = from; start < from + count; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, from + count - start) }, (_, i) => io(n, client, { op: 'logAppend', log, record: record(start + i) }));
    for (const answer of await Promise.all(batch)) expect(answer.ok).toBe(true);
  }
}

async function readAll(n: HordeNode, client: Pid<IoRequest>, log: string): Promise<string[]> {
  const records: string[] = [];
  let offset = 0;
  for (;;) {
    const answer = await io(n, client, { op: 'logRead', log, offset });
    expect(answer.ok).toBe(true);
    const page = answer.value as LogReadAnswer;
    for (const each of page.records) records.push(new TextDecoder().decode(each.data));
    offset = page.nextOffset;
    if (offset === page.endOffset) return records;
  }
}

describe('a file worker that dies', () => {
  it('answers the requests it held with HORDE_WORKER_EXITED, is replaced, and its durable logs reopen whole', async () => {
    const n = await node();
    const crashes: { name: string; code: number; restarts: number }[] = [];
    n.on('serviceCrashed', (crash: { name: string; code: number; restarts: number }) => crashes.push(crash));
    const client = await n.spawn<IoRequest>('io-client', undefined, { shard: 0 });
    const other = await n.spawn<IoRequest>('io-client', undefined, { shard: 1 });
    await appendAll(n, client, 'journal', 0, 200);

    // One request in flight (a compute task running on the pool) when the thread stalls and dies,
    // and more sent while it stalls: those wait unread in its rings.
    const inFlight = io(n, client, { op: 'compute', task: 'spin', input: 5000 });
    await eventually(async () => (await n.status()).services.fileio!.inFlight === 1);
    n.failServiceThread('fileio', 1500);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // (Slow ones: should the thread read one before it stalls, it is still in flight when it dies.)
    const unread = [io(n, client, { op: 'compute', task: 'spin', input: 5000 }), io(n, other, { op: 'compute', task: 'spin', input: 5000 })];
    for (const answer of await Promise.all([inFlight, ...unread])) {
      expect(answer).toMatchObject({ ok: false, error: { code: ErrorCode.WORKER_EXITED } });
    }
    expect(crashes).toMatchObject([{ name: 'fileio', code: 70, restarts: 0 }]);

    // The replacement serves io, compute and the durable log, which holds every acknowledged record.
    expect(await io(n, other, { op: 'compute', task: 'square', input: 12 })).toMatchObject({ ok: true, value: 144 });
    expect((await io(n, client, { op: 'stat', path: '.' })).ok).toBe(true);
    await appendAll(n, other, 'journal', 200, 10);
    const records = await readAll(n, client, 'journal');
    expect(records).toEqual(Array.from({ length: 210 }, (_, i) => record(i)));
    const status = await n.status();
    expect(status.services.fileio!.restarts).toBe(1);
    expect(status.services.poller!.restarts).toBe(0);
    expect(status.executors.reduce((sum, e) => sum + e.pendingIo, 0)).toBe(0);
  }, 60_000);
});

describe('a poller that dies', () => {
  it('is replaced with every pending timer kept: one-shot and repeating timers of processes, and node.every ticks', async () => {
    const n = await node();
    const crashed = new Promise((resolve) => n.once('serviceCrashed', resolve));
    const once = await n.spawn<TimerClientMsg>('timer-client', undefined, { shard: 0 });
    const repeating = await n.spawn<TimerClientMsg>('timer-client', undefined, { shard: 1 });
    let ticks = 0;
    n.every(100, () => ticks++);
    await n.ask(once, { type: 'start', ms: 4000 });
    await n.ask(repeating, { type: 'start', ms: 100, repeat: true });
    await eventually(async () => ticks >= 2 && (await n.ask<number[]>(repeating, { type: 'report' })).length >= 2);
    // Die well before the one-shot timer is due: started again from scratch it would fire 2 s late.
    await new Promise((resolve) => setTimeout(resolve, 2000 - 300));
    n.failServiceThread('poller');
    await crashed;
    const ticksBefore = ticks;
    const firesBefore = (await n.ask<number[]>(repeating, { type: 'report' })).length;
    await eventually(async () => (await n.status()).services.poller!.restarts === 1);

    await eventually(async () => ticks >= ticksBefore + 3 && (await n.ask<number[]>(repeating, { type: 'report' })).length >= firesBefore + 3);
    await eventually(async () => (await n.ask<number[]>(once, { type: 'report' })).length === 1);
    const [elapsed] = await n.ask<number[]>(once, { type: 'report' });
    // Due when it was due: not early, and well before the 6 s a restart from scratch would give.
    expect(elapsed).toBeGreaterThanOrEqual(3999);
    expect(elapsed).toBeLessThan(5900);
    expect((await n.status()).services.poller!.timers).toBe(2);
  }, 60_000);
});

describe('restart intensity', () => {
  it('stops the node with HORDE_RESTART_INTENSITY once a service thread dies more often than allowed', async () => {
    const n = await node({ serviceRestartIntensity: 1, serviceRestartPeriodMs: 60_000 });
    const crashes: unknown[] = [];
    n.on('serviceCrashed', (crash) => crashes.push(crash));
    const failed = new Promise<HordeError>((resolve) => n.on('nodeFailed', resolve));
    n.failServiceThread('poller');
    await eventually(async () => (await n.status()).services.poller!.restarts === 1);
    n.failServiceThread('poller');
    const error = await failed;
    expect(error).toBeInstanceOf(HordeError);
    expect(error.code).toBe(ErrorCode.RESTART_INTENSITY);
    expect(error.message).toContain('poller');
    expect(crashes).toHaveLength(2);
    await eventually(() => {
      try {
        n.send({ node: 0, shard: 0, serial: 1 }, 'x');
        return false;
      } catch (refused) {
        return (refused as HordeError).code === ErrorCode.NODE_STOPPED && (refused as Error).cause === error;
      }
    });
    await rejectsWithCode(n.status(), ErrorCode.NODE_STOPPED);
  }, 60_000);

  it('validates its options', async () => {
    await rejectsWithCode(node({ serviceRestartIntensity: -1 }), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(node({ serviceRestartPeriodMs: 0 }), ErrorCode.INVALID_OPTION);
  });
});
