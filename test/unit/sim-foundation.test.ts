// The simulator's foundation on its own: the seeded generator, the event loop (order, pauses,
// bounds, the trace hash), a node's clocks and timers (skew, drift, pause) and the simulated
// network (order and exactly-once through random splits, partitions that hold and heal, crashes,
// refusals, back pressure). No real time passes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, SimNetwork, SimNodeTime, SimRandom, SimScheduler, TraceHash, type ByteStream } from '../../src/index.js';

describe('SimRandom', () => {
  it('draws the same sequence from the same seed, another from another, and stays in range', () => {
    const draw = (seed: number): number[] => {
      const random = new SimRandom(seed);
      return Array.from({ length: 100 }, () => random.next());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    const random = new SimRandom(3);
    for (let i = 0; i < 10_000; i++) {
      const n = random.int(5);
      expect(n >= 0 && n < 5 && Number.isInteger(n)).toBe(true);
      const x = random.next();
      expect(x >= 0 && x < 1).toBe(true);
    }
    expect(() => random.pick([])).toThrow(RangeError);
  });

  it('forks streams that do not depend on what the parent draws later', () => {
    const a = new SimRandom(11);
    const b = new SimRandom(11);
    const forkA = a.fork();
    const forkB = b.fork();
    a.next();
    a.next();
    expect([forkA.next(), forkA.next()]).toEqual([forkB.next(), forkB.next()]);
  });
});

describe('SimScheduler', () => {
  it('runs events by time, then in the order they were scheduled, and hashes the run', async () => {
    const order: string[] = [];
    const scheduler = new SimScheduler(1);
    scheduler.at(5, () => order.push('b'), 'b');
    scheduler.at(1, () => order.push('a'), 'a');
    scheduler.at(5, () => order.push('c'), 'c');
    const dropped = scheduler.at(3, () => order.push('dropped'), 'dropped');
    scheduler.cancel(dropped);
    expect(await scheduler.run()).toBe(3);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(scheduler.now).toBe(5);
    const again = new SimScheduler(1);
    again.at(5, () => undefined, 'b');
    again.at(1, () => undefined, 'a');
    again.at(5, () => undefined, 'c');
    await again.run();
    expect(again.trace.hex()).toBe(scheduler.trace.hex());
    const other = new SimScheduler(1);
    other.at(5, () => undefined, 'c');
    other.at(1, () => undefined, 'a');
    other.at(5, () => undefined, 'b');
    await other.run();
    expect(other.trace.hex()).not.toBe(scheduler.trace.hex());
  });

  it('lets promises settle between events', async () => {
    const scheduler = new SimScheduler(1);
    const seen: string[] = [];
    scheduler.at(1, () => {
      void Promise.resolve().then(() => Promise.resolve()).then(() => seen.push('settled'));
    }, 'first');
    scheduler.at(1, () => seen.push('second'), 'second');
    await scheduler.run();
    expect(seen).toEqual(['settled', 'second']);
  });

  it('lets a promise chain of any depth settle before the next event', async () => {
    const scheduler = new SimScheduler(1);
    const seen: string[] = [];
    scheduler.at(1, () => {
      let chain = Promise.resolve(0);
      for (let i = 0; i < 100; i++) chain = chain.then((n) => Promise.resolve(n + 1));
      void chain.then((n) => seen.push(`settled ${n}`));
    }, 'first');
    scheduler.at(1, () => seen.push('second'), 'second');
    await scheduler.run();
    expect(seen).toEqual(['settled 100', 'second']);
  });

  it('holds a paused node\'s events and runs them in order when it resumes; others go on', async () => {
    const scheduler = new SimScheduler(1);
    const seen: string[] = [];
    scheduler.pause('n1');
    scheduler.at(10, () => seen.push(`n1 a ${scheduler.now}`), 'a', 'n1');
    scheduler.at(20, () => seen.push(`n2 ${scheduler.now}`), 'x', 'n2');
    scheduler.at(30, () => seen.push(`n1 b ${scheduler.now}`), 'b', 'n1');
    scheduler.at(100, () => scheduler.resume('n1'), 'resume');
    await scheduler.run();
    expect(seen).toEqual(['n2 20', 'n1 a 100', 'n1 b 100']);
  });

  it('stops at untilMs, at until(), and throws HORDE_SIM_STALLED past maxEvents', async () => {
    const scheduler = new SimScheduler(1);
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      scheduler.after(10, tick, 'tick');
    };
    scheduler.after(10, tick, 'tick');
    await scheduler.run({ untilMs: 55 });
    expect(ticks).toBe(5);
    expect(scheduler.now).toBe(55);
    await scheduler.run({ until: () => ticks === 8 });
    expect(ticks).toBe(8);
    await expect(scheduler.run({ maxEvents: 50 })).rejects.toMatchObject({ code: ErrorCode.SIM_STALLED });
  });
});

