// The ring across real worker threads: seeded property runs with a sequence verifier and canaries,
// many producers into one fair consumer, park/wake stress, and a main-thread consumer that never
// blocks its event loop.
import { afterEach, describe, expect, it } from 'vitest';
import type { Worker } from 'node:worker_threads';
import { Doorbell } from '../../src/ring/doorbell.js';
import { InboundRings } from '../../src/ring/inbound.js';
import { createRing, maxPayloadFor, type RingHandle } from '../../src/ring/ring.js';
import type { ConsumeData, ConsumeResult, PingPongData, ProduceData } from '../fixtures/ring-worker.js';
import { checkRecord, damagedCanaries, plantCanaries, recordLength } from '../support/records.js';
import { seededRandom } from '../support/seeded.js';
import { nextMessage, startFixtureWorker } from '../support/workers.js';

const fixture = new URL('../fixtures/ring-worker.ts', import.meta.url);
const running: Worker[] = [];

function start(data: ProduceData | ConsumeData | PingPongData): Worker {
  const worker = startFixtureWorker(fixture, { ...data });
  running.push(worker);
  return worker;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((worker) => worker.terminate()));
});

interface Lane {
  capacity: number;
  count: number;
  maxBatch: number;
  seed: number;
}

async function runLanes(lanes: Lane[], budget: number, spin: number): Promise<{ result: ConsumeResult; rings: RingHandle[] }> {
  const bell = Doorbell.create();
  const rings = lanes.map((lane) => createRing({ capacity: lane.capacity, consumerBell: bell }));
  for (const ring of rings) plantCanaries(ring.buffer);
  const consumer = start({
    role: 'consume',
    bell: bell.buffer,
    rings,
    seeds: lanes.map((lane) => lane.seed),
    counts: lanes.map((lane) => lane.count),
    maxPayloads: lanes.map((lane) => maxPayloadFor(lane.capacity)),
    budget,
    spin,
  });
  const finished = nextMessage<ConsumeResult>(consumer, 'done');
  const producers = lanes.map((lane, i) =>
    nextMessage<{ written: number }>(
      start({ role: 'produce', ring: rings[i]!, seed: lane.seed, count: lane.count, maxBatch: lane.maxBatch }),
      'done',
    ),
  );
  const written = await Promise.all(producers);
  expect(written.map((w) => w.written)).toEqual(lanes.map((lane) => lane.count));
  return { result: await finished, rings };
}

