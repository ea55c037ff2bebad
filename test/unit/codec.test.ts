// Envelopes through a real ring on one thread: round trips, header limits, a full ring, records too
// large, envelope fields out of range, and bytes that are not an envelope.
import { describe, expect, it } from 'vitest';
import {
  ENVELOPE_HEADER_BYTES,
  EnvelopeField,
  RECORD_ENVELOPE,
  Signal,
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeToBytes,
  type Envelope,
} from '../../src/codec/envelope.js';
import { PayloadEncoding } from '../../src/codec/payload.js';
import { ErrorCode } from '../../src/errors.js';
import { isPid, pid, type Pid } from '../../src/process/pid.js';
import { RingReader, RingWriter, createRing } from '../../src/ring/ring.js';
import { damagedCanaries, plantCanaries } from '../support/records.js';
import { throwsCode } from '../support/errors.js';

const TO = pid(1, 2, 3 * 65536 + 4);
const FROM = pid(5, 6, 7 * 65536 + 8);

function envelope(payload: unknown, fields: Partial<Envelope> = {}): Envelope {
  return { signal: Signal.USER, to: TO, from: FROM, ref: 0, payload, ...fields };
}

function ringPair(capacity = 1 << 16): { writer: RingWriter; reader: RingReader; buffer: SharedArrayBuffer } {
  const handle = createRing({ capacity });
  plantCanaries(handle.buffer);
  return { writer: new RingWriter(handle), reader: new RingReader(handle), buffer: handle.buffer };
}

/** Drains every record, checks its kind and decodes it. */
function readEnvelopes(reader: RingReader): Envelope[] {
  const out: Envelope[] = [];
  reader.drain((kind, bytes, offset, length) => {
    expect(kind).toBe(RECORD_ENVELOPE);
    out.push(decodeEnvelope(bytes, offset, length));
  });
  return out;
}

