// Messages larger than a ring record (half the ring) between the threads of a real node, through
// the public surface: a large reply to node.ask, large and small messages between executors in
// order, a 20 MB file through the file worker, and maxMessageBytes refusing at the sender.
import { describe, expect, it } from 'vitest';
import { ErrorCode, startNode, type HordeNode, type Pid } from '../../src/index.js';
import { checksum, fileBytes, report, text, type BurstMsg, type CollectorMsg, type FileRoundTripMsg, type ReporterMsg } from '../fixtures/large-behaviours.js';
import { testNodes } from '../support/nodes.js';
import { rejectsWithCode, throwsCode } from '../support/errors.js';

const behaviours = new URL('../fixtures/large-behaviours.ts', import.meta.url);
const preload = new URL('../support/register-tsx.mjs', import.meta.url);
const { node } = testNodes('horde-large-', { behaviours: [behaviours], preload: [preload], executors: 2 });

type Seen = { seq: number; length: number; intact: boolean }[];

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Asks the collector what it got until it got `count` messages (they come from another thread than the ask). */
async function collected(n: HordeNode, collector: Pid<CollectorMsg>, count: number): Promise<Seen> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const seen = await n.ask<Seen>(collector, { type: 'seen' }, { timeoutMs: 30_000 });
    if (seen.length >= count || Date.now() > deadline) return seen;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('messages larger than a ring record', () => {
  it('answers node.ask with a report of about 4 MB (the ring holds records of 512 KiB)', async () => {
    const n = await node();
    const reporter = await n.spawn<ReporterMsg>('reporter', undefined, { shard: 1 });
    const answer = await n.ask<unknown[]>(reporter, { type: 'report', count: 100_000 }, { timeoutMs: 60_000 });
    const json = JSON.stringify(answer);
    expect(json.length).toBeGreaterThan(4_000_000);
    expect(json === JSON.stringify(report(100_000)), 'the answer is the report').toBe(true);
    expect((await n.status()).deadLetters).toBe(0);
  }, 90_000);

  it('carries large and small messages between executors, and to and from the main thread, in order and intact', async () => {
    // A 64 KiB ring: a 3 MB message is 48 ring-fulls, so every large message waits in the
    // sender's overflow while the small ones behind it wait too.
    const n = await node({ ringCapacity: 1 << 16 });
    const burster = await n.spawn<BurstMsg>('burster', undefined, { shard: 0 });
    const collector = await n.spawn<CollectorMsg>('collector', undefined, { shard: 1 });
    const sizes = [10, 3_000_000, 20, 100_000, 5, 40_000, 1_000_000, 1, 33_000, 200];
    expect(await n.ask(burster, { type: 'burst', to: collector, sizes }, { timeoutMs: 60_000 })).toBe(sizes.length);
    const seen = await collected(n, collector, sizes.length);
    expect(seen).toEqual(sizes.map((length, seq) => ({ seq, length, intact: true })));

    // From the main thread: large sends between small ones, and a large ask whose answer is large.
    const fromMain = await n.spawn<CollectorMsg>('collector', undefined, { shard: 0 });
    const mainSizes = [7, 2_000_000, 8, 700_000, 9];
    mainSizes.forEach((length, seq) => n.send(fromMain, { seq, body: text(length, seq) }));
    expect(await collected(n, fromMain, mainSizes.length)).toEqual(mainSizes.map((length, seq) => ({ seq, length, intact: true })));
    const reporter = await n.spawn<ReporterMsg>('reporter', undefined, { shard: 0 });
    expect(await n.ask(reporter, { type: 'text', length: 1_500_000, seed: 3 }, { timeoutMs: 60_000 })).toBe(text(1_500_000, 3));
    expect((await n.status()).deadLetters).toBe(0);
  }, 120_000);

  it('writes a 20 MB file with ctx.io and reads it back (request and answer through the file worker)', async () => {
    const n = await node();
    const client = await n.spawn<FileRoundTripMsg>('file-roundtrip', undefined, { shard: 1 });
    const bytes = 20_000_000;
    const result = await n.ask<{ ok: boolean; length?: number; sum?: number; error?: unknown }>(client, { type: 'roundtrip', path: 'large.bin', bytes }, { timeoutMs: 120_000 });
    expect(result).toEqual({ ok: true, length: bytes, sum: checksum(fileBytes(bytes)) });
  }, 180_000);

  it('refuses a message over maxMessageBytes at the sender with HORDE_MESSAGE_TOO_LARGE; the sending process keeps running', async () => {
    await rejectsWithCode(startNode({ behaviours: [behaviours], maxMessageBytes: 100 }), ErrorCode.INVALID_OPTION);
    await rejectsWithCode(startNode({ behaviours: [behaviours], maxMessageBytes: 1.5 * 2 ** 20 + 0.5 }), ErrorCode.INVALID_OPTION);
    const n = await node({ maxMessageBytes: 1 << 20 });
    const refusals: { from: Pid; to: Pid; error: { code: string } }[] = [];
    n.on('messageRefused', (detail: { from: Pid; to: Pid; error: { code: string } }) => refusals.push(detail));
    const burster = await n.spawn<BurstMsg>('burster', undefined, { shard: 0 });
    const collector = await n.spawn<CollectorMsg>('collector', undefined, { shard: 1 });
    const sizes = [10, 900_000, 2_000_000, 11];
    expect(await n.ask(burster, { type: 'burst', to: collector, sizes })).toBe(sizes.length);
    const seen = await collected(n, collector, 3);
    expect(seen.map((each) => each.seq)).toEqual([0, 1, 3]);
    // The event comes over the executor's port, not the rings: it may arrive after the messages.
    await until(() => refusals.length > 0);
    expect(refusals).toEqual([{ from: burster, to: collector, error: expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }) as unknown }]);
    expect(await n.ask(burster, { type: 'ping' }), 'the sender still runs').toBe('pong');
    expect((await n.status()).processCrashes).toBe(0);

    // The main thread: node.send throws at once, node.ask rejects; nothing is sent either way.
    throwsCode(() => n.send(collector, { seq: 9, body: text(2_000_000, 9) }), ErrorCode.MESSAGE_TOO_LARGE);
    await rejectsWithCode(n.ask(collector, { seq: 10, body: text(2_000_000, 10) }), ErrorCode.MESSAGE_TOO_LARGE);
    // An answer too large is refused at the process that answers: the ask gets no answer.
    const reporter = await n.spawn<ReporterMsg>('reporter', undefined, { shard: 1 });
    await rejectsWithCode(n.ask(reporter, { type: 'text', length: 2_000_000, seed: 1 }, { timeoutMs: 1_000 }), ErrorCode.TIMEOUT);
    await until(() => refusals.length > 1);
    expect(refusals.map((each) => each.from)).toEqual([burster, reporter]);
    expect(await n.ask(reporter, { type: 'text', length: 1000, seed: 1 })).toBe(text(1000, 1));
    expect((await collected(n, collector, 3)).map((each) => each.seq)).toEqual([0, 1, 3]);
    // A file request too large to send is answered with the error, as the file worker would.
    const client = await n.spawn<FileRoundTripMsg>('file-roundtrip', undefined, { shard: 0 });
    const result = await n.ask<{ ok: boolean; error?: { code: string } }>(client, { type: 'roundtrip', path: 'too-large.bin', bytes: 2_000_000 });
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.MESSAGE_TOO_LARGE } });
  }, 60_000);
});
