// Records larger than a ring record, through a real ring on one thread: Outbound writes them in
// chunks (from send, sendBytes and its overflow), the reader's `reassembling` visitor hands them on
// whole, in order with everything else (property runs with random sizes and random reading); and
// every malformed or truncated chunk stream is reported once and skipped, never thrown.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CHUNK_HEADER_BYTES,
  RECORD_CHUNK,
  RECORD_CHUNK_FIRST,
  RECORD_ENVELOPE,
  RECORD_ENVELOPES,
  Signal,
  decodeEnvelope,
  encodeEnvelopeToBytes,
  type Envelope,
} from '../../src/codec/envelope.js';
import { walkEnvelopes } from '../../src/codec/envelope-header.js';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { chunkRecordBytes, reassembling } from '../../src/participant/chunks.js';
import { Outbound, SendResult } from '../../src/participant/outbound.js';
import { pid } from '../../src/process/pid.js';
import { Doorbell } from '../../src/ring/doorbell.js';
import { InboundRings } from '../../src/ring/inbound.js';
import { RingWriter, createRing, type RingHandle } from '../../src/ring/ring.js';

const CAPACITY = 4096;

function message(seq: number, size: number): Envelope {
  return { signal: Signal.USER, to: pid(0, 1, 9), from: pid(0, 0, 8), ref: 0, payload: `${seq}:${'m'.repeat(size)}` };
}

function seqOf(envelope: Envelope): number {
  return Number((envelope.payload as string).split(':', 1)[0]);
}

/** A reader of `rings` through `reassembling`: whole records as [ring, kind, envelopes], and the errors reported. */
function reader(rings: RingHandle[], maxMessageBytes: number): { inbound: InboundRings; records: [number, number, Envelope[]][]; errors: HordeError[] } {
  const records: [number, number, Envelope[]][] = [];
  const errors: HordeError[] = [];
  const visit = reassembling(
    (ring, kind, bytes, offset, length) => {
      const envelopes: Envelope[] = [];
      if (kind === RECORD_ENVELOPES) walkEnvelopes(bytes, offset, offset + length, (b, at, n) => envelopes.push(decodeEnvelope(b, at, n)));
      else envelopes.push(decodeEnvelope(bytes, offset, length));
      records.push([ring, kind, envelopes]);
    },
    maxMessageBytes,
    (error) => errors.push(error),
  );
  const inbound = new InboundRings(Doorbell.create(), visit);
  for (const ring of rings) inbound.add(ring);
  return { inbound, records, errors };
}