describe('TraceHash', () => {
  const hashOf = (...values: unknown[]): string => {
    const trace = new TraceHash();
    for (const value of values) {
      trace.value(value);
      trace.end();
    }
    return trace.hex();
  };

  it('hashes values by their structure: alike when equal, different when any part differs', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const value = { type: 'put', key: 'k', n: 1.5, big: 7n, list: [1, 'x', null, undefined, true], bytes: Uint8Array.of(1, 2), when: new Date(5), map: new Map([[1, 'a']]), set: new Set([2]) };
    expect(hashOf(structuredClone(value))).toBe(hashOf(value));
    expect(hashOf(cyclic)).toBe(hashOf(cyclic));
    const different = [
      { ...value, n: 2.5 },
      { ...value, key: 'K' },
      { ...value, big: 8n },
      { ...value, list: [1, 'x', null, undefined, false] },
      { ...value, bytes: Uint8Array.of(1, 3) },
      { ...value, when: new Date(6) },
      { ...value, map: new Map([[1, 'b']]) },
      { ...value, set: new Set([3]) },
    ];
    const hashes = new Set([hashOf(value), ...different.map((each) => hashOf(each))]);
    expect(hashes.size).toBe(different.length + 1);
    expect(hashOf(1)).not.toBe(hashOf('1'));
    expect(hashOf([])).not.toBe(hashOf({}));
    expect(hashOf('ab', 'c')).not.toBe(hashOf('a', 'bc'));
  });
});

describe('SimNodeTime', () => {
  it('fires timers on the node\'s own clock: skew moves the wall clock only, drift the rate, a pause delays them', async () => {
    const scheduler = new SimScheduler(1);
    const fast = new SimNodeTime(scheduler, 'fast', 1_000);
    const slow = new SimNodeTime(scheduler, 'slow', 1_000);
    fast.drift(2);
    const fired: string[] = [];
    fast.timeout(() => fired.push(`fast ${scheduler.now} local ${fast.monotonicMs()}`), 100);
    slow.timeout(() => fired.push(`slow ${scheduler.now} local ${slow.monotonicMs()}`), 100);
    slow.skew(5_000);
    expect(slow.wallMs()).toBe(6_000);
    expect(slow.monotonicMs()).toBe(0);
    await scheduler.run();
    expect(fired).toEqual(['fast 50 local 100', 'slow 100 local 100']);

    const ticks: number[] = [];
    const handle = slow.interval(() => ticks.push(scheduler.now), 10);
    scheduler.at(125, () => scheduler.pause('slow'), 'pause');
    scheduler.at(200, () => scheduler.resume('slow'), 'resume');
    scheduler.at(231, () => slow.clear(handle), 'stop', 'slow');
    await scheduler.run();
    // 110, 120 before the pause; the 130 tick fires late at 200 (the clock ran on meanwhile),
    // then every 10 ms from there.
    expect(ticks).toEqual([110, 120, 200, 210, 220, 230]);
    expect(slow.pending).toBe(0);
  });
});

/** Collects what a stream hands over, and whether it closed. */
function reader(stream: ByteStream): { bytes: number[]; closed: boolean; errors: string[] } {
  const seen = { bytes: [] as number[], closed: false, errors: [] as string[] };
  stream.on('data', (chunk) => seen.bytes.push(...chunk));
  stream.on('close', () => {
    seen.closed = true;
  });
  stream.on('error', (error) => seen.errors.push((error as Error & { code?: string }).code ?? error.message));
  return seen;
}

async function connectedPair(network: SimNetwork): Promise<{ client: ByteStream; server: ByteStream }> {
  let server: ByteStream | undefined;
  await network.transport('b').listen({ host: 'b', port: 9 }, (stream) => (server = stream), { refused: () => undefined, error: () => undefined });
  const client = network.transport('a').dial({ host: 'b', port: 9 });
  await network.scheduler.run({ until: () => server !== undefined });
  return { client, server: server! };
}