describe('envelope through a ring', () => {
  it('round-trips envelopes of every signal, written as a batch and published once', () => {
    const { writer, reader, buffer } = ringPair();
    const sent: Envelope[] = [
      envelope({ seq: 42, name: 'counter' }),
      envelope('normal', { signal: Signal.EXIT }),
      envelope({ reason: 'noproc' }, { signal: Signal.DOWN, ref: 17 }),
      envelope(undefined, { signal: Signal.LINK }),
      envelope(undefined, { signal: Signal.UNLINK }),
      envelope(undefined, { signal: Signal.MONITOR, ref: 18 }),
      envelope(undefined, { signal: Signal.DEMONITOR, ref: 18 }),
      envelope({ kind: 'worker', args: [1, 'two', { three: 3 }], opts: { link: true } }, { signal: Signal.SPAWN, ref: 19 }),
      envelope('kill', { signal: Signal.KILL, from: undefined }),
    ];
    for (const e of sent) expect(encodeEnvelope(writer, e)).toBe(true);
    expect(reader.hasRecords()).toBe(false);
    writer.publish();
    expect(readEnvelopes(reader)).toEqual(sent);
    expect(damagedCanaries(buffer)).toEqual([]);
  });

  it('keeps the header fields at their limits: u16 node and shard, serials up to MAX_SAFE_INTEGER', () => {
    const { writer, reader } = ringPair();
    const max = Number.MAX_SAFE_INTEGER;
    const cases: Envelope[] = [
      envelope(1, { to: pid(0xffff, 0xffff, max), from: pid(0xffff, 0xffff, max), ref: max }),
      envelope(2, { to: pid(0, 0, 0), from: pid(0, 0, 0), ref: 0 }),
      envelope(3, { to: pid(0x8000, 0x00ff, 2 ** 52 + 1), from: undefined, ref: 1 }),
    ];
    for (const e of cases) expect(encodeEnvelope(writer, e)).toBe(true);
    writer.publish();
    const received = readEnvelopes(reader);
    expect(received).toEqual(cases);
    expect(received[2]!.from).toBeUndefined();
    for (const e of received) {
      expect(isPid(e.to)).toBe(true);
      if (e.from !== undefined) expect(isPid(e.from)).toBe(true);
    }
  });

  it('writes exactly the bytes encodeEnvelopeToBytes produces (the overflow path)', () => {
    const { writer, reader } = ringPair();
    const e = envelope({ seq: 42, name: 'counter', when: new Date(0) }, { ref: 99 });
    const copy = encodeEnvelopeToBytes(e);
    expect(encodeEnvelope(writer, e)).toBe(true);
    expect(writer.tryWrite(RECORD_ENVELOPE, copy)).toBe(true);
    const records: number[][] = [];
    reader.drain((_kind, bytes, offset, length) => records.push(Array.from(bytes.subarray(offset, offset + length))));
    expect(records).toEqual([Array.from(copy), Array.from(copy)]);
    expect(decodeEnvelope(copy, 0, copy.length)).toEqual(e);
  });

  it('lays the header out as documented', () => {
    const bytes = encodeEnvelopeToBytes(envelope('x', { signal: Signal.DOWN, ref: 12345, from: undefined }));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(bytes[EnvelopeField.SIGNAL]).toBe(Signal.DOWN);
    expect(bytes[EnvelopeField.FLAGS]).toBe(0);
    expect(bytes[EnvelopeField.ENCODING]).toBe(PayloadEncoding.ASCII);
    expect(bytes[EnvelopeField.RESERVED]).toBe(0);
    expect(view.getUint16(EnvelopeField.TO_NODE, true)).toBe(TO.node);
    expect(view.getUint16(EnvelopeField.TO_SHARD, true)).toBe(TO.shard);
    expect(view.getFloat64(EnvelopeField.TO_SERIAL, true)).toBe(TO.serial);
    expect(view.getUint16(EnvelopeField.FROM_NODE, true)).toBe(0);
    expect(view.getUint16(EnvelopeField.FROM_SHARD, true)).toBe(0);
    expect(view.getFloat64(EnvelopeField.FROM_SERIAL, true)).toBe(-1);
    expect(view.getUint32(EnvelopeField.BODY_LENGTH, true)).toBe(1);
    expect(view.getFloat64(EnvelopeField.REF, true)).toBe(12345);
    expect(new TextDecoder().decode(bytes.subarray(ENVELOPE_HEADER_BYTES))).toBe('x');
    expect(bytes.length).toBe(ENVELOPE_HEADER_BYTES + 1);
  });

  it('returns false and writes nothing when the ring is full', () => {
    const { writer, reader, buffer } = ringPair(256);
    const e = envelope({ seq: 42, name: 'counter' });
    let written = 0;
    while (encodeEnvelope(writer, e)) written++;
    expect(written).toBeGreaterThan(0);
    const before = new Uint8Array(buffer).slice();
    expect(encodeEnvelope(writer, e)).toBe(false);
    expect(new Uint8Array(buffer)).toEqual(before);
    writer.publish();
    expect(readEnvelopes(reader)).toHaveLength(written);
    expect(encodeEnvelope(writer, e)).toBe(true);
    expect(damagedCanaries(buffer)).toEqual([]);
  });

  it('refuses an envelope larger than the ring can ever hold, writing nothing', () => {
    const { writer, buffer } = ringPair(256);
    const before = new Uint8Array(buffer).slice();
    throwsCode(() => encodeEnvelope(writer, envelope('x'.repeat(200))), ErrorCode.RECORD_TOO_LARGE);
    expect(new Uint8Array(buffer)).toEqual(before);
  });

  it('refuses an unencodable payload before reserving anything', () => {
    const { writer, reader, buffer } = ringPair();
    const before = new Uint8Array(buffer).slice();
    const error = throwsCode(() => encodeEnvelope(writer, envelope({ handlers: [1, 2, () => 3] })), ErrorCode.UNENCODABLE_MESSAGE);
    expect(error.message).toContain('msg.handlers[2]');
    expect(new Uint8Array(buffer)).toEqual(before);
    writer.publish();
    expect(reader.hasRecords()).toBe(false);
  });

  it.each<[string, Partial<Envelope>]>([
    ['an unknown signal', { signal: 0 as Signal }],
    ['a signal past the known ones', { signal: 200 as Signal }],
    ['a "to" that is not a pid', { to: { node: 1, shard: 2 } as unknown as Pid }],
    ['a node past u16', { to: { node: 0x10000, shard: 0, serial: 1 } }],
    ['a negative serial', { to: { node: 0, shard: 0, serial: -1 } }],
    ['a fractional serial', { from: { node: 0, shard: 0, serial: 1.5 } }],
    ['a serial past MAX_SAFE_INTEGER', { from: { node: 0, shard: 0, serial: 2 ** 53 } }],
    ['a negative ref', { ref: -1 }],
    ['a NaN ref', { ref: Number.NaN }],
  ])('refuses %s with INVALID_ENVELOPE', (_what, fields) => {
    const { writer } = ringPair();
    throwsCode(() => encodeEnvelope(writer, envelope('x', fields)), ErrorCode.INVALID_ENVELOPE);
    throwsCode(() => encodeEnvelopeToBytes(envelope('x', fields)), ErrorCode.INVALID_ENVELOPE);
  });
});

