// Property tests of the codec: random envelopes with random JSON-ish payloads (nested Pids and every
// tagged kind) round-trip through a real ring; cut or damaged records never crash the decoder and a
// cut record never decodes.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Signal, decodeEnvelope, encodeEnvelope, encodeEnvelopeToBytes, type Envelope } from '../../src/codec/envelope.js';
import { registerMessageType, typed } from '../../src/codec/protobuf.js';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { isPid, type Pid } from '../../src/process/pid.js';
import { RingReader, RingWriter, createRing } from '../../src/ring/ring.js';

const NOTE = registerMessageType(
  'prop.Note',
  `syntax = "proto3"; package prop; message Note { uint32 seq = 1; string text = 2; horde.Pid owner = 3; repeated double values = 4; }`,
);

/** fast-check builds records and dictionaries without a prototype; messages are ordinary objects. */
function ordinary<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value)) as T;
}

const pidArb: fc.Arbitrary<Pid> = fc
  .record({
    node: fc.integer({ min: 0, max: 0xffff }),
    shard: fc.integer({ min: 0, max: 0xffff }),
    serial: fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()),
  })
  .map(ordinary);

/** Plain JSON values: what most messages are. */
const plainArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.boolean(),
    fc.constant(null),
    pidArb,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 5 }).map(ordinary),
  ),
})).value;

/** Everything the tagged form carries, mixed with plain values and Pids. */
const richArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'grapheme' }),
    fc.double(),
    fc.bigInt(),
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    pidArb,
    fc.date(),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('~h', 'v', '__proto__', 'toJSON')), tie('value'), { maxKeys: 4 }).map(ordinary),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
  ),
})).value;

const typedArb = fc
  .record({ seq: fc.integer({ min: 0, max: 0xffffffff }), text: fc.string(), owner: pidArb, values: fc.array(fc.double(), { maxLength: 4 }) })
  .map((note) => typed(NOTE, note));

const signalArb = fc.constantFrom(...Object.values(Signal));

function envelopeArb(payload: fc.Arbitrary<unknown>): fc.Arbitrary<Envelope> {
  return fc
    .record({
      signal: signalArb,
      to: pidArb,
      from: fc.option(pidArb, { nil: undefined }),
      ref: fc.oneof(fc.constant(0), fc.maxSafeNat()),
      payload,
    })
    .map(ordinary);
}

const anyEnvelopeArb = envelopeArb(fc.oneof(plainArb, richArb, typedArb));

/** Collects every pid in a decoded value (objects with exactly the pid fields). */
function pidsIn(value: unknown, out: unknown[] = []): unknown[] {
  if (value instanceof Map) {
    for (const [k, v] of value) {
      pidsIn(k, out);
      pidsIn(v, out);
    }
  } else if (value instanceof Set) {
    for (const item of value) pidsIn(item, out);
  } else if (Array.isArray(value)) {
    for (const item of value) pidsIn(item, out);
  } else if (typeof value === 'object' && value !== null && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    const keys = Object.keys(value);
    if (keys.length === 3 && keys.includes('node') && keys.includes('shard') && keys.includes('serial')) out.push(value);
    for (const key of keys) pidsIn((value as Record<string, unknown>)[key], out);
  }
  return out;
}

const DECODE_CODES = new Set<string>([ErrorCode.MALFORMED_ENVELOPE, ErrorCode.UNKNOWN_MESSAGE_TYPE]);

/** Decodes, accepting only success or a HordeError with a decoding code. */
function decodeOrRefuse(bytes: Uint8Array, offset: number, length: number): Envelope | HordeError {
  try {
    return decodeEnvelope(bytes, offset, length);
  } catch (error) {
    if (error instanceof HordeError && DECODE_CODES.has(error.code)) return error;
    throw error;
  }
}

describe('codec properties', () => {
  it('round-trips random envelopes through a real ring, pids still pids', () => {
    fc.assert(
      fc.property(fc.array(anyEnvelopeArb, { minLength: 1, maxLength: 8 }), (envelopes) => {
        // A fresh ring per run: a failed run must not leave records behind for the next one.
        const ring = createRing({ capacity: 1 << 18 });
        const writer = new RingWriter(ring);
        const reader = new RingReader(ring);
        for (const envelope of envelopes) expect(encodeEnvelope(writer, envelope)).toBe(true);
        writer.publish();
        const received: Envelope[] = [];
        reader.drain((_kind, bytes, offset, length) => received.push(decodeEnvelope(bytes, offset, length)));
        expect(received).toStrictEqual(envelopes);
        for (const envelope of received) {
          expect(isPid(envelope.to)).toBe(true);
          for (const found of pidsIn(envelope.payload)) expect(isPid(found)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps -0 and NaN apart from 0 and null', () => {
    fc.assert(
      fc.property(envelopeArb(fc.array(fc.constantFrom(-0, 0, Number.NaN, null, undefined), { maxLength: 6 })), (envelope) => {
        const bytes = encodeEnvelopeToBytes(envelope);
        const back = decodeEnvelope(bytes, 0, bytes.length).payload as unknown[];
        const sent = envelope.payload as unknown[];
        expect(back.length).toBe(sent.length);
        sent.forEach((value, i) => expect(Object.is(back[i], value)).toBe(true));
      }),
    );
  });

  it('refuses every record cut short: a truncated envelope never decodes', () => {
    fc.assert(
      fc.property(anyEnvelopeArb, fc.nat(), (envelope, cut) => {
        const bytes = encodeEnvelopeToBytes(envelope);
        const length = cut % bytes.length;
        let error: unknown;
        try {
          decodeEnvelope(bytes, 0, length);
        } catch (thrown) {
          error = thrown;
        }
        expect(error).toBeInstanceOf(HordeError);
        expect((error as HordeError).code).toBe(ErrorCode.MALFORMED_ENVELOPE);
      }),
      { numRuns: 300 },
    );
  });

  it('never crashes on a damaged record: it decodes to some envelope or refuses with a decoding code', () => {
    fc.assert(
      fc.property(anyEnvelopeArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (envelope, edits) => {
        const bytes = encodeEnvelopeToBytes(envelope);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        const result = decodeOrRefuse(bytes, 0, bytes.length);
        if (!(result instanceof HordeError)) expect(isPid(result.to)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never crashes on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const result = decodeOrRefuse(bytes, 0, bytes.length);
        expect(result).toBeInstanceOf(HordeError);
      }),
      { numRuns: 500 },
    );
  });
});
