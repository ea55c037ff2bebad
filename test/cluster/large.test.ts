// Messages larger than a ring record between two nodes: the sender's executor hands one to its main
// thread in chunks, the cluster carries it in the bulk lane, and the receiving main thread puts it
// into the target executor's ring in chunks (before, a peer's envelope larger than half a ring was
// a dead letter). Up to maxMessageBytes; a larger one is a dead letter on the receiving node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, startNode, type HordeNode } from '../../src/index.js';
import { text, type BurstMsg, type CollectorMsg, type ReporterMsg } from '../fixtures/large-behaviours.js';
import { rejectsWithCode } from '../support/errors.js';
import { eventually } from '../support/cluster.js';

const behaviours = [new URL('../fixtures/large-behaviours.ts', import.meta.url)];
const preload = [new URL('../support/register-tsx.mjs', import.meta.url)];
const SECRET = 'large-messages-secret-0123456789';
let a: HordeNode;
let b: HordeNode;

beforeAll(async () => {
  a = await startNode({ behaviours, preload, executors: 1, cluster: { name: 'large-a', secret: SECRET } });
  const seed = `${a.clusterAddress.host}:${a.clusterAddress.port}`;
  // b takes messages up to 2 MB: larger ones from a are dead letters there.
  b = await startNode({ behaviours, preload, executors: 1, maxMessageBytes: 2_000_000, cluster: { name: 'large-b', secret: SECRET, seeds: [seed] } });
  await eventually(() => a.members().some((m) => m.name === 'large-b' && m.state === 'up'), 30_000, 'a sees b up');
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

describe('large messages between two nodes', () => {
  it('asks a process on the other node with a 1.5 MB message and gets 1.5 MB back', async () => {
    const echo = await b.spawn('echo');
    const message = text(1_500_000, 4);
    expect(await a.ask(echo, message, { timeoutMs: 60_000 })).toBe(message);
  }, 90_000);

  it('carries large messages from a process to a process on the other node in order with small ones, and a reply too large for the receiver is a dead letter there', async () => {
    const burster = await a.spawn<BurstMsg>('burster');
    const collector = await b.spawn<CollectorMsg>('collector');
    const sizes = [5, 1_900_000, 6, 700_000, 7];
    expect(await a.ask(burster, { type: 'burst', to: collector, sizes }, { timeoutMs: 60_000 })).toBe(sizes.length);
    let seen: { seq: number; length: number; intact: boolean }[] = [];
    await eventually(async () => {
      seen = await b.ask(collector, { type: 'seen' }, { timeoutMs: 30_000 });
      return seen.length === sizes.length;
    }, 60_000, 'every message arrived');
    expect(seen).toEqual(sizes.map((length, seq) => ({ seq, length, intact: true })));

    // 2.5 MB from a (whose limit is 64 MiB) to b (2 MB): refused on b's side, counted there.
    const before = (await b.status()).deadLetters;
    const reporter = await a.spawn<ReporterMsg>('reporter');
    const relay = await b.spawn('echo');
    await rejectsWithCode(b.ask(relay, 'x'.repeat(2_500_000)), ErrorCode.MESSAGE_TOO_LARGE);
    await rejectsWithCode(b.ask(reporter, { type: 'text', length: 2_500_000, seed: 1 }, { timeoutMs: 2_000 }), ErrorCode.TIMEOUT);
    await eventually(async () => (await b.status()).deadLetters > before, 10_000, 'the reply counted as a dead letter on b');
    expect(await b.ask(reporter, { type: 'text', length: 1_000_000, seed: 2 }, { timeoutMs: 60_000 })).toBe(text(1_000_000, 2));
  }, 120_000);
});
