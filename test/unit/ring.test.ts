// The ring on one thread: boundaries (empty, full, exactly full, oversized, wrap) and a model-based
// property test against a plain array queue.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ErrorCode } from '../../src/errors.js';
import { Doorbell } from '../../src/ring/doorbell.js';
import { RingReader, RingWriter, createRing, maxPayloadFor, recordBytes } from '../../src/ring/ring.js';
import { damagedCanaries, plantCanaries } from '../support/records.js';
import { throwsCode } from '../support/errors.js';

interface Record {
  kind: number;
  payload: number[];
}

function pair(capacity: number): { writer: RingWriter; reader: RingReader; buffer: SharedArrayBuffer } {
  const handle = createRing({ capacity });
  plantCanaries(handle.buffer);
  return { writer: new RingWriter(handle), reader: new RingReader(handle), buffer: handle.buffer };
}

function readAll(reader: RingReader, max?: number): Record[] {
  const out: Record[] = [];
  reader.drain((kind, bytes, offset, length) => {
    out.push({ kind, payload: Array.from(bytes.subarray(offset, offset + length)) });
  }, max);
  return out;
}

function bytesOf(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed + i * 13) & 0xff);
}

describe('createRing', () => {
  it.each([0, 63, 100, 3000, 2 ** 31, Number.NaN, 1.5])('refuses capacity %s, naming the option', (capacity) => {
    throwsCode(() => createRing({ capacity }), ErrorCode.INVALID_OPTION);
    expect(() => createRing({ capacity })).toThrow(/"capacity"/);
  });

  it('refuses a buffer that is not a ring', () => {
    const handle = createRing({ capacity: 64 });
    throwsCode(() => new RingReader({ ...handle, buffer: new SharedArrayBuffer(1024) }), ErrorCode.INVALID_SHARED_BUFFER);
    throwsCode(() => new RingWriter({ ...handle, consumerBell: new SharedArrayBuffer(64) }), ErrorCode.INVALID_SHARED_BUFFER);
  });

  it('limits records to half the capacity less the header', () => {
    expect(maxPayloadFor(64)).toBe(28);
    expect(maxPayloadFor(1 << 20)).toBe((1 << 19) - 4);
    expect(maxPayloadFor(1 << 30)).toBe(0xffffff);
    expect(recordBytes(0)).toBe(4);
    expect(recordBytes(1)).toBe(8);
    expect(recordBytes(4)).toBe(8);
  });
});

