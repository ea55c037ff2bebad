// The node's service threads for real: timers from the poller worker, files, durable logs and
// compute from the file worker, all answered as messages.
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import type { HordeNode } from '../../src/node/node.js';
import type { IoRequest, LogReadAnswer } from '../../src/process/io.js';
import type { Pid } from '../../src/process/pid.js';
import type { CounterMsg, TimerClientMsg } from '../fixtures/behaviours.js';
import { eventually } from '../support/cluster.js';
import { testNodes } from '../support/nodes.js';

const behaviours = new URL('../fixtures/behaviours.ts', import.meta.url);
const computeModule = new URL('../fixtures/compute.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
const { node, dataDir } = testNodes('horde-services-', { behaviours: [behaviours], preload: [preload], computeModules: [computeModule], computeThreads: 1, executors: 2 });

type IoAnswer = { ok: boolean; value: unknown; error?: { code: string; message: string } };

describe('timers', () => {
  // Documented tolerance: a timer fires no earlier than its delay and, on a loaded 2-core machine,
  // within a second of it (the poller itself adds the 1 ms tick and a wake-up).
  it('fires once after the delay, not before, within the tolerance', async () => {
    const n = await node();
    const client = await n.spawn<TimerClientMsg>('timer-client');
    await n.ask(client, { type: 'start', ms: 50 });
    await eventually(async () => (await n.ask<number[]>(client, { type: 'report' })).length === 1);
    const [elapsed] = await n.ask<number[]>(client, { type: 'report' });
    expect(elapsed).toBeGreaterThanOrEqual(49);
    expect(elapsed).toBeLessThan(1050);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await n.ask<number[]>(client, { type: 'report' })).toHaveLength(1);
  });

  it('repeats until cancelled; a cancelled timer does not fire', async () => {
    const n = await node();
    const repeating = await n.spawn<TimerClientMsg>('timer-client');
    await n.ask(repeating, { type: 'start', ms: 20, repeat: true });
    await eventually(async () => (await n.ask<number[]>(repeating, { type: 'report' })).length >= 3);
    await n.ask(repeating, { type: 'cancel' });
    const count = (await n.ask<number[]>(repeating, { type: 'report' })).length;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await n.ask<number[]>(repeating, { type: 'report' })).length).toBeLessThanOrEqual(count + 1);

    const cancelled = await n.spawn<TimerClientMsg>('timer-client');
    await n.ask(cancelled, { type: 'start', ms: 100 });
    await n.ask(cancelled, { type: 'cancel' });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await n.ask<number[]>(cancelled, { type: 'report' })).toEqual([]);
  });

  it('drops the timers of a process that ends, and refuses a negative delay at the caller', async () => {
    const n = await node();
    const client = await n.spawn<TimerClientMsg>('timer-client');
    await n.ask(client, { type: 'start', ms: 60_000, repeat: true });
    await eventually(async () => (await n.status()).services.poller!.timers === 1);
    const crashes: { reason: { code: string } }[] = [];
    n.on('processCrashed', (detail: { reason: { code: string } }) => crashes.push(detail));
    n.send(client, { type: 'bad-timer' });
    await eventually(() => crashes.length === 1);
    expect(crashes[0]!.reason.code).toBe(ErrorCode.INVALID_TIMER);
    await eventually(async () => (await n.status()).services.poller!.timers === 0);
  });

  it('drives the node’s periodic ticks through the same wheel', async () => {
    const n = await node();
    let ticks = 0;
    const stop = n.every(10, () => ticks++);
    await eventually(() => ticks >= 3);
    stop();
    expect(() => n.every(-5, () => undefined)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_TIMER }) as Error);
  });
});

