// Outbound's overflow on one thread with a real ring: order kept across the overflow, and the
// hysteresis of resumption (a congested destination resumes only once its ring has room for the
// whole overflow plus headroom, not as soon as one envelope fits); runs of USER envelopes for
// another node on the main thread's ring.
import { describe, expect, it } from 'vitest';
import { RECORD_ENVELOPE, RECORD_ENVELOPES, Signal, decodeEnvelope, encodeEnvelopeToBytes, envelopeLengthAt, type Envelope } from '../../src/codec/envelope.js';
import { Outbound, SendResult } from '../../src/participant/outbound.js';
import { pid } from '../../src/process/pid.js';
import { RingReader, createRing } from '../../src/ring/ring.js';

const CAPACITY = 4096;

function envelope(seq: number): Envelope {
  return { signal: Signal.USER, to: pid(0, 1, 9), from: pid(0, 0, 8), ref: 0, payload: { seq, pad: 'p'.repeat(40) } };
}

function setup(maxMessageBytes = 1 << 20): { outbound: Outbound; reader: RingReader; read: (max?: number) => number[] } {
  const handle = createRing({ capacity: CAPACITY });
  const outbound = new Outbound([handle], { overflowLimit: 10_000, maxMessageBytes });
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

describe('Outbound overflow bounds', () => {
  it('refuses at once an envelope over maxMessageBytes, whether or not the overflow holds others, and queues one merely larger than the ring', () => {
    const { outbound } = setup(3 * CAPACITY);
    const huge: Envelope = { signal: Signal.USER, to: pid(0, 1, 9), from: pid(0, 0, 8), ref: 0, payload: 'h'.repeat(3 * CAPACITY) };
    expect(() => outbound.send(0, huge)).toThrow(expect.objectContaining({ code: 'HORDE_MESSAGE_TOO_LARGE' }) as Error);
    expect(outbound.congested, 'nothing of it was written or kept').toBe(false);
    let seq = 0;
    while (outbound.send(0, envelope(seq)) === SendResult.WRITTEN) seq++;
    expect(() => outbound.send(0, huge)).toThrow(expect.objectContaining({ code: 'HORDE_MESSAGE_TOO_LARGE' }) as Error);
    expect(outbound.send(0, { ...huge, payload: 'h'.repeat(CAPACITY) })).toBe(SendResult.QUEUED);
    expect(outbound.overflowSizes()).toEqual([2]);
  });

  it('refuses once the overflow holds maxMessageBytes bytes, as once it holds overflowLimit envelopes', () => {
    const { outbound } = setup(3 * CAPACITY);
    let seq = 0;
    while (outbound.send(0, envelope(seq)) === SendResult.WRITTEN) seq++;
    const large: Envelope = { ...envelope(seq), payload: 'l'.repeat(2 * CAPACITY) };
    expect(outbound.send(0, large)).toBe(SendResult.QUEUED);
    expect(outbound.send(0, large), 'under the byte bound: one more is kept').toBe(SendResult.QUEUED);
    expect(outbound.send(0, envelope(seq)), 'past it: refused').toBe(SendResult.REFUSED);
    expect(outbound.overflowSizes()).toEqual([3]);
  });

  it('counts every envelope of a run queued whole, and reports them all when the ring is replaced', () => {
    const { outbound } = setup();
    const one = encodeEnvelopeToBytes(envelope(0));
    const run = new Uint8Array(one.length * 10);
    for (let i = 0; i < 10; i++) run.set(one, i * one.length);
    let written = 0;
    while (outbound.overflowSizes()[0] === 0) {
      outbound.sendBytes(0, run, 0, run.length, RECORD_ENVELOPES);
      written++;
    }
    outbound.sendBytes(0, run, 0, run.length, RECORD_ENVELOPES);
    outbound.send(0, envelope(1));
    expect(written).toBeGreaterThan(1);
    expect(outbound.overflowSizes()).toEqual([21]);
    expect(outbound.replace(0, createRing({ capacity: CAPACITY }))).toBe(21);
    expect(outbound.overflowSizes()).toEqual([0]);
    expect(outbound.congested).toBe(false);
  });
});

describe('Outbound overflow of a large envelope', () => {
  it('waits for room for the envelope itself, even when that is more than the usual resumption room', () => {
    const { outbound, reader, read } = setup();
    let seq = 0;
    while (outbound.send(0, envelope(seq)) === SendResult.WRITTEN) seq++;
    const big: Envelope = { ...envelope(seq), payload: { seq, pad: 'b'.repeat(1500) } };
    expect(outbound.send(0, big)).toBe(SendResult.QUEUED);
    outbound.publish();
    // Free more than a quarter of the ring (the usual cap on the room waited for) but less than
    // the large envelope needs: nothing moves, and the owner waits again instead of finding work
    // it cannot do at every look (which would spin it).
    while (CAPACITY - reader.usedBytes < CAPACITY / 4 + 64) read(1);
    expect(CAPACITY - reader.usedBytes).toBeLessThan(1500);
    const drained: number[] = [];
    outbound.flushOverflow((index) => drained.push(index));
    expect(drained).toEqual([]);
    expect(outbound.overflowSizes()).toEqual([1]);
    expect(outbound.canFlush()).toBe(false);
    read();
    expect(outbound.canFlush()).toBe(true);
    outbound.flushOverflow((index) => drained.push(index));
    expect(drained).toEqual([0]);
    expect(read()).toEqual([seq]);
  });
});

describe('Outbound runs', () => {
  const LOCAL = 1;
  function to(node: number, seq: number, signal: Signal = Signal.USER): Envelope {
    return { signal, to: pid(node, 0, 9), from: pid(LOCAL, 0, 8), ref: 0, payload: seq };
  }

  /** Records as [kind, [seq of each envelope]]. */
  function records(reader: RingReader): [number, number[]][] {
    const out: [number, number[]][] = [];
    reader.drain((kind, bytes, offset, length) => {
      const seqs: number[] = [];
      for (let at = offset; at < offset + length; ) {
        const n = envelopeLengthAt(bytes, at, offset + length);
        expect(n).toBeGreaterThan(0);
        seqs.push(decodeEnvelope(bytes, at, n).payload as number);
        at += n;
      }
      out.push([kind, seqs]);
    });
    return out;
  }

  it('gathers USER envelopes for one other node into a run until the node changes, another kind comes or it is published', () => {
    const main = createRing({ capacity: 1 << 16 });
    const other = createRing({ capacity: 1 << 16 });
    // Runs only on the ring at index 0 (the main thread's).
    const outbound = new Outbound([main, other], { overflowLimit: 100, maxMessageBytes: 1 << 20 }, { index: 0, localNode: LOCAL });
    const send = (index: number, e: Envelope): void => void expect(outbound.send(index, e)).toBe(SendResult.WRITTEN);
    send(0, to(2, 1));
    send(0, to(2, 2));
    send(0, to(2, 3));
    send(0, to(3, 4));
    send(0, to(3, 5));
    send(0, to(3, 6, Signal.EXIT));
    send(0, to(3, 7));
    send(0, to(LOCAL, 8));
    send(0, to(2, 9));
    outbound.publish();
    send(0, to(2, 10));
    send(1, to(2, 11));
    send(1, to(2, 12));
    outbound.publish();
    expect(records(new RingReader(main))).toEqual([
      [RECORD_ENVELOPES, [1, 2, 3]],
      [RECORD_ENVELOPES, [4, 5]],
      [RECORD_ENVELOPE, [6]],
      [RECORD_ENVELOPES, [7]],
      [RECORD_ENVELOPE, [8]],
      [RECORD_ENVELOPES, [9]],
      [RECORD_ENVELOPES, [10]],
    ]);
    expect(records(new RingReader(other))).toEqual([
      [RECORD_ENVELOPE, [11]],
      [RECORD_ENVELOPE, [12]],
    ]);
  });

  it('keeps a run within RUN_MAX_BYTES and large envelopes out of runs', () => {
    const main = createRing({ capacity: 1 << 20 });
    const outbound = new Outbound([main], { overflowLimit: 100, maxMessageBytes: 1 << 20 }, { index: 0, localNode: LOCAL });
    const big = (seq: number): Envelope => ({ ...to(2, seq), payload: { seq, pad: 'z'.repeat(5000) } });
    for (let seq = 0; seq < 1000; seq++) expect(outbound.send(0, to(2, seq))).toBe(SendResult.WRITTEN);
    expect(outbound.send(0, big(1000))).toBe(SendResult.WRITTEN);
    outbound.publish();
    const reader = new RingReader(main);
    const lengths: [number, number][] = [];
    reader.drain((kind, _bytes, _offset, length) => lengths.push([kind, length]));
    expect(lengths.length).toBeGreaterThan(2);
    for (const [kind, length] of lengths.slice(0, -1)) {
      expect(kind).toBe(RECORD_ENVELOPES);
      expect(length).toBeLessThanOrEqual(32 * 1024);
    }
    expect(lengths.at(-1)![0]).toBe(RECORD_ENVELOPE);
  });
});
