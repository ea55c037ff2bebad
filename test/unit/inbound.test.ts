// InboundRings on one thread: round-robin fairness with a per-ring budget.
import { describe, expect, it } from 'vitest';
import { Doorbell } from '../../src/ring/doorbell.js';
import { InboundRings } from '../../src/ring/inbound.js';
import { RingWriter, createRing } from '../../src/ring/ring.js';

function setup(ringCount: number): { inbound: InboundRings; writers: RingWriter[]; log: number[] } {
  const bell = Doorbell.create();
  const log: number[] = [];
  const inbound = new InboundRings(bell, (ring) => log.push(ring));
  const writers = Array.from({ length: ringCount }, () => {
    const handle = createRing({ capacity: 1 << 16, consumerBell: bell });
    inbound.add(handle);
    return new RingWriter(handle);
  });
  return { inbound, writers, log };
}

describe('InboundRings', () => {
  it('serves every non-empty ring in each pass, at most budget records each, rotating the start', () => {
    const { inbound, writers, log } = setup(3);
    const empty = new Uint8Array(0);
    for (let i = 0; i < 1000; i++) writers[0]!.tryWrite(1, empty); // the flood
    for (let i = 0; i < 5; i++) writers[1]!.tryWrite(1, empty);
    for (let i = 0; i < 5; i++) writers[2]!.tryWrite(1, empty);

    expect(inbound.poll(4)).toBe(12);
    expect(log.splice(0)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(inbound.poll(4)).toBe(6);
    expect(log.splice(0)).toEqual([1, 2, 0, 0, 0, 0]);
    expect(inbound.poll(4)).toBe(4);
    expect(log.splice(0)).toEqual([0, 0, 0, 0]);
  });

  it('reports work and takes no park while a ring has records', () => {
    const { inbound, writers } = setup(2);
    expect(inbound.hasWork()).toBe(false);
    writers[1]!.tryWrite(1, new Uint8Array(1));
    expect(inbound.hasWork()).toBe(true);
    expect(inbound.waitForWork({ spin: 0 })).toBe('work');
    expect(inbound.bell.parks).toBe(0);
  });

  it('counts a caller condition as work when it is ready', async () => {
    const { inbound } = setup(1);
    expect(await inbound.waitForWorkAsync({ ready: () => true })).toBe('work');
    expect(await inbound.waitForWorkAsync({ timeoutMs: 1 })).toBe('timed-out');
  });

  it('wakes a main-thread park when a producer publishes', async () => {
    const { inbound, writers } = setup(1);
    const parked = inbound.waitForWorkAsync({ timeoutMs: 10_000 });
    setTimeout(() => writers[0]!.tryWrite(1, new Uint8Array(0)), 5);
    expect(await parked).toBe('ok');
    expect(inbound.poll()).toBe(1);
  });
});