describe('SimNetwork', () => {
  it('delivers every byte in order, once, through random splits and latencies, for any seed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 30 }), async (seed, sizes) => {
        const scheduler = new SimScheduler(seed);
        const network = new SimNetwork(scheduler, { latency: { baseMs: 1, jitterMs: 5 } });
        const { client, server } = await connectedPair(network);
        const got = reader(server);
        const sent: number[] = [];
        let n = 0;
        for (const size of sizes) {
          const bytes = Uint8Array.from({ length: size }, () => n++ & 0xff);
          sent.push(...bytes);
          client.write(bytes);
          bytes.fill(0); // the stream copied them
        }
        await scheduler.run();
        expect(got.bytes).toEqual(sent);
      }),
      { numRuns: 40 },
    );
  });

  it('holds what crosses a partition and delivers it, in order, when it heals; a one-way partition holds one way', async () => {
    const scheduler = new SimScheduler(5);
    const network = new SimNetwork(scheduler);
    const { client, server } = await connectedPair(network);
    const atServer = reader(server);
    const atClient = reader(client);
    network.partition(['a'], ['b'], true);
    client.write(Uint8Array.of(1, 2));
    server.write(Uint8Array.of(9));
    await scheduler.run({ untilMs: scheduler.now + 1_000 });
    expect(atServer.bytes).toEqual([]);
    expect(atClient.bytes).toEqual([9]);
    expect(network.stats().held).toBeGreaterThan(0);
    client.write(Uint8Array.of(3));
    network.heal();
    await scheduler.run();
    expect(atServer.bytes).toEqual([1, 2, 3]);
  });

  it('closes the peer\'s end when a host crashes, refuses a dial to nothing, and loses what reaches a closed stream', async () => {
    const scheduler = new SimScheduler(9);
    const network = new SimNetwork(scheduler);
    const { client, server } = await connectedPair(network);
    const atClient = reader(client);
    const atServer = reader(server);
    network.crash('b');
    await scheduler.run();
    expect(atClient.closed).toBe(true);
    expect(atServer.closed).toBe(false); // a dead host runs nothing
    const refused = reader(network.transport('a').dial({ host: 'b', port: 9 }));
    await scheduler.run();
    expect(refused).toMatchObject({ closed: true, errors: ['ECONNREFUSED'] });
  });

  it('reports a backlog past highWaterBytes and drains once the paused reader takes it', async () => {
    const scheduler = new SimScheduler(2);
    const network = new SimNetwork(scheduler, { highWaterBytes: 1_000 });
    const { client, server } = await connectedPair(network);
    const got = reader(server);
    let drains = 0;
    client.on('drain', () => drains++);
    server.pause();
    expect(client.write(new Uint8Array(600))).toBe(true);
    expect(client.write(new Uint8Array(600))).toBe(false);
    expect(client.writableNeedDrain).toBe(true);
    await scheduler.run();
    expect(got.bytes).toHaveLength(0);
    expect(drains).toBe(0);
    server.resume();
    await scheduler.run();
    expect(got.bytes).toHaveLength(1_200);
    expect(drains).toBe(1);
    expect(client.writableNeedDrain).toBe(false);
  });

  it('sends what is written while corked as one packet at uncork, and before an end', async () => {
    const scheduler = new SimScheduler(3);
    const network = new SimNetwork(scheduler, { splitWrites: false });
    const { client, server } = await connectedPair(network);
    const chunks: number[][] = [];
    server.on('data', (chunk) => chunks.push([...chunk]));
    await scheduler.run(); // the dial's answer arrives
    const before = network.stats().delivered;
    client.cork();
    client.write(Uint8Array.of(1, 2));
    client.cork();
    client.write(Uint8Array.of(3));
    client.uncork();
    client.write(Uint8Array.of(4));
    await scheduler.run();
    expect(chunks).toEqual([]);
    client.uncork();
    await scheduler.run();
    expect(chunks).toEqual([[1, 2, 3, 4]]);
    expect(network.stats().delivered).toBe(before + 1);
    client.cork();
    client.write(Uint8Array.of(5));
    client.end();
    const atServer = reader(server);
    await scheduler.run();
    expect(chunks).toEqual([[1, 2, 3, 4], [5]]);
    expect(atServer.closed).toBe(true);
  });

  it('ends both sides when one ends, after what it wrote', async () => {
    const scheduler = new SimScheduler(4);
    const network = new SimNetwork(scheduler);
    const { client, server } = await connectedPair(network);
    const atServer = reader(server);
    const atClient = reader(client);
    client.write(Uint8Array.of(1, 2, 3));
    client.end();
    await scheduler.run();
    expect(atServer).toMatchObject({ bytes: [1, 2, 3], closed: true });
    expect(atClient.closed).toBe(true);
  });
});