describe('pids of decoded envelopes', () => {
  it('are right for every envelope whatever came before (the decoder reuses the last ones)', () => {
    const a = pid(1, 0, 65536);
    const b = pid(1, 0, 65537);
    const c = pid(2, 0, 65536);
    const d = pid(1, 1, 65536);
    const sequence: [Pid, Pid | undefined][] = [[a, b], [a, b], [b, a], [c, d], [d, c], [a, undefined], [a, b], [d, d]];
    for (const [to, from] of sequence) {
      const bytes = encodeEnvelopeToBytes(envelope(1, { to, from }));
      const decoded = decodeEnvelope(bytes, 0, bytes.length);
      expect(decoded.to).toEqual(to);
      expect(decoded.from).toEqual(from);
    }
  });
});

describe('string payloads', () => {
  const strings = [
    '',
    'x',
    'x'.repeat(24),
    'x'.repeat(25),
    'x'.repeat(64),
    'q'.repeat(300),
    'a "quoted" \\ back\nslash\ttab \u0000 nul',
    'é',
    'mixed ascii then é',
    '😀 emoji',
    'lone \ud800 surrogate',
  ];

  it.each(strings)('round-trips %j through a ring and through bytes', (text) => {
    const { writer, reader } = ringPair();
    expect(encodeEnvelope(writer, envelope('pad')), 'an odd-length record before it').toBe(true);
    expect(encodeEnvelope(writer, envelope(text))).toBe(true);
    writer.publish();
    expect(readEnvelopes(reader).map((e) => e.payload)).toEqual(['pad', text]);
    const bytes = encodeEnvelopeToBytes(envelope(text));
    expect(decodeEnvelope(bytes, 0, bytes.length).payload).toBe(text);
  });

  it('sends ASCII strings as their characters and any other string as JSON', () => {
    expect(encodeEnvelopeToBytes(envelope('plain "ascii"'))[EnvelopeField.ENCODING]).toBe(PayloadEncoding.ASCII);
    expect(encodeEnvelopeToBytes(envelope('é'))[EnvelopeField.ENCODING]).toBe(PayloadEncoding.JSON);
  });

  it.each([1, 20, 40, 63])('refuses an ASCII payload with a byte above 0x7f at %i', (at) => {
    const bytes = encodeEnvelopeToBytes(envelope('y'.repeat(64)));
    bytes[ENVELOPE_HEADER_BYTES + at] = 0xc3;
    throwsCode(() => decodeEnvelope(bytes, 0, bytes.length), ErrorCode.MALFORMED_ENVELOPE);
  });
});