describe('file I/O', () => {
  async function io(n: HordeNode, client: Pid<IoRequest>, request: IoRequest): Promise<IoAnswer> {
    return n.ask<IoAnswer>(client, request);
  }

  it('writes, appends, reads, stats, lists, replaces and removes files in the data directory', async () => {
    const n = await node();
    const client = await n.spawn<IoRequest>('io-client');
    expect(await io(n, client, { op: 'write', path: 'notes/a.txt', data: 'hello' })).toMatchObject({ ok: false, error: { code: 'ENOENT' } });
    expect((await io(n, client, { op: 'write', path: 'a.txt', data: 'hello' })).ok).toBe(true);
    expect((await io(n, client, { op: 'append', path: 'a.txt', data: ' world' })).ok).toBe(true);
    expect((await io(n, client, { op: 'fsync', path: 'a.txt' })).ok).toBe(true);
    expect(await io(n, client, { op: 'read', path: 'a.txt', encoding: 'utf8' })).toMatchObject({ ok: true, value: 'hello world' });
    expect(await io(n, client, { op: 'stat', path: 'a.txt' })).toMatchObject({ ok: true, value: { size: 11, isFile: true } });
    expect((await io(n, client, { op: 'replace', path: 'a.txt', data: new TextEncoder().encode('new') })).ok).toBe(true);
    const read = await io(n, client, { op: 'read', path: 'a.txt' });
    expect(new TextDecoder().decode(read.value as Uint8Array)).toBe('new');
    expect(((await io(n, client, { op: 'list', path: '.' })).value as string[])).toContain('a.txt');
    expect((await io(n, client, { op: 'remove', path: 'a.txt' })).ok).toBe(true);
    expect(await io(n, client, { op: 'read', path: 'a.txt' })).toMatchObject({ ok: false, error: { code: 'ENOENT' } });
  });

  it('refuses paths that leave the data directory', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'horde-outside-'));
    await writeFile(join(outside, 'secret'), 'x');
    await symlink(outside, join(dataDir(), 'escape'));
    const n = await node();
    const client = await n.spawn<IoRequest>('io-client');
    for (const path of ['/etc/passwd', '../x', 'a/../../x', 'escape/secret']) {
      const answer = await io(n, client, { op: 'read', path });
      expect(answer.ok).toBe(false);
      expect(answer.error!.code).toMatch(/^HORDE_(PATH_OUTSIDE_DATA_DIR|INVALID_PATH)$/);
    }
    await rm(outside, { recursive: true, force: true });
    await rm(join(dataDir(), 'escape'));
  });

  it('appends to a durable log and reads the acknowledged records back', async () => {
    const n = await node();
    const client = await n.spawn<IoRequest>('io-client');
    const offsets: number[] = [];
    for (const record of ['one', 'two', 'three']) {
      const answer = await io(n, client, { op: 'logAppend', log: 'events', record });
      expect(answer.ok).toBe(true);
      offsets.push((answer.value as { offset: number }).offset);
    }
    const read = await io(n, client, { op: 'logRead', log: 'events', offset: 0 });
    const records = (read.value as { records: { offset: number; data: Uint8Array }[] }).records;
    expect(records.map((r) => new TextDecoder().decode(r.data))).toEqual(['one', 'two', 'three']);
    expect(records.map((r) => r.offset)).toEqual(offsets);
    expect(await io(n, client, { op: 'logAppend', log: '../evil', record: 'x' })).toMatchObject({ ok: false });
  });

  it('pages logRead by bytes: a read asking for 100,000 records of a big log answers in bounded pages', async () => {
    const n = await node();
    const client = await n.spawn<IoRequest>('io-client');
    const record = (i: number): string => `record-${String(i).padStart(6, '0')}-`.padEnd(64, 'x');
    // In batches well under the file worker's 4,096 requests in flight.
    for (let start = 0; start < 10_000; start += 1000) {
      const batch = Array.from({ length: 1000 }, (_, i) => io(n, client, { op: 'logAppend', log: 'big', record: record(start + i) }));
      for (const answer of await Promise.all(batch)) expect(answer.ok).toBe(true);
    }
    const readAll = async (limits: { maxRecords?: number; maxBytes?: number }): Promise<{ records: string[]; pages: number[] }> => {
      const records: string[] = [];
      const pages: number[] = [];
      let offset = 0;
      for (;;) {
        const answer = await io(n, client, { op: 'logRead', log: 'big', offset, ...limits });
        expect(answer.ok).toBe(true);
        const page = answer.value as LogReadAnswer;
        pages.push(page.records.length);
        for (const each of page.records) records.push(new TextDecoder().decode(each.data));
        offset = page.nextOffset;
        if (offset === page.endOffset) return { records, pages };
      }
    };
    const first = (await io(n, client, { op: 'logRead', log: 'big', offset: 0, maxRecords: 100_000 })).value as LogReadAnswer;
    expect(first.records.length).toBeGreaterThan(0);
    expect(first.records.length).toBeLessThan(10_000);
    expect(first.nextOffset).toBeLessThan(first.endOffset);
    const all = await readAll({ maxRecords: 100_000 });
    expect(all.records).toEqual(Array.from({ length: 10_000 }, (_, i) => record(i)));
    expect(all.pages.length).toBeGreaterThan(1);
    // An explicit maxBytes: each record counts its 64 bytes and 64 of framing.
    const small = await readAll({ maxRecords: 100_000, maxBytes: 64 * 128 });
    expect(small.records).toHaveLength(10_000);
    expect(Math.max(...small.pages)).toBeLessThanOrEqual(64);
    expect(await io(n, client, { op: 'logRead', log: 'big', offset: 0, maxBytes: 0 })).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_IO_REQUEST } });
  }, 60_000);

  it('answers with an error, instead of ending the file worker, when the answer cannot be carried back', async () => {
    const n = await node();
    const crashes: unknown[] = [];
    n.on('serviceCrashed', (crash) => crashes.push(crash));
    const client = await n.spawn<IoRequest>('io-client');
    expect(await io(n, client, { op: 'compute', task: 'cycle', input: null })).toMatchObject({ ok: false, error: { code: ErrorCode.UNENCODABLE_MESSAGE } });
    expect(await io(n, client, { op: 'compute', task: 'square', input: 3 })).toMatchObject({ ok: true, value: 9 });
    expect((await n.status()).services.fileio!.refusedAnswers).toBe(1);
    expect(crashes).toEqual([]);
  });

  it('refuses file requests on a node without a data directory', async () => {
    const n = await node({ dataDir: undefined });
    const client = await n.spawn<IoRequest>('io-client');
    expect(await io(n, client, { op: 'read', path: 'a.txt' })).toMatchObject({ ok: false, error: { code: ErrorCode.NO_DATA_DIR } });
  });
});