describe('chunked records through a real ring', () => {
  it('splits a record into chunks of at most a quarter of the ring', () => {
    const ring = createRing({ capacity: CAPACITY });
    const writer = new RingWriter(ring);
    expect(chunkRecordBytes(writer)).toBe(CAPACITY / 4 - 4);
    expect(chunkRecordBytes(new RingWriter(createRing({ capacity: 64 })))).toBe(12);
    const outbound = new Outbound([ring], { overflowLimit: 100, maxMessageBytes: 1 << 20 });
    expect(outbound.send(0, message(0, 3000))).toBe(SendResult.WRITTEN);
    outbound.publish();
    const seen: [number, number][] = [];
    const inbound = new InboundRings(Doorbell.create(), (_ring, kind, _bytes, _offset, length) => seen.push([kind, length]));
    inbound.add(ring);
    inbound.poll();
    expect(seen.map(([kind]) => kind)).toEqual([RECORD_CHUNK_FIRST, RECORD_CHUNK, RECORD_CHUNK]);
    expect(seen.every(([, length]) => length <= CAPACITY / 4 - 4)).toBe(true);
    expect(seen.reduce((sum, [, length]) => sum + length, 0)).toBe(encodeEnvelopeToBytes(message(0, 3000)).length + CHUNK_HEADER_BYTES);
  });

  it('keeps order and content for random sizes, sends from both sides of the overflow and random reading (property)', () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('send' as const), size: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1500, max: 6 * CAPACITY })) }),
      fc.record({ op: fc.constant('bytes' as const), size: fc.integer({ min: 0, max: 5 * CAPACITY }), run: fc.boolean() }),
      fc.record({ op: fc.constant('read' as const), max: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ op: fc.constant('flush' as const) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const ring = createRing({ capacity: CAPACITY });
        const maxMessageBytes = 5 * CAPACITY;
        const outbound = new Outbound([ring], { overflowLimit: 1_000_000, maxMessageBytes });
        const { inbound, records, errors } = reader([ring], maxMessageBytes);
        const sent: number[] = [];
        let seq = 0;
        for (const s of steps) {
          if (s.op === 'send') {
            const envelope = message(seq, s.size);
            if (encodeEnvelopeToBytes(envelope).length > maxMessageBytes) {
              expect(() => outbound.send(0, envelope)).toThrow(expect.objectContaining({ code: ErrorCode.MESSAGE_TOO_LARGE }) as Error);
              continue;
            }
            // Refused only once the overflow holds maxMessageBytes: then it is not delivered.
            const full = outbound.overflowSizes()[0]! > 0 && outbound.congested;
            const result = outbound.send(0, envelope);
            if (result === SendResult.REFUSED) expect(full).toBe(true);
            else sent.push(seq);
            seq++;
          } else if (s.op === 'bytes') {
            // A peer's envelope, or a run of three (the cluster's delivery path).
            const count = s.run ? 3 : 1;
            const bytes = Buffer.concat(Array.from({ length: count }, (_, i) => encodeEnvelopeToBytes(message(seq + i, Math.floor(s.size / count)))));
            if (bytes.length > maxMessageBytes) continue;
            outbound.sendBytes(0, bytes, 0, bytes.length, s.run ? RECORD_ENVELOPES : RECORD_ENVELOPE);
            for (let i = 0; i < count; i++) sent.push(seq++);
          } else if (s.op === 'read') {
            outbound.publish();
            inbound.poll(s.max);
          } else {
            outbound.flushOverflow(() => undefined);
          }
        }
        // Drain to the end: read, move the overflow, read again.
        for (let i = 0; i < 10_000 && (outbound.congested || inbound.hasWork()); i++) {
          outbound.publish();
          inbound.poll();
          outbound.flushOverflow(() => undefined);
        }
        outbound.publish();
        inbound.poll();
        expect(errors).toEqual([]);
        expect(outbound.congested).toBe(false);
        const got = records.flatMap(([, , envelopes]) => envelopes);
        expect(got.map(seqOf)).toEqual(sent);
        for (const envelope of got) {
          const [, body] = (envelope.payload as string).split(':');
          expect(body).toBe('m'.repeat(body!.length));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('counts a large envelope as one in the overflow and its unsent bytes against maxMessageBytes', () => {
    const ring = createRing({ capacity: CAPACITY });
    const outbound = new Outbound([ring], { overflowLimit: 100, maxMessageBytes: 8 * CAPACITY });
    expect(outbound.send(0, message(0, 6 * CAPACITY)), 'the ring takes three chunks of it, the rest waits').toBe(SendResult.QUEUED);
    expect(outbound.overflowSizes()).toEqual([1]);
    expect(outbound.send(0, message(1, 3 * CAPACITY)), 'about 5 ring-fulls waiting, under the 8 of maxMessageBytes: kept').toBe(SendResult.QUEUED);
    expect(outbound.send(0, message(2, 10)), 'past the byte bound: refused').toBe(SendResult.REFUSED);
    const { inbound, records, errors } = reader([ring], 8 * CAPACITY);
    const drained: number[] = [];
    for (let i = 0; i < 1000 && outbound.congested; i++) {
      outbound.publish();
      inbound.poll();
      outbound.flushOverflow((index) => drained.push(index));
    }
    outbound.publish();
    inbound.poll();
    expect(drained).toEqual([0]);
    expect(errors).toEqual([]);
    expect(records.map(([, kind, envelopes]) => [kind, envelopes.map(seqOf)])).toEqual([
      [RECORD_ENVELOPE, [0]],
      [RECORD_ENVELOPE, [1]],
    ]);
  });
});

describe('malformed chunk streams', () => {
  /** Writes raw records (kind, bytes) into a ring and reads them through `reassembling`. */
  function feed(rawRecords: [number, Uint8Array][], maxMessageBytes = 1 << 16): { records: [number, number, Envelope[]][]; errors: HordeError[] } {
    const ring = createRing({ capacity: 1 << 16 });
    const writer = new RingWriter(ring);
    for (const [kind, bytes] of rawRecords) expect(writer.tryWrite(kind, bytes)).toBe(true);
    const { inbound, records, errors } = reader([ring], maxMessageBytes);
    inbound.poll(1000);
    return { records, errors };
  }

  const whole = encodeEnvelopeToBytes(message(7, 5000));
  const small = encodeEnvelopeToBytes(message(8, 3));

  function first(total: number, kind: number, data: Uint8Array): Uint8Array {
    const bytes = new Uint8Array(CHUNK_HEADER_BYTES + data.length);
    new DataView(bytes.buffer).setUint32(0, total, true);
    bytes[4] = kind;
    bytes.set(data, CHUNK_HEADER_BYTES);
    return bytes;
  }
  /** `whole` as a proper chunk stream of `pieces` chunks. */
  function chunked(pieces: number): [number, Uint8Array][] {
    const size = Math.ceil(whole.length / pieces);
    const out: [number, Uint8Array][] = [[RECORD_CHUNK_FIRST, first(whole.length, RECORD_ENVELOPE, whole.subarray(0, size))]];
    for (let at = size; at < whole.length; at += size) out.push([RECORD_CHUNK, whole.subarray(at, at + size)]);
    return out;
  }

  const cases: { name: string; stream: [number, Uint8Array][] }[] = [
    { name: 'a chunk without a first chunk', stream: [[RECORD_CHUNK, whole.subarray(0, 100)]] },
    { name: 'a first chunk shorter than its header', stream: [[RECORD_CHUNK_FIRST, new Uint8Array(5)], [RECORD_CHUNK, whole.subarray(0, 100)]] },
    { name: 'a first chunk naming an unknown kind', stream: [[RECORD_CHUNK_FIRST, first(whole.length, 9, whole.subarray(0, 100))], [RECORD_CHUNK, whole.subarray(100)]] },
    { name: 'non-zero reserved header bytes', stream: [[RECORD_CHUNK_FIRST, first(whole.length, RECORD_ENVELOPE, whole.subarray(0, 100)).fill(1, 5, 6)], [RECORD_CHUNK, whole.subarray(100)]] },
    { name: 'a first chunk longer than its record', stream: [[RECORD_CHUNK_FIRST, first(50, RECORD_ENVELOPE, whole.subarray(0, 100))], [RECORD_CHUNK, whole.subarray(100)]] },
    { name: 'more bytes than announced', stream: [[RECORD_CHUNK_FIRST, first(200, RECORD_ENVELOPE, whole.subarray(0, 100))], [RECORD_CHUNK, whole.subarray(100, 250)], [RECORD_CHUNK, whole.subarray(250, 300)]] },
    { name: 'a record cut short by a whole record', stream: chunked(3).slice(0, 2) },
    { name: 'a record cut short by the first chunk of another', stream: [...chunked(3).slice(0, 2), ...chunked(2)] },
  ];

  for (const { name, stream } of cases) {
    it(`reports ${name} once, skips it, and reads the next records`, () => {
      const { records, errors } = feed([...stream, [RECORD_ENVELOPE, small], ...chunked(4), [RECORD_ENVELOPE, small]]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(HordeError);
      expect(errors[0]!.code).toBe(ErrorCode.MALFORMED_ENVELOPE);
      expect(errors[0]!.message).toContain('malformed chunk stream');
      // The stream cut short by another chunked record keeps that (whole) record.
      const kept = name === 'a record cut short by the first chunk of another' ? [7] : [];
      expect(records.flatMap(([, , envelopes]) => envelopes.map(seqOf))).toEqual([...kept, 8, 7, 8]);
    });
  }

  it('reports a record announced over maxMessageBytes before allocating for it, and reads smaller ones', () => {
    const fits = encodeEnvelopeToBytes(message(9, 3000));
    const fitting: [number, Uint8Array][] = [
      [RECORD_CHUNK_FIRST, first(fits.length, RECORD_ENVELOPE, fits.subarray(0, 2000))],
      [RECORD_CHUNK, fits.subarray(2000)],
    ];
    const { records, errors } = feed([...chunked(3), [RECORD_ENVELOPE, small], ...fitting], 4096);
    expect(errors.map((error) => error.message)).toEqual([expect.stringContaining('more than maxMessageBytes (4096)')]);
    expect(records.flatMap(([, , envelopes]) => envelopes.map(seqOf))).toEqual([8, 9]);
  });

  it('drops a record left unfinished in a replaced ring without a report', () => {
    const old = createRing({ capacity: 1 << 16 });
    const writer = new RingWriter(old);
    for (const [kind, bytes] of chunked(3).slice(0, 2)) writer.tryWrite(kind, bytes);
    const { inbound, records, errors } = reader([old], 1 << 16);
    inbound.poll();
    const fresh = createRing({ capacity: 1 << 16 });
    inbound.replace(0, fresh);
    const next = new RingWriter(fresh);
    for (const [kind, bytes] of chunked(2)) next.tryWrite(kind, bytes);
    inbound.poll();
    expect(errors).toEqual([]);
    expect(records.flatMap(([, , envelopes]) => envelopes.map(seqOf))).toEqual([7]);
  });

  it('assembles records of two rings at once', () => {
    const a = createRing({ capacity: 1 << 16 });
    const b = createRing({ capacity: 1 << 16 });
    const { inbound, records, errors } = reader([a, b], 1 << 16);
    const wa = new RingWriter(a);
    const wb = new RingWriter(b);
    const stream = chunked(3);
    for (let i = 0; i < stream.length; i++) {
      wa.tryWrite(...stream[i]!);
      wb.tryWrite(...stream[i]!);
      inbound.poll(1);
    }
    wb.tryWrite(RECORD_ENVELOPE, small);
    inbound.poll();
    expect(errors).toEqual([]);
    expect(records.map(([ring, , envelopes]) => [ring, envelopes.map(seqOf)])).toEqual([
      [0, [7]],
      [1, [7]],
      [1, [8]],
    ]);
  });
});