describe('decodeEnvelope on bytes that are not an envelope', () => {
  const good = encodeEnvelopeToBytes(envelope({ seq: 42, name: 'counter' }, { ref: 7 }));

  function corrupt(edit: (bytes: Uint8Array, view: DataView) => void, from: Uint8Array = good): Uint8Array {
    const bytes = from.slice();
    edit(bytes, new DataView(bytes.buffer));
    return bytes;
  }

  it('refuses every truncation and every extension of a valid record', () => {
    for (let length = 0; length < good.length; length++) {
      throwsCode(() => decodeEnvelope(good, 0, length), ErrorCode.MALFORMED_ENVELOPE);
    }
    const longer = new Uint8Array(good.length + 4);
    longer.set(good);
    throwsCode(() => decodeEnvelope(longer, 0, longer.length), ErrorCode.MALFORMED_ENVELOPE);
  });

  it('refuses a JSON number cut short even though the shorter text parses', () => {
    const bytes = encodeEnvelopeToBytes(envelope(42));
    expect(decodeEnvelope(bytes, 0, bytes.length).payload).toBe(42);
    throwsCode(() => decodeEnvelope(bytes, 0, bytes.length - 1), ErrorCode.MALFORMED_ENVELOPE);
  });

  it.each<[string, (bytes: Uint8Array, view: DataView) => void]>([
    ['signal 0', (b) => (b[EnvelopeField.SIGNAL] = 0)],
    ['signal 255', (b) => (b[EnvelopeField.SIGNAL] = 255)],
    ['a flag bit', (b) => (b[EnvelopeField.FLAGS] = 4)],
    ['encoding 9', (b) => (b[EnvelopeField.ENCODING] = 9)],
    ['encoding NONE with a body', (b) => (b[EnvelopeField.ENCODING] = PayloadEncoding.NONE)],
    ['the reserved byte set', (b) => (b[EnvelopeField.RESERVED] = 1)],
    ['a NaN to.serial', (_b, v) => v.setFloat64(EnvelopeField.TO_SERIAL, Number.NaN, true)],
    ['a negative to.serial', (_b, v) => v.setFloat64(EnvelopeField.TO_SERIAL, -2, true)],
    ['a fractional from.serial', (_b, v) => v.setFloat64(EnvelopeField.FROM_SERIAL, 0.5, true)],
    ['from.serial -2', (_b, v) => v.setFloat64(EnvelopeField.FROM_SERIAL, -2, true)],
    ['no sender but a from.node', (_b, v) => v.setFloat64(EnvelopeField.FROM_SERIAL, -1, true)],
    ['an infinite ref', (_b, v) => v.setFloat64(EnvelopeField.REF, Number.POSITIVE_INFINITY, true)],
    ['a body length past the end', (_b, v) => v.setUint32(EnvelopeField.BODY_LENGTH, 0xffffffff, true)],
    ['a JSON payload that is not JSON', (b) => (b[ENVELOPE_HEADER_BYTES] = 0x7d)],
    ['invalid UTF-8', (b) => (b[ENVELOPE_HEADER_BYTES + 2] = 0xff)],
  ])('refuses %s with MALFORMED_ENVELOPE', (_what, edit) => {
    const bytes = corrupt(edit);
    throwsCode(() => decodeEnvelope(bytes, 0, bytes.length), ErrorCode.MALFORMED_ENVELOPE);
  });

  it.each<[string, unknown]>([
    ['an unknown tag', { '~h': 'zz' }],
    ['a tag with data of the wrong shape', { '~h': 'd', v: 'yesterday' }],
    ['a Map entry that is not a pair', { '~h': 'm', v: [[1, 2, 3]] }],
    ['an Error that is not a wire error', { '~h': 'e', v: { code: 1 } }],
  ])('refuses a tagged payload with %s', (_what, payload) => {
    // Plain JSON as sent; relabelled TAGGED_JSON, its "~h" key reads as a tag.
    const bytes = corrupt((b) => (b[EnvelopeField.ENCODING] = PayloadEncoding.TAGGED_JSON), encodeEnvelopeToBytes(envelope(payload)));
    throwsCode(() => decodeEnvelope(bytes, 0, bytes.length), ErrorCode.MALFORMED_ENVELOPE);
  });

  it('refuses a range outside the array', () => {
    throwsCode(() => decodeEnvelope(good, 4, good.length), ErrorCode.MALFORMED_ENVELOPE);
    throwsCode(() => decodeEnvelope(good, -1, 10), ErrorCode.MALFORMED_ENVELOPE);
  });

  it('decodes a record in the middle of a larger array', () => {
    const big = new Uint8Array(good.length + 20);
    big.set(good, 13);
    expect(decodeEnvelope(big, 13, good.length).payload).toEqual({ seq: 42, name: 'counter' });
  });
});