describe('RingWriter and RingReader', () => {
  it('reads nothing from an empty ring', () => {
    const { reader } = pair(64);
    expect(reader.hasRecords()).toBe(false);
    expect(readAll(reader)).toEqual([]);
    expect(reader.usedBytes).toBe(0);
  });

  it('carries zero-length records and kinds 0..254', () => {
    const { writer, reader } = pair(1024);
    expect(writer.tryWrite(0, new Uint8Array(0))).toBe(true);
    expect(writer.tryWrite(254, new Uint8Array(0))).toBe(true);
    expect(writer.tryWrite(7, bytesOf(3, 1))).toBe(true);
    expect(readAll(reader)).toEqual([
      { kind: 0, payload: [] },
      { kind: 254, payload: [] },
      { kind: 7, payload: Array.from(bytesOf(3, 1)) },
    ]);
  });

  it('refuses kinds outside 0..254', () => {
    const { writer } = pair(64);
    throwsCode(() => writer.tryWrite(255, new Uint8Array(0)), ErrorCode.INVALID_RECORD_KIND);
    throwsCode(() => writer.tryWrite(-1, new Uint8Array(0)), ErrorCode.INVALID_RECORD_KIND);
    throwsCode(() => writer.tryWrite(1.5, new Uint8Array(0)), ErrorCode.INVALID_RECORD_KIND);
  });

  it('fills exactly to capacity, refuses one more without writing it, and accepts it after a read', () => {
    const { writer, reader, buffer } = pair(64);
    // Records of 12 payload bytes take 16: four fill 64 bytes exactly.
    for (let i = 0; i < 4; i++) expect(writer.tryWrite(1, bytesOf(12, i))).toBe(true);
    expect(writer.usedBytes).toBe(64);
    expect(writer.tryWrite(1, bytesOf(12, 9))).toBe(false);
    expect(writer.tryWrite(1, new Uint8Array(0))).toBe(false);
    expect(writer.usedBytes).toBe(64);
    expect(readAll(reader, 1)).toEqual([{ kind: 1, payload: Array.from(bytesOf(12, 0)) }]);
    expect(writer.tryWrite(1, bytesOf(12, 9))).toBe(true);
    expect(readAll(reader).map((r) => r.payload)).toEqual([1, 2, 3, 9].map((s) => Array.from(bytesOf(12, s))));
    expect(damagedCanaries(buffer)).toEqual([]);
  });

  it('refuses a record larger than it can ever hold, before writing anything', () => {
    const { writer, reader } = pair(64);
    writer.tryWrite(3, bytesOf(5, 5));
    const used = writer.usedBytes;
    throwsCode(() => writer.tryWrite(1, new Uint8Array(29)), ErrorCode.RECORD_TOO_LARGE);
    expect(() => writer.reserve(1, 29)).toThrow(/at most 28 bytes/);
    expect(writer.usedBytes).toBe(used);
    expect(readAll(reader)).toEqual([{ kind: 3, payload: Array.from(bytesOf(5, 5)) }]);
  });

  it('fits the largest record at every position once the ring is empty', () => {
    const { writer, reader, buffer } = pair(64);
    for (let shift = 0; shift < 64; shift += 4) {
      expect(writer.tryWrite(2, bytesOf(28, shift))).toBe(true);
      expect(readAll(reader)).toEqual([{ kind: 2, payload: Array.from(bytesOf(28, shift)) }]);
      // Advance the position by 4 bytes for the next round.
      expect(writer.tryWrite(0, new Uint8Array(0))).toBe(true);
      expect(readAll(reader)).toHaveLength(1);
    }
    expect(damagedCanaries(buffer)).toEqual([]);
  });

  it('moves a record that would straddle the end to the start of the buffer', () => {
    const { writer, reader } = pair(64);
    writer.tryWrite(1, bytesOf(20, 1)); // 24 bytes: positions 0..23
    writer.tryWrite(1, bytesOf(20, 2)); // 24..47
    readAll(reader);
    // 16 bytes remain before the end; a 24-byte record goes to offset 0 after a wrap marker.
    const offset = writer.reserve(5, 20);
    expect(offset).toBe(4);
    writer.bytes.set(bytesOf(20, 3), offset);
    writer.publish();
    expect(readAll(reader)).toEqual([{ kind: 5, payload: Array.from(bytesOf(20, 3)) }]);
  });

  it('writes many records with one publish and reports how many fit', () => {
    const { writer, reader } = pair(64);
    const payloads = [0, 1, 2, 3, 4, 5].map((s) => bytesOf(12, s));
    expect(writer.tryWriteMany(4, payloads)).toBe(4);
    expect(readAll(reader).map((r) => r.payload)).toEqual(payloads.slice(0, 4).map((p) => Array.from(p)));
    expect(writer.tryWriteMany(4, payloads, 4)).toBe(2);
    expect(readAll(reader)).toHaveLength(2);
  });

  it('keeps reserved records invisible until publish', () => {
    const { writer, reader } = pair(64);
    writer.reserve(1, 4);
    expect(reader.hasRecords()).toBe(false);
    writer.publish();
    expect(reader.hasRecords()).toBe(true);
  });

  it('counts the record a visitor threw on as consumed, and keeps the rest', () => {
    const { writer, reader } = pair(256);
    for (let i = 0; i < 3; i++) writer.tryWrite(i, bytesOf(4, i));
    expect(() =>
      reader.drain((kind) => {
        if (kind === 1) throw new Error('visitor failed');
      }),
    ).toThrow('visitor failed');
    expect(readAll(reader).map((r) => r.kind)).toEqual([2]);
  });

  it('rings the consumer only when it is parked', () => {
    const consumerBell = Doorbell.create();
    const handle = createRing({ capacity: 256, consumerBell });
    const writer = new RingWriter(handle);
    for (let i = 0; i < 10; i++) writer.tryWrite(1, bytesOf(4, i));
    expect(consumerBell.notifies).toBe(0);
    consumerBell.prepareToPark();
    writer.tryWrite(1, bytesOf(4, 0));
    expect(consumerBell.parked).toBe(false);
    expect(consumerBell.notifies).toBe(1);
    writer.tryWrite(1, bytesOf(4, 0));
    expect(consumerBell.notifies).toBe(1);
  });

  it('answers a space request by clearing it when the consumer frees space', () => {
    const producerBell = Doorbell.create();
    const handle = createRing({ capacity: 64, producerBell });
    const writer = new RingWriter(handle);
    const reader = new RingReader(handle);
    while (writer.tryWrite(1, bytesOf(12, 0)));
    expect(writer.requestSpace(12)).toBe(false);
    expect(writer.spaceRequested).toBe(true);
    producerBell.prepareToPark();
    readAll(reader, 1);
    expect(writer.spaceRequested).toBe(false);
    expect(producerBell.notifies).toBe(1);
    expect(writer.requestSpace(12)).toBe(true);
    expect(writer.spaceRequested).toBe(false);
  });

  it('refuses to park the main thread', () => {
    throwsCode(() => Doorbell.create().park(0), ErrorCode.WOULD_BLOCK);
  });

  it('behaves like a FIFO queue under random operations (model-based)', () => {
    const operation = fc.oneof(
      fc.record({ op: fc.constant('write' as const), kind: fc.integer({ min: 0, max: 254 }), length: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ op: fc.constant('batch' as const), lengths: fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 8 }) }),
      fc.record({ op: fc.constant('read' as const), max: fc.integer({ min: 1, max: 6 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(64, 128, 256), fc.array(operation, { maxLength: 200 }), (capacity, operations) => {
        const { writer, reader, buffer } = pair(capacity);
        const model: Record[] = [];
        let seed = 0;
        for (const step of operations) {
          if (step.op === 'write') {
            const length = Math.min(step.length, writer.maxPayload);
            const payload = bytesOf(length, seed++);
            if (writer.tryWrite(step.kind, payload)) model.push({ kind: step.kind, payload: Array.from(payload) });
            else expect(writer.hasSpaceFor(length)).toBe(false);
          } else if (step.op === 'batch') {
            const payloads = step.lengths.map((l) => bytesOf(Math.min(l, writer.maxPayload), seed++));
            const written = writer.tryWriteMany(9, payloads);
            for (const p of payloads.slice(0, written)) model.push({ kind: 9, payload: Array.from(p) });
          } else {
            expect(readAll(reader, step.max)).toEqual(model.splice(0, step.max));
          }
          expect(writer.usedBytes).toBeLessThanOrEqual(capacity);
        }
        expect(readAll(reader)).toEqual(model);
        expect(damagedCanaries(buffer)).toEqual([]);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe('RingWriter.extend', () => {
  it('grows the last unpublished record, which the consumer then sees whole', () => {
    const { writer, reader, buffer } = pair(1024);
    const at = writer.reserve(2, 5);
    writer.bytes.set(bytesOf(5, 1), at);
    const more = writer.extend(7);
    expect(more).toBe(at + 5);
    writer.bytes.set(bytesOf(7, 2), more);
    writer.publish();
    expect(readAll(reader)).toEqual([{ kind: 2, payload: [...bytesOf(5, 1), ...bytesOf(7, 2)] }]);
    expect(damagedCanaries(buffer)).toEqual([]);
  });

  it('refuses after publish, past the largest record, past the end of the buffer and without room', () => {
    const { writer, reader } = pair(256);
    writer.reserve(1, 8);
    writer.publish();
    expect(writer.extend(4), 'published').toBe(-1);
    readAll(reader);

    writer.reserve(1, 8);
    expect(writer.extend(writer.maxPayload), 'past the largest record').toBe(-1);
    writer.reserve(1, 120);
    writer.publish();
    readAll(reader);

    // head at 148: a record there may grow to the end of the buffer (256), not past it.
    expect(writer.reserve(1, 8)).toBe(152);
    expect(writer.extend(100), 'past the end of the buffer').toBe(-1);
    expect(writer.extend(96)).toBe(160);
    expect(writer.extend(4)).toBe(-1);
    writer.publish();

    // Not drained: 108 bytes in use; 104 more leave 44 free; a 4-byte record leaves 36.
    writer.reserve(1, 100);
    expect(writer.reserve(1, 4)).toBe(108);
    expect(writer.extend(40), 'no room').toBe(-1);
    expect(writer.extend(36)).toBe(112);
    writer.publish();
    expect(readAll(reader).map((r) => r.payload.length)).toEqual([104, 100, 40]);
  });

  it('keeps the accounting of a model queue through random reserves, extends and drains', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('reserve', 'extend', 'publish', 'drain'), fc.integer({ min: 0, max: 40 })), { maxLength: 200 }), (ops) => {
        const { writer, reader, buffer } = pair(256);
        const model: number[][] = [];
        let open: number[] | undefined;
        let pending: number[][] = [];
        let seed = 0;
        for (const [op, n] of ops) {
          if (op === 'reserve') {
            const at = writer.reserve(1, n);
            if (at < 0) continue;
            const data = Array.from(bytesOf(n, seed++));
            writer.bytes.set(data, at);
            open = data;
            pending.push(open);
          } else if (op === 'extend') {
            const at = writer.extend(n);
            if (at < 0) continue;
            expect(open).toBeDefined();
            const data = Array.from(bytesOf(n, seed++));
            writer.bytes.set(data, at);
            open!.push(...data);
          } else if (op === 'publish') {
            writer.publish();
            model.push(...pending);
            pending = [];
            open = undefined;
          } else {
            expect(readAll(reader).map((r) => r.payload)).toEqual(model.splice(0));
          }
        }
        writer.publish();
        model.push(...pending);
        expect(readAll(reader).map((r) => r.payload)).toEqual(model);
        expect(damagedCanaries(buffer)).toEqual([]);
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});
