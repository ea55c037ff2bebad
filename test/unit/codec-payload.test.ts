// Payload codecs on their own: the JSON fallback (plain and tagged forms, refusals with paths) and
// registered protobuf types (ids, conflicts, typed messages, Pids inside, bytes fields, enums).
import { describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { Signal, decodeEnvelope, encodeEnvelope, encodeEnvelopeToBytes } from '../../src/codec/envelope.js';
import { PayloadEncoding, decodePayload, encodePayload } from '../../src/codec/payload.js';
import {
  MAX_TYPE_ID,
  MIN_TYPE_ID,
  decodeTyped,
  encodeTyped,
  findMessageType,
  messageTypeOf,
  registerMessageType,
  typeIdFor,
  typed,
} from '../../src/codec/protobuf.js';
import { PID_PROTO } from '../../src/codec/pid-schema.js';
import { MAX_DEPTH, TAG_KEY } from '../../src/codec/json.js';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { isPid, pid } from '../../src/process/pid.js';
import { RingReader, RingWriter, createRing } from '../../src/ring/ring.js';
import { throwsCode } from '../support/errors.js';

/** Encodes and decodes a payload; also returns the encoding chosen. */
function roundTrip(value: unknown): { value: unknown; encoding: number } {
  const encoded = encodePayload(value);
  const bytes = encoded.bytes.slice(0, encoded.length);
  return { value: decodePayload(encoded.encoding, encoded.typeId, bytes, 0, bytes.length), encoding: encoded.encoding };
}

describe('JSON payloads', () => {
  it('sends plain values as plain JSON, Pids included, and they come back equal and still pids', () => {
    const owner = pid(3, 0xffff, Number.MAX_SAFE_INTEGER);
    const message = { seq: 42, name: 'counter', owner, peers: [pid(0, 1, 2), pid(4, 5, 6)], nested: { deep: { p: owner } }, none: null };
    const { value, encoding } = roundTrip(message);
    expect(encoding).toBe(PayloadEncoding.JSON);
    expect(value).toEqual(message);
    const back = value as typeof message;
    expect(isPid(back.owner)).toBe(true);
    expect(isPid(back.peers[1])).toBe(true);
    expect(isPid(back.nested.deep.p)).toBe(true);
  });

  it.each<[string, unknown]>([
    ['a string', 'hello, wörld ✓'],
    ['a number', 12.5],
    ['false', false],
    ['null', null],
    ['an empty object', {}],
    ['an empty array', []],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 })],
    ['an object with the tag key (no tags to confuse it with)', { [TAG_KEY]: 'u', v: 1 }],
  ])('round-trips %s as plain JSON', (_what, value) => {
    const result = roundTrip(value);
    expect(result.encoding).toBe(PayloadEncoding.JSON);
    expect(result.value).toEqual(value);
  });

  it('sends undefined alone as an empty payload', () => {
    expect(roundTrip(undefined)).toEqual({ value: undefined, encoding: PayloadEncoding.NONE });
  });

  it.each<[string, unknown]>([
    ['undefined in an array', [1, undefined, 3]],
    ['undefined in an object', { a: undefined, b: 1 }],
    ['NaN, infinities and -0', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]],
    ['a bigint', { big: 2n ** 70n, negative: -5n }],
    ['a bare bigint', 12345678901234567890n],
    ['a Date', { at: new Date(1_700_000_000_123) }],
    ['an invalid Date', new Date(Number.NaN)],
    ['a Uint8Array', { data: new Uint8Array([0, 1, 254, 255]) }],
    ['a Map with object keys', new Map<unknown, unknown>([[{ k: 1 }, 'a'], ['b', new Set([1, 2])]])],
    ['a Set', new Set(['x', pid(1, 2, 3)])],
    ['the tag key nested under tagged values', { a: undefined, inner: { [TAG_KEY]: 'd', v: 0 } }],
    ['a nested map of pids', { routes: new Map([['a', pid(1, 2, 3)]]) }],
  ])('round-trips %s through the tagged form', (_what, value) => {
    const result = roundTrip(value);
    expect(result.encoding).toBe(PayloadEncoding.TAGGED_JSON);
    expect(result.value).toEqual(value);
  });

  it('keeps -0 and the keys whose value is undefined', () => {
    const back = roundTrip({ z: -0, u: undefined }).value as { z: number; u: undefined };
    expect(Object.is(back.z, -0)).toBe(true);
    expect(Object.hasOwn(back, 'u')).toBe(true);
  });

  it('brings Uint8Array and Buffer back as a plain Uint8Array copy', () => {
    const back = roundTrip({ b: Buffer.from('hi') }).value as { b: Uint8Array };
    expect(back.b).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back.b)).toBe(false);
    expect(Array.from(back.b)).toEqual([104, 105]);
  });

  it('brings an Error back as a HordeError with code, message and cause', () => {
    const cause = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    const back = roundTrip({ reason: new HordeError(ErrorCode.TIMEOUT, 'append timed out', { cause }) }).value as { reason: HordeError };
    expect(back.reason).toBeInstanceOf(HordeError);
    expect(back.reason.code).toBe(ErrorCode.TIMEOUT);
    expect(back.reason.message).toBe('append timed out');
    expect((back.reason.cause as HordeError).code).toBe('ENOSPC');
  });

  it('sends a class instance as its own enumerable fields, or as what toJSON returns', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    class Money {
      toJSON(): string {
        return '12.50 EUR';
      }
    }
    expect(roundTrip({ p: new Point(1, 2), m: new Money() }).value).toEqual({ p: { x: 1, y: 2 }, m: '12.50 EUR' });
  });

  it('unboxes boxed primitives and reads holes as undefined', () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3];
    expect(roundTrip({ n: Object(5) as unknown, s: Object('x') as unknown, sparse }).value).toEqual({ n: 5, s: 'x', sparse: [1, undefined, 3] });
  });

  it('copies an object reached twice (no sharing) but refuses a cycle', () => {
    const shared = { a: 1 };
    const back = roundTrip({ left: shared, right: shared, list: [shared, shared] }).value as Record<string, unknown>;
    expect(back).toEqual({ left: { a: 1 }, right: { a: 1 }, list: [{ a: 1 }, { a: 1 }] });
    expect(back.left).not.toBe(back.right);
  });

  it.each<[string, () => unknown, string, RegExp]>([
    ['a function in an array', () => ({ handlers: [1, 2, function onTick() {}] }), 'msg.handlers[2]', /function \(onTick\)/],
    ['a bare function', () => () => 1, 'msg', /function/],
    ['a symbol', () => ({ a: { b: Symbol('s') } }), 'msg.a.b', /symbol/],
    ['a symbol under a key that is not an identifier', () => ({ 'odd key': [Symbol('s')] }), 'msg["odd key"][0]', /symbol/],
    [
      'a cycle',
      () => {
        const node: Record<string, unknown> = { children: [] };
        (node.children as unknown[]).push({ parent: node });
        return { root: node };
      },
      'msg.root.children[0].parent',
      /cyclic/,
    ],
    ['a function as a Map value', () => new Map([['cb', () => 1]]), 'msg.get("cb")', /function/],
    ['a function as a Map key', () => new Map([[() => 1, 'x']]), 'msg.keys()[0]', /function/],
    ['a function in a Set', () => ({ s: new Set([1, () => 1]) }), 'msg.s.values()[1]', /function/],
    ['a Promise', () => ({ p: Promise.resolve(1) }), 'msg.p', /Promise/],
    ['a WeakMap', () => ({ w: new WeakMap() }), 'msg.w', /WeakMap/],
    ['a Float64Array', () => ({ f: new Float64Array(2) }), 'msg.f', /Float64Array/],
    ['an ArrayBuffer', () => ({ buf: new ArrayBuffer(8) }), 'msg.buf', /ArrayBuffer/],
    ['a RegExp', () => [/x/], 'msg[0]', /RegExp/],
    ['a function inside a class instance', () => ({ obj: Object.assign(new (class Thing {})(), { run: () => 1 }) }), 'msg.obj.run', /function/],
  ])('refuses %s with UNENCODABLE_MESSAGE naming its path', (_what, make, path, reason) => {
    const error = throwsCode(() => encodePayload(make()), ErrorCode.UNENCODABLE_MESSAGE);
    expect(error.message).toContain(` ${path} is `);
    expect(error.message).toMatch(reason);
  });

  it('refuses nesting deeper than MAX_DEPTH', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH + 5; i++) deep = [deep];
    const error = throwsCode(() => encodePayload(deep), ErrorCode.UNENCODABLE_MESSAGE);
    expect(error.message).toMatch(/nested deeper/);
    let ok: unknown = 1;
    for (let i = 0; i < MAX_DEPTH - 1; i++) ok = [ok];
    expect(roundTrip(ok).value).toEqual(ok);
  });

  it('never changes the message it encodes', () => {
    const message = { a: undefined, d: new Date(5), list: [1, Number.NaN], m: new Map([[1, 2]]) };
    const before = { ...message, list: [...message.list] };
    encodePayload(message);
    expect(message).toEqual(before);
  });

  it('carries large and non-ASCII payloads (scratch growth and the UTF-8 decoder)', () => {
    const large = { text: 'ab€𝄞'.repeat(50_000), list: Array.from({ length: 5000 }, (_, i) => i) };
    expect(roundTrip(large).value).toEqual(large);
    expect(roundTrip({ small: 'é' }).value).toEqual({ small: 'é' });
  });
});

