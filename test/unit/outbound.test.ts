// Outbound's overflow on one thread with a real ring: order kept across the overflow, and the
// hysteresis of resumption (a congested destination resumes only once its ring has room for the
// whole overflow plus headroom, not as soon as one envelope fits).
import { describe, expect, it } from 'vitest';
import { RECORD_ENVELOPE, Signal, decodeEnvelope, type Envelope } from '../../src/codec/envelope.js';
import { Outbound, SendResult } from '../../src/executor/outbound.js';
import { pid } from '../../src/process/pid.js';
import { RingReader, createRing } from '../../src/ring/ring.js';

const CAPACITY = 4096;

function envelope(seq: number): Envelope {
  return { signal: Signal.USER, to: pid(0, 1, 9), from: pid(0, 0, 8), ref: 0, payload: { seq, pad: 'p'.repeat(40) } };
}

function setup(): { outbound: Outbound; reader: RingReader; read: (max?: number) => number[] } {
  const handle = createRing({ capacity: CAPACITY });
  const outbound = new Outbound([handle], 10_000);
  const reader = new RingReader(handle);
  const read = (max = Number.POSITIVE_INFINITY): number[] => {
    const seqs: number[] = [];
    reader.drain((kind, bytes, offset, length) => {
      expect(kind).toBe(RECORD_ENVELOPE);
      seqs.push((decodeEnvelope(bytes, offset, length).payload as { seq: number }).seq);
    }, max);
    return seqs;
  };
  return { outbound, reader, read };
}

describe('Outbound overflow', () => {
  it('keeps order through the overflow and resumes only with room for all of it plus headroom', () => {
    const { outbound, read } = setup();
    let seq = 0;
    while (outbound.send(0, envelope(seq)) === SendResult.WRITTEN) seq++;
    const firstQueued = seq++;
    for (let i = 0; i < 5; i++) expect(outbound.send(0, envelope(seq++))).toBe(SendResult.QUEUED);
    outbound.publish();
    expect(outbound.congested).toBe(true);
    expect(outbound.overflowSizes()).toEqual([6]);

    // The consumer frees room for a few envelopes only: it answers the space request, so the owner
    // must look (canFlush), but nothing moves and no sender resumes.
    const received = read(3);
    expect(received).toEqual([0, 1, 2]);
    expect(outbound.canFlush()).toBe(true);
    const drained: number[] = [];
    outbound.flushOverflow((index) => drained.push(index));
    expect(drained).toEqual([]);
    expect(outbound.overflowSizes()).toEqual([6]);
    expect(outbound.canFlush(), 'asked again: nothing to do until more room frees').toBe(false);

    // Once the ring is empty the whole overflow moves, in order, and the destination resumes.
    received.push(...read());
    expect(received.at(-1)).toBe(firstQueued - 1);
    expect(outbound.canFlush()).toBe(true);
    outbound.flushOverflow((index) => drained.push(index));
    expect(drained).toEqual([0]);
    expect(outbound.congested).toBe(false);
    received.push(...read());
    expect(received).toEqual(Array.from({ length: seq }, (_, i) => i));
  });
});