describe('ring across worker threads', () => {
  it('delivers millions of seeded random records intact, in order, without touching canaries', async () => {
    // Small rings wrap constantly and fill up (exercising park on space); big ones batch deeply.
    const lanes: Lane[] = [
      { capacity: 64, count: 500_000, maxBatch: 3, seed: 1 },
      { capacity: 256, count: 500_000, maxBatch: 8, seed: 2 },
      { capacity: 4096, count: 800_000, maxBatch: 64, seed: 3 },
      { capacity: 65536, count: 200_000, maxBatch: 512, seed: 4 },
    ];
    for (const lane of lanes) {
      const { result, rings } = await runLanes([lane], 64, 200);
      expect(result.errors).toEqual([]);
      expect(result.received).toEqual([lane.count]);
      expect(damagedCanaries(rings[0]!.buffer)).toEqual([]);
    }
  }, 240_000);

  it('serves every ring with records in every pass when many producers share one consumer', async () => {
    const lanes: Lane[] = [
      { capacity: 1 << 16, count: 400_000, maxBatch: 1024, seed: 11 }, // the chatty one
      { capacity: 1024, count: 20_000, maxBatch: 2, seed: 12 },
      { capacity: 1024, count: 20_000, maxBatch: 2, seed: 13 },
      { capacity: 4096, count: 50_000, maxBatch: 16, seed: 14 },
    ];
    const { result } = await runLanes(lanes, 16, 100);
    expect(result.errors).toEqual([]);
    expect(result.received).toEqual(lanes.map((lane) => lane.count));
    expect(result.fairnessViolations).toBe(0);
    expect(result.budgetViolations).toBe(0);
    expect(result.passes).toBeGreaterThan(400_000 / 16 - 1);
  }, 120_000);

  it.each([
    ['parking at once', 0],
    ['after a short spin', 50],
  ])('loses no wake-up in a ping-pong stress loop, %s', async (_label, spin) => {
    const count = 50_000;
    const pingBell = Doorbell.create();
    const pongBell = Doorbell.create();
    // Rings of 64 bytes: a few records fill them, so the space wake-up is exercised as well.
    const toPong = createRing({ capacity: 64, consumerBell: pongBell, producerBell: pingBell });
    const toPing = createRing({ capacity: 64, consumerBell: pingBell, producerBell: pongBell });
    const pong = start({ role: 'pong', bell: pongBell.buffer, inbound: toPong, outbound: toPing, count, spin });
    const ping = start({ role: 'ping', bell: pingBell.buffer, inbound: toPing, outbound: toPong, count, spin });
    const [pingResult, pongResult] = await Promise.all([
      nextMessage<{ answered: number; mismatches: number; parks: number }>(ping, 'done'),
      nextMessage<{ answered: number; mismatches: number; parks: number }>(pong, 'done'),
    ]);
    expect(pingResult).toMatchObject({ answered: count, mismatches: 0 });
    expect(pongResult).toMatchObject({ answered: count, mismatches: 0 });
    // With no spin, nearly every round trip parks both sides: the stress really exercised parking.
    if (spin === 0) expect(pingResult.parks + pongResult.parks).toBeGreaterThan(count / 10);
  }, 120_000);

  it('wakes a producer parked on a full ring when the consumer frees space', async () => {
    const lane: Lane = { capacity: 64, count: 100_000, maxBatch: 16, seed: 21 };
    const { result, rings } = await runLanes([lane], 1, 0);
    expect(result.errors).toEqual([]);
    expect(result.received).toEqual([lane.count]);
    const producerBell = new Doorbell(rings[0]!.producerBell);
    expect(producerBell.parks).toBeGreaterThan(0);
  }, 120_000);
});

describe('main-thread consumer', () => {
  it('parks with waitAsync and keeps the event loop turning while it waits', async () => {
    const bell = Doorbell.create();
    const ring = createRing({ capacity: 4096, consumerBell: bell });
    const seed = 31;
    const count = 2_000;
    const lengths = seededRandom(seed);
    let received = 0;
    const errors: string[] = [];
    const inbound = new InboundRings(bell, (_ring, kind, bytes, offset, length) => {
      const problem = checkRecord(received, recordLength(lengths, maxPayloadFor(4096)), kind, bytes, offset, length);
      if (problem !== undefined) errors.push(problem);
      received++;
    });
    inbound.add(ring);

    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const producer = start({ role: 'produce', ring, seed, count, maxBatch: 4, pauseEvery: 100, pauseMs: 20 });
    const producerDone = nextMessage(producer, 'done');
    let parks = 0;
    try {
      while (received < count) {
        if (inbound.poll() > 0) continue;
        const outcome = await inbound.waitForWorkAsync({ timeoutMs: 30_000 });
        if (outcome === 'timed-out') throw new Error(`stalled after ${received} records`);
        if (outcome !== 'work') parks++;
      }
    } finally {
      clearInterval(ticker);
    }
    await producerDone;
    expect(errors).toEqual([]);
    expect(received).toBe(count);
    // The producer pauses 20 times for 20 ms: the consumer parked through those pauses while the
    // interval kept firing. Loose bounds: a loaded machine may fire fewer ticks, never none.
    expect(parks).toBeGreaterThan(5);
    expect(ticks).toBeGreaterThan(10);
  }, 60_000);
});
