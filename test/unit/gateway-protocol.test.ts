// The gateway's wire messages, payload and failure conversions, options, and the built-in canary.
import { describe, expect, it } from 'vitest';
import { ErrorCode, HordeError } from '../../src/errors.js';
import { FrameDecoder } from '../../src/net/framing.js';
import {
  decodeJson,
  decodeRequest,
  decodeServerMessage,
  encodeJson,
  encodeRequest,
  encodeServerMessage,
  failureToError,
  toFailure,
} from '../../src/gateway/protocol.js';
import { GATEWAY_DEFAULTS, resolveGatewayOptions } from '../../src/gateway/options.js';
import { CANARY_KIND } from '../../src/process/canary.js';
import { TestKit } from '../../src/testkit/testkit.js';
import { defineBehaviours } from '../../src/process/types.js';
import { throwsCode } from '../support/errors.js';

/** The one frame inside `bytes`, through the same decoder the gateway uses. */
function unframe(bytes: Uint8Array): Uint8Array {
  const frames: Uint8Array[] = [];
  new FrameDecoder(1 << 20).push(bytes, (frame) => frames.push(frame.slice()));
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

describe('gateway protocol', () => {
  it('round-trips a request through a length-prefixed frame', () => {
    const payload = encodeJson({ n: 1, s: 'é' });
    const frame = encodeRequest({ id: 0xfffffffe, service: 'echo', payload, timeoutMs: 250 }, 1024);
    expect(new DataView(frame.buffer).getUint32(0)).toBe(frame.length - 4);
    const request = decodeRequest(unframe(frame));
    expect(request).toMatchObject({ id: 0xfffffffe, service: 'echo', timeoutMs: 250 });
    expect(decodeJson(request.payload)).toEqual({ n: 1, s: 'é' });
  });

  it('round-trips replies, failures with their causes, and goodbyes', () => {
    const value = decodeServerMessage(unframe(encodeServerMessage({ reply: { id: 7, value: encodeJson([1, 2]) } }, 1024)));
    expect('reply' in value && 'value' in value.reply && decodeJson(value.reply.value)).toEqual([1, 2]);
    const crash = new HordeError(ErrorCode.NOPROC, 'ended', { cause: new HordeError('E_INNER', 'boom') });
    const failed = decodeServerMessage(unframe(encodeServerMessage({ reply: { id: 8, failure: toFailure(crash) } }, 1024)));
    if (!('reply' in failed) || !('failure' in failed.reply)) throw new Error('expected a failure reply');
    const error = failureToError(failed.reply.failure);
    expect(error.code).toBe(ErrorCode.NOPROC);
    expect((error.cause as HordeError).code).toBe('E_INNER');
    expect((error.cause as HordeError).message).toBe('boom');
    const bye = decodeServerMessage(unframe(encodeServerMessage({ goodbye: { code: ErrorCode.OVERLOADED, message: 'full' } }, 1024)));
    expect(bye).toEqual({ goodbye: expect.objectContaining({ code: ErrorCode.OVERLOADED, message: 'full' }) as unknown });
    const idle = decodeServerMessage(unframe(encodeServerMessage({ goodbye: { code: ErrorCode.CONNECTION_CLOSED, message: 'idle' }, idle: true }, 1024)));
    expect(idle).toEqual({ goodbye: expect.objectContaining({ code: ErrorCode.CONNECTION_CLOSED }) as unknown, idle: true });
  });

  it('carries undefined as an empty payload, and refuses payloads that are not JSON', () => {
    expect(encodeJson(undefined)).toHaveLength(0);
    expect(decodeJson(new Uint8Array(0))).toBeUndefined();
    throwsCode(() => encodeJson({ n: 1n }), ErrorCode.UNENCODABLE_MESSAGE);
    throwsCode(() => decodeJson(new TextEncoder().encode('{nope')), ErrorCode.BAD_REQUEST);
    throwsCode(() => decodeJson(new Uint8Array([0x22, 0xff, 0x22])), ErrorCode.BAD_REQUEST); // not UTF-8
  });

  it('refuses bytes that are not a request with HORDE_BAD_REQUEST', () => {
    throwsCode(() => decodeRequest(new Uint8Array([0x0a, 0x10, 0x01])), ErrorCode.BAD_REQUEST); // truncated field
    throwsCode(() => decodeRequest(new Uint8Array(0)), ErrorCode.BAD_REQUEST); // no request in it
    throwsCode(() => decodeRequest(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])), ErrorCode.BAD_REQUEST);
    throwsCode(() => decodeServerMessage(new Uint8Array(0)), ErrorCode.BAD_REQUEST);
  });

  it('refuses to frame a message over the limit', () => {
    throwsCode(() => encodeRequest({ id: 1, service: 's', payload: new Uint8Array(2000), timeoutMs: 0 }, 1024), ErrorCode.FRAME_TOO_LARGE);
    throwsCode(() => encodeServerMessage({ reply: { id: 1, value: new Uint8Array(2000) } }, 1024), ErrorCode.FRAME_TOO_LARGE);
  });

  it('bounds the depth of causes a failure carries', () => {
    let error = new HordeError('E_0', 'bottom');
    for (let i = 1; i < 20; i++) error = new HordeError(`E_${i}`, `level ${i}`, { cause: error });
    let depth = 0;
    for (let failure = toFailure(error); failure.cause; failure = failure.cause) depth++;
    expect(depth).toBeLessThanOrEqual(4);
  });
});

describe('gateway options', () => {
  const listen = { host: '127.0.0.1', port: 0 };

  it('fills in the documented defaults', () => {
    expect(resolveGatewayOptions({ listen })).toEqual({ ...GATEWAY_DEFAULTS, listen });
    expect(resolveGatewayOptions({ listen, highMarkMs: undefined, holdMs: 0 }).holdMs).toBe(0);
  });

  it('names the option that is wrong', () => {
    const bad: [string, object][] = [
      ['listen', { listen: undefined }],
      ['listen.port', { listen: { host: 'x', port: 70_000 } }],
      ['lowMarkMs', { listen, highMarkMs: 1, lowMarkMs: 2 }],
      ['canaryPeriodMs', { listen, canaryPeriodMs: 0 }],
      ['pipelineAllowance', { listen, pipelineAllowance: 0 }],
      ['maxFrameBytes', { listen, maxFrameBytes: 10 }],
      ['throttle', { listen, throttle: 'yes' }],
    ];
    for (const [name, options] of bad) {
      const error = throwsCode(() => resolveGatewayOptions(options as never), ErrorCode.INVALID_OPTION);
      expect(error.message).toContain(`"${name}"`);
    }
  });
});

describe('the built-in canary', () => {
  it('exists without being listed and answers any message with itself', () => {
    const kit = new TestKit({ behaviours: defineBehaviours({}) });
    const canary = kit.spawn(CANARY_KIND);
    expect(kit.ask(canary, { at: 12.5 })).toEqual({ at: 12.5 });
    expect(kit.ask(canary, 'ping')).toBe('ping');
  });

  it('is a reserved kind name', () => {
    throwsCode(() => new TestKit({ behaviours: defineBehaviours({ [CANARY_KIND]: () => ({ receive: () => undefined }) }) }), ErrorCode.INVALID_OPTION);
  });
});