const DEMO_PROTO = `syntax = "proto3";
package demo;
import "horde/pid.proto";

enum Mood {
  CALM = 0;
  ANGRY = 1;
}

message Counter {
  uint32 seq = 1;
  string name = 2;
}

message Job {
  horde.Pid owner = 1;
  repeated horde.Pid workers = 2;
  int64 budget = 3;
  Mood mood = 4;
  bytes blob = 5;
  string user_name = 6;
}

message Wrapper {
  Job job = 1;
}
`;

describe('protobuf payloads', () => {
  const counter = registerMessageType('demo.Counter', DEMO_PROTO);
  const job = registerMessageType('demo.Job', DEMO_PROTO);
  const wrapper = registerMessageType('.demo.Wrapper', DEMO_PROTO);

  it('derives ids from the names, in 1..65535, the same whatever the registration order', () => {
    expect(counter.id).toBe(typeIdFor('demo.Counter'));
    expect(job.id).toBe(typeIdFor('.demo.Job'));
    expect(wrapper.name).toBe('demo.Wrapper');
    for (const name of ['a', 'demo.Counter', 'x'.repeat(1000)]) {
      expect(typeIdFor(name)).toBeGreaterThanOrEqual(MIN_TYPE_ID);
      expect(typeIdFor(name)).toBeLessThanOrEqual(MAX_TYPE_ID);
    }
    expect(findMessageType('demo.Counter')).toBe(counter);
    expect(findMessageType(counter.id)).toBe(counter);
  });

  it('returns the same handle when a type is registered again with the same schema', () => {
    expect(registerMessageType('demo.Counter', DEMO_PROTO)).toBe(counter);
    const other = protobuf.parse(`syntax = "proto3"; package demo; message Counter { uint32 seq = 1; string name = 2; }`).root;
    expect(registerMessageType('demo.Counter', other.lookupType('demo.Counter'))).toBe(counter);
  });

  it('round-trips a typed message through an envelope in a ring as PROTOBUF', () => {
    const ring = createRing({ capacity: 4096 });
    const writer = new RingWriter(ring);
    const reader = new RingReader(ring);
    const message = typed(counter, { seq: 42, name: 'counter' });
    expect(message).toEqual({ seq: 42, name: 'counter' });
    expect(messageTypeOf(message)).toBe(counter);
    expect(encodeEnvelope(writer, { signal: Signal.USER, to: pid(0, 1, 2), from: undefined, ref: 0, payload: message })).toBe(true);
    writer.publish();
    const got: unknown[] = [];
    reader.drain((_kind, bytes, offset, length) => {
      expect(bytes[offset + 2]).toBe(PayloadEncoding.PROTOBUF);
      got.push(decodeEnvelope(bytes, offset, length).payload);
    });
    expect(got).toEqual([{ seq: 42, name: 'counter' }]);
    expect(messageTypeOf(got[0])).toBe(counter);
    expect((got[0] as object).constructor).toBe(Object);
  });

  it('keeps the type when a decoded typed message is forwarded, and drops it from a spread copy', () => {
    const first = roundTrip(typed(counter, { seq: 1, name: 'a' }));
    expect(first.encoding).toBe(PayloadEncoding.PROTOBUF);
    expect(roundTrip(first.value).encoding).toBe(PayloadEncoding.PROTOBUF);
    expect(roundTrip({ ...(first.value as object) }).encoding).toBe(PayloadEncoding.JSON);
  });

  it('carries Pids, 64-bit integers as numbers, enums by name and defaults', () => {
    const owner = pid(0xffff, 0xfffe, Number.MAX_SAFE_INTEGER);
    const result = roundTrip(typed(job, { owner, workers: [pid(1, 2, 3)], budget: 2 ** 40, mood: 'ANGRY', userName: 'ana' }));
    expect(result.encoding).toBe(PayloadEncoding.PROTOBUF);
    const back = result.value as { owner: unknown; workers: unknown[]; budget: number; mood: string; blob: Uint8Array; userName: string };
    expect(back.owner).toEqual(owner);
    expect(isPid(back.owner)).toBe(true);
    expect(isPid(back.workers[0])).toBe(true);
    expect(back.budget).toBe(2 ** 40);
    expect(back.mood).toBe('ANGRY');
    expect(back.userName).toBe('ana');
    expect(back.blob).toHaveLength(0);
    const empty = roundTrip(typed(wrapper, {})).value;
    expect(empty).toEqual({ job: null });
  });

  it('decodes bytes fields into memory of their own, not views of the ring', () => {
    const ring = createRing({ capacity: 4096 });
    const writer = new RingWriter(ring);
    const reader = new RingReader(ring);
    const blob = Uint8Array.from([1, 2, 3, 4]);
    encodeEnvelope(writer, { signal: Signal.USER, to: pid(0, 1, 2), from: undefined, ref: 0, payload: typed(wrapper, { job: { blob } }) });
    writer.publish();
    let decoded: { job: { blob: Uint8Array } } | undefined;
    reader.drain((_kind, bytes, offset, length) => {
      decoded = decodeEnvelope(bytes, offset, length).payload as typeof decoded;
      bytes.fill(0xee, offset, offset + length);
    });
    expect(decoded!.job.blob.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(decoded!.job.blob)).toEqual([1, 2, 3, 4]);
  });

  it('refuses a value that does not fit the schema, when typed and when encoded', () => {
    const error = throwsCode(() => typed(counter, { seq: 'many', name: 'x' }), ErrorCode.UNENCODABLE_MESSAGE);
    expect(error.message).toContain('demo.Counter');
    expect(error.message).toContain('msg.seq');
    const message = typed(counter, { seq: 1, name: 'x' });
    (message as { seq: unknown }).seq = { not: 'a number' };
    throwsCode(() => encodePayload(message), ErrorCode.UNENCODABLE_MESSAGE);
    throwsCode(() => typed(counter, 5 as unknown as object), ErrorCode.INVALID_OPTION);
    throwsCode(() => typed(counter, { seq: 1, name: 5 }), ErrorCode.UNENCODABLE_MESSAGE);
    throwsCode(() => typed(job, { mood: 'SLEEPY' }), ErrorCode.UNENCODABLE_MESSAGE);
    throwsCode(() => typed(job, { budget: '12abc' }), ErrorCode.UNENCODABLE_MESSAGE);
    throwsCode(() => typed(wrapper, { job: { mood: 'ANGRY', owner: { node: 'x' } } }), ErrorCode.UNENCODABLE_MESSAGE);
  });

  it('accepts enum values by name or number and 64-bit integers as numbers, strings or bigints', () => {
    const big = 2n ** 62n + 1n;
    const cases: [object, object][] = [
      [{ mood: 1 }, { mood: 'ANGRY' }],
      [{ mood: 'ANGRY' }, { mood: 'ANGRY' }],
      [{ budget: '123' }, { budget: 123 }],
      [{ budget: -5n }, { budget: -5 }],
      [{ budget: big.toString() }, { budget: Number(big) }],
      [{ budget: -big }, { budget: -Number(big) }],
      [{ job: { mood: 'ANGRY', workers: [pid(1, 2, 3)] } }, { job: { mood: 'ANGRY', workers: [pid(1, 2, 3)] } }],
    ];
    for (const [input, expected] of cases) {
      const type = 'job' in input ? wrapper : job;
      expect(roundTrip(typed(type, input)).value).toMatchObject(expected);
    }
  });

  it('refuses unknown names and ids', () => {
    throwsCode(() => typed('demo.Nope', {}), ErrorCode.UNKNOWN_MESSAGE_TYPE);
    const bytes = encodeTyped(counter, { seq: 1, name: 'x' });
    const unusedId = [...Array(MAX_TYPE_ID).keys()].map((i) => i + 1).find((id) => findMessageType(id) === undefined)!;
    throwsCode(() => decodePayload(PayloadEncoding.PROTOBUF, unusedId, bytes, 0, bytes.length), ErrorCode.UNKNOWN_MESSAGE_TYPE);
  });

  it('reports a protobuf payload protobufjs cannot read as MALFORMED_ENVELOPE', () => {
    const garbage = Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    throwsCode(() => decodeTyped(counter, garbage, 0, garbage.length), ErrorCode.MALFORMED_ENVELOPE);
    const envelope = encodeEnvelopeToBytes({ signal: Signal.USER, to: pid(0, 1, 2), from: undefined, ref: 0, payload: typed(counter, { seq: 1, name: 'x' }) });
    throwsCode(() => decodeEnvelope(envelope.subarray(0, 41), 0, 41), ErrorCode.MALFORMED_ENVELOPE);
  });

  it('refuses conflicting registrations', () => {
    throwsCode(
      () => registerMessageType('demo.Counter', `syntax = "proto3"; package demo; message Counter { string seq = 1; }`),
      ErrorCode.MESSAGE_TYPE_CONFLICT,
    );
    throwsCode(() => registerMessageType('demo.Counter', DEMO_PROTO, { id: counter.id + 1 }), ErrorCode.MESSAGE_TYPE_CONFLICT);
    const clash = registerMessageType('clash.A', `syntax = "proto3"; package clash; message A { uint32 a = 1; } message B { uint32 b = 1; }`, {
      id: typeIdFor('clash.B'),
    });
    const error = throwsCode(
      () => registerMessageType('clash.B', `syntax = "proto3"; package clash; message A { uint32 a = 1; } message B { uint32 b = 1; }`),
      ErrorCode.MESSAGE_TYPE_CONFLICT,
    );
    expect(error.message).toContain('clash.A');
    expect(error.message).toContain('explicit {id}');
    expect(clash.id).toBe(typeIdFor('clash.B'));
  });

  it('refuses bad schemas and options', () => {
    throwsCode(() => registerMessageType('bad.X', 'this is not proto'), ErrorCode.INVALID_OPTION);
    throwsCode(() => registerMessageType('bad.X', `syntax = "proto3"; package bad; message Y { uint32 a = 1; }`), ErrorCode.INVALID_OPTION);
    throwsCode(() => registerMessageType('bad.X', `syntax = "proto3"; package bad; message X { Missing m = 1; }`), ErrorCode.INVALID_OPTION);
    throwsCode(() => registerMessageType('bad.X', `syntax = "proto3"; package bad; import "other.proto"; message X { uint32 a = 1; }`), ErrorCode.INVALID_OPTION);
    throwsCode(() => registerMessageType('bad.Z', `syntax = "proto3"; package bad; message Z { uint32 a = 1; }`, { id: 0 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => registerMessageType('bad.Z', `syntax = "proto3"; package bad; message Z { uint32 a = 1; }`, { id: 70000 }), ErrorCode.INVALID_OPTION);
    throwsCode(() => registerMessageType('', DEMO_PROTO), ErrorCode.INVALID_OPTION);
    throwsCode(() => registerMessageType('demo.Other', counter.type), ErrorCode.INVALID_OPTION);
  });

  it('accepts a Type from a root of the caller, with horde.Pid added from PID_PROTO', () => {
    const root = new protobuf.Root();
    protobuf.parse(PID_PROTO, root);
    protobuf.parse(`syntax = "proto3"; package mine; message Hello { horde.Pid from = 1; string text = 2; }`, root);
    root.resolveAll();
    const hello = registerMessageType('mine.Hello', root.lookupType('mine.Hello'));
    const message = { from: pid(1, 2, 3), text: 'hi' };
    expect(roundTrip(typed(hello, message)).value).toEqual(message);
  });
});