describe('compute offload', () => {
  it('runs tasks on the pool and answers with the result or the error', async () => {
    const n = await node();
    const client = await n.spawn<IoRequest>('io-client');
    expect(await n.ask(client, { op: 'compute', task: 'square', input: 12 })).toMatchObject({ ok: true, value: 144 });
    expect(await n.ask(client, { op: 'compute', task: 'fail', input: null })).toMatchObject({ ok: false, error: { code: 'E_TASK', message: 'the task refuses' } });
    expect(await n.ask(client, { op: 'compute', task: 'nope', input: null })).toMatchObject({ ok: false, error: { code: ErrorCode.UNKNOWN_TASK } });
  });

  it('keeps another process on the same shard responsive while a heavy task runs', async () => {
    const n = await node();
    const client = await n.spawn<IoRequest>('io-client', undefined, { shard: 0 });
    const counter = await n.spawn<CounterMsg>('counter', undefined, { shard: 0 });
    const heavy = n.ask(client, { op: 'compute', task: 'spin', input: 1500 }, { timeoutMs: 30_000 });
    const started = Date.now();
    let answers = 0;
    while (Date.now() - started < 1000) {
      expect(await n.ask(counter, { type: 'get' })).toBe(0);
      answers++;
    }
    expect(answers).toBeGreaterThan(5);
    expect(await heavy).toMatchObject({ ok: true });
  });
});
